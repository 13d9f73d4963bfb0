//! Checks of IP address and network fields (docs/rules-language.md §6.2), as the Python
//! compiler writes them (`ip_check` and `sides_check` of
//! scaptools/engine/condition/compiler.py):
//!
//! * the field's text is read as `ipaddress.ip_address` reads it (an address that does
//!   not parse makes the check false, `!=` included);
//! * `=`, `in`, `intersects` hold when the address equals one of the constant addresses
//!   or lies in one of the constant networks (an IPv4 address never equals nor lies in
//!   anything IPv6, and the other way round); `!=` when none does;
//! * a field tagged `sides` (`fd.ip`, `fd.net`, `fd.port`, `fd.proto`) gives both ends of
//!   a connection: `=` and `in` hold when one end matches, `!=` when every end differs.
//!
//! Constants come from Python already converted (`str` of an `IPv4Address`,
//! `IPv6Address` or network), so they are canonical; an IPv6 scope (`%eth0`), which
//! Python keeps and compares, is refused (the rule stays in Python).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::data::Data;
use super::expr::Cmp;

/// An address: its version and its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    V4(u32),
    V6(u128),
}

impl Ip {
    /// `ipaddress.ip_address(text)` without an IPv6 scope: IPv4 first, then IPv6.
    pub fn parse(text: &str) -> Option<Ip> {
        match Ip::scoped(text)? {
            (ip, false) => Some(ip),
            (_, true) => None,
        }
    }

    /// `ipaddress.ip_address(text)`, and whether it has an IPv6 scope (`fe80::1%eth0`:
    /// a scope after one `%`, not empty, without another `%`).
    pub fn scoped(text: &str) -> Option<(Ip, bool)> {
        if let Ok(v4) = text.parse::<Ipv4Addr>() {
            return Some((Ip::V4(u32::from(v4)), false));
        }
        let (addr, scope) = match text.split_once('%') {
            None => (text, false),
            Some((_, "")) => return None,
            Some((_, scope)) if scope.contains('%') => return None,
            Some((addr, _)) => (addr, true),
        };
        let v6 = addr.parse::<Ipv6Addr>().ok()?;
        Some((Ip::V6(u128::from(v6)), scope))
    }
}

/// A constant of an IP check: an address, or a network (address bits and prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpConst {
    Addr(Ip),
    Net(Ip, u8),
}

impl IpConst {
    /// `"1.2.3.4"`, `"::1"`, `"10.0.0.0/8"` (the network's own address, as Python's
    /// `ip_network(..., strict=False)` writes it).
    pub fn parse(text: &str) -> Option<IpConst> {
        match text.split_once('/') {
            None => Ip::parse(text).map(IpConst::Addr),
            Some((addr, bits)) => {
                let bits: u8 = bits.parse().ok()?;
                let ip = Ip::parse(addr)?;
                let max = if matches!(ip, Ip::V4(_)) { 32 } else { 128 };
                (bits <= max).then_some(IpConst::Net(ip, bits))
            }
        }
    }

    /// Whether the address equals this address (a scoped address equals no constant:
    /// Python compares the scopes) or lies in this network (scopes play no part).
    fn holds(&self, ip: Ip, scoped: bool) -> bool {
        match (*self, ip) {
            (IpConst::Addr(c), ip) => !scoped && c == ip,
            (IpConst::Net(Ip::V4(net), bits), Ip::V4(a)) => {
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                a & mask == net & mask
            }
            (IpConst::Net(Ip::V6(net), bits), Ip::V6(a)) => {
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                a & mask == net & mask
            }
            _ => false,
        }
    }
}

/// An IP check of one value: one of `consts` holds (`negate`: none does).
#[derive(Debug, Clone)]
pub struct IpTest {
    pub consts: Vec<IpConst>,
    pub negate: bool,
}

impl IpTest {
    /// `=`, `==`, `in`, `intersects` (any constant holds) or `!=` (none does) with
    /// these constants; `Err` for another operator or a constant the core refuses.
    pub fn new(op: &str, consts: &[&str]) -> Result<IpTest, String> {
        let negate = match op {
            "=" | "==" | "in" | "intersects" => false,
            "!=" => true,
            _ => return Err(format!("IP operator {op}")),
        };
        let consts = consts
            .iter()
            .map(|c| IpConst::parse(c).ok_or(format!("IP constant {c}")))
            .collect::<Result<_, _>>()?;
        Ok(IpTest { consts, negate })
    }

    /// The check on the text of one address (false when it does not parse).
    pub fn holds(&self, value: &Data) -> bool {
        let Some((ip, scoped)) = value.text().and_then(Ip::scoped) else {
            return false;
        };
        self.consts.iter().any(|c| c.holds(ip, scoped)) != self.negate
    }
}

/// The test of one end of a `sides` field.
#[derive(Debug, Clone)]
pub enum Side {
    Ip(IpTest),
    /// a port: any of the comparisons holds
    Port(Vec<(Cmp, Data<'static>)>),
}

/// A check of a `sides` field: the test of each end, combined by `all` (`!=`) or any.
#[derive(Debug, Clone)]
pub struct SidesTest {
    pub side: Side,
    pub all: bool,
}

impl SidesTest {
    /// Addresses: per end the test of `=` (`in`: of each constant), any end, or for
    /// `!=` every end.
    pub fn ips(op: &str, consts: &[&str]) -> Result<SidesTest, String> {
        let each = if op == "in" { "=" } else { op };
        Ok(SidesTest {
            side: Side::Ip(IpTest::new(each, consts)?),
            all: op == "!=",
        })
    }

    /// Ports: per end the comparison `cmp` (`=` for each constant of `in`), any end, or
    /// for `!=` every end.
    pub fn ports(
        op: &str,
        cmp: Option<Cmp>,
        consts: Vec<Data<'static>>,
    ) -> Result<SidesTest, String> {
        let cmp = cmp.ok_or(format!("port operator {op}"))?;
        if op != "in" && consts.len() != 1 {
            return Err("expected one value".into());
        }
        Ok(SidesTest {
            side: Side::Port(consts.into_iter().map(|c| (cmp, c)).collect()),
            all: op == "!=",
        })
    }

    /// The check on the ends the field gives (a list; anything else is false).
    pub fn holds(&self, value: &Data, compare: impl Fn(Cmp, &Data, &Data) -> bool) -> bool {
        let Data::List(ends) = value else {
            return false;
        };
        let one = |end: &Data| match &self.side {
            Side::Ip(test) => test.holds(end),
            Side::Port(cmps) => cmps.iter().any(|(cmp, c)| compare(*cmp, end, c)),
        };
        if self.all {
            ends.iter().all(one)
        } else {
            ends.iter().any(one)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(consts: &[&str], negate: bool) -> IpTest {
        IpTest {
            consts: consts.iter().map(|c| IpConst::parse(c).unwrap()).collect(),
            negate,
        }
    }

    fn text(s: &str) -> Data<'static> {
        Data::Str(s.to_string().into())
    }

    #[test]
    fn addresses_and_networks() {
        let t = test(&["10.0.0.0/8", "192.168.0.1", "fd00::/8"], false);
        assert!(t.holds(&text("10.1.2.3")));
        assert!(t.holds(&text("192.168.0.1")));
        assert!(!t.holds(&text("192.168.0.2")));
        assert!(t.holds(&text("fd12::1")));
        assert!(!t.holds(&text("::ffff:10.0.0.1"))); // mapped: IPv6, not in 10/8
        assert!(!t.holds(&text("not an address")));
        let ne = test(&["127.0.0.1"], true);
        assert!(ne.holds(&text("127.0.0.2")));
        assert!(!ne.holds(&text("127.0.0.1")));
        assert!(!ne.holds(&text("010.0.0.1"))); // Python refuses leading zeros too
        assert!(!ne.holds(&Data::Int(1)));
        let scoped = text("fe80::1%eth0");
        assert!(test(&["fe80::1"], true).holds(&scoped)); // scopes differ
        assert!(test(&["fe80::/10"], false).holds(&scoped));
        assert!(!test(&["fe80::1"], true).holds(&text("fe80::1%")));
        assert!(!test(&["fe80::1"], true).holds(&text("fe80::1%a%b")));
        assert!(test(&["0.0.0.0/0"], false).holds(&text("8.8.8.8")));
        assert!(!test(&["::/0"], false).holds(&text("8.8.8.8")));
    }

    #[test]
    fn constants_with_a_scope_are_refused() {
        assert_eq!(IpConst::parse("fe80::1%eth0"), None);
        assert_eq!(IpConst::parse("10.0.0.0/33"), None);
    }

    #[test]
    fn sides_any_or_all() {
        let ends = Data::List(vec![text("10.0.0.1"), text("8.8.8.8")]);
        let eq = |cmp, a: &Data, b: &Data| cmp == Cmp::Eq && a.equals(b);
        let any = SidesTest {
            side: Side::Ip(test(&["8.8.8.8"], false)),
            all: false,
        };
        assert!(any.holds(&ends, eq));
        let all = SidesTest {
            side: Side::Ip(test(&["8.8.8.8"], true)),
            all: true,
        };
        assert!(!all.holds(&ends, eq));
        let ports = SidesTest {
            side: Side::Port(vec![(Cmp::Eq, Data::Int(22))]),
            all: false,
        };
        assert!(ports.holds(&Data::List(vec![Data::Int(5), Data::Int(22)]), eq));
        assert!(!ports.holds(&Data::Int(22), eq));
    }
}
