//! Calendar dates and times of a timestamp, in UTC or in the local time zone (the C
//! library's `localtime_r`, which Python's `time.localtime` calls too, so both paths
//! follow the same `TZ`), and their texts: the one implementation the `evt.time*`
//! fields and the alert lines of the replay (`crate::replay::render`) share.
//!
//! The alert lines take the local time at a UTC offset their caller gives ([`at_offset`]:
//! the offset in force when the alert is formatted, as Falco's libs do), the fields the
//! offset in force at the event's own time ([`local`]).

const NS: u64 = 1_000_000_000;

/// A broken-down time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// `YYYY-MM-DD`
    pub fn date(&self) -> String {
        let mut s = String::with_capacity(10);
        self.push_date(&mut s);
        s
    }

    /// `HH:MM:SS`
    pub fn time(&self) -> String {
        let mut s = String::with_capacity(8);
        self.push_time(&mut s);
        s
    }

    fn push_date(&self, out: &mut String) {
        // a year before 1 is not reached from a u64 timestamp
        digits(self.year.max(0) as u64, 4, out);
        out.push('-');
        digits(u64::from(self.month), 2, out);
        out.push('-');
        digits(u64::from(self.day), 2, out);
    }

    fn push_time(&self, out: &mut String) {
        digits(u64::from(self.hour), 2, out);
        out.push(':');
        digits(u64::from(self.minute), 2, out);
        out.push(':');
        digits(u64::from(self.second), 2, out);
    }
}

/// Append `HH:MM:SS.nnnnnnnnn` of timestamp `ts` (ns) at UTC offset `offset` seconds.
pub fn at_offset(ts: u64, offset: i64, out: &mut String) {
    let (sec, ns) = (ts / NS, ts % NS);
    let second = (i128::from(sec) + i128::from(offset)).rem_euclid(86400) as u64;
    let civil = Civil {
        year: 0,
        month: 0,
        day: 0,
        hour: (second / 3600) as u32,
        minute: (second / 60 % 60) as u32,
        second: (second % 60) as u32,
    };
    civil.push_time(out);
    out.push('.');
    digits(ns, 9, out);
}

/// Append `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn` of timestamp `ts` (ns) in UTC, then `suffix`.
pub fn iso(ts: u64, suffix: &str, out: &mut String) {
    let civil = utc((ts / NS) as i64);
    civil.push_date(out);
    out.push('T');
    civil.push_time(out);
    out.push('.');
    digits(ts % NS, 9, out);
    out.push_str(suffix);
}

/// Append `n` in decimal, with zeros in front up to `width` digits.
fn digits(n: u64, width: usize, out: &mut String) {
    let mut buf = [b'0'; 20];
    let (mut n, mut at) = (n, buf.len());
    while n > 0 {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let at = at.min(buf.len() - width.min(buf.len()));
    out.extend(buf[at..].iter().map(|&b| char::from(b)));
}

/// The UTC time of `secs` seconds since the epoch.
pub fn utc(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400) as u32;
    // days since 1970-01-01 to a proleptic Gregorian date (eras of 400 years)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: rest / 3600,
        minute: rest / 60 % 60,
        second: rest % 60,
    }
}

/// The local time of `secs` seconds since the epoch; `None` when the C library
/// cannot convert it.
pub fn local(secs: i64) -> Option<Civil> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: `libc::tm` is plain integers and one pointer, for which all zero bytes
    // (a null pointer) is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals of the right types; localtime_r is the
    // reentrant form and writes only into `tm`.
    let done = unsafe { libc::localtime_r(&t, &mut tm) };
    if done.is_null() {
        return None;
    }
    Some(Civil {
        year: i64::from(tm.tm_year) + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    })
}

/// The time texts of an event (`evt.time`, `evt.time.s`, `evt.time.iso8601`,
/// `evt.datetime`, `evt.datetime.s`): local time but for the ISO form, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Time,
    TimeS,
    Iso8601,
    Datetime,
    DatetimeS,
}

impl Text {
    /// The text field `name`, or `None`.
    pub fn of(name: &str) -> Option<Text> {
        Some(match name {
            "evt.time" => Text::Time,
            "evt.time.s" => Text::TimeS,
            "evt.time.iso8601" => Text::Iso8601,
            "evt.datetime" => Text::Datetime,
            "evt.datetime.s" => Text::DatetimeS,
            _ => return None,
        })
    }

    /// The text of time `ts`; `None` where the C library has no local time for it.
    pub fn of_time(self, ts: u64) -> Option<String> {
        let (secs, nanos) = ((ts / NS) as i64, ts % NS);
        if self == Text::Iso8601 {
            let mut s = String::with_capacity(34);
            iso(ts, "+0000", &mut s);
            return Some(s);
        }
        let local = local(secs)?;
        Some(match self {
            Text::Time => format!("{}.{nanos:09}", local.time()),
            Text::TimeS => local.time(),
            Text::Datetime => format!("{} {}.{nanos:09}", local.date(), local.time()),
            _ => format!("{} {}", local.date(), local.time()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        let mut s = String::new();
        iso(1_632_360_600_000_000_000, "Z", &mut s);
        assert_eq!(s, "2021-09-23T01:30:00.000000000Z");
        s.clear();
        at_offset(1_632_360_600_000_000_123, -3600, &mut s);
        assert_eq!(s, "00:30:00.000000123");
        s.clear();
        iso(951_782_400_000_000_000, "", &mut s); // 2000-02-29
        assert_eq!(s, "2000-02-29T00:00:00.000000000");
        s.clear();
        iso(u64::MAX, "+0000", &mut s); // the last timestamp: 2554
        assert_eq!(s, "2554-07-21T23:34:33.709551615+0000");
        let c = utc(-1);
        assert_eq!(
            (c.date(), c.time()),
            ("1969-12-31".into(), "23:59:59".into())
        );
        let c = utc(253_402_300_800); // past 9999: five digits
        assert_eq!(c.date(), "10000-01-01");
    }
}
