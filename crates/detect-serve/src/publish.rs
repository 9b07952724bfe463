//! Publishing events from NDJSON to the events stream, each to
//! `events.<host>`, in order, with publish acks pipelined.

use std::collections::VecDeque;
use std::io::BufRead;

use async_nats::jetstream::{self, context::PublishAckFuture};

use crate::topology::{ensure_streams, event_subject};
use crate::{Error, Settings};

/// Publish acks awaited at most this far behind the newest publish.
const IN_FLIGHT: usize = 4096;

/// What [`publish_events`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Events stored in the events stream.
    pub published: u64,
    /// Lines skipped because they were not a JSON event (reported).
    pub skipped: u64,
}

/// Publishes every non-blank line of `input` (NDJSON: one JSON event per
/// line) to `events.<host>`, where `host_of` finds the host of a line or
/// says why the line is not an event (the line is then reported on stderr
/// as `name:LINE: why` and skipped). Events are published in input order and
/// every publish ack is awaited before returning, so the events stream holds
/// them in that order (per host and overall). The streams are created if
/// missing.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), detect_serve::Error> {
/// let input = std::io::Cursor::new("{\"Computer\": \"dc1\"}\n");
/// let stats = detect_serve::publish_events(
///     &detect_serve::Settings::default(),
///     input,
///     "inline",
///     |_line| Ok("dc1".to_string()),
/// )
/// .await?;
/// assert_eq!(stats.published, 1);
/// # Ok(()) }
/// ```
pub async fn publish_events(
    settings: &Settings,
    mut input: impl BufRead,
    name: &str,
    mut host_of: impl FnMut(&[u8]) -> Result<String, String>,
) -> Result<PublishStats, Error> {
    let url = &settings.url;
    let client = async_nats::connect(url)
        .await
        .map_err(|e| Error::context(format!("connecting to {url}"), e))?;
    let js = jetstream::new(client.clone());
    ensure_streams(&js, settings).await?;
    let mut stats = PublishStats::default();
    let mut in_flight: VecDeque<(u64, String, PublishAckFuture)> = VecDeque::new();
    let mut line = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::context(format!("{name}: reading after line {line_no}"), e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let host = match host_of(text) {
            Ok(host) => host,
            Err(why) => {
                stats.skipped += 1;
                eprintln!("detect serve publish: {name}:{line_no}: {why}; line skipped");
                continue;
            }
        };
        let subject = event_subject(&host);
        let ack = js
            .publish(subject.clone(), bytes::Bytes::copy_from_slice(text))
            .await
            .map_err(|e| Error::context(format!("{name}:{line_no}: publishing to {subject}"), e))?;
        in_flight.push_back((line_no, subject, ack));
        if in_flight.len() >= IN_FLIGHT
            && let Some(oldest) = in_flight.pop_front()
        {
            confirm(oldest, name).await?;
            stats.published += 1;
        }
    }
    while let Some(oldest) = in_flight.pop_front() {
        confirm(oldest, name).await?;
        stats.published += 1;
    }
    client
        .flush()
        .await
        .map_err(|e| Error::context(format!("{url}: flushing"), e))?;
    Ok(stats)
}

/// Waits for one publish ack; a missing stream gets a hint.
async fn confirm(
    (line_no, subject, ack): (u64, String, PublishAckFuture),
    name: &str,
) -> Result<(), Error> {
    ack.await.map(|_| ()).map_err(|e| {
        let hint = if e.to_string().contains("no responders") {
            " (no stream stored it: is nats-server running with detect serve's partition \
             mapping? see `detect serve server-config`)"
        } else {
            ""
        };
        Error::context(
            format!("{name}:{line_no}: storing the event sent to {subject}"),
            format!("{e}{hint}"),
        )
    })
}
