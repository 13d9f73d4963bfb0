//! A few `evt.*` values worked out by hand (the differential Python tests hold every
//! field to the Python extractors).

use super::compile;
use crate::state::State;
use crate::sysfields::Ctx;
use crate::value::Value;
use crate::walk::EventRef;

/// A v2 event of type `etype` with `params`.
fn raw_event(etype: u16, tid: u64, params: &[&[u8]]) -> Vec<u8> {
    let size = 26 + 2 * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut raw = Vec::new();
    raw.extend_from_slice(&5_000_000_123u64.to_le_bytes());
    raw.extend_from_slice(&tid.to_le_bytes());
    raw.extend_from_slice(&(size as u32).to_le_bytes());
    raw.extend_from_slice(&etype.to_le_bytes());
    raw.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for p in params {
        raw.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in params {
        raw.extend_from_slice(p);
    }
    raw
}

fn event(raw: &[u8], etype: u16, nparams: u32) -> EventRef<'_> {
    EventRef {
        offset: 0,
        num: 7,
        ts: 5_000_000_123,
        tid: 100,
        cpu: 3,
        etype,
        nparams,
        flags: 0,
        block_type: 0x216,
        large: false,
        raw,
    }
}

/// Thread 100 with cwd `/home/u/` (a chdir) and fd 3 on `/etc/passwd` (an open).
fn state() -> State {
    let mut state = State::new();
    let chdir = raw_event(95, 100, &[&0i64.to_le_bytes(), b"/home/u/\0"]);
    state.update(&event(&chdir, 95, 2)).unwrap();
    let open = raw_event(
        307,
        100,
        &[
            &3i64.to_le_bytes(),
            &(-100i64).to_le_bytes(),
            b"/etc/passwd\0",
            &1u32.to_le_bytes(),
        ],
    );
    state.update(&event(&open, 307, 4)).unwrap();
    state
}

fn value(state: &State, ev: EventRef<'_>, name: &str, arg: Option<&str>) -> Option<String> {
    let field = compile(name, arg).unwrap().unwrap();
    let cx = Ctx {
        ev,
        state,
        hostname: "h",
    };
    match field.extract(&cx)? {
        Value::Str(s) => Some(s.into_owned()),
        Value::U64(v) => Some(v.to_string()),
        Value::I64(v) => Some(v.to_string()),
        Value::Bool(v) => Some(v.to_string()),
        Value::List(_) => None,
    }
}

#[test]
fn an_open_exit_renders_as_sysdig_shows_it() {
    let state = state();
    // openat exit (307): fd, dirfd, name, flags, mode, dev, ino
    let params: [&[u8]; 7] = [
        &3i64.to_le_bytes(),
        &(-100i64).to_le_bytes(),
        b"x/../y.txt\0",
        &0x401u32.to_le_bytes(),
        &0o644u32.to_le_bytes(),
        &[],
        &9u64.to_le_bytes(),
    ];
    let raw = raw_event(307, 100, &params);
    let ev = event(&raw, 307, 7);
    let info = value(&state, ev, "evt.info", None).unwrap();
    assert_eq!(
        info,
        "fd=3(<f>/etc/passwd) dirfd=-100(AT_FDCWD) name=x/../y.txt(/home/u/y.txt) \
         flags=1025(O_DIRECTORY|O_RDONLY) mode=0644 dev=NULL ino=9 "
    );
    assert_eq!(
        value(&state, ev, "evt.arg.fd", None).as_deref(),
        Some("<f>/etc/passwd")
    );
    assert_eq!(
        value(&state, ev, "evt.arg", Some("2")).as_deref(),
        Some("/home/u/y.txt")
    );
    assert_eq!(
        value(&state, ev, "evt.rawarg.flags", None).as_deref(),
        Some("1025")
    );
    assert_eq!(value(&state, ev, "evt.rawarg.dev", None), None);
    assert_eq!(
        value(&state, ev, "evt.abspath", None).as_deref(),
        Some("/home/u/y.txt")
    );
    assert_eq!(
        value(&state, ev, "evt.res", None).as_deref(),
        Some("SUCCESS")
    );
    assert_eq!(
        value(&state, ev, "evt.type", None).as_deref(),
        Some("openat")
    );
    assert_eq!(value(&state, ev, "evt.dir", None).as_deref(), Some("<"));
    assert_eq!(
        value(&state, ev, "evt.is_open_read", None).as_deref(),
        Some("true")
    );
    assert_eq!(
        value(&state, ev, "evt.rawtime.ns", None).as_deref(),
        Some("123")
    );
    assert_eq!(value(&state, ev, "evt.cpu", None).as_deref(), Some("3"));
}

#[test]
fn a_failed_call_and_a_generic_event() {
    let state = state();
    let raw = raw_event(307, 100, &[&(-2i64).to_le_bytes()]);
    let ev = event(&raw, 307, 1);
    assert_eq!(
        value(&state, ev, "evt.res", None).as_deref(),
        Some("ENOENT")
    );
    assert_eq!(value(&state, ev, "evt.rawres", None).as_deref(), Some("-2"));
    assert_eq!(
        value(&state, ev, "evt.failed", None).as_deref(),
        Some("true")
    );
    assert_eq!(
        value(&state, ev, "evt.arg.fd", None).as_deref(),
        Some("ENOENT")
    );
    assert_eq!(value(&state, ev, "evt.arg.name", None), None);
    // a generic enter event names its real syscall (PPM_SC code 59) and shows no arguments
    let raw = raw_event(0, 100, &[&59u16.to_le_bytes(), &7u16.to_le_bytes()]);
    let ev = event(&raw, 0, 2);
    assert_eq!(
        value(&state, ev, "evt.type", None).as_deref(),
        Some("fchmod")
    );
    assert_eq!(value(&state, ev, "evt.info", None).as_deref(), Some(""));
    assert_eq!(
        value(&state, ev, "evt.args", None),
        Some(String::new()),
        "evt.args is evt.info in the Python field set"
    );
    let refused = compile("evt.num", Some("1")).unwrap_err();
    assert_eq!(
        refused,
        crate::fields::FieldError::Argument("filter evt.num does not support an argument".into())
    );
}
