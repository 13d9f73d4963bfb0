//! Unit tests of the print loop's parts (the Python differential tests are the judge:
//! tests/print/test_print_core_syscall.py).

use super::plan::Plan;

#[test]
fn a_plan_with_an_unknown_field_is_refused() {
    let plan = r#"{"filter": {"fields": [["no.such", null]], "cond": null, "types": null},
                   "hidden": [], "render": {"kind": "none"}}"#;
    let err = Plan::parse(plan).err().unwrap_or_default();
    assert!(err.contains("no.such"), "{err}");
}
