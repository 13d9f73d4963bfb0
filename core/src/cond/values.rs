//! The field values of one event, each extracted at most once.
//!
//! A condition names fields by their number in the plan's field table. `Values`
//! asks an [`Extract`] for a field the first time a check needs it and keeps the
//! answer for every later check of the same event.

use crate::value::Value;

/// What gives the values of the plan's fields for one event.
pub trait Extract<'a> {
    /// The value of field number `field` (`None`: the field has no value).
    fn extract(&mut self, field: usize) -> Option<Value<'a>>;
}

/// The values of one event's fields, extracted on first use.
#[derive(Debug, Default)]
pub struct Values<'a> {
    slots: Vec<Option<Option<Value<'a>>>>,
    /// the slots extracted since the last clear (an event reads few of the plan's fields)
    filled: Vec<usize>,
}

impl<'a> Values<'a> {
    /// Room for `fields` fields, none extracted yet.
    pub fn new(fields: usize) -> Values<'a> {
        let mut slots = Vec::with_capacity(fields);
        slots.resize_with(fields, || None);
        Values {
            slots,
            filled: Vec::new(),
        }
    }

    /// Extract `field` through `source` unless it was extracted already.
    pub fn fill(&mut self, field: usize, source: &mut dyn Extract<'a>) {
        if field >= self.slots.len() {
            self.slots.resize_with(field + 1, || None);
        }
        if self.slots[field].is_none() {
            self.slots[field] = Some(source.extract(field));
            self.filled.push(field);
        }
    }

    /// The value of an extracted field (`None` for no value or not extracted).
    pub fn get(&self, field: usize) -> Option<&Value<'a>> {
        self.slots.get(field)?.as_ref()?.as_ref()
    }

    /// Forget every value (the next event).
    pub fn clear(&mut self) {
        for field in self.filled.drain(..) {
            self.slots[field] = None;
        }
    }

    /// The same room, emptied, for values that borrow from something else (the next
    /// event of a loop whose state changes between events), without allocating.
    pub fn recycle<'b>(mut self) -> Values<'b> {
        self.clear();
        debug_assert!(self.slots.iter().all(Option::is_none));
        // SAFETY: after `clear` every slot is `None`, so no value borrowing for 'a is
        // left; `Values<'a>` and `Values<'b>` differ only in that lifetime.
        unsafe { std::mem::transmute::<Values<'a>, Values<'b>>(self) }
    }
}

/// An [`Extract`] over a fixed table of values (tests and simple callers).
impl<'a> Extract<'a> for Vec<Option<Value<'a>>> {
    fn extract(&mut self, field: usize) -> Option<Value<'a>> {
        self.get(field).cloned().flatten()
    }
}
