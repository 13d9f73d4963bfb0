//! The walk on small captures made by hand: every block kind, both byte orders, gzip.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::source::from_bytes;
use super::*;

/// One event: offset, num, ts, tid, cpu, type, nparams, flags, raw.
pub type EventRow = (u64, u64, u64, u64, u16, u16, u32, u32, Vec<u8>);

/// What a walk gave: events as (offset, num, ts, tid, cpu, type, nparams, flags, raw),
/// other blocks as (offset, type, body), and the error that ended it.
#[derive(Debug, Default)]
pub struct Walked {
    pub events: Vec<EventRow>,
    pub blocks: Vec<(u64, u32, Vec<u8>)>,
    pub error: Option<WalkError>,
}

pub fn walk(data: &[u8]) -> Walked {
    let mut walker = Walker::new(from_bytes(data.to_vec(), "t.scap"), "t.scap");
    let mut out = Walked::default();
    while let Some(item) = walker.next_item() {
        match item {
            Ok(Item::Event(e)) => out.events.push((
                e.offset,
                e.num,
                e.ts,
                e.tid,
                e.cpu,
                e.etype,
                e.nparams,
                e.flags,
                e.raw.to_vec(),
            )),
            Ok(Item::Block(b)) => out.blocks.push((b.offset, b.block_type, b.body.to_vec())),
            Err(err) => out.error = Some(err),
        }
    }
    out
}

pub fn put(out: &mut Vec<u8>, big: bool, value: u64, width: usize) {
    let bytes = value.to_le_bytes();
    let mut one = bytes[..width].to_vec();
    if big {
        one.reverse();
    }
    out.extend_from_slice(&one);
}

/// A whole block: header, body, zero padding to 4, trailer.
pub fn block(big: bool, btype: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()).div_ceil(4) * 4;
    let mut out = Vec::new();
    put(&mut out, big, u64::from(btype), 4);
    put(&mut out, big, total as u64, 4);
    out.extend_from_slice(body);
    out.resize(total - 4, 0);
    put(&mut out, big, total as u64, 4);
    out
}

pub fn shb(big: bool, major: u16, minor: u16) -> Vec<u8> {
    let mut body = Vec::new();
    put(&mut body, big, 0x1A2B3C4D, 4);
    put(&mut body, big, u64::from(major), 2);
    put(&mut body, big, u64::from(minor), 2);
    put(&mut body, big, u64::MAX, 8);
    block(big, BLOCK_SHB, &body)
}

/// A v2 event (header, lengths, data) in the given order.
pub fn event_v2(big: bool, ts: u64, etype: u16, params: &[&[u8]]) -> Vec<u8> {
    let width = if table::is_large(etype) { 4 } else { 2 };
    let len = 26 + width * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::new();
    put(&mut out, big, ts, 8);
    put(&mut out, big, 4242, 8);
    put(&mut out, big, len as u64, 4);
    put(&mut out, big, u64::from(etype), 2);
    put(&mut out, big, params.len() as u64, 4);
    for p in params {
        put(&mut out, big, p.len() as u64, width);
    }
    for p in params {
        out.extend_from_slice(p);
    }
    out
}

/// A v1 event: the v2 one without nparams, u16 lengths (`extra` added to `len`).
pub fn event_v1(big: bool, ts: u64, etype: u16, params: &[&[u8]], extra: u32) -> Vec<u8> {
    let len = 22 + 2 * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::new();
    put(&mut out, big, ts, 8);
    put(&mut out, big, 4242, 8);
    put(&mut out, big, len as u64 + u64::from(extra), 4);
    put(&mut out, big, u64::from(etype), 2);
    for p in params {
        put(&mut out, big, p.len() as u64, 2);
    }
    for p in params {
        out.extend_from_slice(p);
    }
    out
}

/// An event block: cpuid, the flags word when given, the event.
pub fn event_block(big: bool, btype: u32, cpu: u16, flags: Option<u32>, event: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    put(&mut body, big, u64::from(cpu), 2);
    if let Some(flags) = flags {
        put(&mut body, big, u64::from(flags), 4);
    }
    body.extend_from_slice(event);
    block(big, btype, &body)
}

/// A little-endian capture: section header, a machine-info-like block, `n` close
/// exits (type 3, one i64 parameter).
pub fn small_capture(n: u64) -> Vec<u8> {
    let mut out = shb(false, 1, 2);
    out.extend(block(false, 0x201, &[7u8; 180]));
    for i in 0..n {
        let fd = (i as i64).to_le_bytes();
        out.extend(event_block(
            false,
            BLOCK_EV_V2,
            1,
            None,
            &event_v2(false, 1000 + i, 3, &[&fd]),
        ));
    }
    out
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn v2_events_as_stored_with_offsets_and_numbers() {
    let data = small_capture(3);
    let w = walk(&data);
    assert!(w.error.is_none(), "{:?}", w.error);
    assert_eq!(w.blocks.len(), 2);
    assert_eq!((w.blocks[0].0, w.blocks[0].1), (0, BLOCK_SHB));
    assert_eq!(
        (w.blocks[1].0, w.blocks[1].1, w.blocks[1].2.len()),
        (28, 0x201, 180)
    );
    let nums: Vec<u64> = w.events.iter().map(|e| e.1).collect();
    assert_eq!(nums, [1, 2, 3]);
    let first = &w.events[0];
    assert_eq!(
        (first.0, first.2, first.3, first.4, first.5, first.6),
        (220, 1000, 4242, 1, 3, 1)
    );
    assert_eq!(first.8, event_v2(false, 1000, 3, &[&0i64.to_le_bytes()]));
    assert_eq!(w.events[1].0, 220 + 52);
}

#[test]
fn big_endian_sections_give_little_endian_events() {
    let params: [&[u8]; 2] = [b"/etc/passwd\0", &[1, 0, 0, 0]];
    let mut big = shb(true, 1, 2);
    big.extend(event_block(
        true,
        BLOCK_EV_V2,
        2,
        None,
        &event_v2(true, 5, 5, &params),
    ));
    big.extend(event_block(
        true,
        BLOCK_EV,
        2,
        None,
        &event_v1(true, 6, 5, &params, 0),
    ));
    let w = walk(&big);
    assert!(w.error.is_none(), "{:?}", w.error);
    assert_eq!(w.events[0].8, event_v2(false, 5, 5, &params));
    assert_eq!(w.events[1].8, event_v2(false, 6, 5, &params));
    assert_eq!(w.events[1].4, 2);
}

#[test]
fn v1_events_get_their_parameter_count() {
    let fd = 3i64.to_le_bytes();
    let mut data = shb(false, 1, 0);
    // close exit has 1 parameter in the table; an old producer wrote it with none
    data.extend(event_block(
        false,
        BLOCK_EV,
        0,
        None,
        &event_v1(false, 1, 3, &[&fd], 0),
    ));
    data.extend(event_block(
        false,
        BLOCK_EV,
        0,
        None,
        &event_v1(false, 2, 3, &[], 0),
    ));
    data.extend(event_block(
        false,
        BLOCK_EV,
        0,
        None,
        &event_v1(false, 3, 3, &[&fd], 0),
    ));
    // notification (280): len stored 3 bytes too large
    data.extend(event_block(
        false,
        BLOCK_EV,
        0,
        None,
        &event_v1(false, 4, 280, &[b"a\0", b"b\0"], 3),
    ));
    // a type outside the table: kept with nparams 0
    data.extend(event_block(
        false,
        BLOCK_EV_INT,
        0,
        None,
        &event_v1(false, 5, 999, &[b"xy"], 0),
    ));
    data.extend(event_block(
        false,
        BLOCK_EVF,
        0,
        Some(1),
        &event_v1(false, 6, 3, &[&fd], 0),
    ));
    let w = walk(&data);
    assert!(w.error.is_none(), "{:?}", w.error);
    let counts: Vec<u32> = w.events.iter().map(|e| e.6).collect();
    assert_eq!(counts, [1, 0, 1, 2, 0, 1]);
    assert_eq!(w.events[0].8, event_v2(false, 1, 3, &[&fd]));
    assert_eq!(w.events[3].8, event_v2(false, 4, 280, &[b"a\0", b"b\0"]));
    let opaque = &w.events[4].8;
    assert_eq!(
        (opaque.len(), &opaque[26..]),
        (30, &[2u8, 0, b'x', b'y'][..])
    );
    assert_eq!(w.events[5].7, 1);
}

#[test]
fn flags_and_large_blocks() {
    let mut data = shb(false, 1, 2);
    let payload = vec![b'{'; 70_000];
    let plugin = event_v2(false, 9, 322, &[&7u32.to_le_bytes(), &payload]);
    data.extend(event_block(false, BLOCK_EV_V2_LARGE, 0, None, &plugin));
    data.extend(event_block(false, BLOCK_EVF_V2_LARGE, 0, Some(4), &plugin));
    let close = event_v2(false, 10, 3, &[&1i64.to_le_bytes()]);
    data.extend(event_block(false, BLOCK_EVF_V2, 3, Some(1), &close));
    let w = walk(&data);
    assert!(w.error.is_none(), "{:?}", w.error);
    assert_eq!(w.events.len(), 3);
    assert_eq!(w.events[0].8, plugin);
    assert_eq!((w.events[1].7, w.events[2].7, w.events[2].4), (4, 1, 3));
}

#[test]
fn sections_metadata_and_unknown_blocks_in_file_order() {
    let mut data = small_capture(1);
    data.extend(block(false, 0x7777, b"abc"));
    let second = data.len() as u64;
    data.extend(shb(true, 1, 0));
    data.extend(block(true, 0x206, &[1, 2, 3, 4]));
    data.extend(event_block(
        true,
        BLOCK_EV_V2,
        0,
        None,
        &event_v2(true, 7, 3, &[&[0; 8]]),
    ));
    let mut walker = Walker::new(from_bytes(data.clone(), "s"), "s");
    let mut kinds = Vec::new();
    while let Some(item) = walker.next_item() {
        kinds.push(match item.unwrap() {
            Item::Event(e) => format!("ev{}", e.num),
            Item::Block(b) => format!("{:x}/{}", b.block_type, b.order.code()),
        });
    }
    assert_eq!(
        kinds,
        [
            "a0d0d0a/<",
            "201/<",
            "ev1",
            "7777/<",
            "a0d0d0a/>",
            "206/>",
            "ev2"
        ]
    );
    let sections = walker.sections();
    assert_eq!(sections.len(), 2);
    assert_eq!(
        (sections[1].offset, sections[1].order, sections[1].minor),
        (second, Order::Big, 0)
    );
    let counts = walker.counts().by_type();
    assert_eq!(
        counts,
        [
            (0x201, 1),
            (0x206, 1),
            (0x216, 2),
            (0x7777, 1),
            (BLOCK_SHB, 2)
        ]
    );
}

#[test]
fn next_event_steps_over_blocks() {
    let data = small_capture(4);
    let mut walker = Walker::new(from_bytes(data, "x"), "x");
    let mut nums = Vec::new();
    while let Some(ev) = walker.next_event() {
        nums.push(ev.unwrap().num);
    }
    assert_eq!(nums, [1, 2, 3, 4]);
    assert_eq!(walker.events_read(), 4);
}

#[test]
fn gzip_of_several_members_with_zero_padding() {
    let data = small_capture(50);
    let mut packed = gzip(&data[..100]);
    packed.extend([0u8; 7]);
    packed.extend(gzip(&data[100..]));
    let w = walk(&packed);
    assert!(w.error.is_none(), "{:?}", w.error);
    assert_eq!(w.events.len(), 50);
    assert_eq!(w.events, walk(&data).events);
}

#[test]
fn blocks_across_chunk_ends_and_longer_than_a_chunk() {
    let mut data = small_capture(21_000); // 1.1 MB: blocks cut by the 1 MiB chunk end
    let payload = vec![b'x'; 1 << 20];
    let plugin = event_v2(false, 1, 322, &[&2u32.to_le_bytes(), &payload]);
    data.extend(event_block(false, BLOCK_EV_V2_LARGE, 0, None, &plugin));
    for packed in [data.clone(), gzip(&data)] {
        let w = walk(&packed);
        assert!(w.error.is_none(), "{:?}", w.error);
        assert_eq!(w.events.len(), 21_001);
        assert_eq!(w.events[21_000].8, plugin);
        let offsets_step = w
            .events
            .windows(2)
            .take(20_999)
            .all(|p| p[1].0 == p[0].0 + 52);
        assert!(offsets_step);
    }
}
