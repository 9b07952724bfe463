//! Consuming one partition: take over its consumer from the previous owner,
//! then fetch, scan, publish, await the publish acks and acknowledge, one
//! batch at a time, in stream order.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream::Stream};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::detector::{Detection, Detector, EventMessage, RuleSetHandle};
use crate::metrics::Metrics;
use crate::topology::{
    CONSUMER_PREFIX, EVENTS_STREAM, detection_subject, message_id, partition_filter,
};
use crate::{Error, Settings};

/// What the owner of a partition wants its task to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Run {
    /// Keep consuming.
    Go,
    /// Finish the batch in hand (publish, ack), then return: a drain on
    /// SIGTERM, or a partition handed to another worker.
    Drain,
    /// Return now without acknowledging: the lease was lost, another worker
    /// may own the partition already.
    Abandon,
}

/// What a partition task needs.
pub(crate) struct Partition<D: Detector> {
    pub(crate) js: jetstream::Context,
    pub(crate) settings: Settings,
    pub(crate) rules: Arc<RuleSetHandle<D>>,
    pub(crate) metrics: Arc<Metrics>,
    /// The partition number.
    pub(crate) p: u32,
    /// The revision of the lease key when it was claimed (names the consumer).
    pub(crate) claim: u64,
}

/// Names of partition `p`'s consumers start with this.
fn consumer_prefix(p: u32) -> String {
    format!("{CONSUMER_PREFIX}-p{p}-")
}

impl<D: Detector> Partition<D> {
    /// Consumes the partition until `run` says otherwise, or an error.
    pub(crate) async fn run(self, mut run: watch::Receiver<Run>) -> Result<(), Error> {
        let p = self.p;
        let mut stream =
            self.js.get_stream(EVENTS_STREAM).await.map_err(|e| {
                Error::context(format!("partition {p}: opening {EVENTS_STREAM}"), e)
            })?;
        let consumer = self.take_over(&mut stream).await?;
        let mut state = self.rules.current().new_state();
        let mut evicted_seen = 0;
        let mut detections: Vec<Detection> = Vec::new();
        let mut acks: Vec<(String, PublishAckFuture)> = Vec::new();
        let mut consumer = consumer;
        loop {
            if *run.borrow() != Run::Go {
                return Ok(());
            }
            let mut batch = consumer
                .batch()
                .max_messages(self.settings.batch)
                .expires(self.settings.fetch_wait)
                .messages()
                .await
                .map_err(|e| Error::context(format!("partition {p}: pull request"), e))?;
            // Taken at the batch's first event (not when the pull request
            // is sent), so that events arriving after a swap see the new rules.
            let mut batch_rules: Option<Arc<D>> = None;
            let mut last = None;
            loop {
                let next = tokio::select! {
                    next = batch.next() => next,
                    changed = run.changed() => {
                        if changed.is_err() || *run.borrow() == Run::Abandon {
                            return Ok(());
                        }
                        continue;
                    }
                };
                let Some(message) = next else { break };
                let message =
                    message.map_err(|e| Error::context(format!("partition {p}: fetching"), e))?;
                let info = message
                    .info()
                    .map_err(|e| Error::context(format!("partition {p}: reading a delivery"), e))?;
                let seq = info.stream_sequence;
                if info.delivered > 1 {
                    self.metrics.redelivered.fetch_add(1, Ordering::Relaxed);
                }
                self.metrics.events.fetch_add(1, Ordering::Relaxed);
                let event = EventMessage {
                    payload: &message.payload,
                    subject: message.subject.as_str(),
                    stream_sequence: seq,
                };
                let rules = batch_rules.get_or_insert_with(|| self.rules.current());
                if let Err(why) = rules.detect(&mut state, &event, &mut detections) {
                    self.metrics.malformed.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "detect serve: {EVENTS_STREAM} #{seq} ({}): {why}; acknowledged without detections",
                        message.subject
                    );
                }
                for d in detections.drain(..) {
                    let id = message_id(seq, &d.rule, &d.positions);
                    let publish = PublishMessage::build()
                        .payload(d.record.into())
                        .message_id(id);
                    let ack = self
                        .js
                        .send_publish(detection_subject(&d.level), publish)
                        .await
                        .map_err(|e| {
                            Error::context(format!("partition {p}: publishing a detection"), e)
                        })?;
                    acks.push((d.rule, ack));
                }
                last = Some(message);
            }
            // Every detection of the batch is stored (or known to be a
            // duplicate) before any event of it is acknowledged.
            for (rule, ack) in acks.drain(..) {
                let ack = ack.await.map_err(|e| {
                    Error::context(
                        format!("partition {p}: waiting for a detection's publish ack"),
                        e,
                    )
                })?;
                if ack.duplicate {
                    self.metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.metrics.published.fetch_add(1, Ordering::Relaxed);
                    self.metrics.rule_hit(&rule);
                }
            }
            if let Some(last) = last {
                // Ack policy `all`: this acknowledges the whole batch.
                last.double_ack()
                    .await
                    .map_err(|e| Error::context(format!("partition {p}: acknowledging"), e))?;
            }
            if let Some(rules) = &batch_rules {
                let evicted = rules.evicted(&state);
                if evicted > evicted_seen {
                    self.metrics
                        .evictions
                        .fetch_add(evicted - evicted_seen, Ordering::Relaxed);
                }
                evicted_seen = evicted;
            }
            if let Ok(info) = consumer.info().await {
                self.metrics
                    .set_lag(p, Some((info.num_pending, info.num_ack_pending as u64)));
            }
        }
    }

    /// Deletes the partition's previous consumers and creates this claim's,
    /// starting after the furthest point any of them had fully acknowledged.
    async fn take_over(&self, stream: &mut Stream) -> Result<PullConsumer, Error> {
        let p = self.p;
        let prefix = consumer_prefix(p);
        let mut names = Vec::new();
        let mut listing = stream.consumer_names();
        while let Some(name) = listing.next().await {
            let name =
                name.map_err(|e| Error::context(format!("partition {p}: listing consumers"), e))?;
            if name.starts_with(&prefix) {
                names.push(name);
            }
        }
        let mut done_through = 0u64;
        for name in &names {
            let info = stream.consumer_info(name).await.map_err(|e| {
                Error::context(format!("partition {p}: reading consumer {name}"), e)
            })?;
            let started_after = match info.config.deliver_policy {
                DeliverPolicy::ByStartSequence { start_sequence } => {
                    start_sequence.saturating_sub(1)
                }
                _ => 0,
            };
            done_through = done_through
                .max(info.ack_floor.stream_sequence)
                .max(started_after);
            // Delivered to the previous owner and never acknowledged: they
            // come again through this claim's consumer.
            self.metrics
                .redelivered
                .fetch_add(info.num_ack_pending as u64, Ordering::Relaxed);
            stream.delete_consumer(name).await.map_err(|e| {
                Error::context(format!("partition {p}: deleting consumer {name}"), e)
            })?;
        }
        let name = format!("{prefix}{}", self.claim);
        let deliver_policy = if done_through == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: done_through + 1,
            }
        };
        stream
            .create_consumer(pull::Config {
                durable_name: Some(name.clone()),
                description: Some(format!("detect serve: partition {p}")),
                filter_subject: partition_filter(p),
                deliver_policy,
                ack_policy: AckPolicy::All,
                ack_wait: self.settings.ack_wait,
                max_ack_pending: (self.settings.batch * 2) as i64,
                ..Default::default()
            })
            .await
            .map_err(|e| Error::context(format!("partition {p}: creating consumer {name}"), e))
    }
}
