//! Unit checks of the proc fields' compilation; the differential test
//! (tests/core/test_core_sysfields_proc.py) holds the values to the Python ones.

use super::process::{compile, level};
use crate::fields::FieldError;

#[test]
fn levels_read_as_python_reads_them() {
    assert_eq!(level(None), Some(1));
    assert_eq!(level(Some("")), Some(1));
    assert_eq!(level(Some("x")), Some(1));
    assert_eq!(level(Some("-1")), Some(1));
    assert_eq!(level(Some("007")), Some(7));
    assert_eq!(level(Some("\u{663}")), None); // a digit only Python reads
    assert_eq!(level(Some(&"9".repeat(60))), None);
}

#[test]
fn arguments_refused_as_python_refuses_them() {
    let refused = compile("proc.name", Some("1"));
    assert_eq!(
        refused,
        Err(FieldError::Argument(
            "filter proc.name does not support an argument".into()
        ))
    );
    assert!(matches!(compile("proc.aname", Some("2")), Ok(Some(_))));
    assert!(matches!(compile("proc.nothing", None), Ok(None)));
}
