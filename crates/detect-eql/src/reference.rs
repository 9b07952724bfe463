//! A naive reference matcher for sequences: the oracle for generated state
//! machines and for fuzzing.
//!
//! It implements the semantics documented on [`detect_core::ir::Sequence`]
//! and [`detect_core::sequence`] with an unbounded
//! `HashMap<(stage, key), Pending>` and nothing clever:
//!
//! * the `until` condition first: a match removes every pending sequence of
//!   its key;
//! * then the stages from last to first, so one event advances a sequence by
//!   one stage at most: stage 0 starts a sequence (replacing a pending one of
//!   the same key: a restart, never a fork); stage `s > 0` takes the sequence
//!   pending after stage `s - 1` with the same key (emptying that entry),
//!   appends the event, and completes it at the last stage or stores it after
//!   stage `s` (replacing an older one there);
//! * a sequence whose first event is more than `maxspan` before the current
//!   event is treated as absent (and dropped when met);
//! * with [`Semantics::reject_out_of_order`], an event older than the last
//!   event of the pending sequence does not advance it (it stays pending);
//! * join keys: the value of each key field, as text. A missing or null
//!   value never joins unless [`Semantics::null_keys_join`]; with
//!   [`Semantics::fold_keys`] values are compared lowercased, character by
//!   character (see [`detect_core::ir::Joins::Endgame`]). A key field
//!   holding several values (an array) never joins in the Elasticsearch
//!   dialect, which rejects multi-valued join keys, as
//!   [`detect_core::rt::join_key`] does; the endgame dialect takes the first
//!   value.
//!
//! Memory is unbounded: this is for tests, not for production (use
//! [`detect_core::sequence::SequenceTable`]).

use std::collections::HashMap;

use detect_core::Event;
use detect_core::interpreter::CompiledExpr;
use detect_core::ir::{Joins, Sequence};

use crate::Dialect;

/// How keys and time are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Semantics {
    /// A missing or null key value is a value like any other (endgame) rather
    /// than a reason not to join (Elasticsearch).
    pub null_keys_join: bool,
    /// Key values are compared case-insensitively (endgame).
    pub fold_keys: bool,
    /// An event older than a pending sequence's last event does not advance it
    /// (Elasticsearch and [`detect_core::sequence::SequenceTable`]).
    pub reject_out_of_order: bool,
}

impl Semantics {
    /// The semantics of `dialect` (see the crate docs).
    ///
    /// ```
    /// use detect_eql::{reference::Semantics, Dialect};
    /// assert!(!Semantics::of(Dialect::Elasticsearch).null_keys_join);
    /// assert!(Semantics::of(Dialect::Endgame).fold_keys);
    /// ```
    pub fn of(dialect: Dialect) -> Semantics {
        Semantics::of_joins(dialect.joins())
    }

    /// The semantics of a sequence's [`Joins`] (what
    /// [`ReferenceMatcher::for_sequence`] uses).
    ///
    /// ```
    /// use detect_core::ir::Joins;
    /// use detect_eql::reference::Semantics;
    /// assert!(Semantics::of_joins(Joins::Elasticsearch).reject_out_of_order);
    /// assert!(Semantics::of_joins(Joins::Endgame).null_keys_join);
    /// ```
    pub fn of_joins(joins: Joins) -> Semantics {
        match joins {
            Joins::Elasticsearch => Semantics {
                null_keys_join: false,
                fold_keys: false,
                reject_out_of_order: true,
            },
            Joins::Endgame => Semantics {
                null_keys_join: true,
                fold_keys: true,
                reject_out_of_order: false,
            },
        }
    }
}

/// A join key: one entry per key field, `None` for missing or null.
pub type KeyValue = Vec<Option<String>>;

#[derive(Clone, Debug)]
struct Pending {
    start: i64,
    last: i64,
    events: Vec<u64>,
}

/// The reference sequence matcher.
///
/// ```
/// use detect_core::JsonEvent;
/// use detect_eql::{parse_query, reference::ReferenceMatcher, Options};
/// let q = parse_query("sequence with maxspan=1m [process where true] by id [network where true] by id",
///                     &Options::elasticsearch())?;
/// let mut m = ReferenceMatcher::new(&q.to_sequence("s")?, Options::elasticsearch().dialect)?;
/// let ev = |cat: &str, id: &str| JsonEvent::parse_str(
///     &format!(r#"{{"event": {{"category": "{cat}"}}, "id": "{id}"}}"#)).unwrap();
/// assert!(m.step(&ev("process", "a"), 0, 1).is_empty());
/// assert!(m.step(&ev("network", "b"), 1_000, 2).is_empty());
/// assert_eq!(m.step(&ev("network", "a"), 2_000, 3), vec![vec![1, 3]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ReferenceMatcher {
    stages: Vec<(CompiledExpr, Vec<String>)>,
    until: Option<(CompiledExpr, Vec<String>)>,
    maxspan: Option<i64>,
    semantics: Semantics,
    pending: HashMap<(usize, KeyValue), Pending>,
}

impl ReferenceMatcher {
    /// A matcher for `seq` with the semantics of `dialect`. The stages' field
    /// names must be event paths.
    pub fn new(seq: &Sequence, dialect: Dialect) -> Result<ReferenceMatcher, String> {
        ReferenceMatcher::with_semantics(seq, Semantics::of(dialect))
    }

    /// A matcher with the semantics of the sequence's own [`Sequence::joins`]
    /// (set from the dialect it was parsed in).
    pub fn for_sequence(seq: &Sequence) -> Result<ReferenceMatcher, String> {
        ReferenceMatcher::with_semantics(seq, Semantics::of_joins(seq.joins))
    }

    /// A matcher with explicit [`Semantics`].
    pub fn with_semantics(
        seq: &Sequence,
        semantics: Semantics,
    ) -> Result<ReferenceMatcher, String> {
        let stages = seq
            .stages
            .iter()
            .map(|s| Ok((CompiledExpr::new(&s.condition)?, s.keys.clone())))
            .collect::<Result<Vec<_>, String>>()?;
        let until = seq
            .until
            .as_ref()
            .map(|u| Ok::<_, String>((CompiledExpr::new(&u.condition)?, u.keys.clone())))
            .transpose()?;
        Ok(ReferenceMatcher {
            stages,
            until,
            maxspan: seq.maxspan_ms.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            semantics,
            pending: HashMap::new(),
        })
    }

    /// Number of stages.
    pub fn stages(&self) -> usize {
        self.stages.len()
    }

    /// Pending sequences held (expired ones included until met).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The join key of `event` for these key fields, or `None` when it cannot join.
    ///
    /// ```
    /// use detect_core::JsonEvent;
    /// use detect_eql::{parse_query, reference::ReferenceMatcher, Dialect, Options};
    /// let q = parse_query("sequence [process where true] by id [network where true] by id",
    ///                     &Options::elasticsearch())?;
    /// let m = ReferenceMatcher::new(&q.to_sequence("s")?, Dialect::Elasticsearch)?;
    /// let keys = ["id".to_string()];
    /// let ev = |json: &str| JsonEvent::parse_str(json).unwrap();
    /// assert_eq!(m.key_of(&ev(r#"{"id": "a"}"#), &keys), Some(vec![Some("a".to_string())]));
    /// assert_eq!(m.key_of(&ev(r#"{"id": ["a"]}"#), &keys), Some(vec![Some("a".to_string())]));
    /// assert_eq!(m.key_of(&ev(r#"{"id": ["a", "b"]}"#), &keys), None); // multi-valued
    /// assert_eq!(m.key_of(&ev(r#"{"id": null}"#), &keys), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_of<E: Event + ?Sized>(&self, event: &E, fields: &[String]) -> Option<KeyValue> {
        let mut key = Vec::with_capacity(fields.len());
        for f in fields {
            let mut first: Option<Option<String>> = None;
            let mut count = 0usize;
            let single = !self.semantics.null_keys_join;
            event.lookup(f, &mut |v| {
                count += 1;
                if count == 1 {
                    first = Some(v.with_text(str::to_string));
                }
                // Elasticsearch: look for a second value, which disqualifies the key.
                !single || count > 1
            });
            if single && count > 1 {
                return None;
            }
            // Character by character (`str::to_lowercase` would make a
            // final capital sigma `ς`): see `Joins::Endgame`.
            let value = first.flatten().map(|s| {
                if self.semantics.fold_keys {
                    s.chars().flat_map(char::to_lowercase).collect()
                } else {
                    s
                }
            });
            if value.is_none() && !self.semantics.null_keys_join {
                return None;
            }
            key.push(value);
        }
        Some(key)
    }

    /// For each stage, the event's key when it satisfies the stage (and can
    /// join), and the same for `until`.
    pub fn evaluate<E: Event + ?Sized>(
        &self,
        event: &E,
    ) -> (Vec<Option<KeyValue>>, Option<KeyValue>) {
        let stages = self
            .stages
            .iter()
            .map(|(c, keys)| {
                if c.matches(event) {
                    self.key_of(event, keys)
                } else {
                    None
                }
            })
            .collect();
        let until = self.until.as_ref().and_then(|(c, keys)| {
            if c.matches(event) {
                self.key_of(event, keys)
            } else {
                None
            }
        });
        (stages, until)
    }

    /// Feeds one event: `ts` its time in milliseconds, `pos` its position
    /// (reported back). Returns the completed sequences' positions.
    pub fn step<E: Event + ?Sized>(&mut self, event: &E, ts: i64, pos: u64) -> Vec<Vec<u64>> {
        let (stages, until) = self.evaluate(event);
        self.step_keys(ts, pos, &stages, until)
    }

    /// Feeds one event already evaluated: `stage_keys[s]` its key when it
    /// satisfies stage `s`, `until` its key when it satisfies `until`.
    pub fn step_keys(
        &mut self,
        ts: i64,
        pos: u64,
        stage_keys: &[Option<KeyValue>],
        until: Option<KeyValue>,
    ) -> Vec<Vec<u64>> {
        let n = self.stages.len();
        let mut done = Vec::new();
        if let Some(k) = until {
            for s in 0..n {
                self.pending.remove(&(s, k.clone()));
            }
        }
        for s in (0..n.min(stage_keys.len())).rev() {
            let Some(k) = &stage_keys[s] else { continue };
            if s == 0 {
                if n == 1 {
                    done.push(vec![pos]);
                } else {
                    self.pending.insert(
                        (0, k.clone()),
                        Pending {
                            start: ts,
                            last: ts,
                            events: vec![pos],
                        },
                    );
                }
                continue;
            }
            let slot = (s - 1, k.clone());
            let Some(p) = self.pending.get(&slot) else {
                continue;
            };
            if self.maxspan.is_some_and(|m| ts.saturating_sub(p.start) > m) {
                self.pending.remove(&slot);
                continue;
            }
            if self.semantics.reject_out_of_order && ts < p.last {
                continue;
            }
            let Some(mut p) = self.pending.remove(&slot) else {
                continue;
            };
            p.events.push(pos);
            p.last = ts;
            if s + 1 == n {
                done.push(p.events);
            } else {
                self.pending.insert((s, k.clone()), p);
            }
        }
        done
    }
}
