//! Partition leases and worker presence in the lease bucket (see the crate
//! documentation for the protocol).

use async_nats::jetstream::kv::{self, CreateErrorKind};
use futures_util::StreamExt;

use crate::Error;

/// Lease operations of one worker.
pub(crate) struct Leases {
    kv: kv::Store,
    /// This worker's id (the value of the keys it holds).
    worker: String,
}

fn partition_key(p: u32) -> String {
    format!("partition.{p}")
}

fn worker_key(worker: &str) -> String {
    format!("worker.{worker}")
}

/// How many of `partitions` each of `workers` live workers should consume:
/// ceil(P / W), at least 1.
pub(crate) fn share(partitions: u32, workers: usize) -> usize {
    let w = workers.max(1);
    (partitions as usize).div_ceil(w).max(1)
}

impl Leases {
    pub(crate) fn new(kv: kv::Store, worker: String) -> Self {
        Leases { kv, worker }
    }

    /// Says this worker is alive (resets its presence key's age).
    pub(crate) async fn heartbeat(&self) -> Result<(), Error> {
        self.kv
            .put(worker_key(&self.worker), self.worker.clone().into())
            .await
            .map(|_| ())
            .map_err(|e| Error::context("renewing the worker's presence", e))
    }

    /// Number of workers whose presence key is alive.
    pub(crate) async fn live_workers(&self) -> Result<usize, Error> {
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(|e| Error::context("listing live workers", e))?;
        let mut n = 0;
        while let Some(key) = keys.next().await {
            let key = key.map_err(|e| Error::context("listing live workers", e))?;
            if key.starts_with("worker.") {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Claims partition `p`: `Some(revision)` if this worker got it, `None`
    /// if another worker holds it.
    pub(crate) async fn claim(&self, p: u32) -> Result<Option<u64>, Error> {
        match self
            .kv
            .create(partition_key(p), self.worker.clone().into())
            .await
        {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(Error::context(format!("claiming partition {p}"), e)),
        }
    }

    /// Renews the lease of `p` written at `revision`: the new revision, or
    /// the error that means it is no longer ours (expired and taken, or the
    /// server could not confirm).
    pub(crate) async fn renew(&self, p: u32, revision: u64) -> Result<u64, Error> {
        self.kv
            .update(partition_key(p), self.worker.clone().into(), revision)
            .await
            .map_err(|e| Error::context(format!("renewing the lease of partition {p}"), e))
    }

    /// Gives partition `p` up, if the lease is still the one written at `revision`.
    pub(crate) async fn release(&self, p: u32, revision: u64) {
        let _ = self
            .kv
            .delete_expect_revision(partition_key(p), Some(revision))
            .await;
    }

    /// Removes this worker's presence key (on a clean exit).
    pub(crate) async fn leave(&self) {
        let _ = self.kv.delete(worker_key(&self.worker)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn shares_cover_every_partition() {
        let table = [
            (8, 0, 8),
            (8, 1, 8),
            (8, 2, 4),
            (8, 3, 3),
            (8, 16, 1),
            (1, 2, 1),
            (7, 2, 4),
        ];
        for (p, w, expected) in table {
            assert_eq!(share(p, w), expected, "share({p}, {w})");
            assert!(share(p, w) * w.max(1) >= p as usize);
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod server_tests {
    use std::time::Duration;

    use super::Leases;
    use crate::testing::NatsServer;
    use crate::topology::lease_bucket;

    #[tokio::test]
    async fn a_lease_is_exclusive_expires_and_cannot_be_renewed_once_taken() {
        let server = NatsServer::start(2).unwrap();
        let client = async_nats::connect(server.url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let ttl = Duration::from_secs(1);
        let a = Leases::new(lease_bucket(&js, ttl).await.unwrap(), "a".into());
        let b = Leases::new(lease_bucket(&js, ttl).await.unwrap(), "b".into());

        let rev = a.claim(0).await.unwrap().expect("free partition");
        assert_eq!(b.claim(0).await.unwrap(), None, "held by a");
        let rev = a.renew(0, rev).await.unwrap();
        assert!(b.renew(0, rev).await.is_ok(), "renewal is by revision only");
        // a's revision is stale now: it has lost the lease.
        assert!(a.renew(0, rev).await.is_err());

        // Released: free at once.
        let rev = b.claim(1).await.unwrap().unwrap();
        b.release(1, rev).await;
        assert!(a.claim(1).await.unwrap().is_some());

        // Not renewed: free after the lease time (bounded wait).
        a.heartbeat().await.unwrap();
        b.heartbeat().await.unwrap();
        assert_eq!(a.live_workers().await.unwrap(), 2);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if b.claim(1).await.unwrap().is_some() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "lease never expired"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(a.live_workers().await.unwrap(), 0, "presence expired too");

        // Another lease time for the same bucket is refused.
        let e = lease_bucket(&js, Duration::from_secs(5)).await.unwrap_err();
        assert!(e.to_string().contains("same lease time"), "{e}");
    }
}
