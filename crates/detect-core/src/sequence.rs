//! Bounded state for sequence rules.
//!
//! A [`SequenceTable`] holds the pending sequences of one sequence rule: at most
//! one per (stage reached, join key), in memory allocated once at construction
//! for a fixed `capacity`. Per event, the caller (generated code, or the
//! interpreter) says which stages the event satisfies and with which key, and
//! [`SequenceTable::step`] applies the Elasticsearch EQL semantics:
//!
//! * `until` first: its key's pending sequences are cancelled;
//! * then stages from last to first, so one event never advances a sequence
//!   through two stages: a match of stage 0 starts a sequence (overwriting a
//!   pending one of the same key: a restart, never a fork); a match of stage
//!   `s > 0` advances the sequence pending at `s - 1` with that key (emptying
//!   it) and completes it at the last stage;
//! * every event must be within `maxspan` of the sequence's first event; an
//!   expired sequence is treated as absent and reclaimed when met;
//! * events are expected in time order. An event older than the last event of
//!   a pending sequence does not advance it (counted as `out_of_order`); it may
//!   still start a new sequence. A table made for the endgame engine's joins
//!   ([`SequenceTable::with_joins`]) lets it advance;
//! * when the table is full, the least recently touched sequence is dropped to
//!   make room (counted as `evicted`, or `expired` when it was past maxspan).
//!
//! Keys are the join fields' values hashed into 128 bits with a per-table random
//! SipHash key, so they take fixed space and cannot be forced to collide by
//! someone who writes the events.

use std::hash::{BuildHasher, Hasher, RandomState};

use crate::ir::Joins;

/// A join key: 128 bits of keyed hash of the key fields' values.
pub type Key = u128;

/// What happened in a table, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceStats {
    /// Sequences started (first stage matched with no pending sequence of that key).
    pub started: u64,
    /// First-stage matches that replaced a pending sequence of the same key.
    pub restarted: u64,
    /// Sequences that reached their last stage.
    pub completed: u64,
    /// Pending sequences dropped because the table was full.
    pub evicted: u64,
    /// Pending sequences found past maxspan and reclaimed.
    pub expired: u64,
    /// Pending sequences cancelled by `until`.
    pub cancelled: u64,
    /// Matches that could not advance a sequence because they were older than its last event.
    pub out_of_order: u64,
}

const EMPTY: u32 = u32::MAX;

/// The pending sequences of one sequence rule, in fixed memory.
#[derive(Debug)]
pub struct SequenceTable {
    stages: usize,
    capacity: usize,
    maxspan: Option<i64>,
    /// An event older than a pending sequence's last event does not advance
    /// it (Elasticsearch EQL).
    reject_out_of_order: bool,
    // Slot storage (structure of arrays), `capacity` slots.
    slot_key: Vec<Key>,
    slot_stage: Vec<u32>,
    slot_start: Vec<i64>,
    slot_last: Vec<i64>,
    slot_events: Vec<u64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    free: Vec<u32>,
    lru_head: u32,
    lru_tail: u32,
    len: usize,
    // Open-addressing index from (key, stage) to slot.
    index: Vec<u32>,
    mask: usize,
    stats: SequenceStats,
    hasher: [RandomState; 2],
    scratch: Vec<u64>,
}

impl SequenceTable {
    /// A table for a sequence of `stages` stages holding at most `capacity`
    /// pending sequences. All memory is allocated here.
    ///
    /// ```
    /// use detect_core::sequence::SequenceTable;
    /// let mut t = SequenceTable::new(2, 4, Some(60_000));
    /// let k = t.key(&["proc-1"]);
    /// let mut done = Vec::new();
    /// t.step(1_000, 10, &[Some(k), None], None, |events| done.push(events.to_vec()));
    /// t.step(2_000, 11, &[None, Some(k)], None, |events| done.push(events.to_vec()));
    /// assert_eq!(done, vec![vec![10, 11]]);
    /// ```
    pub fn new(stages: usize, capacity: usize, maxspan_ms: Option<u64>) -> SequenceTable {
        let stages = stages.max(1);
        let capacity = capacity.clamp(1, (u32::MAX / 2) as usize);
        let index_len = (capacity * 2).next_power_of_two();
        SequenceTable {
            stages,
            capacity,
            maxspan: maxspan_ms.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
            reject_out_of_order: true,
            slot_key: vec![0; capacity],
            slot_stage: vec![0; capacity],
            slot_start: vec![0; capacity],
            slot_last: vec![0; capacity],
            slot_events: vec![0; capacity * stages],
            prev: vec![EMPTY; capacity],
            next: vec![EMPTY; capacity],
            free: (0..capacity as u32).rev().collect(),
            lru_head: EMPTY,
            lru_tail: EMPTY,
            len: 0,
            index: vec![EMPTY; index_len],
            mask: index_len - 1,
            stats: SequenceStats::default(),
            hasher: [RandomState::new(), RandomState::new()],
            scratch: vec![0; stages],
        }
    }

    /// The table, for sequences that join as `joins` says: with
    /// [`Joins::Endgame`], an event older than a pending sequence's last
    /// event still advances it (the keys' own rules are the caller's: see
    /// [`KeyBuilder`]).
    ///
    /// ```
    /// use detect_core::{ir::Joins, sequence::SequenceTable};
    /// let mut t = SequenceTable::new(2, 4, None).with_joins(Joins::Endgame);
    /// let k = t.key(&["proc-1"]);
    /// let mut done = Vec::new();
    /// t.step(2_000, 10, &[Some(k), None], None, |events| done.push(events.to_vec()));
    /// t.step(1_000, 11, &[None, Some(k)], None, |events| done.push(events.to_vec()));
    /// assert_eq!(done, vec![vec![10, 11]]);
    /// ```
    pub fn with_joins(mut self, joins: Joins) -> SequenceTable {
        self.reject_out_of_order = joins == Joins::Elasticsearch;
        self
    }

    /// The key of these field values (in key order). Allocates nothing.
    pub fn key(&self, values: &[&str]) -> Key {
        let mut a = self.hasher[0].build_hasher();
        let mut b = self.hasher[1].build_hasher();
        for v in values {
            for h in [&mut a, &mut b] {
                h.write_usize(v.len());
                h.write(v.as_bytes());
            }
        }
        (u128::from(a.finish()) << 64) | u128::from(b.finish())
    }

    /// A hasher for building a key value by value (see [`KeyBuilder`]).
    pub fn key_builder(&self) -> KeyBuilder {
        KeyBuilder {
            a: self.hasher[0].build_hasher(),
            b: self.hasher[1].build_hasher(),
        }
    }

    /// Pending sequences now held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no sequence is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fixed capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counters since construction.
    pub fn stats(&self) -> SequenceStats {
        self.stats
    }

    /// Empties the table and zeroes its counters, keeping its memory (and
    /// its hash keys): the table is then as [`SequenceTable::new`] made it,
    /// without allocating. The cost is proportional to the sequences pending,
    /// not to the capacity.
    ///
    /// ```
    /// use detect_core::sequence::SequenceTable;
    /// let mut t = SequenceTable::new(2, 4, None);
    /// let k = t.key(&["proc-1"]);
    /// t.step(0, 1, &[Some(k), None], None, |_| {});
    /// t.clear();
    /// assert!(t.is_empty());
    /// let mut done = 0;
    /// t.step(1, 2, &[None, Some(k)], None, |_| done += 1);
    /// assert_eq!(done, 0);
    /// ```
    pub fn clear(&mut self) {
        while self.lru_head != EMPTY {
            let slot = self.lru_head;
            self.lru_head = self.next[slot as usize];
            self.prev[slot as usize] = EMPTY;
            self.next[slot as usize] = EMPTY;
            // Every entry goes, so no backward shift: the slot's entry is
            // found by probing from its home past the holes left by entries
            // already emptied (it is in the index, so at most `mask + 1`
            // probes).
            let mut i = self.home(self.slot_key[slot as usize], self.slot_stage[slot as usize]);
            for _ in 0..=self.mask {
                if self.index[i] == slot {
                    self.index[i] = EMPTY;
                    break;
                }
                i = (i + 1) & self.mask;
            }
            self.free.push(slot);
        }
        self.lru_tail = EMPTY;
        self.len = 0;
        self.stats = SequenceStats::default();
    }

    /// Applies one event: `ts` its time in milliseconds, `pos` its position
    /// (reported back in completed sequences), `stage_keys[s]` the join key when
    /// the event satisfies stage `s` (and has a non-null key), `until_key` the
    /// key when it satisfies the `until` condition. Calls `on_complete` with the
    /// positions of the events of each completed sequence. Allocates nothing.
    pub fn step(
        &mut self,
        ts: i64,
        pos: u64,
        stage_keys: &[Option<Key>],
        until_key: Option<Key>,
        mut on_complete: impl FnMut(&[u64]),
    ) {
        if let Some(k) = until_key {
            for s in 0..self.stages.saturating_sub(1) {
                if let Some(slot) = self.find(k, s as u32) {
                    self.remove(slot);
                    self.stats.cancelled += 1;
                }
            }
        }
        for s in (0..self.stages.min(stage_keys.len())).rev() {
            let Some(k) = stage_keys[s] else { continue };
            if s == 0 {
                if self.stages == 1 {
                    self.stats.started += 1;
                    self.stats.completed += 1;
                    on_complete(&[pos]);
                    continue;
                }
                match self.find(k, 0) {
                    Some(slot) => {
                        self.stats.restarted += 1;
                        self.start_at(slot, ts, pos);
                        self.touch(slot);
                    }
                    None => {
                        self.stats.started += 1;
                        let slot = self.alloc(ts);
                        self.start_at(slot, ts, pos);
                        self.slot_key[slot as usize] = k;
                        self.slot_stage[slot as usize] = 0;
                        self.index_insert(slot);
                        self.push_front(slot);
                    }
                }
                continue;
            }
            let Some(slot) = self.find(k, (s - 1) as u32) else {
                continue;
            };
            let (start, last) = (
                self.slot_start[slot as usize],
                self.slot_last[slot as usize],
            );
            if self.expired(start, ts) {
                self.remove(slot);
                self.stats.expired += 1;
                continue;
            }
            if self.reject_out_of_order && ts < last {
                self.stats.out_of_order += 1;
                continue;
            }
            // Advance: take the sequence out of stage s-1.
            let base = slot as usize * self.stages;
            self.scratch[..s].copy_from_slice(&self.slot_events[base..base + s]);
            self.scratch[s] = pos;
            self.remove(slot);
            if s + 1 == self.stages {
                self.stats.completed += 1;
                on_complete(&self.scratch[..self.stages]);
                continue;
            }
            // A newer sequence reaching stage s replaces an older one there.
            if let Some(old) = self.find(k, s as u32) {
                self.remove(old);
            }
            let slot = self.alloc(ts);
            let base = slot as usize * self.stages;
            self.slot_events[base..base + s + 1].copy_from_slice(&self.scratch[..s + 1]);
            self.slot_start[slot as usize] = start;
            self.slot_last[slot as usize] = ts;
            self.slot_key[slot as usize] = k;
            self.slot_stage[slot as usize] = s as u32;
            self.index_insert(slot);
            self.push_front(slot);
        }
    }

    fn expired(&self, start: i64, ts: i64) -> bool {
        self.maxspan.is_some_and(|m| ts.saturating_sub(start) > m)
    }

    /// Makes `slot` a sequence that just matched its first stage.
    fn start_at(&mut self, slot: u32, ts: i64, pos: u64) {
        let i = slot as usize;
        self.slot_start[i] = ts;
        self.slot_last[i] = ts;
        self.slot_events[i * self.stages] = pos;
    }

    /// A free slot, evicting the least recently touched sequence when full.
    fn alloc(&mut self, ts: i64) -> u32 {
        if let Some(slot) = self.free.pop() {
            self.len += 1;
            return slot;
        }
        let victim = self.lru_tail;
        if self.expired(self.slot_start[victim as usize], ts) {
            self.stats.expired += 1;
        } else {
            self.stats.evicted += 1;
        }
        self.remove(victim);
        self.len += 1;
        self.free.pop().unwrap_or(victim)
    }

    fn remove(&mut self, slot: u32) {
        self.index_remove(slot);
        self.unlink(slot);
        self.free.push(slot);
        self.len -= 1;
    }

    fn touch(&mut self, slot: u32) {
        self.unlink(slot);
        self.push_front(slot);
    }

    fn push_front(&mut self, slot: u32) {
        let i = slot as usize;
        self.prev[i] = EMPTY;
        self.next[i] = self.lru_head;
        if self.lru_head != EMPTY {
            self.prev[self.lru_head as usize] = slot;
        }
        self.lru_head = slot;
        if self.lru_tail == EMPTY {
            self.lru_tail = slot;
        }
    }

    fn unlink(&mut self, slot: u32) {
        let i = slot as usize;
        let (p, n) = (self.prev[i], self.next[i]);
        if p != EMPTY {
            self.next[p as usize] = n;
        } else if self.lru_head == slot {
            self.lru_head = n;
        }
        if n != EMPTY {
            self.prev[n as usize] = p;
        } else if self.lru_tail == slot {
            self.lru_tail = p;
        }
        self.prev[i] = EMPTY;
        self.next[i] = EMPTY;
    }

    fn home(&self, key: Key, stage: u32) -> usize {
        let h = (key as u64)
            ^ ((key >> 64) as u64).rotate_left(17)
            ^ u64::from(stage).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h.wrapping_mul(0xBF58_476D_1CE4_E5B9) >> 20) as usize & self.mask
    }

    fn find(&self, key: Key, stage: u32) -> Option<u32> {
        let mut i = self.home(key, stage);
        loop {
            let slot = self.index[i];
            if slot == EMPTY {
                return None;
            }
            if self.slot_key[slot as usize] == key && self.slot_stage[slot as usize] == stage {
                return Some(slot);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn index_insert(&mut self, slot: u32) {
        let mut i = self.home(self.slot_key[slot as usize], self.slot_stage[slot as usize]);
        while self.index[i] != EMPTY {
            i = (i + 1) & self.mask;
        }
        self.index[i] = slot;
    }

    /// Linear-probing deletion by backward shift (no tombstones, so lookups
    /// stay short however many keys come and go).
    fn index_remove(&mut self, slot: u32) {
        let mut i = self.home(self.slot_key[slot as usize], self.slot_stage[slot as usize]);
        while self.index[i] != slot {
            if self.index[i] == EMPTY {
                return;
            }
            i = (i + 1) & self.mask;
        }
        self.index[i] = EMPTY;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let s = self.index[j];
            if s == EMPTY {
                return;
            }
            let home = self.home(self.slot_key[s as usize], self.slot_stage[s as usize]);
            // Move `s` into the hole when its home is not in (i, j] cyclically.
            let between = if i <= j {
                home > i && home <= j
            } else {
                home > i || home <= j
            };
            if !between {
                self.index[i] = s;
                self.index[j] = EMPTY;
                i = j;
            }
        }
    }
}

/// Builds a [`Key`] value by value, without allocating.
#[derive(Debug)]
pub struct KeyBuilder {
    a: std::hash::DefaultHasher,
    b: std::hash::DefaultHasher,
}

impl KeyBuilder {
    /// Adds the next key value.
    pub fn push(&mut self, value: &str) {
        for h in [&mut self.a, &mut self.b] {
            h.write_usize(value.len());
            h.write(value.as_bytes());
        }
    }

    /// Adds a missing or null key value, which joins another missing or null
    /// one ([`Joins::Endgame`]; use [`KeyBuilder::push_folded`] for values).
    ///
    /// ```
    /// use detect_core::sequence::SequenceTable;
    /// let t = SequenceTable::new(2, 4, None);
    /// let key = |values: &[Option<&str>]| {
    ///     let mut b = t.key_builder();
    ///     for v in values {
    ///         match v {
    ///             Some(v) => b.push_folded(v),
    ///             None => b.push_null(),
    ///         }
    ///     }
    ///     b.finish()
    /// };
    /// assert_eq!(key(&[None, Some("A")]), key(&[None, Some("a")]));
    /// assert_ne!(key(&[None, Some("a")]), key(&[Some("a"), None]));
    /// assert_ne!(key(&[Some("")]), key(&[None]));
    /// ```
    pub fn push_null(&mut self) {
        for h in [&mut self.a, &mut self.b] {
            h.write_u8(0);
        }
    }

    /// Adds the next key value lowercased character by character
    /// (`char::to_lowercase`, as [`Joins::Endgame`] compares keys), without
    /// allocating: the folded length (the value's own when it is ASCII),
    /// then the folded text through a stack buffer.
    pub fn push_folded(&mut self, value: &str) {
        let folded = || value.chars().flat_map(char::to_lowercase);
        let len = if value.is_ascii() {
            value.len()
        } else {
            folded().map(char::len_utf8).sum()
        };
        for h in [&mut self.a, &mut self.b] {
            h.write_u8(1);
            h.write_usize(len);
        }
        let mut buf = [0u8; 64];
        let mut used = 0;
        for c in folded() {
            if used + c.len_utf8() > buf.len() {
                for h in [&mut self.a, &mut self.b] {
                    h.write(&buf[..used]);
                }
                used = 0;
            }
            used += c.encode_utf8(&mut buf[used..]).len();
        }
        for h in [&mut self.a, &mut self.b] {
            h.write(&buf[..used]);
        }
    }

    /// The key.
    pub fn finish(&self) -> Key {
        (u128::from(self.a.finish()) << 64) | u128::from(self.b.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &mut SequenceTable, events: &[(i64, u64, Vec<Option<&str>>)]) -> Vec<Vec<u64>> {
        let mut out = Vec::new();
        for (ts, pos, keys) in events {
            let keys: Vec<Option<Key>> = keys.iter().map(|k| k.map(|k| t.key(&[k]))).collect();
            t.step(*ts, *pos, &keys, None, |e| out.push(e.to_vec()));
        }
        out
    }

    #[test]
    fn three_stages_complete_in_order_within_maxspan() {
        let mut t = SequenceTable::new(3, 8, Some(60_000));
        let done = run(
            &mut t,
            &[
                (0, 1, vec![Some("a"), None, None]),
                (1_000, 2, vec![None, Some("a"), None]),
                (60_000, 3, vec![None, None, Some("a")]),
            ],
        );
        assert_eq!(done, vec![vec![1, 2, 3]]);
        assert!(t.is_empty());
    }

    #[test]
    fn past_maxspan_does_not_complete() {
        let mut t = SequenceTable::new(2, 8, Some(60_000));
        let done = run(
            &mut t,
            &[
                (0, 1, vec![Some("a"), None]),
                (61_000, 2, vec![None, Some("a")]),
            ],
        );
        assert!(done.is_empty());
        assert_eq!(t.stats().expired, 1);
    }

    #[test]
    fn restart_overwrites_and_keys_do_not_mix() {
        let mut t = SequenceTable::new(2, 8, None);
        let done = run(
            &mut t,
            &[
                (0, 1, vec![Some("a"), None]),
                (1, 2, vec![Some("a"), None]),
                (2, 3, vec![Some("b"), None]),
                (3, 4, vec![None, Some("a")]),
                (4, 5, vec![None, Some("a")]),
                (5, 6, vec![None, Some("c")]),
            ],
        );
        assert_eq!(done, vec![vec![2, 4]]);
        assert_eq!(t.stats().restarted, 1);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn one_event_matching_two_stages_advances_one_stage_only() {
        let mut t = SequenceTable::new(3, 8, None);
        let done = run(
            &mut t,
            &[
                (0, 1, vec![Some("a"), Some("a"), Some("a")]),
                (1, 2, vec![Some("a"), Some("a"), Some("a")]),
            ],
        );
        assert!(done.is_empty());
        let done = run(&mut t, &[(2, 3, vec![None, None, Some("a")])]);
        assert_eq!(done, vec![vec![1, 2, 3]]);
    }

    #[test]
    fn until_cancels_its_key() {
        let mut t = SequenceTable::new(2, 8, None);
        let ka = t.key(&["a"]);
        let kb = t.key(&["b"]);
        let mut out = Vec::new();
        t.step(0, 1, &[Some(ka), None], None, |e| out.push(e.to_vec()));
        t.step(0, 2, &[Some(kb), None], None, |e| out.push(e.to_vec()));
        t.step(1, 3, &[None, None], Some(ka), |e| out.push(e.to_vec()));
        t.step(2, 4, &[None, Some(ka)], None, |e| out.push(e.to_vec()));
        t.step(2, 5, &[None, Some(kb)], None, |e| out.push(e.to_vec()));
        assert_eq!(out, vec![vec![2, 5]]);
        assert_eq!(t.stats().cancelled, 1);
    }

    #[test]
    fn out_of_order_events_do_not_advance() {
        let mut t = SequenceTable::new(2, 8, Some(10_000));
        let done = run(
            &mut t,
            &[
                (5_000, 1, vec![Some("a"), None]),
                (4_000, 2, vec![None, Some("a")]),
            ],
        );
        assert!(done.is_empty());
        assert_eq!(t.stats().out_of_order, 1);
    }

    #[test]
    fn a_flood_of_keys_stays_within_capacity_and_counts_evictions() {
        // A million unique keys through a table of 1,000: memory is fixed at
        // construction, so only the counters grow.
        let mut t = SequenceTable::new(3, 1_000, Some(60_000));
        let before = (
            t.slot_key.capacity(),
            t.index.capacity(),
            t.slot_events.capacity(),
        );
        let mut builder_keys = 0u64;
        let mut buf = String::new();
        for i in 0..1_000_000u64 {
            use std::fmt::Write as _;
            buf.clear();
            let _ = write!(buf, "{i}");
            let k = t.key(&[&buf]);
            t.step(i as i64, i, &[Some(k), None, None], None, |_| {});
            builder_keys += 1;
            assert!(t.len() <= 1_000);
        }
        assert_eq!(t.len(), 1_000);
        assert_eq!(t.stats().evicted, builder_keys - 1_000);
        assert_eq!(
            before,
            (
                t.slot_key.capacity(),
                t.index.capacity(),
                t.slot_events.capacity()
            )
        );
        // The survivors are the most recent keys, and still complete.
        let k = t.key(&["999999"]);
        t.step(1_000_000, 1, &[None, Some(k), None], None, |_| {});
        let mut done = 0;
        t.step(1_000_001, 2, &[None, None, Some(k)], None, |_| done += 1);
        assert_eq!(done, 1);
    }

    #[test]
    fn clear_empties_the_table_without_reallocating() {
        let mut t = SequenceTable::new(2, 256, Some(60_000));
        let before = (
            t.slot_key.as_ptr(),
            t.index.as_ptr(),
            t.free.capacity(),
            t.index.len(),
        );
        // More keys than capacity, so that probe chains are long and some
        // sequences were evicted; then clear, twice in a row.
        for round in 0..2u64 {
            for i in 0..300u64 {
                let k = t.key(&[&format!("{round}-{i}")]);
                t.step(i as i64, i, &[Some(k), None], None, |_| {});
            }
            assert_eq!(t.len(), 256);
            assert_eq!(t.stats().evicted, 44);
            t.clear();
            assert!(t.is_empty());
            assert_eq!(t.stats(), SequenceStats::default());
            assert!(t.index.iter().all(|&s| s == EMPTY));
            assert_eq!(t.free.len(), 256);
            let mut free = t.free.clone();
            free.sort_unstable();
            assert_eq!(free, (0..256).collect::<Vec<u32>>());
            // What was pending before the clear no longer advances.
            let k = t.key(&[&format!("{round}-299")]);
            let mut done = 0;
            t.step(400, 1, &[None, Some(k)], None, |_| done += 1);
            assert_eq!(done, 0);
        }
        assert_eq!(
            before,
            (
                t.slot_key.as_ptr(),
                t.index.as_ptr(),
                t.free.capacity(),
                t.index.len()
            )
        );
        // And the table works as new: fill it to capacity, complete every key.
        let keys: Vec<Key> = (0..256).map(|i| t.key(&[&format!("new-{i}")])).collect();
        for (i, k) in keys.iter().enumerate() {
            t.step(1_000, i as u64, &[Some(*k), None], None, |_| {});
        }
        let mut done = 0;
        for (i, k) in keys.iter().enumerate() {
            t.step(2_000, i as u64, &[None, Some(*k)], None, |_| done += 1);
        }
        assert_eq!((done, t.len(), t.stats().evicted), (256, 0, 0));
    }

    #[test]
    fn index_survives_heavy_churn() {
        // Insert and remove in patterns that exercise backward-shift deletion.
        let mut t = SequenceTable::new(2, 64, None);
        for round in 0..50u64 {
            for i in 0..64u64 {
                let k = t.key(&[&format!("{round}-{i}")]);
                t.step(0, i, &[Some(k), None], None, |_| {});
            }
            for i in (0..64u64).step_by(3) {
                let k = t.key(&[&format!("{round}-{i}")]);
                let mut done = 0;
                t.step(0, i, &[None, Some(k)], None, |_| done += 1);
                assert_eq!(done, 1, "round {round} key {i}");
            }
        }
    }
}
