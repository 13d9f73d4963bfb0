//! Feed any bytes to the capture walk (plain, or gzip when they start with its magic):
//! it must end with events and at most an error, never with a panic. The walk turns a
//! panic into an "internal error" `WalkError`, so such an error fails the run here.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scaptools_core::walk::source::from_bytes;
use scaptools_core::walk::{Item, Tally, Walker};

fuzz_target!(|data: &[u8]| {
    let mut walker = Walker::new(from_bytes(data.to_vec(), "fuzz"), "fuzz");
    let mut tally = Tally::default();
    while let Some(item) = walker.next_item() {
        match item {
            Ok(Item::Event(ev)) => {
                tally.add(&ev);
            }
            Ok(Item::Block(_)) => {}
            Err(err) => {
                assert!(!err.message.starts_with("internal error"), "{err}");
                break;
            }
        }
    }
});
