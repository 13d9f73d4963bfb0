//! JSON as the plugin fields read it, straight from the payload's bytes: a check of
//! the whole document ([`valid`]), walks that find the first member of a name or an
//! element and give back where its value starts ([`member`], [`element`],
//! [`value_end`]), and the renderings of a value (decoded string, compact text,
//! indented text, numbers). No tree is built.

mod check;
mod scan;
mod text;
mod walk;

pub use check::{valid, valid_with, TopMember};
pub use scan::{find_special, skip_string, skip_ws, string_span, value_end};
pub use text::{compact, decode_string, indent, indent_limit, number_u64};
pub use walk::{element, go_atoi, key_is, member, Members};
