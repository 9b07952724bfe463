//! The text of EVTX values, appended to a reused string: the same text the
//! evtx crate writes in its JSON rendering, so that rules see the same
//! values whichever way a record is read.

use std::fmt::Write as _;

/// Appends UTF-16LE `units` (a lone surrogate becomes U+FFFD), stopping at
/// the first NUL when `until_nul`.
pub(crate) fn push_utf16(out: &mut String, mut units: &[u8], until_nul: bool) {
    out.reserve(units.len() / 2);
    // Most text is ASCII: taken 16 units at a time while it is (and holds
    // no NUL), then unit by unit.
    let mut ascii = [0u8; 16];
    while let Some((block, rest)) = units.split_first_chunk::<32>() {
        let mut other = 0;
        for (k, pair) in block.chunks_exact(2).enumerate() {
            ascii[k] = pair[0];
            other |= pair[1] | (pair[0] & 0x80) | u8::from(pair[0] == 0);
        }
        if other != 0 {
            break;
        }
        out.push_str(std::str::from_utf8(&ascii).unwrap_or_default());
        units = rest;
    }
    let mut units = units
        .chunks_exact(2)
        .map(|u| u16::from_le_bytes([u[0], u[1]]));
    while let Some(u) = units.next() {
        let c = match u {
            0 if until_nul => return,
            0..=0x7f => char::from(u as u8),
            0xd800..=0xdbff => {
                // A high surrogate: a character with the low one that follows.
                let mut rest = units.clone();
                match rest.next() {
                    Some(low @ 0xdc00..=0xdfff) => {
                        units = rest;
                        let c =
                            0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                        char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                    }
                    _ => char::REPLACEMENT_CHARACTER,
                }
            }
            0xdc00..=0xdfff => char::REPLACEMENT_CHARACTER,
            _ => char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        out.push(c);
    }
}

/// The characters of Windows-1252 at 0x80..=0x9F (U+FFFD where unassigned).
const CP1252_HIGH: [char; 32] = [
    '€', '\u{fffd}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{fffd}', 'Ž',
    '\u{fffd}', '\u{fffd}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{fffd}',
    'ž', 'Ÿ',
];

/// Appends an ANSI string (code page 1252, as the evtx crate reads it by
/// default), NULs dropped.
pub(crate) fn push_ansi(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            0 => {}
            0x80..=0x9f => out.push(CP1252_HIGH[usize::from(b - 0x80)]),
            _ => out.push(char::from(b)),
        }
    }
}

/// Appends a float in its shortest round-trip form.
pub(crate) fn push_f32(out: &mut String, v: f32) {
    let _ = write!(out, "{v:?}");
}

/// Appends a float in its shortest round-trip form.
pub(crate) fn push_f64(out: &mut String, v: f64) {
    let _ = write!(out, "{v:?}");
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Appends bytes as uppercase hex digits.
pub(crate) fn push_hex_upper(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 15)]));
    }
}

/// Appends `0x` and the number in lowercase hex.
pub(crate) fn push_hex_prefixed(out: &mut String, v: u64) {
    let _ = write!(out, "0x{v:x}");
}

/// Appends a GUID as `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` (lowercase).
pub(crate) fn push_guid(out: &mut String, b: &[u8]) {
    const ORDER: [usize; 16] = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    out.push('{');
    for (i, &idx) in ORDER.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX_LOWER[usize::from(b[idx] >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(b[idx] & 15)]));
    }
    out.push('}');
}

/// Appends a SID as `S-R-A-S1-S2...` (`S-?` when too short to hold one).
pub(crate) fn push_sid(out: &mut String, b: &[u8]) {
    let &[revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = b else {
        out.push_str("S-?");
        return;
    };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let _ = write!(out, "S-{revision}-{authority}");
    for sub in subs.chunks_exact(4).take(usize::from(count)) {
        let _ = write!(
            out,
            "-{}",
            u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])
        );
    }
}

const TICKS_PER_SEC: u64 = 10_000_000;
const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SEC;

/// Appends a FILETIME (100 ns ticks since 1601-01-01) as
/// `YYYY-MM-DDTHH:MM:SS.fffffffZ`; one past the range of an `i64` is
/// written with zero fields, as the evtx crate does.
pub(crate) fn push_filetime(out: &mut String, ft: u64) {
    if ft > i64::MAX as u64 {
        out.push_str("0000-00-00T00:00:00.0000000Z");
        return;
    }
    let (days, ticks) = (ft / TICKS_PER_DAY, ft % TICKS_PER_DAY);
    let (year, month, day) = civil_from_days_since_1601(days);
    let secs = ticks / TICKS_PER_SEC;
    push_datetime(
        out,
        [
            year % 10_000,
            u64::from(month),
            u64::from(day),
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
        ],
        ticks % TICKS_PER_SEC,
    );
}

/// The proleptic Gregorian date `days` after 1601-01-01.
fn civil_from_days_since_1601(days: u64) -> (u64, u8, u8) {
    let z = days + 584_694;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
    (era * 400 + yoe + u64::from(month <= 2), month, day)
}

/// Appends a SYSTEMTIME (eight 16-bit fields); one Windows would not take
/// as a time is written as 1601-01-01, as the evtx crate does.
pub(crate) fn push_systemtime(out: &mut String, b: &[u8]) {
    let f = |i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
    let (year, month, day, hour, minute, second, ms) = (f(0), f(1), f(3), f(4), f(5), f(6), f(7));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1601..=30827).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60
        && ms < 1000;
    if !valid {
        push_datetime(out, [1601, 1, 1, 0, 0, 0], 0);
        return;
    }
    let fields = [year % 10_000, month, day, hour, minute, second].map(u64::from);
    push_datetime(out, fields, u64::from(ms) * 10_000);
}

fn push_datetime(out: &mut String, [y, mo, d, h, mi, s]: [u64; 6], ticks: u64) {
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ticks:07}Z"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn values_are_written_as_the_evtx_crate_renders_them() {
        let guid = [
            0x25, 0x96, 0x84, 0x54, 0x78, 0x54, 0x94, 0x49, 0xa5, 0xba, 0x3e, 0x3b, 0x03, 0x28,
            0xc3, 0x0d,
        ];
        let cases: Vec<(String, &str)> = vec![
            (
                text(|s| push_guid(s, &guid)),
                "{54849625-5478-4994-a5ba-3e3b0328c30d}",
            ),
            (
                text(|s| push_sid(s, &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0])),
                "S-1-5-32-544",
            ),
            (text(|s| push_sid(s, &[1, 2])), "S-?"),
            (
                text(|s| push_filetime(s, 0)),
                "1601-01-01T00:00:00.0000000Z",
            ),
            (
                text(|s| push_filetime(s, 132_223_104_000_000_001)),
                "2020-01-01T00:00:00.0000001Z",
            ),
            (
                text(|s| push_filetime(s, u64::MAX)),
                "0000-00-00T00:00:00.0000000Z",
            ),
            (
                text(|s| {
                    push_systemtime(s, &[0xe4, 7, 2, 0, 0, 0, 29, 0, 23, 0, 59, 0, 58, 0, 7, 0])
                }),
                "2020-02-29T23:59:58.0070000Z",
            ),
            (
                text(|s| push_systemtime(s, &[0; 16])),
                "1601-01-01T00:00:00.0000000Z",
            ),
            (
                text(|s| push_hex_prefixed(s, 0x80_0000_0000_0000)),
                "0x80000000000000",
            ),
            (text(|s| push_hex_prefixed(s, 0)), "0x0"),
            (text(|s| push_hex_upper(s, &[0x0a, 0xff])), "0AFF"),
            (text(|s| push_ansi(s, b"a\0b\x80\xe9")), "ab€é"),
            (
                text(|s| push_utf16(s, &[0x41, 0, 0, 0, 0x42, 0], true)),
                "A",
            ),
            (
                text(|s| push_utf16(s, &[0x41, 0, 0x00, 0xd8], false)),
                "A\u{fffd}",
            ),
            (text(|s| push_f64(s, 1.5)), "1.5"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
