//! Counters of a worker and their Prometheus text exposition on a local
//! TCP port.
//!
//! The endpoint is a plain tokio listener that answers `GET /metrics` (and
//! 404 to anything else) and closes the connection: one path, text out, no
//! keep-alive, so an HTTP library would add dependencies for nothing. A
//! request head longer than 8 KiB or slower than 5 s is dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::Error;

/// The counters of one worker process.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// Events taken from the stream and scanned (redeliveries included).
    pub(crate) events: AtomicU64,
    /// Events that were not a JSON event (acknowledged without detections).
    pub(crate) malformed: AtomicU64,
    /// Events delivered more than once: by the server after the ack wait,
    /// or left unacknowledged by a partition's previous owner (counted when
    /// this worker takes the partition over).
    pub(crate) redelivered: AtomicU64,
    /// Detections published and stored.
    pub(crate) published: AtomicU64,
    /// Detections the stream dropped as duplicates (same message id).
    pub(crate) duplicates: AtomicU64,
    /// Pending sequences dropped because a partition's table was full.
    pub(crate) evictions: AtomicU64,
    /// Rule reloads that succeeded, and that failed.
    pub(crate) reloads: AtomicU64,
    pub(crate) reload_failures: AtomicU64,
    /// Partitions claimed, and released or lost, over the run.
    pub(crate) claims: AtomicU64,
    pub(crate) releases: AtomicU64,
    /// Detections stored per rule.
    pub(crate) per_rule: Mutex<BTreeMap<String, u64>>,
    /// Per owned partition: (events not yet delivered, delivered not yet acknowledged).
    pub(crate) lag: Mutex<BTreeMap<u32, (u64, u64)>>,
}

impl Metrics {
    /// Adds `n` stored detections of `rule`.
    pub(crate) fn rule_hit(&self, rule: &str) {
        let mut per_rule = self.per_rule.lock().unwrap_or_else(|p| p.into_inner());
        match per_rule.get_mut(rule) {
            Some(n) => *n += 1,
            None => {
                per_rule.insert(rule.to_string(), 1);
            }
        }
    }

    /// Sets the lag of partition `p`, or forgets it (`None`: not owned any more).
    pub(crate) fn set_lag(&self, p: u32, lag: Option<(u64, u64)>) {
        let mut map = self.lag.lock().unwrap_or_else(|p| p.into_inner());
        match lag {
            Some(v) => {
                map.insert(p, v);
            }
            None => {
                map.remove(&p);
            }
        }
    }

    /// The Prometheus text exposition of every counter.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let counter = |s: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            &mut s,
            "detect_serve_events_total",
            "Events scanned (redeliveries included).",
            &self.events,
        );
        counter(
            &mut s,
            "detect_serve_events_malformed_total",
            "Events that were not a JSON event; acknowledged without detections.",
            &self.malformed,
        );
        counter(
            &mut s,
            "detect_serve_events_redelivered_total",
            "Events delivered again (ack wait expired, or left unacknowledged by a partition's previous owner).",
            &self.redelivered,
        );
        counter(
            &mut s,
            "detect_serve_matches_total",
            "Detections published and stored.",
            &self.published,
        );
        counter(
            &mut s,
            "detect_serve_matches_duplicate_total",
            "Detections dropped by the stream as already stored (same message id).",
            &self.duplicates,
        );
        counter(
            &mut s,
            "detect_serve_sequence_evictions_total",
            "Pending sequences dropped because a partition's table was full.",
            &self.evictions,
        );
        counter(
            &mut s,
            "detect_serve_reloads_total",
            "Rule reloads that succeeded.",
            &self.reloads,
        );
        counter(
            &mut s,
            "detect_serve_reload_failures_total",
            "Rule reloads that failed (the running rules stayed).",
            &self.reload_failures,
        );
        counter(
            &mut s,
            "detect_serve_partition_claims_total",
            "Partitions this worker claimed.",
            &self.claims,
        );
        counter(
            &mut s,
            "detect_serve_partition_releases_total",
            "Partitions this worker released or lost.",
            &self.releases,
        );
        let _ = writeln!(
            s,
            "# HELP detect_serve_rule_matches_total Detections stored per rule.\n\
             # TYPE detect_serve_rule_matches_total counter"
        );
        for (rule, n) in self
            .per_rule
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "detect_serve_rule_matches_total{{rule=\"{}\"}} {n}",
                escape_label(rule)
            );
        }
        let lag = self.lag.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            s,
            "# HELP detect_serve_partitions_owned Partitions this worker consumes now.\n\
             # TYPE detect_serve_partitions_owned gauge\ndetect_serve_partitions_owned {}",
            lag.len()
        );
        let _ = writeln!(
            s,
            "# HELP detect_serve_consumer_pending Events of an owned partition not yet delivered.\n\
             # TYPE detect_serve_consumer_pending gauge"
        );
        for (p, (pending, _)) in lag.iter() {
            let _ = writeln!(
                s,
                "detect_serve_consumer_pending{{partition=\"{p}\"}} {pending}"
            );
        }
        let _ = writeln!(
            s,
            "# HELP detect_serve_consumer_ack_pending Events of an owned partition delivered, not yet acknowledged.\n\
             # TYPE detect_serve_consumer_ack_pending gauge"
        );
        for (p, (_, ack_pending)) in lag.iter() {
            let _ = writeln!(
                s,
                "detect_serve_consumer_ack_pending{{partition=\"{p}\"}} {ack_pending}"
            );
        }
        s
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Binds the metrics endpoint; returns the listener and the address it got.
pub(crate) async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::context(format!("listening for metrics on {addr}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::context("reading the metrics address", e))?;
    Ok((listener, local))
}

/// Answers metrics requests until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let metrics = std::sync::Arc::clone(&metrics);
        tokio::spawn(async move {
            let mut head = Vec::with_capacity(512);
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return false,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                true
            })
            .await;
            if read != Ok(true) {
                return;
            }
            let response = if head.starts_with(b"GET /metrics ")
                || head.starts_with(b"GET /metrics?")
            {
                let body = metrics.render();
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 20\r\nconnection: close\r\n\r\ntry GET /metrics\r\n\r\n".to_string()
            };
            let _ = conn.write_all(response.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lists_counters_rules_and_lag() {
        let m = Metrics::default();
        m.events.fetch_add(3, Ordering::Relaxed);
        m.rule_hit("a\"b");
        m.rule_hit("a\"b");
        m.set_lag(2, Some((5, 1)));
        let text = m.render();
        assert!(text.contains("\ndetect_serve_events_total 3\n"), "{text}");
        assert!(
            text.contains("detect_serve_rule_matches_total{rule=\"a\\\"b\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("detect_serve_consumer_pending{partition=\"2\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("detect_serve_partitions_owned 1\n"), "{text}");
        m.set_lag(2, None);
        assert!(m.render().contains("detect_serve_partitions_owned 0\n"));
    }

    #[tokio::test]
    async fn endpoint_answers_get_metrics_and_404() {
        let m = std::sync::Arc::new(Metrics::default());
        let (listener, addr) = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let server = tokio::spawn(serve(listener, m));
        for (path, status) in [("/metrics", "200 OK"), ("/", "404 Not Found")] {
            let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            conn.read_to_string(&mut out).await.unwrap();
            assert!(out.starts_with(&format!("HTTP/1.1 {status}")), "{out}");
        }
        server.abort();
    }
}
