//! `detect serve` against a real nats-server (started per test on a free
//! loopback port by `detect_serve::testing::NatsServer`, stopped on drop):
//! worker processes of the `detect` binary, events published by `detect
//! serve publish`, detections read back from the detections stream.
//!
//! Every wait is a bounded poll (deadline in `wait_until`).
#![cfg(feature = "serve")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use detect_serve::testing::NatsServer;
use detect_serve::{DETECTIONS_STREAM, RELOAD_SUBJECT};
use detect_test_support::shared_data;
use serde_json::Value;

const DETECT: &str = env!("CARGO_BIN_EXE_detect");
const PARTITIONS: u32 = 4;

/// A worker process, killed on drop if still running.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(server: &NatsServer, extra: &[&str], log: PathBuf) -> Worker {
        let partitions = PARTITIONS.to_string();
        let child = Command::new(DETECT)
            .args(["serve", "--url", server.url(), "--partitions", &partitions])
            .args([
                "--lease",
                "2s",
                "--fetch-wait",
                "200ms",
                "--ack-wait",
                "10s",
            ])
            .args(["--metrics", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start detect serve");
        Worker { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The worker's Prometheus text (GET /metrics on the address it logged).
    fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let log = self.log();
        let addr = log
            .split("metrics on http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("no metrics address in the log:\n{log}"));
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        conn.read_to_string(&mut text).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        text
    }

    /// One unlabelled sample of the worker's metrics.
    fn metric(&self, name: &str) -> u64 {
        let text = self.metrics();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }

    /// [`Self::metric`], or 0 while the worker is not serving metrics yet.
    fn metric_or_zero(&self, name: &str) -> u64 {
        if self.log().contains("metrics on http://") {
            self.metric(name)
        } else {
            0
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit; its status code.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "worker did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("detect-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn publish(server: &NatsServer, file: &Path) -> Output {
    let out = Command::new(DETECT)
        .args(["serve", "publish", "--url", server.url()])
        .arg("--partitions")
        .arg(PARTITIONS.to_string())
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Polls `done` every 100 ms until it holds or `limit` passes (then panics
/// with `what`).
fn wait_until(limit: Duration, what: &dyn Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {}", what());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether every partition has one consumer with nothing pending or unacknowledged.
fn all_acknowledged(server: &NatsServer) -> bool {
    let consumers = server.consumers().unwrap();
    consumers.len() == PARTITIONS as usize
        && consumers
            .iter()
            .all(|c| c.pending == 0 && c.ack_pending == 0)
}

/// The detections stored: (event stream sequences, rule) -> how many times.
fn detections(server: &NatsServer) -> BTreeMap<(Vec<u64>, String), usize> {
    let mut out = BTreeMap::new();
    for (subject, body) in server.messages(DETECTIONS_STREAM).unwrap() {
        let record: Value = serde_json::from_slice(&body).unwrap();
        let rule = record["rule"].as_str().unwrap().to_string();
        assert_eq!(
            subject,
            format!("detections.{}", record["level"].as_str().unwrap())
        );
        let seqs = match record.get("seqs") {
            Some(seqs) => seqs
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_u64().unwrap())
                .collect(),
            None => vec![record["seq"].as_u64().unwrap()],
        };
        *out.entry((seqs, rule)).or_insert(0) += 1;
    }
    out
}

/// `detect scan --format jsonl` on `file` with `pack`, as (stream
/// sequences, rule): the published events are the file's non-blank lines,
/// numbered from 1 in order.
fn scanned(file: &Path, pack: &[&str]) -> Vec<(Vec<u64>, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut seq_of_line = vec![0u64; text.lines().count() + 1];
    let mut seq = 0;
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            seq += 1;
            seq_of_line[i + 1] = seq;
        }
    }
    let out = Command::new(DETECT)
        .args(["scan", "-q", "--format", "jsonl"])
        .args(pack)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut matches = Vec::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let lines: Vec<u64> = match record.get("lines") {
            Some(lines) => lines
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_u64().unwrap())
                .collect(),
            None => vec![record["line"].as_u64().unwrap()],
        };
        let seqs = lines.iter().map(|&l| seq_of_line[l as usize]).collect();
        matches.push((seqs, record["rule"].as_str().unwrap().to_string()));
    }
    matches.sort();
    matches
}

/// Every expected match stored exactly once, nothing else.
fn assert_exactly_once(
    got: &BTreeMap<(Vec<u64>, String), usize>,
    expected: &[(Vec<u64>, String)],
    logs: &dyn Fn() -> String,
) {
    let repeated: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "stored more than once: {repeated:?}");
    let got: Vec<_> = got.keys().cloned().collect();
    if got != expected {
        let missing: Vec<_> = expected
            .iter()
            .filter(|m| !got.contains(m))
            .take(10)
            .collect();
        let extra: Vec<_> = got
            .iter()
            .filter(|m| !expected.contains(m))
            .take(10)
            .collect();
        panic!(
            "{} stored, {} expected; missing {missing:?}; extra {extra:?}\n{}",
            got.len(),
            expected.len(),
            logs()
        );
    }
}

/// The rules of the end-to-end tests: three broad Sigma rules loaded at
/// run time (about 1,700 matches on the sample events, at three levels), so
/// that exactly-once is checked on many detections.
fn broad_rules(dir: &Path) -> Vec<String> {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let rule = |name: &str, id: u32, level: &str, category: &str, selection: &str| {
        let text = format!(
            "title: {name}\nid: 0b9f1c3e-1d7a-4c61-8c0e-5e2a7f3b9d{id:02}\nlevel: {level}\n\
             logsource:\n  product: windows\n  category: {category}\n\
             detection:\n  selection:\n    {selection}\n  condition: selection\n"
        );
        std::fs::write(rules.join(format!("{name}.yml")), text).unwrap();
    };
    rule(
        "exe_image",
        1,
        "low",
        "process_creation",
        "Image|endswith: '.exe'",
    );
    rule(
        "outbound",
        2,
        "informational",
        "network_connection",
        "Initiated: 'true'",
    );
    rule(
        "powershell",
        3,
        "medium",
        "process_creation",
        "CommandLine|contains: 'powershell'",
    );
    vec!["--sigma".into(), rules.display().to_string()]
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn two_workers_store_every_match_of_the_sample_events_exactly_once() {
    let file = shared_data("events/windows-samples.ndjson");
    let dir = temp_dir("e2e");
    let pack = broad_rules(&dir);
    let pack: Vec<&str> = pack.iter().map(String::as_str).collect();
    let expected = scanned(&file, &pack);
    assert!(expected.len() > 1000, "{} matches only", expected.len());

    let server = NatsServer::start(PARTITIONS).unwrap();
    let workers = [
        Worker::start(&server, &pack, dir.join("w1.log")),
        Worker::start(&server, &pack, dir.join("w2.log")),
    ];
    let logs = || {
        workers
            .iter()
            .map(Worker::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    let out = publish(&server, &file);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("14646 events published, 0 lines skipped"),
        "{said}"
    );
    wait_until(Duration::from_secs(90), &logs, || all_acknowledged(&server));
    assert_exactly_once(&detections(&server), &expected, &logs);
    // Both workers took part, and together scanned every event.
    let scanned: Vec<u64> = workers
        .iter()
        .map(|w| w.metric("detect_serve_events_total"))
        .collect();
    assert!(scanned.iter().all(|&n| n > 0), "{scanned:?}\n{}", logs());
    assert!(scanned.iter().sum::<u64>() >= 14646, "{scanned:?}");
    let stored: u64 = workers
        .iter()
        .map(|w| w.metric("detect_serve_matches_total"))
        .sum();
    assert_eq!(stored as usize, expected.len());
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn a_worker_killed_mid_way_loses_no_match_and_repeats_none() {
    let file = shared_data("events/windows-samples.ndjson");
    let dir = temp_dir("kill");
    let pack = broad_rules(&dir);
    let pack: Vec<&str> = pack.iter().map(String::as_str).collect();
    let expected = scanned(&file, &pack);

    let server = NatsServer::start(PARTITIONS).unwrap();
    publish(&server, &file);
    // Small batches, so that the work lasts long enough to be cut.
    let mut args = pack.clone();
    args.extend(["--batch", "4"]);
    let mut victim = Worker::start(&server, &args, dir.join("victim.log"));
    let victim_logs = || victim_log(&dir);
    wait_until(Duration::from_secs(30), &victim_logs, || {
        victim.metric_or_zero("detect_serve_events_total") > 0
    });
    let survivor = Worker::start(&server, &args, dir.join("survivor.log"));
    let logs = || {
        format!(
            "victim:\n{}\n----\nsurvivor:\n{}",
            victim_log(&dir),
            survivor.log()
        )
    };
    // Kill once the partitions are shared (the victim handed some over).
    wait_until(Duration::from_secs(30), &logs, || {
        survivor.metric_or_zero("detect_serve_partitions_owned") > 0
    });
    assert!(!all_acknowledged(&server), "killed too late: all was done");
    victim.signal("KILL");
    assert_eq!(
        victim.wait(Duration::from_secs(10)),
        None,
        "killed by a signal"
    );
    // The survivor takes the victim's partitions over (their leases expire)
    // and acknowledges every event.
    wait_until(Duration::from_secs(90), &logs, || {
        survivor.metric("detect_serve_partitions_owned") == u64::from(PARTITIONS)
            && all_acknowledged(&server)
    });
    assert_exactly_once(&detections(&server), &expected, &logs);
}

fn victim_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("victim.log")).unwrap_or_default()
}

/// The seed sequence (examples/events.ndjson lines 31-33) on six hosts,
/// the hosts' events interleaved, so that the chains run in several
/// partitions at once.
fn sequence_events(hosts: usize) -> (String, usize) {
    let examples = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events.ndjson"),
    )
    .unwrap();
    let chain: Vec<&str> = examples.lines().skip(30).take(3).collect();
    assert!(
        chain[0].contains("msiexec.exe") && chain[0].contains("/V"),
        "{}",
        chain[0]
    );
    let mut out = String::new();
    for step in &chain {
        for h in 0..hosts {
            let line = step
                .replace("wks-07.corp.example", &format!("wks-{h:02}.corp.example"))
                .replace("{c0ffee00-7001-", &format!("{{c0ffee{h:02}-7001-"))
                .replace("{c0ffee00-7002-", &format!("{{c0ffee{h:02}-7002-"));
            out.push_str(&line);
            out.push('\n');
        }
    }
    (out, hosts)
}

#[test]
fn the_seed_sequence_completes_on_every_host_across_partitions() {
    let (events, hosts) = sequence_events(6);
    let dir = temp_dir("sequence");
    let file = dir.join("chains.ndjson");
    std::fs::write(&file, &events).unwrap();
    let expected = scanned(&file, &[]);
    // The scan of the whole file finds one sequence per host.
    let sequences = expected.iter().filter(|(s, _)| s.len() == 3).count();
    assert_eq!(sequences, hosts, "{expected:?}");

    let server = NatsServer::start(PARTITIONS).unwrap();
    let workers = [
        Worker::start(&server, &[], dir.join("w1.log")),
        Worker::start(&server, &[], dir.join("w2.log")),
    ];
    let logs = || {
        workers
            .iter()
            .map(Worker::log)
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    publish(&server, &file);
    wait_until(Duration::from_secs(60), &logs, || all_acknowledged(&server));
    let got = detections(&server);
    assert_exactly_once(&got, &expected, &logs);
    // The chains were spread over more than one partition.
    let subjects: std::collections::BTreeSet<String> = server
        .messages(detect_serve::EVENTS_STREAM)
        .unwrap()
        .into_iter()
        .map(|(subject, _)| subject.split('.').nth(1).unwrap().to_string())
        .collect();
    assert!(subjects.len() > 1, "one partition only: {subjects:?}");
}

#[test]
fn reload_swaps_the_rules_and_sigterm_drains() {
    let dir = temp_dir("reload");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let rule = |needle: &str| {
        format!(
            "title: Needle\nid: 5f0a1c52-9d1e-4a55-9a3e-0d6f3f0b7a11\nlevel: high\n\
             logsource:\n  product: windows\n  category: process_creation\n\
             detection:\n  selection:\n    CommandLine|contains: '{needle}'\n  condition: selection\n"
        )
    };
    std::fs::write(rules.join("needle.yml"), rule("first-needle")).unwrap();
    let event = |cmd: &str| {
        format!(
            "{{\"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"EventID\": 1, \
             \"Computer\": \"ws1\", \"CommandLine\": \"{cmd}\"}}\n"
        )
    };
    let server = NatsServer::start(PARTITIONS).unwrap();
    let rules_arg = rules.display().to_string();
    let mut worker = Worker::start(&server, &["--sigma", &rules_arg], dir.join("w.log"));
    let batch = dir.join("batch.ndjson");
    std::fs::write(
        &batch,
        event("run first-needle") + &event("run second-needle"),
    )
    .unwrap();
    publish(&server, &batch);
    let logs = || worker_log(&dir);
    wait_until(Duration::from_secs(30), &logs, || {
        all_acknowledged(&server) && detections(&server).len() == 1
    });

    std::fs::write(rules.join("needle.yml"), rule("second-needle")).unwrap();
    let answer = server.request(RELOAD_SUBJECT, "").unwrap();
    assert!(
        answer.starts_with("reloaded: Sigma rules compiled at run time: 1 rules"),
        "{answer}"
    );
    publish(&server, &batch);
    wait_until(Duration::from_secs(30), &logs, || {
        detections(&server).len() == 2
    });
    let got: Vec<(Vec<u64>, String)> = detections(&server).into_keys().collect();
    // Events 1-2 with the first rule, events 3-4 with the second.
    assert_eq!(
        got.iter().map(|(s, _)| s[0]).collect::<Vec<_>>(),
        [1, 4],
        "{got:?}"
    );

    // A broken rule file: the running rules stay.
    std::fs::write(rules.join("needle.yml"), "title: [").unwrap();
    worker.signal("HUP");
    wait_until(Duration::from_secs(10), &logs, || {
        logs().contains("reload failed, the running rules stay")
    });

    worker.signal("TERM");
    assert_eq!(worker.wait(Duration::from_secs(20)), Some(0), "{}", logs());
    let log = logs();
    assert!(log.contains("draining"), "{log}");
    assert!(all_acknowledged(&server));
}

fn worker_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("w.log")).unwrap_or_default()
}
