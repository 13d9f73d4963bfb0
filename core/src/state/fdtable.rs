//! The fd table of a process: fds by number, shared by the threads that share it
//! (`CLONE_FILES`, the threads of a process), as the Python threads share one dict.
//!
//! Anyone reads a table (`borrow`); only the state module changes one (`borrow_mut`
//! and the thread's `set_fd`/`with_fd` are private to it), and only while it holds the
//! whole `State` mutably (`State::update`, `seed`). That rule lets `State::event_fd`
//! lend a plain `&Fd` for as long as the state is borrowed (`lend`), without a guard
//! and without a copy of the fd per event. The one way around it would be to move a
//! table from one `State` into another (`std::mem::swap` of their thread tables):
//! nothing does, and nothing may.

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;

use super::hash::IntMap;
use super::{Fd, Int};

/// One fd table; clones share it.
#[derive(Debug, Clone, Default)]
pub struct FdTable(Rc<RefCell<IntMap<Fd>>>);

impl FdTable {
    /// A new empty table.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn from_map(map: IntMap<Fd>) -> Self {
        FdTable(Rc::new(RefCell::new(map)))
    }

    /// The fds, read-only.
    pub fn borrow(&self) -> Ref<'_, IntMap<Fd>> {
        self.0.borrow()
    }

    /// The fds, to change (the state module only, while it holds the state mutably).
    pub(super) fn borrow_mut(&self) -> RefMut<'_, IntMap<Fd>> {
        self.0.borrow_mut()
    }

    /// Whether two handles are the same table.
    pub fn same(&self, other: &FdTable) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// A number naming the table: threads that share it have the same.
    pub fn id(&self) -> usize {
        Rc::as_ptr(&self.0) as usize
    }

    /// Fd `num` for as long as `_state` is borrowed.
    pub(super) fn lend<'a>(&'a self, _state: &'a super::State, num: Int) -> Option<&'a Fd> {
        // SAFETY: tables are changed (`borrow_mut`) only by the state module while it
        // holds the `State` mutably (module doc); `_state` is borrowed for 'a, so no
        // change can happen while the reference lives. A table that is not the
        // state's own (a handle kept elsewhere) can only be changed through the same
        // module, under the same rule.
        let map = unsafe { self.0.try_borrow_unguarded() }.ok()?;
        map.get(&num)
    }
}
