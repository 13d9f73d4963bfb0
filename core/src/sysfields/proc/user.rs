//! The `user.*` and `group.*` fields (`user_fields` of
//! `scaptools/fields/syscall/proc.py`): the thread's ids, and their names from the
//! capture's user and group lists (no value for an id the capture does not name).

use std::borrow::Cow;

use super::{event_thread, int, refuse_arg, Ctx};
use crate::fields::FieldError;
use crate::state::{Int, User};
use crate::value::Value;

/// A compiled `user.*` or `group.*` field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Field {
    Uid,
    Name,
    Home,
    Shell,
    LoginUid,
    LoginName,
    Gid,
    GroupName,
}

const FIELDS: &[(&str, Field, &str)] = &[
    ("user.uid", Field::Uid, "uint64"),
    ("user.name", Field::Name, "string"),
    ("user.homedir", Field::Home, "string"),
    ("user.shell", Field::Shell, "string"),
    ("user.loginuid", Field::LoginUid, "int64"),
    ("user.loginname", Field::LoginName, "string"),
    ("group.gid", Field::Gid, "uint64"),
    ("group.name", Field::GroupName, "string"),
];

/// The audit id of no user.
const NO_LOGIN: Int = 0xFFFF_FFFF;

/// `Ok(None)`: `name` is not a `user.*`/`group.*` field of the core.
pub fn compile(name: &str, arg: Option<&str>) -> Result<Option<Field>, FieldError> {
    match FIELDS.iter().find(|(n, _, _)| *n == name) {
        Some((_, field, _)) => {
            refuse_arg(name, arg)?;
            Ok(Some(*field))
        }
        None => Ok(None),
    }
}

impl Field {
    pub fn type_name(&self) -> &'static str {
        FIELDS
            .iter()
            .find(|(_, f, _)| f == self)
            .map_or("string", |(_, _, ty)| ty)
    }

    pub fn extract<'a>(&self, cx: &Ctx<'a>) -> Option<Value<'a>> {
        let thread = event_thread(cx)?;
        let user = || cx.state.users.get(&thread.uid);
        let text = |s: &'a str| Some(Value::Str(Cow::Borrowed(s)));
        match self {
            Field::Uid => int(thread.uid),
            Field::Name => text(&user()?.name),
            Field::Home => text(&user()?.home),
            Field::Shell => text(&user()?.shell),
            Field::LoginUid => int(signed32(thread.loginuid)),
            Field::LoginName => {
                if thread.loginuid == NO_LOGIN {
                    return None;
                }
                let login: &'a User = cx.state.users.get(&thread.loginuid)?;
                text(&login.name)
            }
            Field::Gid => int(thread.gid),
            Field::GroupName => text(cx.state.groups.get(&thread.gid)?),
        }
    }
}

/// A 32-bit id read as signed (`_signed32`): 2^31 and above count down from 2^32.
fn signed32(value: Int) -> Int {
    if value >= 1 << 31 {
        value - (1 << 32)
    } else {
        value
    }
}
