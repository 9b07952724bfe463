//! Pending-sequence state of a rule set's sequence rules, stepped by the
//! engine ([`super::Engine::step`]).
//!
//! One bounded [`SequenceTable`] per sequence rule, allocated once; an event
//! that satisfies some stage (or `until`) is timed, its join keys are read
//! per stage it satisfies, and each table advances. What the tables do with
//! keys, time and capacity is documented in [`crate::sequence`].

use super::tables::Tables;
use crate::event::Event;
use crate::rt::{Key, Text, join_key, timestamp_ms};
use crate::sequence::{SequenceStats, SequenceTable};

/// The pending sequences of every sequence rule of one rule set.
#[derive(Debug)]
pub struct SequenceState {
    tables: Vec<SequenceTable>,
    untimed: u64,
    /// Join keys of the stages of one sequence (scratch, sized once).
    keys: Vec<Option<Key>>,
}

impl SequenceState {
    /// State for the sequences of `tables`, each holding at most
    /// `capacity` pending sequences.
    pub fn new(tables: &Tables, capacity: usize) -> SequenceState {
        let state = tables
            .sequences
            .iter()
            .map(|s| {
                SequenceTable::new(s.stages as usize, capacity, s.maxspan_ms).with_joins(s.joins)
            })
            .collect();
        let longest = tables.sequences.iter().map(|s| s.stages as usize).max();
        SequenceState {
            tables: state,
            untimed: 0,
            keys: vec![None; longest.unwrap_or(0)],
        }
    }

    /// Drops every pending sequence and zeroes the counters, keeping the
    /// memory (for instance between inputs whose events must not join).
    pub fn reset(&mut self) {
        for table in &mut self.tables {
            table.clear();
        }
        self.untimed = 0;
    }

    /// Counters of sequence rule `index`.
    pub fn stats(&self, index: usize) -> SequenceStats {
        self.tables[index].stats()
    }

    /// Pending sequences of rule `index`.
    pub fn pending(&self, index: usize) -> usize {
        self.tables[index].len()
    }

    /// Moves the pending sequences of rule `from` of `other` into rule
    /// `index` of this state (the same sequence rule in a new rule set).
    pub fn take_table(&mut self, index: usize, other: &mut SequenceState, from: usize) {
        if index < self.tables.len() && from < other.tables.len() {
            std::mem::swap(&mut self.tables[index], &mut other.tables[from]);
        }
    }

    /// Events that satisfied a stage (or `until`) but carried no usable
    /// timestamp, and so took no part.
    pub fn untimed(&self) -> u64 {
        self.untimed
    }

    /// Advances every sequence with an event whose satisfied units are the
    /// bits of `hits` (at least one).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply(
        &mut self,
        tables: &Tables,
        event: &dyn Event,
        paths: &[Text],
        hits: &[u64],
        time_ms: Option<i64>,
        pos: u64,
        sink: &mut dyn FnMut(usize, &[u64]),
    ) {
        let time = time_ms.or_else(|| timestamp_ms(event, &paths[tables.timestamp_field as usize]));
        let Some(ts) = time else {
            self.untimed += 1;
            return;
        };
        let hit = |unit: u32| hits[unit as usize / 64] & (1 << (unit % 64)) != 0;
        for (i, spec) in tables.sequences.iter().enumerate() {
            let table = &mut self.tables[i];
            let key = |unit_at: usize| {
                let unit = spec.units[unit_at];
                if !hit(unit) {
                    return None;
                }
                let mut key_paths = [""; MAX_KEYS];
                let fields = &spec.keys[unit_at];
                for (slot, &f) in key_paths.iter_mut().zip(fields.iter()) {
                    *slot = &paths[f as usize];
                }
                join_key(
                    event,
                    table,
                    &key_paths[..fields.len().min(MAX_KEYS)],
                    spec.joins,
                )
            };
            let stages = spec.stages as usize;
            let until = if spec.has_until { key(stages) } else { None };
            for s in 0..stages {
                self.keys[s] = key(s);
            }
            table.step(ts, pos, &self.keys[..stages], until, |events| {
                sink(i, events)
            });
        }
    }
}

/// Most join keys of one stage (`by a, b, ...`); the compiler refuses more.
pub const MAX_KEYS: usize = 16;
