//! detect as a service on NATS JetStream: worker processes that consume a
//! partitioned stream of events, run a rule set on each event and publish
//! the matches, with at-least-once processing and no duplicate detection.
//!
//! This crate holds the messaging side; what a rule set is and how a match
//! is written stays with the caller behind the [`Detector`] trait (the
//! `detect` CLI implements it over its rule packs for `detect serve`).
//!
//! # Subjects and streams
//!
//! | what | subject | stream |
//! |---|---|---|
//! | an event, as published | `events.<host>` | mapped by the server (below) |
//! | an event, as stored | `events.<partition>.<host>` | `DETECT_EVENTS` (limits retention) |
//! | a detection | `detections.<level>` | `DETECT_DETECTIONS` (duplicate window) |
//! | rule reload | `detect.control.reload` | core NATS, no stream |
//!
//! # Partitions: one owner at a time
//!
//! Sequences (and correlations) join events by keys that belong to one
//! host, so every event of a host must be seen, in order, by one state
//! machine. Publishers put the host in the subject ([`host_token`]); the
//! server's deterministic subject mapping (`partition(P, 1)`, an FNV-1a hash
//! of the host token modulo P, in the server configuration given by
//! [`server_config`]) turns `events.<host>` into `events.<p>.<host>` before
//! the stream stores it. Each partition has one durable pull consumer
//! (filter `events.<p>.*`, ack policy *all*), fetched by one worker at a
//! time, in stream order, one batch in flight.
//!
//! Which worker that is is decided in a JetStream key-value bucket
//! (`detect-serve-leases`) whose entries expire after the lease time (the
//! bucket's `max_age`): a worker claims partition `p` by *creating* the key
//! `partition.<p>` (atomic: only one create succeeds) and keeps it by
//! *updating* it with the revision it last wrote, every third of the lease
//! time. It also keeps a `worker.<id>` key alive; the number of live workers
//! W sets each worker's share, ceil(P / W): a worker below its share claims
//! free partitions, one above it drains and releases some. So when a worker
//! joins, partitions move to it gracefully (the owner finishes its batch,
//! acks, deletes its key), and when a worker dies (SIGKILL, lost network) its
//! keys expire after the lease time and the survivors claim them.
//!
//! # What a new owner resumes from
//!
//! A worker that claims a partition deletes the partition's previous
//! consumer and creates a new one (named after the claim's revision, so a
//! stale owner's late acks reach nothing) that starts right after the
//! previous one's ack floor: every event after the last one whose matches
//! were all published and acknowledged is delivered again, in order.
//! Detections of those events that had already been published are dropped
//! by the detections stream, because each carries a `Nats-Msg-Id` made of
//! the event's stream sequence and the rule ([`message_id`]): at-least-once
//! processing, exactly-once detections within the duplicate window.
//!
//! The state lost with an owner is its sequence state: sequences pending on
//! events that had been acknowledged before the move start afresh with the
//! new owner (a sequence whose events straddle the move does not complete).
//! Stateless rules lose nothing. Ownership moves only when a worker joins,
//! leaves or dies, so this is bounded to the sequences open at that moment.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use detect_serve::{Detection, Detector, EventMessage, RuleSetHandle, Settings};
//!
//! /// Reports every event whose payload mentions "mimikatz".
//! struct Grep;
//!
//! impl Detector for Grep {
//!     type State = ();
//!     fn new_state(&self) {}
//!     fn detect(&self, _: &mut (), event: &EventMessage<'_>, out: &mut Vec<Detection>) -> Result<(), String> {
//!         if event.payload.windows(8).any(|w| w == b"mimikatz") {
//!             out.push(Detection::new("mimikatz", "high", br#"{"rule":"mimikatz"}"#.to_vec()));
//!         }
//!         Ok(())
//!     }
//!     fn evicted(&self, _: &()) -> u64 { 0 }
//!     fn describe(&self) -> String { "1 rule".into() }
//! }
//!
//! # async fn run() -> Result<(), detect_serve::Error> {
//! let rules = Arc::new(RuleSetHandle::new(Grep));
//! detect_serve::run_worker(Settings::default(), rules, Box::new(|| Ok(Grep))).await
//! # }
//! ```

#![forbid(unsafe_code)]

mod detector;
mod error;
mod lease;
mod metrics;
mod partition;
mod publish;
mod settings;
mod topology;
mod worker;

#[cfg(feature = "testing")]
pub mod testing;

pub use detector::{Detection, Detector, EventMessage, Reload, RuleSetHandle};
pub use error::Error;
pub use publish::{PublishStats, publish_events};
pub use settings::Settings;
pub use topology::{
    DETECTIONS_STREAM, EVENTS_STREAM, RELOAD_SUBJECT, host_token, message_id, server_config,
};
pub use worker::run_worker;
