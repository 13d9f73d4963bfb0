//! Unit tests of the state tables: the text helpers, seeding, and events changing
//! threads and fds (the Python `State` is the reference: tests/core/test_core_state*.py).

use super::params::{ip_text, join_paths, normpath, split_nul};
use super::table::events;
use super::thread::*;
use super::*;
use crate::walk::{BlockRef, EventRef, Order};

/// The id of the current (last) version of an event.
fn id_of(name: &str, enter: bool) -> u16 {
    let index = events()
        .iter()
        .rposition(|e| e.name == name && e.enter == enter)
        .unwrap_or_default();
    index as u16
}

/// A v2 event's raw bytes from its encoded parameters.
fn raw(etype: u16, tid: u64, ts: u64, params: &[Vec<u8>]) -> Vec<u8> {
    let data: usize = params.iter().map(Vec::len).sum();
    let len = HEADER_SIZE + 2 * params.len() + data;
    let mut out = Vec::new();
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&tid.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&etype.to_le_bytes());
    out.extend_from_slice(&(params.len() as u32).to_le_bytes());
    for p in params {
        out.extend_from_slice(&(p.len() as u16).to_le_bytes());
    }
    for p in params {
        out.extend_from_slice(p);
    }
    out
}

fn apply(state: &mut State, name: &str, enter: bool, tid: u64, params: &[Vec<u8>]) {
    let etype = id_of(name, enter);
    let bytes = raw(etype, tid, 1, params);
    let ev = EventRef {
        offset: 0,
        num: 1,
        ts: 1,
        tid,
        cpu: 0,
        etype,
        nparams: params.len() as u32,
        flags: 0,
        block_type: 0x216,
        large: false,
        raw: &bytes,
    };
    state.update(&ev).unwrap();
}

fn q(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn u(v: u32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn s(v: &str) -> Vec<u8> {
    let mut out = v.as_bytes().to_vec();
    out.push(0);
    out
}

fn str16(v: &str) -> Vec<u8> {
    let mut out = (v.len() as u16).to_le_bytes().to_vec();
    out.extend_from_slice(v.as_bytes());
    out
}

/// A version-1 process list entry (§5).
fn pl_v1_entry(tid: i64, pid: i64, comm: &str, cwd: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [tid, pid, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for text in [comm, "/bin/x", "a\0b\0"] {
        out.extend(str16(text));
    }
    out.extend(str16(cwd));
    out.extend_from_slice(&1024i64.to_le_bytes());
    for v in [0u32, 1000, 1000] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn seeded() -> State {
    let mut state = State::new();
    let mut body = pl_v1_entry(10, 10, "bash", "/home/u");
    body.extend(pl_v1_entry(11, 10, "bash", "/home/u"));
    body.extend_from_slice(&[0, 0]); // padding
    let block = BlockRef {
        offset: 0,
        block_type: 0x202,
        order: Order::Little,
        body: &body,
    };
    state.seed(&block).unwrap();
    let mut fds = 10u64.to_le_bytes().to_vec();
    fds.extend_from_slice(&0i64.to_le_bytes());
    fds.extend_from_slice(&5u64.to_le_bytes());
    fds.push(1);
    fds.extend(str16("/dev/pts/0"));
    let block = BlockRef {
        offset: 0,
        block_type: 0x203,
        order: Order::Little,
        body: &fds,
    };
    state.seed(&block).unwrap();
    state
}

#[test]
fn ip_text_writes_what_python_writes() {
    assert_eq!(ip_text(&[10, 0, 0, 1]), "10.0.0.1");
    let mut v6 = [0u8; 16];
    assert_eq!(ip_text(&v6), "::");
    v6[15] = 1;
    assert_eq!(ip_text(&v6), "::1");
    v6[10] = 0xff;
    v6[11] = 0xff;
    v6[12] = 10;
    v6[15] = 2;
    assert_eq!(ip_text(&v6), "::ffff:a00:2");
    let groups = [1u16, 0, 2, 3, 0, 0, 0, 7];
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_be_bytes()).collect();
    assert_eq!(ip_text(&bytes), "1:0:2:3::7");
    let groups = [1u16, 0, 0, 3, 0, 0, 6, 7];
    let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_be_bytes()).collect();
    assert_eq!(ip_text(&bytes), "1::3:0:0:6:7");
}

#[test]
fn paths_join_as_sysdig_joins_them() {
    assert_eq!(normpath("//x"), "//x");
    assert_eq!(normpath("a/../.."), "..");
    assert_eq!(normpath(""), ".");
    assert_eq!(join_paths("/home/u/", "../x/./y"), "/home/x/y");
    assert_eq!(join_paths("", "rel"), "");
    assert_eq!(join_paths("/a", "../../.."), "/");
    assert_eq!(join_paths("a", "../.."), "/..");
    assert_eq!(join_paths("/", "//x//y/"), "/x/y");
    assert_eq!(split_nul(b""), Vec::<String>::new());
    assert_eq!(split_nul(b"\0"), vec![String::new()]);
    assert_eq!(split_nul(b"a\0b\0\0"), vec!["a", "b"]);
}

#[test]
fn seeding_shares_the_leaders_fds_and_ends_directories_with_a_slash() {
    let state = seeded();
    let (leader, thread) = (&state.threads[&10], &state.threads[&11]);
    assert!(leader.fdtable.same(&thread.fdtable));
    assert_eq!(leader.cwd, "/home/u/");
    assert_eq!(leader.args, vec!["a", "b"]);
    assert_eq!(thread.fd(0).map(|f| f.name), Some("/dev/pts/0".into()));
}

#[test]
fn a_damaged_list_is_an_error() {
    let mut state = State::new();
    let body = pl_v1_entry(10, 10, "bash", "/")[..40].to_vec();
    let block = BlockRef {
        offset: 0,
        block_type: 0x202,
        order: Order::Little,
        body: &body,
    };
    assert!(state.seed(&block).is_err());
}

#[test]
fn open_dup_and_close_change_the_shared_fd_table() {
    let mut state = seeded();
    let openat = [q(3), q(-100), s("f.txt"), u(1), u(0), u(0), q(9)];
    apply(&mut state, "openat", false, 11, &openat);
    assert_eq!(state.threads[&10].fd(3).unwrap().name, "/home/u/f.txt");
    apply(&mut state, "dup", false, 10, &[q(4), q(3)]);
    let dup = state.threads[&10].fd(4).unwrap();
    assert_eq!(
        (dup.num, dup.ino, dup.name.as_str()),
        (4, 9, "/home/u/f.txt")
    );
    apply(&mut state, "close", true, 10, &[q(3)]);
    apply(&mut state, "close", false, 10, &[q(0)]);
    assert!(state.threads[&11].fd(3).is_some()); // the close event still sees it
    apply(&mut state, "read", true, 10, &[q(4), u(1)]);
    assert!(state.threads[&11].fd(3).is_none());
    assert_eq!(state.threads[&11].fd(4).unwrap().ftype, FD_FILE);
}

#[test]
fn clone_copies_or_shares_and_procexit_purges_on_the_next_event() {
    let mut state = seeded();
    let clone = |res: i64, flags: u32| {
        vec![
            q(res),
            s("/bin/x"),
            b"x\0".to_vec(),
            q(10),
            q(10),
            q(1),
            s("/srv"),
            q(1024),
            q(0),
            q(0),
            u(0),
            u(0),
            u(0),
            s("x"),
            Vec::new(),
            u(flags),
            u(0),
            u(0),
        ]
    };
    apply(&mut state, "clone", false, 10, &clone(20, 0));
    apply(&mut state, "clone", false, 10, &clone(21, 8192 | 1));
    let (parent, process, thread) = (
        &state.threads[&10],
        &state.threads[&20],
        &state.threads[&21],
    );
    assert!(!parent.fdtable.same(&process.fdtable));
    assert!(parent.fdtable.same(&thread.fdtable));
    assert_eq!((process.pid, process.ptid, thread.pid), (20, 10, 10));
    assert_eq!(process.cwd, "/srv/");
    apply(&mut state, "procexit", true, 20, &[]);
    assert!(state.threads[&20].exited);
    apply(&mut state, "read", true, 10, &[q(0), u(1)]);
    assert!(!state.threads.contains_key(&20));
}

#[test]
fn unknown_threads_are_made_up_except_by_scheduler_events() {
    let mut state = State::new();
    apply(&mut state, "switch", true, 50, &[]);
    assert!(state.threads.is_empty());
    apply(&mut state, "read", true, 50, &[q(0), u(1)]);
    let made = &state.threads[&50];
    assert!(made.dummy && made.in_call);
    assert_eq!(
        (made.comm.as_str(), made.ptid, made.fdlimit),
        ("<NA>", -1, -1)
    );
}

#[test]
fn a_full_table_drops_its_oldest_quarter() {
    let mut state = State::with_max_threads(4);
    for tid in 1..=4 {
        state.add_thread(Thread::new(tid));
    }
    state.add_thread(Thread::new(2)); // replaced in place: still the second oldest
    let mut left: Vec<Int> = state.threads.keys().copied().collect();
    left.sort();
    assert_eq!(left, vec![2, 3, 4]); // full when 2 came again: 1 went
    state.add_thread(Thread::new(5));
    apply(&mut state, "read", true, 6, &[q(0), u(1)]); // made up: full again, 2 goes
    let mut left: Vec<Int> = state.threads.keys().copied().collect();
    left.sort();
    assert_eq!(left, vec![3, 4, 5, 6]);
}

/// The state after seeding `blocks` (type, body) into a new one.
fn reseeded(blocks: &[(u32, Vec<u8>)]) -> State {
    let mut state = State::new();
    for (block_type, body) in blocks {
        let block = BlockRef {
            offset: 0,
            block_type: *block_type,
            order: Order::Little,
            body,
        };
        state.seed(&block).unwrap();
    }
    state
}

#[test]
fn a_dump_seeds_the_same_threads_fds_and_users() {
    let mut state = seeded();
    let openat = [q(3), q(-100), s("f.txt"), u(1), u(0), u(0), q(9)];
    apply(&mut state, "openat", false, 11, &openat);
    state.add_user(User {
        uid: 1000,
        gid: Some(50),
        name: "u".into(),
        home: "/home/u".into(),
        shell: "/bin/sh".into(),
    });
    state.add_group(50, "staff".into());
    apply(&mut state, "read", true, 10, &[q(3), u(64)]); // a call in progress
    let blocks = state.dump();
    assert_eq!(
        blocks.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        [0x215, 0x218, 0x220] // one fd list: the two threads share their table
    );
    let again = reseeded(&blocks);
    for tid in [10, 11] {
        let (a, b) = (&state.threads[&tid], &again.threads[&tid]);
        assert_eq!(
            (a.pid, &a.comm, &a.cwd, a.fdlimit, a.loginuid),
            (b.pid, &b.comm, &b.cwd, b.fdlimit, b.loginuid)
        );
        let (fa, fb) = (a.fd(3).unwrap(), b.fd(3).unwrap());
        // a file of type 1 has no flags in a list (only type 16 does)
        assert_eq!((fa.ftype, &fa.name, fa.ino), (fb.ftype, &fb.name, fb.ino));
    }
    assert!(again.threads[&10].fdtable.same(&again.threads[&11].fdtable));
    assert_eq!(again.users[&1000], state.users[&1000]);
    assert_eq!(again.groups[&50], "staff");
    assert_eq!(again.dump(), blocks); // a dump of the dump is the same bytes
    let calls = state.calls_in_progress();
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].0, calls[0].1.etype), (10, id_of("read", true)));
}
