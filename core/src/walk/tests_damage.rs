//! The walk on damaged captures: every complete event before the fault, then the
//! Python reader's error; never a panic.

use super::tests::{block, event_block, event_v2, gzip, put, shb, small_capture, walk};
use super::*;

fn text(w: &tests::Walked) -> String {
    w.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
}

fn kind(w: &tests::Walked) -> Option<ErrorKind> {
    w.error.as_ref().map(|e| e.kind)
}

/// The number of events `walker` gives before its error, and the error.
fn events_then_error(walker: &mut Walker) -> (usize, WalkError) {
    let mut events = 0;
    loop {
        match walker.next_item() {
            Some(Ok(Item::Event(_))) => events += 1,
            Some(Ok(Item::Block(_))) => {}
            Some(Err(err)) => return (events, err),
            None => panic!("no error"),
        }
    }
}

#[test]
fn cut_anywhere_gives_the_complete_events_then_truncated() {
    let data = small_capture(5);
    let ends: Vec<usize> = (0..=5).map(|i| 220 + 52 * i).collect();
    for cut in 29..data.len() {
        let w = walk(&data[..cut]);
        let complete = ends
            .iter()
            .filter(|&&end| end <= cut)
            .count()
            .saturating_sub(1);
        assert_eq!(w.events.len(), complete, "cut {cut}");
        if ends.contains(&cut) {
            assert!(w.error.is_none(), "cut {cut}");
            continue;
        }
        assert_eq!(kind(&w), Some(ErrorKind::Truncated), "cut {cut}");
        let block_start = if cut < 220 { 28 } else { ends[complete] };
        let left = cut - block_start;
        let expect = if left < 8 {
            format!("t.scap: offset {block_start:#x}: capture ends inside a block header ({left} of 8 bytes)")
        } else {
            let (btype, total) = if block_start == 28 {
                (0x201, 192)
            } else {
                (0x216, 52)
            };
            format!("t.scap: offset {block_start:#x}: block {btype:#x}: capture ends inside a block ({left} of {total} bytes)")
        };
        assert_eq!(text(&w), expect);
    }
}

#[test]
fn start_of_file_faults() {
    assert_eq!(
        text(&walk(b"")),
        "t.scap: offset 0x0: empty file: not a scap capture"
    );
    let foreign = b"hello, this is not a capture at all\n";
    let expect = "t.scap: offset 0x0: not a scap capture: it does not start with a section header block (0x0a0d0d0a)";
    assert_eq!(text(&walk(foreign)), expect);
    assert_eq!(text(&walk(&shb(false, 1, 2)[..11])), expect);
    let mut bad_magic = shb(false, 1, 2);
    bad_magic[8] = 0x99;
    assert_eq!(
        text(&walk(&bad_magic)),
        "t.scap: offset 0x0: block 0xa0d0d0a: bad byte-order magic 993c2b1a in section header"
    );
    assert_eq!(
        text(&walk(&shb(false, 2, 0))),
        "t.scap: offset 0x0: block 0xa0d0d0a: unsupported format version 2.0"
    );
    let short = block(false, BLOCK_SHB, &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 2, 0]);
    assert_eq!(
        text(&walk(&short)),
        "t.scap: offset 0x0: block 0xa0d0d0a: section header body shorter than 16 bytes"
    );
}

#[test]
fn framing_faults_name_offset_and_block() {
    let data = small_capture(3);
    let third = 220 + 52 * 2;
    let mut bad = data.clone();
    bad[third + 4] = 50; // not a multiple of 4
    let w = walk(&bad);
    assert_eq!(w.events.len(), 2);
    assert_eq!(
        text(&w),
        format!("t.scap: offset {third:#x}: block 0x216: bad block length 50 (must be >= 12 and a multiple of 4)")
    );
    let mut bad = data.clone();
    bad[third + 48] = 56;
    assert_eq!(
        text(&walk(&bad)),
        format!("t.scap: offset {third:#x}: block 0x216: block length 52 != trailer 56")
    );
    let mut huge = data.clone();
    huge[third + 4..third + 8].copy_from_slice(&0xFFFF_FFFCu32.to_le_bytes());
    assert_eq!(
        text(&walk(&huge)),
        format!("t.scap: offset {third:#x}: block 0x216: event block length 4294967292 exceeds the 65536-byte limit of non-large event blocks")
    );
    huge[third..third + 4].copy_from_slice(&0x221u32.to_le_bytes());
    let w = walk(&huge);
    assert_eq!(kind(&w), Some(ErrorKind::Truncated));
    assert_eq!(
        text(&w),
        format!("t.scap: offset {third:#x}: block 0x221: capture ends inside a block (52 of 4294967292 bytes)")
    );
}

#[test]
fn events_that_do_not_fit_their_block() {
    let mut data = shb(false, 1, 2);
    let offset = data.len();
    data.extend(event_block(false, BLOCK_EV_V2, 0, None, &[0u8; 10]));
    let w = walk(&data);
    assert_eq!(
        text(&w),
        format!(
            "t.scap: offset {offset:#x}: block 0x216: event block too short for an event header"
        )
    );
    let mut event = event_v2(false, 1, 3, &[&[0; 8]]);
    event[16..20].copy_from_slice(&200u32.to_le_bytes());
    let mut data = shb(false, 1, 2);
    data.extend(event_block(false, BLOCK_EV_V2, 0, None, &event));
    assert!(text(&walk(&data)).ends_with("block 0x216: event length 200 does not fit its block"));
    // a plugin event whose two u32 lengths do not fit a len of 30
    let mut event = event_v2(false, 1, 322, &[&[0; 4]]);
    event[16..20].copy_from_slice(&30u32.to_le_bytes());
    event[22..26].copy_from_slice(&2u32.to_le_bytes());
    let mut data = shb(false, 1, 2);
    data.extend(event_block(false, BLOCK_EV_V2_LARGE, 0, None, &event));
    assert!(
        text(&walk(&data)).ends_with("block 0x221: 2 parameter lengths do not fit event length 30")
    );
    // v1: a notification whose len, less its excess of 3, is below the header
    let mut v1 = vec![0u8; 22];
    v1[16..20].copy_from_slice(&2u32.to_le_bytes());
    v1[20..22].copy_from_slice(&280u16.to_le_bytes());
    let mut data = shb(false, 1, 0);
    data.extend(event_block(false, BLOCK_EV, 0, None, &v1));
    assert!(text(&walk(&data)).ends_with("block 0x204: v1 event length -1 does not fit its block"));
    let mut data = shb(false, 1, 0);
    data.extend(event_block(false, BLOCK_EV, 0, None, &[0u8; 5]));
    assert!(
        text(&walk(&data)).ends_with("block 0x204: event block too short for a v1 event header")
    );
}

#[test]
fn gzip_faults() {
    let data = small_capture(200);
    let packed = gzip(&data);
    let w = walk(&packed[..packed.len() - 4]);
    assert_eq!(w.events.len(), 200); // the data is all there, the trailer is not
    assert_eq!(
        text(&w),
        format!(
            "t.scap: offset {:#x}: the gzip stream is cut short",
            data.len()
        )
    );
    let w = walk(&packed[..packed.len() / 2]);
    assert_eq!(kind(&w), Some(ErrorKind::Truncated));
    assert!(
        text(&w).ends_with("; the gzip stream is cut short"),
        "{}",
        text(&w)
    );
    let mut garbage = packed.clone();
    garbage.extend(b"junk");
    let w = walk(&garbage);
    assert_eq!(w.events.len(), 200);
    let expect = format!(
        "t.scap: garbage after gzip member at compressed offset {:#x}",
        packed.len()
    );
    assert_eq!(text(&w), expect);
    let mut corrupt = packed.clone();
    corrupt[10] ^= 0xff; // the first byte of the deflate data: its block type
    let w = walk(&corrupt);
    assert!(text(&w).starts_with(
        "t.scap: gzip data corrupt near compressed offset 0x0: Error -3 while decompressing data: "
    ));
}

#[test]
fn every_flipped_byte_and_every_cut_never_panics() {
    let mut data = small_capture(3);
    data.extend(event_block(
        false,
        BLOCK_EV,
        0,
        None,
        &tests::event_v1(false, 1, 3, &[&[0; 8]], 0),
    ));
    let mut big = shb(true, 1, 2);
    big.extend(event_block(
        true,
        BLOCK_EV_V2,
        0,
        None,
        &event_v2(true, 5, 3, &[&[0; 8]]),
    ));
    for sample in [data, big] {
        for at in 0..sample.len() {
            for value in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = sample.clone();
                bad[at] = value;
                walk(&bad);
                walk(&bad[..at]);
            }
        }
        walk(&gzip(&sample)[..20]);
    }
}

#[test]
fn a_section_of_the_other_order_after_events() {
    let mut data = small_capture(1);
    let mut body = Vec::new();
    put(&mut body, true, 0x1A2B3C4D, 4);
    put(&mut body, true, 1, 2);
    put(&mut body, true, 3, 2);
    put(&mut body, true, 0, 8);
    data.extend(block(true, BLOCK_SHB, &body));
    data.extend(event_block(
        true,
        BLOCK_EV_V2,
        0,
        None,
        &event_v2(true, 8, 3, &[&[1; 8]]),
    ));
    let w = walk(&data);
    assert!(w.error.is_none());
    assert_eq!(w.events[1].8, event_v2(false, 8, 3, &[&[1; 8]]));
}

/// A source that panics once its bytes are used up: a stand-in for a bug in the walk.
struct Panicking(Vec<u8>);

impl Source for Panicking {
    fn read(&mut self, out: &mut Vec<u8>, _max: usize) -> Result<usize, WalkError> {
        if self.0.is_empty() {
            panic!("boom");
        }
        let n = self.0.len();
        out.append(&mut self.0);
        Ok(n)
    }

    fn compression(&self) -> &'static str {
        "none"
    }
}

#[test]
fn a_panic_becomes_an_error_at_the_block_being_read() {
    let data = small_capture(2);
    let cut = data.len() - 10;
    let mut walker = Walker::new(Box::new(Panicking(data[..cut].to_vec())), "p.scap");
    let (events, error) = events_then_error(&mut walker);
    assert_eq!(events, 1);
    let expect = format!(
        "p.scap: offset {:#x}: internal error of the compiled reader: boom",
        220 + 52
    );
    assert_eq!(error.to_string(), expect);
    assert!(walker.next_item().is_none());
}

#[test]
fn a_closed_walker_walks_what_it_has_read_then_fails() {
    let data = small_capture(3);
    let mut walker = Walker::new(source::from_bytes(data, "c.scap"), "c.scap");
    assert!(matches!(walker.next_item(), Some(Ok(Item::Block(_)))));
    walker.close();
    let (events, error) = events_then_error(&mut walker);
    assert_eq!(events, 3); // all were read with the first chunk
    assert_eq!(
        error.to_string(),
        "c.scap: read failed: read of closed file"
    );
}
