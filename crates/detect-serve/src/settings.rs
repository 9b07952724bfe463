//! What a worker or publisher connects to and how it paces itself.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of a worker (and of the publisher, which reads `url`,
/// `partitions` and the stream settings). [`Settings::default`] gives the
/// values documented on each field.
///
/// ```
/// use std::time::Duration;
/// let s = detect_serve::Settings {
///     url: "nats://127.0.0.1:4333".into(),
///     lease_ttl: Duration::from_secs(3),
///     ..Default::default()
/// };
/// assert!(s.validate().is_ok());
/// assert_eq!(s.partitions, 8);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The NATS server (default `nats://127.0.0.1:4222`).
    pub url: String,
    /// Number of partitions P of the event stream (default 8). It must be
    /// the P of the server's `partition(P, 1)` mapping ([`crate::server_config`]).
    pub partitions: u32,
    /// How long a partition lease (and a worker's presence) lasts without
    /// renewal (default 10 s): the time a dead worker's partitions wait
    /// before another worker takes them. Renewed every third of it.
    pub lease_ttl: Duration,
    /// Time the server waits for the ack of a delivered batch before
    /// delivering it again (default 30 s). Ownership moves through leases,
    /// not through this; it is the backstop if an ack is lost.
    pub ack_wait: Duration,
    /// Events fetched per pull request, and acknowledged together (default 256).
    pub batch: usize,
    /// How long one pull request waits for events (default 1 s); also how
    /// long a worker takes to notice a drain or a lost lease when idle.
    pub fetch_wait: Duration,
    /// How long the detections stream remembers message ids to drop
    /// duplicates (default 10 min). Must exceed the time an event can take
    /// to be redelivered (lease time plus ack wait plus a batch).
    pub duplicate_window: Duration,
    /// How long the events stream keeps events (default 24 h).
    pub events_max_age: Duration,
    /// How long a worker keeps draining on SIGTERM before it gives up on
    /// in-flight batches (default 30 s).
    pub drain_timeout: Duration,
    /// Where the Prometheus text endpoint listens (default
    /// `127.0.0.1:9464`; port 0 picks a free port, printed at start).
    /// `None`: no endpoint.
    pub metrics_addr: Option<SocketAddr>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            url: "nats://127.0.0.1:4222".into(),
            partitions: 8,
            lease_ttl: Duration::from_secs(10),
            ack_wait: Duration::from_secs(30),
            batch: 256,
            fetch_wait: Duration::from_secs(1),
            duplicate_window: Duration::from_secs(600),
            events_max_age: Duration::from_secs(24 * 3600),
            drain_timeout: Duration::from_secs(30),
            metrics_addr: Some(SocketAddr::from(([127, 0, 0, 1], 9464))),
        }
    }
}

impl Settings {
    /// Checks the values against each other; the error says which to change.
    pub fn validate(&self) -> Result<(), crate::Error> {
        let bad = |m: String| Err(crate::Error::new(m));
        if self.partitions == 0 || self.partitions > 1024 {
            return bad(format!(
                "partitions must be 1 to 1024, not {}",
                self.partitions
            ));
        }
        if self.batch == 0 || self.batch > 10_000 {
            return bad(format!("batch must be 1 to 10000, not {}", self.batch));
        }
        if self.lease_ttl < Duration::from_secs(1) {
            return bad("the lease time must be at least 1 s".into());
        }
        if self.fetch_wait >= self.lease_ttl / 3 + self.lease_ttl / 3 {
            return bad(format!(
                "the fetch wait ({:?}) must be shorter than two thirds of the lease time ({:?}), \
                 or a worker could lose a lease while it waits for events",
                self.fetch_wait, self.lease_ttl
            ));
        }
        if self.ack_wait <= self.fetch_wait {
            return bad("the ack wait must be longer than the fetch wait".into());
        }
        if self.duplicate_window < self.lease_ttl + self.ack_wait {
            return bad(format!(
                "the duplicate window ({:?}) must be longer than the lease time plus the ack \
                 wait ({:?}), or a redelivered event could publish a detection twice",
                self.duplicate_window,
                self.lease_ttl + self.ack_wait
            ));
        }
        Ok(())
    }

    /// The lease renewal period: a third of the lease time.
    pub(crate) fn renew_every(&self) -> Duration {
        self.lease_ttl / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(Settings::default().validate(), Ok(()));
        let cases: [(Settings, &str); 5] = [
            (
                Settings {
                    partitions: 0,
                    ..Default::default()
                },
                "partitions",
            ),
            (
                Settings {
                    batch: 0,
                    ..Default::default()
                },
                "batch",
            ),
            (
                Settings {
                    lease_ttl: Duration::from_millis(500),
                    ..Default::default()
                },
                "lease time",
            ),
            (
                Settings {
                    fetch_wait: Duration::from_secs(9),
                    ..Default::default()
                },
                "fetch wait",
            ),
            (
                Settings {
                    duplicate_window: Duration::from_secs(20),
                    ..Default::default()
                },
                "duplicate window",
            ),
        ];
        for (settings, word) in cases {
            let e = settings.validate().unwrap_err().to_string();
            assert!(e.contains(word), "{e}");
        }
    }
}
