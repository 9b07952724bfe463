//! A worker process: connects, sets up what is missing, then keeps its
//! share of partition leases, runs one task per owned partition, reloads
//! rules on SIGHUP or on the control subject, and drains on SIGTERM/SIGINT.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::detector::{Detector, Reload, RuleSetHandle};
use crate::lease::{Leases, share};
use crate::metrics::{self, Metrics};
use crate::partition::{Partition, Run};
use crate::topology::{RELOAD_SUBJECT, ensure_streams, lease_bucket};
use crate::{Error, Settings};

/// What a partition task returns: its partition and how it ended.
type Ended = (u32, Result<(), Error>);

/// A partition this worker holds.
struct Owned {
    /// Revision of the lease key as last written by this worker.
    revision: u64,
    /// Tells the partition's task what to do.
    run: watch::Sender<Run>,
}

/// Runs a worker until SIGTERM or SIGINT, then drains: stops fetching,
/// finishes the batches in hand (publishes, waits for the publish acks,
/// acknowledges), releases its leases and returns `Ok`. An error is
/// returned only if the worker cannot start (no server, streams cannot be
/// created, metrics port taken, bad settings); failures while running are
/// reported on stderr and the partition concerned is released and claimed
/// again.
///
/// ```no_run
/// # use std::sync::Arc;
/// # use detect_serve::{Detection, Detector, EventMessage, RuleSetHandle, Settings};
/// # struct Nothing;
/// # impl Detector for Nothing {
/// #     type State = ();
/// #     fn new_state(&self) {}
/// #     fn detect(&self, _: &mut (), _: &EventMessage<'_>, _: &mut Vec<Detection>) -> Result<(), String> { Ok(()) }
/// #     fn evicted(&self, _: &()) -> u64 { 0 }
/// #     fn describe(&self) -> String { "no rule".into() }
/// # }
/// # #[tokio::main] async fn main() -> Result<(), detect_serve::Error> {
/// let settings = Settings { url: "nats://127.0.0.1:4222".into(), ..Default::default() };
/// let rules = Arc::new(RuleSetHandle::new(Nothing));
/// detect_serve::run_worker(settings, rules, Box::new(|| Ok(Nothing))).await
/// # }
/// ```
pub async fn run_worker<D: Detector>(
    settings: Settings,
    rules: Arc<RuleSetHandle<D>>,
    reload: Reload<D>,
) -> Result<(), Error> {
    settings.validate()?;
    let url = settings.url.clone();
    let client = async_nats::connect(&url)
        .await
        .map_err(|e| Error::context(format!("connecting to {url}"), e))?;
    let js = jetstream::new(client.clone());
    ensure_streams(&js, &settings).await?;
    let kv = lease_bucket(&js, settings.lease_ttl).await?;
    let worker = worker_id();
    let leases = Leases::new(kv, worker.clone());
    let metrics = Arc::new(Metrics::default());
    let metrics_task = match settings.metrics_addr {
        Some(addr) => {
            let (listener, local) = metrics::bind(addr).await?;
            eprintln!("detect serve: metrics on http://{local}/metrics");
            Some(tokio::spawn(metrics::serve(listener, Arc::clone(&metrics))))
        }
        None => None,
    };
    let signals = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| Error::context(format!("installing the {name} handler"), e))
    };
    let mut sigterm = signals(SignalKind::terminate(), "SIGTERM")?;
    let mut sigint = signals(SignalKind::interrupt(), "SIGINT")?;
    let mut sighup = signals(SignalKind::hangup(), "SIGHUP")?;
    let mut control = client
        .subscribe(RELOAD_SUBJECT)
        .await
        .map_err(|e| Error::context(format!("subscribing to {RELOAD_SUBJECT}"), e))?;
    let reload = Arc::new(reload);
    eprintln!(
        "detect serve: worker {worker} on {url}: {}, {} partitions, lease {:?}",
        rules.current().describe(),
        settings.partitions,
        settings.lease_ttl
    );

    let mut owned: BTreeMap<u32, Owned> = BTreeMap::new();
    let mut tasks: JoinSet<Ended> = JoinSet::new();
    // The partition of each task, for a task that panicked.
    let mut task_partitions: HashMap<tokio::task::Id, u32> = HashMap::new();
    let offset = fnv1a(worker.as_bytes()) % u64::from(settings.partitions);
    let mut tick = tokio::time::interval(settings.renew_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let context = Context { js: &js, settings: &settings, rules: &rules, metrics: &metrics, leases: &leases };
                context.maintain(offset as u32, &mut owned, &mut tasks, &mut task_partitions).await;
            }
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => {
                let _ = reload_rules(&rules, &reload, &metrics).await;
            }
            Some(request) = control.next() => {
                let answer = reload_rules(&rules, &reload, &metrics).await;
                if let Some(reply) = request.reply {
                    let _ = client.publish(reply, answer.into()).await;
                }
            }
            Some(done) = tasks.join_next_with_id() => {
                let (p, result) = outcome(done, &mut task_partitions);
                finished(p, result, &mut owned, &leases, &metrics).await;
            }
        }
    }

    eprintln!(
        "detect serve: draining {} partition(s): finishing the batches in hand",
        owned.len()
    );
    for o in owned.values() {
        o.run.send_replace(Run::Drain);
    }
    let drained = tokio::time::timeout(settings.drain_timeout, async {
        while let Some(done) = tasks.join_next_with_id().await {
            let (p, result) = outcome(done, &mut task_partitions);
            finished(p, result, &mut owned, &leases, &metrics).await;
        }
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "detect serve: drain timed out after {:?}; unacknowledged events will be redelivered \
             to the next owner",
            settings.drain_timeout
        );
        tasks.abort_all();
    }
    leases.leave().await;
    let _ = client.flush().await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    eprintln!(
        "detect serve: worker {worker} stopped after {} events, {} detections",
        metrics.events.load(Ordering::Relaxed),
        metrics.published.load(Ordering::Relaxed)
    );
    Ok(())
}

/// What the lease maintenance needs.
struct Context<'a, D: Detector> {
    js: &'a jetstream::Context,
    settings: &'a Settings,
    rules: &'a Arc<RuleSetHandle<D>>,
    metrics: &'a Arc<Metrics>,
    leases: &'a Leases,
}

impl<D: Detector> Context<'_, D> {
    /// One lease period: presence, renewals, then claims or releases to
    /// reach this worker's share.
    async fn maintain(
        &self,
        offset: u32,
        owned: &mut BTreeMap<u32, Owned>,
        tasks: &mut JoinSet<Ended>,
        task_partitions: &mut HashMap<tokio::task::Id, u32>,
    ) {
        if let Err(e) = self.leases.heartbeat().await {
            eprintln!("detect serve: {e}");
            return;
        }
        for (p, o) in owned.iter_mut() {
            if *o.run.borrow() == Run::Abandon {
                continue;
            }
            match self.leases.renew(*p, o.revision).await {
                Ok(revision) => o.revision = revision,
                Err(e) => {
                    eprintln!("detect serve: {e}; partition {p} abandoned without acknowledging");
                    o.run.send_replace(Run::Abandon);
                }
            }
        }
        let workers = match self.leases.live_workers().await {
            Ok(n) => n,
            Err(e) => {
                eprintln!("detect serve: {e}");
                return;
            }
        };
        let share = share(self.settings.partitions, workers);
        let mut active: Vec<u32> = owned
            .iter()
            .filter(|(_, o)| *o.run.borrow() == Run::Go)
            .map(|(p, _)| *p)
            .collect();
        // Above the share: hand the highest-numbered partitions over.
        while active.len() > share {
            let Some(p) = active.pop() else { break };
            if let Some(o) = owned.get(&p) {
                o.run.send_replace(Run::Drain);
            }
        }
        let mut count = active.len();
        let partitions = self.settings.partitions;
        for i in 0..partitions {
            if count >= share {
                break;
            }
            let p = (offset + i) % partitions;
            if owned.contains_key(&p) {
                continue;
            }
            match self.leases.claim(p).await {
                Ok(Some(revision)) => {
                    let (run, watch) = watch::channel(Run::Go);
                    owned.insert(p, Owned { revision, run });
                    self.metrics.claims.fetch_add(1, Ordering::Relaxed);
                    let task = Partition {
                        js: self.js.clone(),
                        settings: self.settings.clone(),
                        rules: Arc::clone(self.rules),
                        metrics: Arc::clone(self.metrics),
                        p,
                        claim: revision,
                    };
                    let handle = tasks.spawn(async move { (p, task.run(watch).await) });
                    task_partitions.insert(handle.id(), p);
                    count += 1;
                }
                Ok(None) => {}
                Err(e) => eprintln!("detect serve: {e}"),
            }
        }
    }
}

/// The partition and result of a finished task; a panic is an error.
fn outcome(
    done: Result<(tokio::task::Id, Ended), tokio::task::JoinError>,
    task_partitions: &mut HashMap<tokio::task::Id, u32>,
) -> Ended {
    match done {
        Ok((id, done)) => {
            task_partitions.remove(&id);
            done
        }
        Err(e) => {
            let p = task_partitions.remove(&e.id()).unwrap_or(u32::MAX);
            (
                p,
                Err(Error::context(format!("partition {p}: the task failed"), e)),
            )
        }
    }
}

/// A partition task has returned: its lease is given back unless it was lost.
async fn finished(
    p: u32,
    result: Result<(), Error>,
    owned: &mut BTreeMap<u32, Owned>,
    leases: &Leases,
    metrics: &Metrics,
) {
    if let Err(e) = &result {
        eprintln!("detect serve: {e}; partition {p} released, to be claimed again");
    }
    metrics.set_lag(p, None);
    metrics.releases.fetch_add(1, Ordering::Relaxed);
    if let Some(o) = owned.remove(&p)
        && *o.run.borrow() != Run::Abandon
    {
        leases.release(p, o.revision).await;
    }
}

/// Re-reads the rules and swaps them in; the answer for the control subject.
async fn reload_rules<D: Detector>(
    rules: &RuleSetHandle<D>,
    reload: &Arc<Reload<D>>,
    metrics: &Metrics,
) -> String {
    let reload = Arc::clone(reload);
    let loaded = tokio::task::spawn_blocking(move || reload())
        .await
        .unwrap_or_else(|e| Err(format!("the reload panicked: {e}")));
    let answer = match loaded {
        Ok(new) => {
            let described = new.describe();
            rules.swap(new);
            metrics.reloads.fetch_add(1, Ordering::Relaxed);
            format!("reloaded: {described}")
        }
        Err(why) => {
            metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
            format!("reload failed, the running rules stay: {why}")
        }
    };
    eprintln!("detect serve: {answer}");
    answer
}

/// A worker id unique on the server: process id and start time.
fn worker_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

/// FNV-1a of `bytes` (spreads the workers' first claims over the partitions).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
