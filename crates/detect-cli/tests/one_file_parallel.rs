//! One EVTX file scanned by several threads (`-j N` with fewer files than
//! threads): the same output, the same problem reports and the same
//! sequence completions, in the same order, as with one thread.

use std::path::Path;
use std::process::{Command, Output};

use detect_test_support::{shared_data, shared_evtx_files};

const BIN: &str = env!("CARGO_BIN_EXE_detect");
const HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// One EVTX file holding every whole chunk of every shared EVTX file,
/// `copies` times, under the first file's header.
fn big_evtx(copies: usize) -> Vec<u8> {
    let files = shared_evtx_files();
    let mut out = Vec::new();
    for _ in 0..copies {
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            if out.is_empty() {
                out.extend_from_slice(&bytes[..HEADER]);
            }
            for chunk in bytes[HEADER..].chunks_exact(CHUNK) {
                out.extend_from_slice(chunk);
            }
        }
    }
    out
}

fn scan(path: &Path, threads: &str) -> Output {
    let args = ["scan", "-f", "jsonl", "-j", threads];
    Command::new(BIN)
        .args(args)
        .arg(path)
        .output()
        .expect("the detect binary runs")
}

/// Stdout, and stderr without the summary's timing.
fn result(o: &Output) -> (String, Vec<String>) {
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    let lines = err
        .lines()
        .map(|l| match l.find(" in ") {
            Some(at) if l.starts_with("detect: scanned ") => {
                let rest = &l[at..];
                let from = rest.find(" from ").unwrap_or(0);
                format!("{}{}", &l[..at], &rest[from..])
            }
            _ => l.to_string(),
        })
        .collect();
    (String::from_utf8(o.stdout.clone()).unwrap(), lines)
}

fn same_with_threads(bytes: &[u8], tag: &str) -> usize {
    let path =
        std::env::temp_dir().join(format!("detect-parallel-{tag}-{}.evtx", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let one = result(&scan(&path, "1"));
    for threads in ["2", "3"] {
        let many = result(&scan(&path, threads));
        assert_eq!(many.1, one.1, "-j {threads}: stderr");
        assert!(many.0 == one.0, "-j {threads}: stdout differs");
    }
    std::fs::remove_file(&path).unwrap();
    one.0.lines().count()
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn big_file_scans_the_same_on_one_or_several_threads() {
    let bytes = big_evtx(2);
    let matches = same_with_threads(&bytes, "big");
    assert!(matches > 0);

    // Damaged chunks and records are reported in the same order too.
    let mut damaged = bytes.clone();
    for (k, chunk) in damaged[HEADER..].chunks_exact_mut(CHUNK).enumerate() {
        match k % 7 {
            0 => chunk[0] ^= 0xff,
            3 => chunk[3000..3256].fill(0xa5),
            _ => {}
        }
    }
    same_with_threads(&damaged, "damaged");
}

#[test]
#[ignore = "needs ../shared (run with --include-ignored)"]
fn a_real_file_scans_the_same_on_two_threads() {
    // Three chunks, the match in the last one.
    let rogue = shared_data("evtx/EVTX-ATTACK-SAMPLES/Execution/rogue_msi_url_1040_1042.evtx");
    let one = result(&scan(&rogue, "1"));
    let two = result(&scan(&rogue, "2"));
    assert_eq!(one, two);
    assert_eq!(one.0.lines().count(), 1, "{}", one.0);
}
