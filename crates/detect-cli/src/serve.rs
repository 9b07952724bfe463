//! `detect serve` (cargo feature `serve`): the rule packs of `detect scan`
//! run as a service on NATS JetStream by [`detect_serve`]; `detect serve
//! publish` sends NDJSON events to it, `detect serve server-config` prints
//! the nats-server configuration it needs.
//!
//! A feature, off by default, because the service brings tokio and the NATS
//! client (a few dozen crates) into the build, which `detect scan` users do
//! not need: `cargo build --release -p detect-cli --features serve`.
//!
//! The rules are chosen and loaded by the same code as `detect scan`
//! ([`crate::pack::load`]: built-in, `--pack sigmahq`, `--sigma DIR`), run
//! with [`Pack::scan`] on each event parsed by [`JsonEvent`] (any of the three
//! layouts), then the built-in sequence rules with one state per partition
//! (the stream sequence as position). Detections are JSON records in the
//! spirit of `detect scan --format jsonl`: `rule`, `id`, `title`, `level`,
//! `subject`, `host`, `seq` (stream sequence of the event), `layout`,
//! `timestamp` and, with `--include-event`, `event`; a completed sequence
//! has `seqs` (its events' stream sequences), `sequence: true` and its last
//! event's `timestamp`, `subject` and `host`.

use std::fs::File;
use std::io::{self, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use detect::{JsonEvent, RuleInfo};
use detect_rules::{Builtin, BuiltinSequences};
use detect_serve::{Detection, Detector, EventMessage, RuleSetHandle, Settings};

use crate::cli::PackArgs;
use crate::fields::ContextFields;
use crate::pack::{self, Pack};
use crate::scan::DEFAULT_SEQUENCE_CAPACITY;

/// Options of `detect serve`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ServeArgs {
    /// Publish events or print the server configuration (without one: run a worker).
    #[command(subcommand)]
    pub(crate) action: Option<ServeAction>,

    #[command(flatten)]
    pub(crate) worker: WorkerArgs,
}

/// `detect serve` subcommands besides running a worker.
#[derive(Debug, Subcommand)]
pub(crate) enum ServeAction {
    /// Publish NDJSON events (files, or `-` for stdin) to `events.<host>`, in order.
    Publish(PublishArgs),
    /// Print a nats-server configuration with JetStream and the partition mapping.
    ServerConfig(ServerConfigArgs),
}

/// The NATS server and the partition count, shared by every serve command.
#[derive(Debug, Args, Clone)]
pub(crate) struct Connection {
    /// The NATS server.
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub(crate) url: String,

    /// Partitions of the event stream: the P of the server's partition mapping.
    #[arg(long, value_name = "P", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) partitions: u32,
}

/// Options of a worker (`detect serve`).
#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    #[command(flatten)]
    pub(crate) connection: Connection,

    #[command(flatten)]
    pub(crate) pack: PackArgs,

    /// How long a partition lease lasts without renewal: how soon the
    /// partitions of a dead worker move to the others (e.g. 10s, 500ms, 1m).
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = parse_duration)]
    pub(crate) lease: Duration,

    /// Time the server waits for a batch's ack before delivering it again.
    #[arg(long, value_name = "TIME", default_value = "30s", value_parser = parse_duration)]
    pub(crate) ack_wait: Duration,

    /// Events fetched, and acknowledged, together.
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub(crate) batch: u32,

    /// How long one pull request waits for events.
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub(crate) fetch_wait: Duration,

    /// How long the detections stream drops repeated message ids.
    #[arg(long, value_name = "TIME", default_value = "10m", value_parser = parse_duration)]
    pub(crate) duplicate_window: Duration,

    /// How long a SIGTERM drain may take before in-flight batches are left
    /// to be redelivered.
    #[arg(long, value_name = "TIME", default_value = "30s", value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,

    /// Where the Prometheus endpoint (GET /metrics) listens; port 0 picks one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub(crate) metrics: SocketAddr,

    /// No Prometheus endpoint.
    #[arg(long, conflicts_with = "metrics")]
    pub(crate) no_metrics: bool,

    /// Add the matching event under `event` in each detection.
    #[arg(long)]
    pub(crate) include_event: bool,

    /// Pending sequences held per sequence rule and partition.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEQUENCE_CAPACITY,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) sequence_capacity: u32,
}

/// Options of `detect serve publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    #[command(flatten)]
    pub(crate) connection: Connection,

    /// NDJSON files of events (any of the three layouts); `-` reads stdin.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
}

/// Options of `detect serve server-config`.
#[derive(Debug, Args)]
pub(crate) struct ServerConfigArgs {
    /// Partitions of the mapping.
    #[arg(long, value_name = "P", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) partitions: u32,

    /// Address the server listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4222")]
    pub(crate) listen: String,

    /// JetStream's store directory.
    #[arg(long, value_name = "DIR", default_value = "/tmp/detect-nats")]
    pub(crate) store_dir: String,
}

/// `10s`, `500ms`, `2m`, `1h`, or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}` (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

/// Runs `detect serve`.
pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let result = match &args.action {
        Some(ServeAction::ServerConfig(a)) => {
            print!(
                "{}",
                detect_serve::server_config(a.partitions, &a.listen, &a.store_dir)
            );
            Ok(())
        }
        Some(ServeAction::Publish(a)) => runtime().and_then(|rt| rt.block_on(publish(a))),
        None => runtime().and_then(|rt| rt.block_on(worker(&args.worker))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detect serve: {e}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Publishes every file of `args`.
async fn publish(args: &PublishArgs) -> Result<(), String> {
    let settings = Settings {
        url: args.connection.url.clone(),
        partitions: args.connection.partitions,
        ..Settings::default()
    };
    let fields = ContextFields::new();
    let mut event = JsonEvent::new();
    let mut host = String::new();
    let mut host_of = |line: &[u8]| {
        event.parse(line).map_err(|e| {
            format!(
                "not a valid JSON object at byte {}: {}",
                e.offset, e.message
            )
        })?;
        fields.computer(&event, &mut host);
        Ok(host.clone())
    };
    let mut total = detect_serve::PublishStats::default();
    for path in &args.files {
        let name = path.display().to_string();
        let stats = if name == "-" {
            detect_serve::publish_events(&settings, io::stdin().lock(), "<stdin>", &mut host_of)
                .await
        } else {
            let file = File::open(path).map_err(|e| format!("{name}: cannot open: {e}"))?;
            detect_serve::publish_events(&settings, BufReader::new(file), &name, &mut host_of).await
        }
        .map_err(|e| e.to_string())?;
        total.published += stats.published;
        total.skipped += stats.skipped;
    }
    eprintln!(
        "detect serve publish: {} events published, {} lines skipped",
        total.published, total.skipped
    );
    Ok(())
}

/// Runs a worker until SIGTERM.
async fn worker(args: &WorkerArgs) -> Result<(), String> {
    let settings = Settings {
        url: args.connection.url.clone(),
        partitions: args.connection.partitions,
        lease_ttl: args.lease,
        ack_wait: args.ack_wait,
        batch: args.batch as usize,
        fetch_wait: args.fetch_wait,
        duplicate_window: args.duplicate_window,
        drain_timeout: args.drain_timeout,
        metrics_addr: (!args.no_metrics).then_some(args.metrics),
        ..Settings::default()
    };
    let options = Options {
        include_event: args.include_event,
        sequence_capacity: args.sequence_capacity as usize,
    };
    let detector = PackDetector::load(&args.pack, options)?;
    let pack_args = args.pack.clone();
    let rules = Arc::new(RuleSetHandle::new(detector));
    let reload = Box::new(move || PackDetector::load(&pack_args, options));
    detect_serve::run_worker(settings, rules, reload)
        .await
        .map_err(|e| e.to_string())
}

/// How detections are written and sequences held.
#[derive(Debug, Clone, Copy)]
struct Options {
    include_event: bool,
    sequence_capacity: usize,
}

/// A rule pack as a [`Detector`].
struct PackDetector {
    pack: Pack,
    fields: ContextFields,
    options: Options,
}

/// What one partition keeps between events.
struct PartitionState {
    /// The current event (its buffers are reused).
    event: JsonEvent,
    /// The built-in sequences' state, created at the partition's first event.
    sequences: Option<BuiltinSequences>,
    /// Reused for the context fields.
    time: String,
    host: String,
}

impl PackDetector {
    /// Loads the pack `args` chooses (the same options as `detect scan`).
    fn load(args: &PackArgs, options: Options) -> Result<Self, String> {
        let (pack, skipped) = pack::load(args).map_err(|e| e.0)?;
        for line in pack::skipped_report(&skipped) {
            eprintln!("detect serve: {line}");
        }
        Ok(PackDetector {
            pack,
            fields: ContextFields::new(),
            options,
        })
    }

    /// The JSON record of a match of `rule` on `state.event`.
    fn record(
        &self,
        state: &mut PartitionState,
        rule: &RuleInfo,
        event: &EventMessage<'_>,
        sequence: Option<&[u64]>,
    ) -> Vec<u8> {
        let has_time = self.fields.time(&state.event, &mut state.time);
        self.fields.computer(&state.event, &mut state.host);
        let mut out = Vec::with_capacity(256);
        let _ = write_record(
            &mut out,
            rule,
            event,
            &state.host,
            has_time.then_some(state.time.as_str()),
            sequence,
            &state.event,
            self.options.include_event,
        );
        out
    }
}

/// Writes one detection record (keys in a fixed order; serde_json escapes).
#[allow(clippy::too_many_arguments)]
fn write_record(
    out: &mut Vec<u8>,
    rule: &RuleInfo,
    message: &EventMessage<'_>,
    host: &str,
    timestamp: Option<&str>,
    sequence: Option<&[u64]>,
    event: &JsonEvent,
    include_event: bool,
) -> io::Result<()> {
    out.write_all(b"{\"rule\":")?;
    serde_json::to_writer(&mut *out, rule.name)?;
    out.write_all(b",\"id\":")?;
    serde_json::to_writer(&mut *out, &rule.id)?;
    out.write_all(b",\"title\":")?;
    serde_json::to_writer(&mut *out, rule.title)?;
    out.write_all(b",\"level\":")?;
    serde_json::to_writer(&mut *out, rule.level.as_str())?;
    out.write_all(b",\"subject\":")?;
    serde_json::to_writer(&mut *out, message.subject)?;
    out.write_all(b",\"host\":")?;
    serde_json::to_writer(&mut *out, host)?;
    if let Some(seqs) = sequence {
        out.write_all(b",\"seqs\":")?;
        serde_json::to_writer(&mut *out, seqs)?;
        out.write_all(b",\"sequence\":true,\"timestamp\":")?;
        serde_json::to_writer(&mut *out, &timestamp)?;
        return out.write_all(b"}");
    }
    write!(out, ",\"seq\":{}", message.stream_sequence)?;
    out.write_all(b",\"layout\":")?;
    serde_json::to_writer(&mut *out, event.detected_layout().as_str())?;
    out.write_all(b",\"timestamp\":")?;
    serde_json::to_writer(&mut *out, &timestamp)?;
    if include_event {
        out.write_all(b",\"event\":")?;
        out.write_all(event.raw().as_bytes())?;
    }
    out.write_all(b"}")
}

impl Detector for PackDetector {
    type State = PartitionState;

    fn new_state(&self) -> PartitionState {
        PartitionState {
            event: JsonEvent::new(),
            sequences: None,
            time: String::new(),
            host: String::new(),
        }
    }

    fn detect(
        &self,
        state: &mut PartitionState,
        message: &EventMessage<'_>,
        out: &mut Vec<Detection>,
    ) -> Result<(), String> {
        state.event.parse(message.payload).map_err(|e| {
            format!(
                "not a valid JSON object at byte {}: {}",
                e.offset, e.message
            )
        })?;
        let mut hits: Vec<&'static RuleInfo> = Vec::new();
        self.pack.scan(&state.event, &mut |rule| hits.push(rule));
        for rule in hits {
            let record = self.record(state, rule, message, None);
            out.push(Detection::new(rule.name, rule.level.as_str(), record));
        }
        if !self.pack.has_sequences() || self.pack.sequences().is_empty() {
            return Ok(());
        }
        let capacity = self.options.sequence_capacity;
        let mut completed: Vec<(&'static RuleInfo, Vec<u64>)> = Vec::new();
        let sequences = state
            .sequences
            .get_or_insert_with(|| Builtin::sequences(capacity));
        sequences.step(&state.event, message.stream_sequence, |rule, positions| {
            completed.push((rule, positions.to_vec()));
        });
        for (rule, positions) in completed {
            let record = self.record(state, rule, message, Some(&positions));
            let mut d = Detection::new(rule.name, rule.level.as_str(), record);
            d.positions = positions;
            out.push(d);
        }
        Ok(())
    }

    fn evicted(&self, state: &PartitionState) -> u64 {
        state.sequences.as_ref().map_or(0, |s| {
            (0..Builtin::SEQUENCES.len())
                .map(|i| s.stats(i).evicted)
                .sum()
        })
    }

    fn describe(&self) -> String {
        let (rules, sequences) = (self.pack.rules().len(), self.pack.sequences().len());
        let name = match &self.pack {
            Pack::Builtin => "built-in pack",
            Pack::Sigma(_) => "Sigma rules compiled at run time",
            #[allow(unreachable_patterns)]
            _ => "compiled pack",
        };
        format!("{name}: {rules} rules, {sequences} sequences")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let table = [
            ("10s", Some(10_000)),
            ("500ms", Some(500)),
            ("2m", Some(120_000)),
            ("1h", Some(3_600_000)),
            ("3", Some(3_000)),
            ("1.5s", Some(1_500)),
            ("x", None),
            ("5d", None),
            ("", None),
        ];
        for (text, ms) in table {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_millis() as u64),
                ms,
                "{text}"
            );
        }
    }

    #[test]
    fn records_of_a_rule_and_a_sequence() {
        let detector = PackDetector {
            pack: Pack::Builtin,
            fields: ContextFields::new(),
            options: Options {
                include_event: true,
                sequence_capacity: 16,
            },
        };
        let mut state = detector.new_state();
        let line = br#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": "ws1", "CommandLine": "cmd /c msiexec /i http://x/y.msi"}"#;
        let message = EventMessage {
            payload: line,
            subject: "events.3.ws1",
            stream_sequence: 7,
        };
        let mut out = Vec::new();
        detector.detect(&mut state, &message, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let record: serde_json::Value = serde_json::from_slice(&out[0].record).unwrap();
        assert_eq!(record["rule"], "msiexec_web_install");
        assert_eq!(record["seq"], 7);
        assert_eq!(record["host"], "ws1");
        assert_eq!(record["subject"], "events.3.ws1");
        assert_eq!(record["layout"], "flat");
        assert_eq!(record["event"]["Computer"], "ws1");
        let err = detector
            .detect(
                &mut state,
                &EventMessage {
                    payload: b"{\"a\":",
                    ..message
                },
                &mut out,
            )
            .unwrap_err();
        assert!(err.starts_with("not a valid JSON object"), "{err}");
    }
}
