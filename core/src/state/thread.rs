//! Thread and fd records (`scaptools/state/threads.py`, `fds.py`).

use std::cell::OnceCell;
use std::rc::Rc;

use super::{Enter, FdTable, Int};

pub const FD_UNKNOWN: Int = 0;
pub const FD_FILE: Int = 1;
pub const FD_DIRECTORY: Int = 2;
pub const FD_IPV4_SOCK: Int = 3;
pub const FD_IPV6_SOCK: Int = 4;
pub const FD_IPV4_SERVSOCK: Int = 5;
pub const FD_IPV6_SERVSOCK: Int = 6;
pub const FD_FIFO: Int = 7;
pub const FD_UNIX_SOCK: Int = 8;
pub const FD_EVENT: Int = 9;
pub const FD_SIGNALFD: Int = 11;
pub const FD_EVENTPOLL: Int = 12;
pub const FD_INOTIFY: Int = 13;
pub const FD_TIMERFD: Int = 14;
pub const FD_NETLINK: Int = 15;
pub const FD_FILE_V2: Int = 16;
pub const FD_BPF: Int = 17;
pub const FD_USERFAULTFD: Int = 18;
pub const FD_IOURING: Int = 19;
pub const FD_MEMFD: Int = 20;
pub const FD_PIDFD: Int = 21;
/// Placeholders (no fd yet, or an fd the state does not know): negative types. An
/// open's enter event shows `FD_PENDING_FILE`, other fd-creating calls
/// `-100 - <the type they make>` (or `FD_PENDING_OTHER`), an unknown fd number
/// `FD_PENDING_OTHER` (`parsers.pending_type`).
pub const FD_PENDING_FILE: Int = -1;
pub const FD_PENDING_OTHER: Int = -2;

pub const L4_UNKNOWN: Int = 0;
pub const L4_TCP: Int = 2;
pub const L4_UDP: Int = 3;
pub const L4_ICMP: Int = 4;
pub const L4_RAW: Int = 5;

/// One open file descriptor (`FdInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fd {
    pub num: Int,
    pub ftype: Int,
    pub name: String,
    pub l4proto: Int,
    pub sip: String,
    pub sport: Int,
    pub dip: String,
    pub dport: Int,
    pub flags: Int,
    pub ino: Int,
    pub dev: Int,
    pub pending_l4: Int,
    pub is_server: bool,
    pub client: bool,
    pub pdip: String,
}

impl Fd {
    pub fn new(num: Int, ftype: Int) -> Self {
        Fd {
            num,
            ftype,
            name: String::new(),
            l4proto: L4_UNKNOWN,
            sip: String::new(),
            sport: 0,
            dip: String::new(),
            dport: 0,
            flags: 0,
            ino: 0,
            dev: 0,
            pending_l4: L4_UNKNOWN,
            is_server: ftype == FD_IPV4_SERVSOCK || ftype == FD_IPV6_SERVSOCK,
            client: false,
            pdip: String::new(),
        }
    }

    /// A placeholder, not an fd of the table's kind (`FdInfo.pending`).
    pub fn pending(&self) -> bool {
        self.ftype < 0
    }

    /// The one-letter type sysdig shows (`<f>`, `FdInfo.typechar`); a placeholder of a
    /// known kind shows its kind's letter.
    pub fn typechar(&self) -> char {
        let ftype = if self.ftype <= -100 {
            -100 - self.ftype
        } else {
            self.ftype
        };
        match ftype {
            FD_PENDING_FILE | FD_FILE | FD_FILE_V2 => 'f',
            FD_DIRECTORY => 'd',
            FD_IPV4_SOCK | FD_IPV4_SERVSOCK => '4',
            FD_IPV6_SOCK | FD_IPV6_SERVSOCK => '6',
            FD_FIFO => 'p',
            FD_UNIX_SOCK => 'u',
            FD_EVENT => 'e',
            10 => 'X',
            FD_SIGNALFD => 's',
            FD_EVENTPOLL => 'l',
            FD_INOTIFY => 'i',
            FD_TIMERFD => 't',
            FD_NETLINK => 'n',
            _ => 'o',
        }
    }

    /// sysdig's `fd.type` text (`FdInfo.type_name`); `None` for a placeholder.
    pub fn type_name(&self) -> Option<&'static str> {
        Some(match self.ftype {
            t if t < 0 => return None,
            FD_FILE | FD_FILE_V2 => "file",
            FD_DIRECTORY => "directory",
            FD_IPV4_SOCK | FD_IPV4_SERVSOCK => "ipv4",
            FD_IPV6_SOCK | FD_IPV6_SERVSOCK => "ipv6",
            FD_FIFO => "pipe",
            FD_UNIX_SOCK => "unix",
            FD_EVENT => "event",
            FD_SIGNALFD => "signalfd",
            FD_EVENTPOLL => "eventpoll",
            FD_INOTIFY => "inotify",
            FD_TIMERFD => "timerfd",
            FD_NETLINK => "netlink",
            FD_BPF => "bpf",
            FD_USERFAULTFD => "userfaultfd",
            FD_IOURING => "io_uring",
            FD_MEMFD => "memfd",
            FD_PIDFD => "pidfd",
            _ => "unknown",
        })
    }

    pub fn is_socket(&self) -> bool {
        (FD_IPV4_SOCK..=FD_IPV6_SERVSOCK).contains(&self.ftype)
    }

    /// The same fd under another number (`FdInfo.copy`).
    pub fn copy(&self, num: Int) -> Self {
        Fd {
            num,
            ..self.clone()
        }
    }
}

/// One thread (`ThreadInfo`): identity, process data, and its fd table.
#[derive(Debug, Clone)]
pub struct Thread {
    pub tid: Int,
    pub pid: Int,
    pub ptid: Int,
    pub sid: Int,
    pub vpgid: Int,
    pub pgid: Int,
    pub comm: String,
    pub exe: String,
    pub exepath: String,
    pub args: Vec<String>,
    pub cwd: String,
    pub env: Vec<String>,
    pub cgroups: Vec<String>,
    pub root: String,
    pub fdlimit: Int,
    pub flags: Int,
    pub uid: Int,
    pub gid: Int,
    pub loginuid: Int,
    pub vtid: Int,
    pub vpid: Int,
    pub vmsize_kb: Int,
    pub vmrss_kb: Int,
    pub vmswap_kb: Int,
    pub pfmajor: Int,
    pub pfminor: Int,
    pub tty: Int,
    pub exe_writable: Int,
    pub cap_inheritable: Int,
    pub cap_permitted: Int,
    pub cap_effective: Int,
    pub clone_ts: Int,
    pub pidns_init_start_ts: Int,
    pub lastexec_ts: Int,
    pub exited: bool,
    /// made up by an event of an unknown thread (`_dummy`)
    pub dummy: bool,
    /// its last syscall event was an enter
    pub in_call: bool,
    /// the fd of its last enter event, or the fd its last fd-creating exit made
    pub lastevent_fd: Option<Int>,
    /// of its last syscall (exit time minus enter time)
    pub last_latency: Int,
    /// CPU time seen so far (switch events)
    pub totexectime: Int,
    pub fdtable: FdTable,
    pub last_enter: Option<Rc<Enter>>,
    /// its container id, found on first use (`_container`, `containers.container_id`)
    pub(super) container: OnceCell<String>,
}

impl Thread {
    pub fn new(tid: Int) -> Self {
        Thread {
            tid,
            pid: tid,
            ptid: 0,
            sid: -1,
            vpgid: -1,
            pgid: -1,
            comm: String::new(),
            exe: String::new(),
            exepath: String::new(),
            args: Vec::new(),
            cwd: String::new(),
            env: Vec::new(),
            cgroups: Vec::new(),
            root: String::new(),
            fdlimit: 0,
            flags: 0,
            uid: 0,
            gid: 0,
            loginuid: 0xFFFF_FFFF,
            vtid: -1,
            vpid: -1,
            vmsize_kb: 0,
            vmrss_kb: 0,
            vmswap_kb: 0,
            pfmajor: 0,
            pfminor: 0,
            tty: 0,
            exe_writable: 0,
            cap_inheritable: 0,
            cap_permitted: 0,
            cap_effective: 0,
            clone_ts: 0,
            pidns_init_start_ts: 0,
            lastexec_ts: 0,
            exited: false,
            dummy: false,
            in_call: false,
            lastevent_fd: None,
            last_latency: 0,
            totexectime: 0,
            fdtable: FdTable::new(),
            last_enter: None,
            container: OnceCell::new(),
        }
    }

    /// The thread an event of an unknown tid makes up (`tracker.track`).
    pub fn dummy(tid: Int) -> Self {
        Thread {
            comm: "<NA>".into(),
            exe: "<NA>".into(),
            uid: 0xFFFF_FFFF,
            gid: 0xFFFF_FFFF,
            ptid: -1,
            fdlimit: -1,
            dummy: true,
            ..Thread::new(tid)
        }
    }

    /// A copy of fd `num`, or `None`.
    pub fn fd(&self, num: Int) -> Option<Fd> {
        self.fdtable.borrow().get(&num).cloned()
    }

    pub(super) fn set_fd(&self, fd: Fd) {
        self.fdtable.borrow_mut().insert(fd.num, fd);
    }

    /// Change fd `num` in place when it exists.
    pub(super) fn with_fd(&self, num: Int, change: impl FnOnce(&mut Fd)) {
        if let Some(fd) = self.fdtable.borrow_mut().get_mut(&num) {
            change(fd);
        }
    }
}
