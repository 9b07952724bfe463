//! Event streams for the sequence target: ECS events shaped like the three
//! stages of seed 003 (msiexec `/V` start, its connection attempt, a child it
//! starts) and their near misses, with join keys from a small set (so
//! sequences meet, restart and interleave), timestamps moving mostly forward
//! but sometimes back, in several notations or missing. Each event is also
//! rendered flat, with endgame field names (`event_type`, `unique_pid`...,
//! the same values), for the endgame twin of seed 003 (`crate::EndgameTwin`).

use std::fmt;

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::json::{Doc, Escapes, Leaf, Scalar, raw_literal};

/// The first timestamp of every stream (2023-11-14T22:13:20Z), in milliseconds.
pub const BASE_MS: i64 = 1_700_000_000_000;

/// One event of a stream.
#[derive(Clone)]
pub struct StreamEvent {
    /// The NDJSON line.
    pub json: String,
    /// The same event, flat, with endgame field names and no timestamp.
    pub endgame_json: String,
    /// The time the event carries, in milliseconds, as the reference must see
    /// it; `None` when it has no usable timestamp.
    pub ts: Option<i64>,
}

/// A stream and the capacity of the bounded table under test.
pub struct StreamInput {
    /// Capacity of the small table (the large one never fills up).
    pub capacity: usize,
    /// The events, in arrival order.
    pub events: Vec<StreamEvent>,
}

impl fmt::Debug for StreamInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "StreamInput (reproducer):")?;
        writeln!(f, "let capacity = {};", self.capacity)?;
        writeln!(f, "let events: &[(&str, Option<i64>)] = &[")?;
        for e in &self.events {
            writeln!(f, "    ({}, {:?}),", raw_literal(&e.json), e.ts)?;
        }
        writeln!(f, "];")?;
        writeln!(f, "let endgame_events: &[&str] = &[")?;
        for e in &self.events {
            writeln!(f, "    {},", raw_literal(&e.endgame_json))?;
        }
        writeln!(f, "];")
    }
}

/// Join keys: the first three are drawn most often; the others are case
/// variants (`P1`; `İD` and `ΣΑΣ`, which the endgame joins, folding
/// character by character, meet as `i̇d` and `σασ`) and the empty string.
const KEYS: &[&str] = &[
    "p0",
    "p1",
    "p2",
    "P1",
    "",
    "\u{130}D",
    "i\u{307}d",
    "\u{3A3}\u{391}\u{3A3}",
    "\u{3C3}\u{3B1}\u{3C3}",
];
const EXECUTABLES: &[&str] = &[
    r"C:\Users\bob\AppData\Local\Temp\payload.exe",
    r"C:\Windows\System32\msiexec.exe",
    r"C:\Windows\Installer\MSI1A2B.tmp",
    r"C:\Program Files\Vendor\tool.exe",
    r"D:\Windows\SysWOW64\srtasks.exe",
    r"C:\Windows\system32\Wbem\mofcomp.exe",
    r"c:\users\Public\x.EXE",
];
const USERS: &[&str] = &[
    "S-1-5-21-1004336348-1177238915-682003330-1001",
    "S-1-5-12-1-77",
    "S-1-5-18",
];
const NAMES: &[&str] = &[
    "msiexec.exe",
    "MsiExec.EXE",
    "rundll32.exe",
    "payload.exe",
    "msiexec.exe ",
];

impl<'a> Arbitrary<'a> for StreamInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let capacity = u.int_in_range(1..=6usize)?;
        let n = u.int_in_range(0..=48usize)?;
        let mut now = BASE_MS;
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            // Mostly forward (up to 40 s), sometimes back (up to 5 s), rarely far.
            let step = match u.int_in_range(0..=9u8)? {
                0 => -i64::from(u.int_in_range(0..=5_000u16)?),
                1 => i64::from(u.int_in_range(0..=200u16)?) * 1_000,
                _ => i64::from(u.int_in_range(0..=40_000u16)?),
            };
            now += step;
            events.push(stream_event(u, now)?);
        }
        Ok(StreamInput { capacity, events })
    }
}

fn key(u: &mut Unstructured<'_>) -> Result<Option<Leaf>> {
    Ok(match u.int_in_range(0..=19u8)? {
        0 => None,
        1 => Some(Leaf::One(Scalar::Null)),
        2 => Some(Leaf::Array(vec![Scalar::Str((*u.choose(KEYS)?).into())])),
        3 => Some(Leaf::Array(vec![
            Scalar::Str((*u.choose(KEYS)?).into()),
            Scalar::Str((*u.choose(KEYS)?).into()),
        ])),
        4 => Some(Leaf::One(Scalar::Number(
            u.int_in_range(0..=2u8)?.to_string(),
        ))),
        _ => Some(Leaf::One(Scalar::Str((*u.choose(&KEYS[..3])?).into()))),
    })
}

fn one(s: &str) -> Leaf {
    Leaf::One(Scalar::Str(s.to_string()))
}

fn stream_event(u: &mut Unstructured<'_>, now: i64) -> Result<StreamEvent> {
    let mut doc = Doc::new();
    // The endgame rendering: flat names, the same values.
    let mut flat = Doc::new();
    let ts = match u.int_in_range(0..=9u8)? {
        0..=3 => {
            doc.insert(
                "@timestamp",
                Leaf::One(Scalar::Number(now.to_string())),
                false,
            );
            Some(now)
        }
        4 => {
            doc.insert("@timestamp", one(&now.to_string()), false);
            Some(now)
        }
        5 | 6 => {
            doc.insert("@timestamp", one(&rfc3339(now, true)), false);
            Some(now)
        }
        7 => {
            doc.insert("@timestamp", one(&rfc3339(now, false)), false);
            Some(now - now.rem_euclid(1_000))
        }
        8 => {
            doc.insert(
                "@timestamp",
                Leaf::One(Scalar::Number(format!("{now}.5"))),
                false,
            );
            Some(now)
        }
        _ => {
            if u.arbitrary()? {
                doc.insert("@timestamp", one("yesterday"), false);
            }
            None
        }
    };
    // 0: msiexec start, 1: its connection, 2: a child, 3: anything.
    let kind = u.int_in_range(0..=3u8)?;
    let mutate = |u: &mut Unstructured<'_>| u.ratio(1u8, 6u8);
    let category = match kind {
        0 | 2 => "process",
        1 => "network",
        _ => *u.choose(&["process", "network", "file"])?,
    };
    flat.insert("event_type", one(category), false);
    if mutate(u)? {
        doc.insert("event.category", one(category), false);
    } else {
        doc.insert(
            "event.category",
            Leaf::Array(vec![Scalar::Str(category.into())]),
            false,
        );
    }
    let action = match kind {
        1 => "connection_attempted",
        _ => "start",
    };
    let action = if mutate(u)? {
        *u.choose(&["start", "Start", "connection_attempted", "end"])?
    } else {
        action
    };
    doc.insert("event.action", one(action), false);
    flat.insert("event_action", one(action), false);
    if !mutate(u)? {
        doc.insert("host.os.type", one("windows"), false);
    } else if u.arbitrary()? {
        doc.insert("host.os.type", one("Windows"), false);
    }
    let name = if kind == 2 || mutate(u)? {
        *u.choose(NAMES)?
    } else {
        "msiexec.exe"
    };
    doc.insert("process.name", one(name), false);
    flat.insert("process_name", one(name), false);
    if let Some(k) = key(u)? {
        flat.insert("unique_pid", k.clone(), false);
        doc.insert("process.entity_id", k, false);
    }
    match kind {
        0 => {
            let arg = if mutate(u)? {
                *u.choose(&["/i", "/v", "/V ", "-V"])?
            } else {
                "/V"
            };
            doc.insert(
                "process.args",
                Leaf::Array(vec![
                    Scalar::Str(r"C:\Windows\System32\msiexec.exe".into()),
                    Scalar::Str(arg.into()),
                ]),
                false,
            );
        }
        2 | 3 => {
            doc.insert(
                "process.parent.name",
                one(if mutate(u)? {
                    "explorer.exe"
                } else {
                    "msiexec.exe"
                }),
                false,
            );
            if let Some(k) = key(u)? {
                flat.insert("unique_ppid", k.clone(), false);
                doc.insert("process.parent.entity_id", k, false);
            }
            let exe = if mutate(u)? {
                *u.choose(EXECUTABLES)?
            } else {
                EXECUTABLES[0]
            };
            doc.insert("process.executable", one(exe), false);
            let user = if mutate(u)? {
                *u.choose(USERS)?
            } else {
                USERS[0]
            };
            doc.insert("user.id", one(user), false);
            if mutate(u)? {
                doc.insert(
                    "process.code_signature.subject_name",
                    one("Citrix Systems, Inc."),
                    false,
                );
                doc.insert(
                    "process.code_signature.trusted",
                    Leaf::One(Scalar::Bool(u.arbitrary()?)),
                    false,
                );
            }
            if mutate(u)? {
                doc.insert(
                    "process.args",
                    Leaf::Array(vec![Scalar::Str("printui.dll,PrintUIEntry".into())]),
                    false,
                );
            }
        }
        _ => {}
    }
    Ok(StreamEvent {
        json: doc.render(Escapes::default()),
        endgame_json: flat.render(Escapes::default()),
        ts,
    })
}

/// `ms` milliseconds since the Unix epoch as RFC 3339 UTC text (with or
/// without milliseconds), computed independently of detect-core.
pub fn rfc3339(ms: i64, millis: bool) -> String {
    let secs = ms.div_euclid(1_000);
    let frac = ms.rem_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Walk the calendar from 1970 (slow and obviously right).
    let mut year = 1970;
    let mut d = days;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        year += 1;
    }
    let mut month = 1;
    loop {
        let len = month_len(year, month);
        if d < len {
            break;
        }
        d -= len;
        month += 1;
    }
    let (h, m, s) = (rem / 3_600, rem / 60 % 60, rem % 60);
    if millis {
        format!(
            "{year:04}-{month:02}-{:02}T{h:02}:{m:02}:{s:02}.{frac:03}Z",
            d + 1
        )
    } else {
        format!("{year:04}-{month:02}-{:02}T{h:02}:{m:02}:{s:02}Z", d + 1)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_len(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_renders_known_instants() {
        assert_eq!(
            super::rfc3339(super::BASE_MS, true),
            "2023-11-14T22:13:20.000Z"
        );
        assert_eq!(
            super::rfc3339(951_782_400_123, false),
            "2000-02-29T00:00:00Z"
        );
    }
}
