//! Timestamps and calendar fields: the event time sequences and filters
//! read ([`epoch_millis`]) and the date-part modifiers (`minute`, `hour`,
//! `day`, `week`, `month`, `year`), parsed from the text without allocating.

use crate::ir::TimePart;

/// The calendar fields of a parsed timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Timestamp {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
}

#[inline]
fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

#[inline]
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar.
#[inline]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO weekday: Monday = 1 ... Sunday = 7.
#[inline]
fn weekday(y: i64, m: i64, d: i64) -> i64 {
    (days_from_civil(y, m, d) + 3).rem_euclid(7) + 1
}

/// Number of ISO weeks (52 or 53) in ISO year `y`.
#[inline]
fn iso_weeks_in_year(y: i64) -> i64 {
    let jan1 = weekday(y, 1, 1);
    if jan1 == 4 || (jan1 == 3 && is_leap(y)) {
        53
    } else {
        52
    }
}

/// ISO 8601 week number of a valid date.
#[inline]
fn iso_week(y: i64, m: i64, d: i64) -> i64 {
    let ordinal = days_from_civil(y, m, d) - days_from_civil(y, 1, 1) + 1;
    let week = (ordinal - weekday(y, m, d) + 10) / 7;
    if week < 1 {
        iso_weeks_in_year(y - 1)
    } else if week > iso_weeks_in_year(y) {
        1
    } else {
        week
    }
}

/// Parses a fixed-width run of ASCII digits.
#[inline]
fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Parses `HH:MM` or `HHMM` or `HH` (a UTC offset) and checks it ends the text.
#[inline]
fn valid_offset(b: &[u8]) -> bool {
    let (h, m) = match b.len() {
        2 => (&b[0..2], &b"00"[..]),
        4 => (&b[0..2], &b[2..4]),
        5 if b[2] == b':' => (&b[0..2], &b[3..5]),
        _ => return false,
    };
    matches!((digits(h), digits(m)), (Some(h), Some(m)) if h <= 23 && m <= 59)
}

/// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[(.|,)fraction]][Z|±HH[:MM]]]`.
fn parse_timestamp(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ts = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
    };
    let rest = &b[10..];
    if rest.is_empty() {
        return Some(ts);
    }
    if !matches!(rest[0], b'T' | b't' | b' ') || rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    ts.hour = digits(&rest[1..3])?;
    ts.minute = digits(&rest[4..6])?;
    if ts.hour > 23 || ts.minute > 59 {
        return None;
    }
    let mut r = &rest[6..];
    if r.first() == Some(&b':') {
        let sec = digits(r.get(1..3)?)?;
        if sec > 60 {
            return None;
        }
        r = &r[3..];
        if matches!(r.first(), Some(b'.' | b',')) {
            let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            r = &r[1 + n..];
        }
    }
    let ok = match r.first() {
        None => true,
        Some(b'Z' | b'z') => r.len() == 1,
        Some(b'+' | b'-') => valid_offset(&r[1..]),
        _ => false,
    };
    ok.then_some(ts)
}

/// Milliseconds since the Unix epoch of a timestamp in the forms
/// [`time_part`] accepts, with its UTC offset applied (no offset means UTC).
/// Used for sequence time spans.
///
/// ```
/// use detect_core::matcher::epoch_millis;
/// assert_eq!(epoch_millis("1970-01-01T00:00:01.5Z"), Some(1_500));
/// assert_eq!(epoch_millis("2019-10-31T14:48:42.000000Z"), Some(1_572_533_322_000));
/// assert_eq!(epoch_millis("2019-10-31T16:48:42+02:00"), Some(1_572_533_322_000));
/// assert_eq!(epoch_millis("2019-10-31 14:48:42.123"), Some(1_572_533_322_123));
/// assert_eq!(epoch_millis("yesterday"), None);
/// ```
pub fn epoch_millis(hay: &str) -> Option<i64> {
    let b = hay.as_bytes();
    let t = parse_timestamp(b)?;
    let mut ms =
        (days_from_civil(t.year, t.month, t.day) * 86_400 + t.hour * 3_600 + t.minute * 60) * 1_000;
    // parse_timestamp validated the shape; read seconds, fraction and offset.
    let rest = b.get(16..).unwrap_or(&[]);
    let mut r = rest;
    if r.first() == Some(&b':') {
        ms += digits(r.get(1..3)?)? * 1_000;
        r = &r[3..];
        if matches!(r.first(), Some(b'.' | b',')) {
            let n = r[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let mut scale = 100;
            for &c in r[1..1 + n].iter().take(3) {
                ms += i64::from(c - b'0') * scale;
                scale /= 10;
            }
            r = &r[1 + n..];
        }
    }
    if let Some(&sign @ (b'+' | b'-')) = r.first() {
        let o = &r[1..];
        let (h, m) = match o.len() {
            2 => (digits(&o[0..2])?, 0),
            4 => (digits(&o[0..2])?, digits(&o[2..4])?),
            _ => (digits(&o[0..2])?, digits(o.get(3..5)?)?),
        };
        let offset = (h * 60 + m) * 60_000;
        ms += if sign == b'+' { -offset } else { offset };
    }
    Some(ms)
}

/// Extracts one calendar component of a timestamp (Sigma time modifiers).
///
/// Accepts `YYYY-MM-DD`, optionally followed by `T` (or `t`, or a space) and
/// `HH:MM`, optional `:SS`, optional `.fraction` (or `,fraction`), and an
/// optional `Z` or `±HH:MM` / `±HHMM` / `±HH` offset. The fields are taken as
/// written, without time zone conversion. A date without a time has hour and
/// minute 0. `Week` is the ISO 8601 week number (which may belong to the
/// previous or next year near January 1). Invalid dates and times give `None`.
///
/// ```
/// use detect_core::ir::TimePart;
/// use detect_core::matcher::time_part;
/// let t = "2019-10-31T14:48:42.000000Z";
/// assert_eq!(time_part(t, TimePart::Hour), Some(14));
/// assert_eq!(time_part(t, TimePart::Minute), Some(48));
/// assert_eq!(time_part(t, TimePart::Week), Some(44));
/// assert_eq!(time_part("2021-01-03", TimePart::Week), Some(53));
/// assert_eq!(time_part("2019-02-30", TimePart::Day), None);
/// ```
#[inline]
pub fn time_part(hay: &str, part: TimePart) -> Option<i64> {
    let t = parse_timestamp(hay.as_bytes())?;
    Some(match part {
        TimePart::Minute => t.minute,
        TimePart::Hour => t.hour,
        TimePart::Day => t.day,
        TimePart::Week => iso_week(t.year, t.month, t.day),
        TimePart::Month => t.month,
        TimePart::Year => t.year,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- time --------------------------------------------------------------

    #[test]
    fn time_parts_table() {
        use TimePart::*;
        // (text, [minute, hour, day, week, month, year])
        let ok: &[(&str, [i64; 6])] = &[
            ("2019-10-31T14:48:42.000000Z", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31 14:48:42.123", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T14:48:42+02:00", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T23:59:59-0800", [59, 23, 31, 44, 10, 2019]),
            ("2019-10-31T14:48:42,5+02", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31T14:48", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31t14:48:42z", [48, 14, 31, 44, 10, 2019]),
            ("2019-10-31", [0, 0, 31, 44, 10, 2019]),
            ("2021-01-03", [0, 0, 3, 53, 1, 2021]),
            ("2021-01-04", [0, 0, 4, 1, 1, 2021]),
            ("2024-12-30", [0, 0, 30, 1, 12, 2024]),
            ("2024-12-29", [0, 0, 29, 52, 12, 2024]),
            ("2020-12-31", [0, 0, 31, 53, 12, 2020]),
            ("2026-01-01", [0, 0, 1, 1, 1, 2026]),
            ("2027-01-01", [0, 0, 1, 53, 1, 2027]),
            ("2005-01-01", [0, 0, 1, 53, 1, 2005]),
            ("2008-12-29", [0, 0, 29, 1, 12, 2008]),
            ("2010-01-03", [0, 0, 3, 53, 1, 2010]),
            ("2024-02-29T00:00:60Z", [0, 0, 29, 9, 2, 2024]),
            ("2000-02-29", [0, 0, 29, 9, 2, 2000]),
        ];
        for &(text, want) in ok {
            let got = [Minute, Hour, Day, Week, Month, Year].map(|p| time_part(text, p));
            assert_eq!(got, want.map(Some), "time_part({text:?})");
        }
        let bad = [
            "",
            "2019",
            "2019-13-01",
            "2019-00-01",
            "2019-12-32",
            "2019-12-00",
            "2019-02-29",
            "1900-02-29",
            "2019-02-30",
            "2019-04-31",
            "2019-10-31T24:00:00Z",
            "2019-10-31T14:60:00Z",
            "2019-10-31T14:48:61Z",
            "2019-10-31T14",
            "2019-10-31T14:48:42.",
            "2019-10-31T14:48:42Zjunk",
            "2019-10-31T14:48:42+25:00",
            "2019-10-31T14:48:42+02:0",
            "2019-10-31X14:48:42",
            "2019/10/31",
            "19-10-31",
            " 2019-10-31",
            "2019-10-31 ",
            "2019-1a-31",
        ];
        for text in bad {
            assert_eq!(time_part(text, Year), None, "time_part({text:?})");
        }
    }

    #[test]
    fn iso_week_matches_brute_force() {
        // Brute force: the ISO year's week 1 contains its first Thursday.
        for y in 1999..=2031 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    let day = days_from_civil(y, m, d);
                    let thursday = day - (weekday(y, m, d) - 1) + 3;
                    // The ISO year is the calendar year of that Thursday.
                    let iso_year = if thursday < days_from_civil(y, 1, 1) {
                        y - 1
                    } else if thursday >= days_from_civil(y + 1, 1, 1) {
                        y + 1
                    } else {
                        y
                    };
                    let want = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
                    assert_eq!(iso_week(y, m, d), want, "{y}-{m}-{d}");
                }
            }
        }
    }
}
