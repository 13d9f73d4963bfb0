//! `Event` objects made by writing their slots in place (the walk's one `unsafe` part).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Makes `Event` objects by writing their slots in place: an object from the type's
/// own allocator, each value stored at the offset its member descriptor gives. About
/// twice as fast as eight `setattr` calls, which cost most of a batch.
pub struct SlotWriter {
    offsets: [ffi::Py_ssize_t; 8],
}

impl SlotWriter {
    /// The writer for `event`'s slots `names`, or `None` unless each is a writable
    /// object slot (`Py_T_OBJECT_EX`, what `__slots__` makes) of `event` itself, inside
    /// its instances; callers then use `setattr`.
    pub fn new(event: &Bound<'_, PyType>, names: &[&str; 8]) -> Option<SlotWriter> {
        let own = event.getattr("__dict__").ok()?;
        let tp = event.as_type_ptr();
        // SAFETY: `tp` is a live type object (`event` holds it).
        let basic = unsafe { (*tp).tp_basicsize };
        let mut offsets = [0; 8];
        for (slot, name) in offsets.iter_mut().zip(names) {
            let descr = own.get_item(*name).ok()?;
            // SAFETY: reading the type pointer of a live object; the address of the
            // static PyMemberDescr_Type is taken, never read or written.
            let member_type =
                unsafe { ffi::Py_TYPE(descr.as_ptr()) == &raw mut ffi::PyMemberDescr_Type };
            if !member_type {
                return None;
            }
            // SAFETY: `descr` is a member descriptor (checked just above), whose C layout
            // is PyMemberDescrObject; `d_member` points into its type's member table,
            // which lives as long as the type, and is checked for NULL before use.
            let member = unsafe {
                let d = descr.as_ptr().cast::<ffi::PyMemberDescrObject>();
                if (*d).d_common.d_type != tp || (*d).d_member.is_null() {
                    return None;
                }
                *(*d).d_member
            };
            let size = std::mem::size_of::<*mut ffi::PyObject>() as ffi::Py_ssize_t;
            let header = std::mem::size_of::<ffi::PyObject>() as ffi::Py_ssize_t;
            if member.type_code != ffi::Py_T_OBJECT_EX
                || member.flags & ffi::Py_READONLY != 0
                || member.offset < header
                || member.offset + size > basic
            {
                return None;
            }
            *slot = member.offset;
        }
        Some(SlotWriter { offsets })
    }

    /// A new instance of `event` (the type `new` was checked on) with `values` in its
    /// slots, in the order of the names given to `new`.
    pub fn make<'py>(
        &self,
        event: &Bound<'py, PyType>,
        values: [Bound<'py, PyAny>; 8],
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = event.py();
        let tp = event.as_type_ptr();
        // SAFETY: `tp` is a live type object; its allocator returns a new instance with
        // every slot NULL (or NULL with a Python exception set, handled below).
        let obj = unsafe {
            let alloc = (*tp).tp_alloc.unwrap_or(ffi::PyType_GenericAlloc);
            alloc(tp, 0)
        };
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        for (offset, value) in self.offsets.iter().zip(values) {
            // SAFETY: `obj` is an instance of `tp`, and each offset is that of a writable
            // object slot of `tp` lying inside its instances (checked in `new`) and still
            // NULL; the slot takes over the strong reference `into_ptr` gives up. No
            // Python code runs between the allocation and these writes.
            unsafe {
                obj.cast::<u8>()
                    .offset(*offset)
                    .cast::<*mut ffi::PyObject>()
                    .write(value.into_ptr());
            }
        }
        // SAFETY: `obj` is a new, non-NULL strong reference.
        Ok(unsafe { Bound::from_owned_ptr(py, obj) })
    }
}
