//! The block walk (docs/format.md §2): frame checks, sections, events and the other
//! blocks, in file order. The same checks, in the same order and with the same words,
//! as `CaptureReader._slow_block` in `scaptools/format/reader.py`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::buffer::Buffer;
use super::error::WalkError;
use super::event::{v1_event, v2_event, Head, Raw};
use super::frame::{length_fault, section_order, size_fault};
use super::item::{BlockRef, Counts, EventRef, Item, Section};
use super::source::{open_path, Source};
use super::table::NPARAMS;
use super::{is_event_block, is_v2_event_block, Order, BLOCK_FRAME_SIZE, BLOCK_SHB, SHB_MAJOR};

/// Bytes made available before each block: block header, cpuid and v2 event header,
/// what the Python reader looks at first (`layout.EVENT_BLOCK_AND_HEADER`).
const LOOKAHEAD: usize = 36;
const HEADER: usize = 8;
const SHB_HEAD: usize = 16;

/// An owned description of the block just walked; the references are made from it.
#[derive(Debug, Clone, Copy)]
enum Step {
    Event {
        offset: u64,
        btype: u32,
        head: Head,
        raw: Raw,
    },
    Block {
        offset: u64,
        btype: u32,
        order: Order,
        total: usize,
    },
}

/// Walks a capture block by block. See the module documentation.
pub struct Walker {
    buf: Buffer,
    path: String,
    section: Option<Section>,
    sections: Vec<Section>,
    counts: Counts,
    truncated: bool,
    events: u64,
    memory: [u8; NPARAMS.len()],
    scratch: Vec<u8>,
    /// bytes of the block last returned, skipped at the next step
    pending: usize,
    finished: bool,
    block_offset: u64,
}

impl Walker {
    /// Open a capture file (plain or gzip); `name` is the file's name in errors.
    pub fn open(path: &Path, name: &str) -> Result<Walker, WalkError> {
        Ok(Walker::new(open_path(path, name)?, name))
    }

    /// Walk the bytes of `source`; `name` is the capture's name in errors.
    pub fn new(source: Box<dyn Source>, name: &str) -> Walker {
        Walker {
            buf: Buffer::new(source),
            path: name.to_string(),
            section: None,
            sections: Vec::new(),
            counts: Counts::default(),
            truncated: false,
            events: 0,
            memory: [u8::MAX; NPARAMS.len()],
            scratch: Vec::new(),
            pending: 0,
            finished: false,
            block_offset: 0,
        }
    }

    /// The next event or other block; `None` at the end. After an error, `None`.
    pub fn next_item(&mut self) -> Option<Result<Item<'_>, WalkError>> {
        match self.advance() {
            Ok(Some(step)) => Some(Ok(self.item(step))),
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        }
    }

    /// The next event, stepping over every other block (still counted, and the
    /// section headers still read).
    pub fn next_event(&mut self) -> Option<Result<EventRef<'_>, WalkError>> {
        let (offset, btype, head, raw) = loop {
            match self.advance() {
                Ok(Some(Step::Event {
                    offset,
                    btype,
                    head,
                    raw,
                })) => break (offset, btype, head, raw),
                Ok(Some(Step::Block { .. })) => continue,
                Ok(None) => return None,
                Err(err) => return Some(Err(err)),
            }
        };
        Some(Ok(self.event_ref(offset, btype, head, raw)))
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current section, once its header is read.
    pub fn section(&self) -> Option<&Section> {
        self.section.as_ref()
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Whether the input ended inside a block (set with the error that says so).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Events yielded so far.
    pub fn events_read(&self) -> u64 {
        self.events
    }

    /// `"none"` or `"gzip"`.
    pub fn compression(&self) -> &'static str {
        self.buf.source().compression()
    }

    /// Offset of the block being (or last) walked: where a fault is reported.
    pub fn block_offset(&self) -> u64 {
        self.block_offset
    }

    /// Close the input (a file is closed now): the bytes already read are still
    /// walked, then reading more fails as reading a closed Python file does.
    pub fn close(&mut self) {
        self.buf.close();
    }

    /// Stop the walk: later calls return `None` (after an error, or a panic caught by
    /// a caller).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    fn item(&self, step: Step) -> Item<'_> {
        match step {
            Step::Event {
                offset,
                btype,
                head,
                raw,
            } => Item::Event(self.event_ref(offset, btype, head, raw)),
            Step::Block {
                offset,
                btype,
                order,
                total,
            } => Item::Block(BlockRef {
                offset,
                block_type: btype,
                order,
                body: self.buf.slice(HEADER, total - 4),
            }),
        }
    }

    fn event_ref(&self, offset: u64, btype: u32, head: Head, raw: Raw) -> EventRef<'_> {
        let raw = match raw {
            Raw::Body(start, len) => self.buf.slice(HEADER + start, HEADER + start + len),
            Raw::Scratch => &self.scratch[..],
        };
        EventRef {
            offset,
            num: self.events,
            ts: head.ts,
            tid: head.tid,
            cpu: head.cpu,
            etype: head.etype,
            nparams: head.nparams,
            flags: head.flags,
            block_type: btype,
            large: super::table::is_large(head.etype),
            raw,
        }
    }

    /// The next block as an owned step. A panic inside the walk (a bug: the walk is
    /// written not to panic on any input) is caught here and becomes a `FormatError`
    /// at the block being read; the walk stops there.
    fn advance(&mut self) -> Result<Option<Step>, WalkError> {
        if self.finished {
            return Ok(None);
        }
        let step = match catch_unwind(AssertUnwindSafe(|| self.walk_block())) {
            Ok(step) => step,
            Err(panic) => Err(self.panicked(panic.as_ref())),
        };
        if !matches!(step, Ok(Some(_))) {
            self.finished = true;
        }
        step
    }

    fn walk_block(&mut self) -> Result<Option<Step>, WalkError> {
        self.buf.advance(std::mem::take(&mut self.pending));
        self.step()
    }

    fn panicked(&self, panic: &(dyn Any + Send)) -> WalkError {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let text = format!("internal error of the compiled reader: {what}");
        WalkError::format(&self.path, text).at(self.block_offset)
    }

    /// Read one block; the checks of `CaptureReader._scan` and `_slow_block`.
    fn step(&mut self) -> Result<Option<Step>, WalkError> {
        self.buf.ensure(LOOKAHEAD)?;
        if self.buf.avail() == 0 {
            self.end()?;
            return Ok(None);
        }
        if self.section.is_none() {
            self.check_start()?;
        }
        let offset = self.buf.offset();
        self.block_offset = offset;
        let avail = self.buf.avail();
        if avail < HEADER {
            let text = format!("capture ends inside a block header ({avail} of {HEADER} bytes)");
            return Err(self.cut(offset, None, text));
        }
        let order = self.order_at(offset)?;
        let (btype, total) = (order.u32(self.buf.rest(), 0), order.u32(self.buf.rest(), 4));
        if let Some(fault) = length_fault(total).or_else(|| size_fault(btype, total)) {
            return Err(self.fault(fault, offset, btype));
        }
        let need = total as usize;
        if let Some(have) = (self.buf.avail() < need)
            .then(|| self.buf.short_of(need))
            .flatten()
        {
            let text = format!("capture ends inside a block ({have} of {total} bytes)");
            return Err(self.cut(offset, Some(btype), text));
        }
        self.buf.ensure(need)?;
        if self.buf.avail() < need {
            let text = format!(
                "capture ends inside a block ({} of {total} bytes)",
                self.buf.avail()
            );
            return Err(self.cut(offset, Some(btype), text));
        }
        let trailer = order.u32(self.buf.rest(), need - 4);
        if trailer != total {
            return Err(self.fault(
                format!("block length {total} != trailer {trailer}"),
                offset,
                btype,
            ));
        }
        self.counts.add(btype);
        self.pending = need;
        self.make_step(offset, btype, order, need).map(Some)
    }

    fn make_step(
        &mut self,
        offset: u64,
        btype: u32,
        order: Order,
        total: usize,
    ) -> Result<Step, WalkError> {
        if btype == BLOCK_SHB {
            self.new_section(offset, order, total)?;
        } else if is_event_block(btype) {
            if self.section.is_none() {
                return Err(self.fault("event before the section header".into(), offset, btype));
            }
            let body = self.buf.slice(HEADER, total - 4);
            let made = if is_v2_event_block(btype) {
                v2_event(btype, body, order, &mut self.scratch)
            } else {
                v1_event(btype, body, order, &mut self.scratch, &mut self.memory)
                    .map(|head| (head, Raw::Scratch))
            };
            let (head, raw) = made.map_err(|text| self.fault(text, offset, btype))?;
            self.events += 1;
            return Ok(Step::Event {
                offset,
                btype,
                head,
                raw,
            });
        }
        Ok(Step::Block {
            offset,
            btype,
            order,
            total,
        })
    }

    fn new_section(&mut self, offset: u64, order: Order, total: usize) -> Result<(), WalkError> {
        let body = self.buf.slice(HEADER, total - 4);
        if body.len() < SHB_HEAD {
            let text = format!("section header body shorter than {SHB_HEAD} bytes");
            return Err(self.fault(text, offset, BLOCK_SHB));
        }
        let (major, minor) = (order.u16(body, 4), order.u16(body, 6));
        if major != SHB_MAJOR {
            return Err(self.fault(
                format!("unsupported format version {major}.{minor}"),
                offset,
                BLOCK_SHB,
            ));
        }
        let section = Section {
            major,
            minor,
            order,
            offset,
        };
        self.section = Some(section);
        self.sections.push(section);
        Ok(())
    }

    /// The byte order of the block at the position: a section header carries its own,
    /// every other block has its section's (§3).
    fn order_at(&self, offset: u64) -> Result<Order, WalkError> {
        match section_order(self.buf.rest()) {
            Ok(Some(order)) => Ok(order),
            Ok(None) => Ok(self.section.map_or(Order::Little, |s| s.order)),
            Err(text) => Err(self.fault(text, offset, BLOCK_SHB)),
        }
    }

    fn check_start(&self) -> Result<(), WalkError> {
        let rest = self.buf.rest();
        if rest.len() < BLOCK_FRAME_SIZE || Order::Little.u32(rest, 0) != BLOCK_SHB {
            let text =
                "not a scap capture: it does not start with a section header block (0x0a0d0d0a)";
            return Err(WalkError::format(&self.path, text).at(0));
        }
        Ok(())
    }

    /// The end of the input between blocks.
    fn end(&mut self) -> Result<(), WalkError> {
        if self.buf.source().cut_short() {
            self.truncated = true;
            let offset = self.buf.offset();
            return Err(
                WalkError::truncated(&self.path, "the gzip stream is cut short").at(offset),
            );
        }
        if self.section.is_none() {
            return Err(WalkError::format(&self.path, "empty file: not a scap capture").at(0));
        }
        Ok(())
    }

    fn cut(&mut self, offset: u64, btype: Option<u32>, mut text: String) -> WalkError {
        self.truncated = true;
        if self.buf.source().cut_short() {
            text.push_str("; the gzip stream is cut short");
        }
        WalkError::truncated(&self.path, text)
            .at(offset)
            .block(btype)
    }

    fn fault(&self, text: String, offset: u64, btype: u32) -> WalkError {
        WalkError::format(&self.path, text)
            .at(offset)
            .block(Some(btype))
    }
}
