//! What a worker runs on each event ([`Detector`]), and the handle through
//! which the running rule set is swapped without a restart ([`RuleSetHandle`]).
//!
//! The handle is a lock around an `Arc`: a partition takes the current rule
//! set once per batch (one uncontended read lock, then no lock while it
//! scans), and a reload replaces the `Arc`, so batches already running
//! finish with the rules they started with and the next batch of every
//! partition uses the new ones. Per-partition state (sequence tables) is
//! [`Detector::State`], owned by the partition, and carried over a reload.
//!
//! `detect_core::runtime::SharedRuleSet` swaps rules compiled at run time
//! the same way; this handle swaps a whole [`Detector`] instead (rule
//! metadata and output options with the rules, compiled packs included),
//! which is what a worker reloads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One event as a worker hands it to a [`Detector`].
#[derive(Debug, Clone, Copy)]
pub struct EventMessage<'a> {
    /// The message body: one JSON event.
    pub payload: &'a [u8],
    /// The subject it is stored under (`events.<partition>.<host>`).
    pub subject: &'a str,
    /// Its sequence number in the events stream: unique, and in publish
    /// order within a partition (sequence rules use it as the position).
    pub stream_sequence: u64,
}

/// One match, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// Name of the rule that fired (metrics, message id).
    pub rule: String,
    /// Its level, the last token of the subject (`detections.<level>`).
    pub level: String,
    /// For a sequence rule, the stream sequences of its events (part of the
    /// message id); empty for a stateless rule.
    pub positions: Vec<u64>,
    /// The message body (a JSON record).
    pub record: Vec<u8>,
}

impl Detection {
    /// A stateless rule's detection.
    ///
    /// ```
    /// let d = detect_serve::Detection::new("r", "high", b"{}".to_vec());
    /// assert!(d.positions.is_empty());
    /// ```
    pub fn new(rule: impl Into<String>, level: impl Into<String>, record: Vec<u8>) -> Self {
        Detection {
            rule: rule.into(),
            level: level.into(),
            positions: Vec::new(),
            record,
        }
    }
}

/// A rule set as a worker runs it.
///
/// `detect` is called for the events of one partition in stream order, with
/// that partition's state; it appends the detections of the event to `out`
/// and returns `Err` with the reason when the event cannot be read (it is
/// then counted, reported and acknowledged, so that one bad message cannot
/// stop a partition).
///
/// ```
/// use detect_serve::{Detection, Detector, EventMessage};
///
/// /// Counts the events of its partition; fires on every tenth.
/// struct EveryTenth;
///
/// impl Detector for EveryTenth {
///     type State = u64;
///     fn new_state(&self) -> u64 { 0 }
///     fn detect(&self, seen: &mut u64, _: &EventMessage<'_>, out: &mut Vec<Detection>) -> Result<(), String> {
///         *seen += 1;
///         if *seen % 10 == 0 {
///             out.push(Detection::new("tenth", "low", b"{}".to_vec()));
///         }
///         Ok(())
///     }
///     fn evicted(&self, _: &u64) -> u64 { 0 }
///     fn describe(&self) -> String { "1 rule".into() }
/// }
///
/// let mut state = EveryTenth.new_state();
/// let mut out = Vec::new();
/// let event = EventMessage { payload: b"{}", subject: "events.0.h", stream_sequence: 1 };
/// for _ in 0..20 {
///     EveryTenth.detect(&mut state, &event, &mut out).unwrap();
/// }
/// assert_eq!(out.len(), 2);
/// ```
pub trait Detector: Send + Sync + 'static {
    /// State kept per partition (sequence tables), carried over reloads.
    type State: Send + 'static;

    /// Fresh state for a partition a worker has just claimed.
    fn new_state(&self) -> Self::State;

    /// Runs the rules on one event.
    fn detect(
        &self,
        state: &mut Self::State,
        event: &EventMessage<'_>,
        out: &mut Vec<Detection>,
    ) -> Result<(), String>;

    /// Pending sequences dropped so far from `state` because it was full.
    fn evicted(&self, state: &Self::State) -> u64;

    /// The rule set in a few words, for logs (`4 rules, 1 sequence`).
    fn describe(&self) -> String;
}

/// How a worker builds a new rule set on reload (SIGHUP or the control
/// subject): re-reads the rules, or says why it could not (the running rules
/// then stay).
pub type Reload<D> = Box<dyn Fn() -> Result<D, String> + Send + Sync>;

/// The running rule set, swappable while workers use it.
///
/// ```
/// let rules = detect_serve::RuleSetHandle::new(String::from("v1"));
/// let running = rules.current();
/// rules.swap(String::from("v2"));
/// assert_eq!(*running, "v1"); // what was taken stays valid
/// assert_eq!(*rules.current(), "v2");
/// assert_eq!(rules.generation(), 1);
/// ```
#[derive(Debug)]
pub struct RuleSetHandle<D> {
    current: RwLock<Arc<D>>,
    generation: AtomicU64,
}

impl<D> RuleSetHandle<D> {
    /// A handle running `rules`.
    pub fn new(rules: D) -> Self {
        RuleSetHandle {
            current: RwLock::new(Arc::new(rules)),
            generation: AtomicU64::new(0),
        }
    }

    /// The rule set now running.
    pub fn current(&self) -> Arc<D> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Makes `rules` the running set; returns the one it replaces.
    pub fn swap(&self, rules: D) -> Arc<D> {
        let new = Arc::new(rules);
        let old = match self.current.write() {
            Ok(mut guard) => std::mem::replace(&mut *guard, new),
            Err(poisoned) => std::mem::replace(&mut *poisoned.into_inner(), new),
        };
        self.generation.fetch_add(1, Ordering::Relaxed);
        old
    }

    /// How many swaps there have been.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}
