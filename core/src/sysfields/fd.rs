//! The syscall fields of the classes fd, fdlist.

use super::Ctx;
use crate::fields::FieldError;
use crate::value::Value;

/// A compiled field of this module.
#[derive(Debug, Clone, PartialEq)]
pub enum FdField {}

/// `Ok(None)`: `name` is not a field of this module.
pub fn compile(_name: &str, _arg: Option<&str>) -> Result<Option<FdField>, FieldError> {
    Ok(None)
}

impl FdField {
    pub fn extract<'a>(&self, _cx: &Ctx<'a>) -> Option<Value<'a>> {
        match *self {}
    }

    pub fn type_name(&self) -> &'static str {
        match *self {}
    }

    pub fn is_list(&self) -> bool {
        match *self {}
    }
}
