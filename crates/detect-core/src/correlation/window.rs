//! The sliding windows of one correlation: its groups, each with the events
//! (or distinct values) of its current window, in bounded memory.
//!
//! Every kind keeps, per group, only what its measure needs, updated in
//! O(1) or O(log n) per event whatever the window holds:
//!
//! * `event_count`, `value_sum`, `value_avg`, `value_percentile`: one item
//!   per event in the window, in time order (the expiry queue), with a
//!   running count, exact integer sum and float sum, and for the percentile
//!   an order-statistics tree ([`super::treap`]);
//! * `value_count`: one item per *distinct value*, with the time it was last
//!   seen, in last-seen order; a hash index from (group, value) to its item.
//!   A value seen again moves to the back; expiry pops from the front; the
//!   distinct count is the length;
//! * `temporal`: per input, its latest event;
//! * `temporal_ordered`: per step, the newest start time of a chain that
//!   reached it (and the chain's events): an event of step `k` extends the
//!   chain of step `k - 1` if it started within the timespan.
//!
//! Groups are kept in least-recently-used order. When the groups or items
//! reach the capacity, the least recently used group is dropped whole (or,
//! when it is the group being updated, its oldest item), and counted.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::treap::{self, NIL, Nodes};
use super::{CorrelationStats, MAX_REPORTED_EVENTS};
use crate::ir::{CorrelationKind, NumOp, Number};

/// A hasher for keys that already are keyed SipHash outputs (group keys
/// and value keys): folding their bits is enough.
#[derive(Default)]
pub(crate) struct Fold(u64);

impl Hasher for Fold {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 ^= (v as u64) ^ ((v >> 64) as u64);
    }
}

type Index = HashMap<u128, u32, BuildHasherDefault<Fold>>;

/// What an event brings to the window besides its time and group.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Observed {
    /// Nothing (`event_count`, `temporal`, `temporal_ordered`).
    Nothing,
    /// The key of the value of `value_count`'s fields (already combined
    /// with the group's key).
    Distinct(u128),
    /// The numeric value of the value kinds.
    Num(Number),
}

/// A window that met its condition, as handed to the engine.
pub(crate) struct Fired<'a> {
    pub(crate) group: &'a [String],
    pub(crate) value: f64,
    pub(crate) events: &'a [u64],
    pub(crate) window: usize,
}

#[derive(Debug)]
struct Group {
    key: u128,
    values: Vec<String>,
    /// The newest time seen in the group.
    clock: i64,
    prev: u32,
    next: u32,
    head: u32,
    tail: u32,
    len: u32,
    sum_int: i128,
    sum_float: f64,
    floats: u32,
    root: u32,
}

#[derive(Clone, Copy, Debug)]
struct Item {
    time: i64,
    pos: u64,
    group: u32,
    prev: u32,
    next: u32,
    key: u128,
    int: i64,
    float: f64,
    is_float: bool,
    left: u32,
    right: u32,
    size: u32,
    priority: u32,
}

/// One input's latest event (`temporal`), or one step's newest chain
/// (`temporal_ordered`: `time` is the chain's start, `seq` its last event).
#[derive(Clone, Copy, Debug)]
struct Step {
    time: i64,
    pos: u64,
    seq: u64,
}

const NO_STEP: Step = Step {
    time: i64::MIN,
    pos: 0,
    seq: 0,
};

/// The windows of one correlation.
#[derive(Debug)]
pub(crate) struct Windows {
    kind: CorrelationKind,
    timespan: i64,
    condition: Vec<(NumOp, f64)>,
    percentile: f64,
    inputs: usize,
    capacity: usize,
    groups: Vec<Group>,
    group_free: Vec<u32>,
    group_index: Index,
    lru_head: u32,
    lru_tail: u32,
    live_groups: usize,
    items: Vec<Item>,
    item_free: Vec<u32>,
    live_items: usize,
    value_index: Index,
    steps: Vec<Step>,
    chains: Vec<u64>,
    rng: u64,
    report: Vec<u64>,
    pub(crate) stats: CorrelationStats,
}

pub(crate) fn number_f64(n: Number) -> f64 {
    match n {
        Number::Int(i) => i as f64,
        Number::Float(f) => f,
    }
}

/// `value op bound`.
pub(crate) fn holds(value: f64, op: NumOp, bound: f64) -> bool {
    match op {
        NumOp::Eq => value == bound,
        NumOp::Ne => value != bound,
        NumOp::Lt => value < bound,
        NumOp::Le => value <= bound,
        NumOp::Gt => value > bound,
        NumOp::Ge => value >= bound,
    }
}

impl Windows {
    pub(crate) fn new(
        kind: CorrelationKind,
        timespan_ms: u64,
        condition: &[(NumOp, Number)],
        percentile: f64,
        inputs: usize,
        capacity: usize,
    ) -> Windows {
        let capacity = capacity.clamp(2, (u32::MAX / 2) as usize);
        let start = capacity.min(1024);
        Windows {
            kind,
            timespan: i64::try_from(timespan_ms).unwrap_or(i64::MAX),
            condition: condition
                .iter()
                .map(|&(op, n)| (op, number_f64(n)))
                .collect(),
            percentile,
            inputs: inputs.max(1),
            capacity,
            groups: Vec::with_capacity(start),
            group_free: Vec::with_capacity(start),
            group_index: Index::with_capacity_and_hasher(start * 2, Default::default()),
            lru_head: NIL,
            lru_tail: NIL,
            live_groups: 0,
            items: Vec::with_capacity(start),
            item_free: Vec::with_capacity(start),
            live_items: 0,
            value_index: Index::with_capacity_and_hasher(
                if kind == CorrelationKind::ValueCount {
                    start * 2
                } else {
                    0
                },
                Default::default(),
            ),
            steps: Vec::new(),
            chains: Vec::new(),
            rng: 0x2545_F491_4F6C_DD1D,
            report: Vec::with_capacity(MAX_REPORTED_EVENTS),
            stats: CorrelationStats::default(),
        }
    }

    /// The group-by values of the group in `slot`.
    pub(crate) fn group_values(&self, slot: u32) -> &[String] {
        &self.groups[slot as usize].values
    }

    pub(crate) fn live_groups(&self) -> usize {
        self.live_groups
    }

    pub(crate) fn live_items(&self) -> usize {
        self.live_items
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every group, keeping the memory.
    pub(crate) fn clear(&mut self) {
        while self.lru_head != NIL {
            self.drop_group(self.lru_head);
        }
        self.stats = CorrelationStats::default();
    }

    /// One event of input `input` at time `t`, in the group `key` (whose
    /// values `fill` writes when the group is new). Calls `on_fire` and
    /// returns the group's slot when the window meets the condition; the
    /// group's window is then emptied.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn observe(
        &mut self,
        input: usize,
        t: i64,
        pos: u64,
        seq: u64,
        key: u128,
        fill: &mut dyn FnMut(&mut Vec<String>),
        observed: Observed,
        on_fire: &mut dyn FnMut(&Fired<'_>),
    ) -> Option<u32> {
        let slot = match self.group_index.get(&key) {
            Some(&s) => {
                self.touch(s);
                s
            }
            None => self.new_group(key, t, fill),
        };
        let g = &self.groups[slot as usize];
        let clock = g.clock.max(t);
        let low = clock.saturating_sub(self.timespan);
        if t < low || (self.kind == CorrelationKind::TemporalOrdered && t < g.clock) {
            self.stats.late += 1;
            return None;
        }
        self.groups[slot as usize].clock = clock;
        self.expire(slot, low);
        let value = match self.kind {
            CorrelationKind::Temporal => {
                let s = &mut self.steps[slot as usize * self.inputs + input];
                if t >= s.time {
                    *s = Step { time: t, pos, seq };
                }
                let steps = &self.steps[slot as usize * self.inputs..][..self.inputs];
                steps.iter().filter(|s| s.time >= low).count() as f64
            }
            CorrelationKind::TemporalOrdered => {
                if !self.extend_chain(slot, input, t, pos, seq, low) {
                    return None;
                }
                self.inputs as f64
            }
            CorrelationKind::ValueCount => {
                let Observed::Distinct(vkey) = observed else {
                    return None;
                };
                match self.value_index.get(&vkey) {
                    Some(&item) => {
                        // Seen again: it moves to its new last-seen place
                        // (a late sighting older than the last one changes nothing).
                        let it = &mut self.items[item as usize];
                        if t >= it.time {
                            it.time = t;
                            it.pos = pos;
                            self.unlink_item(slot, item);
                            self.link_sorted(slot, item);
                        }
                    }
                    None => {
                        let item = self.new_item(slot, t, pos);
                        self.items[item as usize].key = vkey;
                        self.value_index.insert(vkey, item);
                    }
                }
                f64::from(self.groups[slot as usize].len)
            }
            CorrelationKind::EventCount => {
                self.new_item(slot, t, pos);
                f64::from(self.groups[slot as usize].len)
            }
            CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile => {
                let Observed::Num(n) = observed else {
                    return None;
                };
                let item = self.new_item(slot, t, pos);
                let it = &mut self.items[item as usize];
                let g = &mut self.groups[slot as usize];
                match n {
                    Number::Int(i) => {
                        it.int = i;
                        it.float = i as f64;
                        g.sum_int += i128::from(i);
                    }
                    Number::Float(f) => {
                        it.float = f;
                        it.is_float = true;
                        g.sum_float += f;
                        g.floats += 1;
                    }
                }
                if self.kind == CorrelationKind::ValuePercentile {
                    let root = self.groups[slot as usize].root;
                    let root = treap::insert(&mut TreeView(&mut self.items), root, item);
                    self.groups[slot as usize].root = root;
                }
                self.measure(slot)
            }
        };
        if !self.condition.iter().all(|&(op, b)| holds(value, op, b)) {
            return None;
        }
        let window = self.collect_events(slot);
        self.stats.fired += 1;
        on_fire(&Fired {
            group: &self.groups[slot as usize].values,
            value,
            events: &self.report,
            window,
        });
        self.reset_group(slot);
        Some(slot)
    }

    /// Sum, average or percentile of the group's window.
    fn measure(&self, slot: u32) -> f64 {
        let g = &self.groups[slot as usize];
        let sum = g.sum_int as f64 + g.sum_float;
        match self.kind {
            CorrelationKind::ValueSum => sum,
            CorrelationKind::ValueAvg => sum / f64::from(g.len.max(1)),
            _ => {
                let n = g.len as f64;
                let rank = ((self.percentile / 100.0) * n)
                    .ceil()
                    .clamp(1.0, n.max(1.0)) as u32;
                treap::select(&TreeViewRef(&self.items), g.root, rank - 1)
                    .map_or(f64::NAN, |i| self.items[i as usize].float)
            }
        }
    }

    /// `temporal_ordered`: an event of step `input`. True when it completes
    /// the chain.
    fn extend_chain(
        &mut self,
        slot: u32,
        input: usize,
        t: i64,
        pos: u64,
        seq: u64,
        low: i64,
    ) -> bool {
        let n = self.inputs;
        let base = slot as usize * n;
        if input == 0 {
            self.steps[base] = Step { time: t, pos, seq };
            self.chains[base * n] = pos;
        } else {
            let prev = self.steps[base + input - 1];
            // The previous step's chain must have started in the window and
            // must not end with this very event (one event is one step).
            if prev.time == i64::MIN || prev.time < low || prev.seq == seq {
                return false;
            }
            let cur = self.steps[base + input];
            if cur.time != i64::MIN && cur.time > prev.time && cur.time >= low {
                // A chain that started later already reached this step.
                return false;
            }
            self.steps[base + input] = Step {
                time: prev.time,
                pos,
                seq,
            };
            let (from, to) = ((base + input - 1) * n, (base + input) * n);
            self.chains.copy_within(from..from + input, to);
            self.chains[to + input] = pos;
        }
        input == n - 1
    }

    /// Fills `report` with the positions of the window's events (oldest
    /// first, at most [`MAX_REPORTED_EVENTS`]); returns how many the window holds.
    fn collect_events(&mut self, slot: u32) -> usize {
        self.report.clear();
        let n = self.inputs;
        match self.kind {
            CorrelationKind::Temporal => {
                let low = self.groups[slot as usize]
                    .clock
                    .saturating_sub(self.timespan);
                let steps = &self.steps[slot as usize * n..][..n];
                // Oldest first: a small insertion sort by time.
                for s in steps.iter().filter(|s| s.time >= low) {
                    if self.report.len() < MAX_REPORTED_EVENTS && !self.report.contains(&s.pos) {
                        self.report.push(s.pos);
                    }
                }
                let mut times: [i64; MAX_REPORTED_EVENTS] = [0; MAX_REPORTED_EVENTS];
                for (i, p) in self.report.iter().enumerate() {
                    times[i] = steps
                        .iter()
                        .filter(|s| s.pos == *p && s.time >= low)
                        .map(|s| s.time)
                        .min()
                        .unwrap_or(0);
                }
                let len = self.report.len();
                for i in 1..len {
                    let mut j = i;
                    while j > 0 && times[j - 1] > times[j] {
                        times.swap(j - 1, j);
                        self.report.swap(j - 1, j);
                        j -= 1;
                    }
                }
                len
            }
            CorrelationKind::TemporalOrdered => {
                let at = (slot as usize * n + n - 1) * n;
                let take = n.min(MAX_REPORTED_EVENTS);
                self.report.extend_from_slice(&self.chains[at..at + take]);
                n
            }
            _ => {
                let mut i = self.groups[slot as usize].head;
                while i != NIL && self.report.len() < MAX_REPORTED_EVENTS {
                    self.report.push(self.items[i as usize].pos);
                    i = self.items[i as usize].next;
                }
                self.groups[slot as usize].len as usize
            }
        }
    }

    fn expire(&mut self, slot: u32, low: i64) {
        loop {
            let head = self.groups[slot as usize].head;
            if head == NIL || self.items[head as usize].time >= low {
                return;
            }
            self.remove_item(slot, head);
        }
    }

    fn reset_group(&mut self, slot: u32) {
        while self.groups[slot as usize].head != NIL {
            let head = self.groups[slot as usize].head;
            self.remove_item(slot, head);
        }
        let n = self.inputs;
        if matches!(
            self.kind,
            CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
        ) {
            self.steps[slot as usize * n..][..n].fill(NO_STEP);
        }
        let g = &mut self.groups[slot as usize];
        g.sum_int = 0;
        g.sum_float = 0.0;
        g.floats = 0;
        g.root = NIL;
    }

    /// A free group slot for `key`, evicting the least recently used group
    /// when the capacity is reached.
    fn new_group(&mut self, key: u128, t: i64, fill: &mut dyn FnMut(&mut Vec<String>)) -> u32 {
        let slot = match self.group_free.pop() {
            Some(s) => s,
            None if self.groups.len() < self.capacity => {
                self.groups.push(Group {
                    key: 0,
                    values: Vec::new(),
                    clock: 0,
                    prev: NIL,
                    next: NIL,
                    head: NIL,
                    tail: NIL,
                    len: 0,
                    sum_int: 0,
                    sum_float: 0.0,
                    floats: 0,
                    root: NIL,
                });
                let n = self.inputs;
                match self.kind {
                    CorrelationKind::Temporal => self.steps.extend((0..n).map(|_| NO_STEP)),
                    CorrelationKind::TemporalOrdered => {
                        self.steps.extend((0..n).map(|_| NO_STEP));
                        self.chains.extend((0..n * n).map(|_| 0));
                    }
                    _ => {}
                }
                (self.groups.len() - 1) as u32
            }
            None => {
                let victim = self.lru_head;
                self.stats.evicted_groups += 1;
                self.stats.evicted_values += u64::from(self.groups[victim as usize].len);
                self.drop_group(victim);
                self.group_free.pop().expect("a group was just dropped")
            }
        };
        let g = &mut self.groups[slot as usize];
        g.key = key;
        g.clock = t;
        fill(&mut g.values);
        self.group_index.insert(key, slot);
        self.live_groups += 1;
        self.link_lru_tail(slot);
        slot
    }

    /// Frees a group and its items.
    fn drop_group(&mut self, slot: u32) {
        self.reset_group(slot);
        let key = self.groups[slot as usize].key;
        self.group_index.remove(&key);
        self.unlink_lru(slot);
        self.live_groups -= 1;
        self.group_free.push(slot);
    }

    /// A new item at the right place of the group's queue, evicting when
    /// the capacity is reached.
    fn new_item(&mut self, slot: u32, t: i64, pos: u64) -> u32 {
        let item = match self.item_free.pop() {
            Some(i) => i,
            None if self.items.len() < self.capacity => {
                self.items.push(Item {
                    time: 0,
                    pos: 0,
                    group: NIL,
                    prev: NIL,
                    next: NIL,
                    key: 0,
                    int: 0,
                    float: 0.0,
                    is_float: false,
                    left: NIL,
                    right: NIL,
                    size: 0,
                    priority: 0,
                });
                (self.items.len() - 1) as u32
            }
            None => {
                // Full: drop the least recently used groups (the current
                // one is the most recent) until an item is free; when only
                // the current group is left, its oldest item.
                while self.item_free.is_empty() {
                    let victim = self.lru_head;
                    if victim != slot {
                        self.stats.evicted_groups += 1;
                        self.stats.evicted_values += u64::from(self.groups[victim as usize].len);
                        self.drop_group(victim);
                    } else {
                        self.stats.evicted_values += 1;
                        let head = self.groups[slot as usize].head;
                        self.remove_item(slot, head);
                    }
                }
                self.item_free.pop().expect("an item was just freed")
            }
        };
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.items[item as usize] = Item {
            time: t,
            pos,
            group: slot,
            prev: NIL,
            next: NIL,
            key: 0,
            int: 0,
            float: 0.0,
            is_float: false,
            left: NIL,
            right: NIL,
            size: 1,
            priority: self.rng as u32,
        };
        self.live_items += 1;
        self.link_sorted(slot, item);
        item
    }

    /// Unlinks an item, takes it out of the measures and frees it.
    fn remove_item(&mut self, slot: u32, item: u32) {
        self.unlink_item(slot, item);
        let it = self.items[item as usize];
        let g = &mut self.groups[slot as usize];
        match self.kind {
            CorrelationKind::ValueCount => {
                self.value_index.remove(&it.key);
            }
            CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile => {
                if it.is_float {
                    g.floats -= 1;
                    // Exactly zero when no float is left: no drift.
                    g.sum_float = if g.floats == 0 {
                        0.0
                    } else {
                        g.sum_float - it.float
                    };
                } else {
                    g.sum_int -= i128::from(it.int);
                }
                if self.kind == CorrelationKind::ValuePercentile {
                    let root = g.root;
                    let root = treap::remove(&mut TreeView(&mut self.items), root, item);
                    self.groups[slot as usize].root = root;
                }
            }
            _ => {}
        }
        self.items[item as usize].group = NIL;
        self.live_items -= 1;
        self.item_free.push(item);
    }

    fn unlink_item(&mut self, slot: u32, item: u32) {
        let Item { prev, next, .. } = self.items[item as usize];
        let g = &mut self.groups[slot as usize];
        if prev == NIL {
            g.head = next;
        } else {
            self.items[prev as usize].next = next;
        }
        if next == NIL {
            g.tail = prev;
        } else {
            self.items[next as usize].prev = prev;
        }
        g.len -= 1;
    }

    /// Links an item into the group's queue by time, from the back (in
    /// order events go straight to the back).
    fn link_sorted(&mut self, slot: u32, item: u32) {
        let t = self.items[item as usize].time;
        let mut after = self.groups[slot as usize].tail;
        while after != NIL && self.items[after as usize].time > t {
            after = self.items[after as usize].prev;
        }
        let before = if after == NIL {
            self.groups[slot as usize].head
        } else {
            self.items[after as usize].next
        };
        self.items[item as usize].prev = after;
        self.items[item as usize].next = before;
        let g = &mut self.groups[slot as usize];
        if after == NIL {
            g.head = item;
        } else {
            self.items[after as usize].next = item;
        }
        if before == NIL {
            g.tail = item;
        } else {
            self.items[before as usize].prev = item;
        }
        g.len += 1;
    }

    fn touch(&mut self, slot: u32) {
        if self.lru_tail != slot {
            self.unlink_lru(slot);
            self.link_lru_tail(slot);
        }
    }

    fn unlink_lru(&mut self, slot: u32) {
        let (prev, next) = {
            let g = &self.groups[slot as usize];
            (g.prev, g.next)
        };
        if prev == NIL {
            self.lru_head = next;
        } else {
            self.groups[prev as usize].next = next;
        }
        if next == NIL {
            self.lru_tail = prev;
        } else {
            self.groups[next as usize].prev = prev;
        }
    }

    fn link_lru_tail(&mut self, slot: u32) {
        let tail = self.lru_tail;
        let g = &mut self.groups[slot as usize];
        g.prev = tail;
        g.next = NIL;
        if tail == NIL {
            self.lru_head = slot;
        } else {
            self.groups[tail as usize].next = slot;
        }
        self.lru_tail = slot;
    }
}

/// The items as tree nodes (mutable).
struct TreeView<'a>(&'a mut Vec<Item>);
/// The items as tree nodes (read-only).
struct TreeViewRef<'a>(&'a [Item]);

fn less(items: &[Item], a: u32, b: u32) -> bool {
    let (x, y) = (&items[a as usize], &items[b as usize]);
    match x.float.total_cmp(&y.float) {
        std::cmp::Ordering::Equal => a < b,
        o => o.is_lt(),
    }
}

impl Nodes for TreeView<'_> {
    fn left(&self, n: u32) -> u32 {
        self.0[n as usize].left
    }
    fn right(&self, n: u32) -> u32 {
        self.0[n as usize].right
    }
    fn set_left(&mut self, n: u32, v: u32) {
        self.0[n as usize].left = v;
    }
    fn set_right(&mut self, n: u32, v: u32) {
        self.0[n as usize].right = v;
    }
    fn size(&self, n: u32) -> u32 {
        self.0[n as usize].size
    }
    fn set_size(&mut self, n: u32, v: u32) {
        self.0[n as usize].size = v;
    }
    fn priority(&self, n: u32) -> u32 {
        self.0[n as usize].priority
    }
    fn less(&self, a: u32, b: u32) -> bool {
        less(self.0, a, b)
    }
}

impl Nodes for TreeViewRef<'_> {
    fn left(&self, n: u32) -> u32 {
        self.0[n as usize].left
    }
    fn right(&self, n: u32) -> u32 {
        self.0[n as usize].right
    }
    fn set_left(&mut self, _: u32, _: u32) {
        unreachable!("read-only view")
    }
    fn set_right(&mut self, _: u32, _: u32) {
        unreachable!("read-only view")
    }
    fn size(&self, n: u32) -> u32 {
        self.0[n as usize].size
    }
    fn set_size(&mut self, _: u32, _: u32) {
        unreachable!("read-only view")
    }
    fn priority(&self, n: u32) -> u32 {
        self.0[n as usize].priority
    }
    fn less(&self, a: u32, b: u32) -> bool {
        less(self.0, a, b)
    }
}
