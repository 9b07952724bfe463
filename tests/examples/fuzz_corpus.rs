//! Writes the seed corpora and dictionaries of the fuzz targets (`fuzz/`).
//!
//! ```sh
//! cargo run -p detect-tests --example fuzz_corpus -- fuzz
//! ```
//!
//! writes `fuzz/corpus/<target>/` and `fuzz/dict/<target>.dict` (neither is
//! committed; CI and the campaign regenerate them). Everything comes from
//! the rules' own literals (the built-in pack and the semantics table's rules,
//! through their IR) and from the real data in `../shared/data`: NDJSON events
//! (flat and evtx-nested), Sigma rules, EQL queries and EVTX files. Without
//! `../shared/data` the corpora hold only what the rules give, and the
//! program says so. Output is deterministic: files are named by content hash
//! and sampled at fixed strides.

use std::collections::BTreeSet;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use detect::__internals::compile::lower::lower;
use detect::ir::{Expr, GlobToken, RuleSet, StrKind, Test};
use detect_rules::Builtin;
use detect_tests::semantics_rules::Semantics;

/// Largest NDJSON line, Sigma file or EQL query kept as a seed.
const MAX_TEXT_SEED: usize = 4096;
/// EVTX seeds: the file header and one chunk.
const EVTX_SEED: usize = 4096 + 65536;

fn main() -> Result<(), Box<dyn Error>> {
    let Some(out) = std::env::args().nth(1).map(PathBuf::from) else {
        return Err("usage: fuzz_corpus <fuzz directory>".into());
    };
    let data = detect_test_support::workspace_root().join("../shared/data");
    if !data.exists() {
        eprintln!(
            "fuzz_corpus: {} is absent: seeds come from the rules only",
            data.display()
        );
    }
    let corpus = out.join("corpus");
    let dicts = out.join("dict");
    std::fs::create_dir_all(&dicts)?;

    let sets = [Builtin::ir(), Semantics::ir()];
    let (fields, literals) = vocabulary(&sets);

    // Structured targets: deterministic pseudo-random byte strings of many
    // lengths give the fuzzer distinct starting points.
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for target in ["event_diff", "matchers", "sequence"] {
        let mut seeds = Vec::new();
        for i in 0..48usize {
            let len = 8 + i * 24;
            seeds.push((0..len).map(|_| next(&mut rng) as u8).collect::<Vec<u8>>());
        }
        write_seeds(&corpus.join(target), &seeds)?;
    }

    // NDJSON events: real flat events, evtx-nested regression samples, and
    // lines built from the rules' fields and literals.
    let mut json: Vec<Vec<u8>> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(data.join("events/windows-samples.ndjson")) {
        let lines: Vec<&str> = text.lines().filter(|l| l.len() <= MAX_TEXT_SEED).collect();
        json.extend(
            sample(&lines, 200)
                .into_iter()
                .map(|l| l.as_bytes().to_vec()),
        );
    }
    let mut samples = Vec::new();
    files_with_extension(&data.join("sigma/regression"), "json", &mut samples);
    samples.sort();
    for path in sample(&samples, 60) {
        let text = std::fs::read_to_string(path)?;
        for doc in detect_tests::json_documents(&text)?.into_iter().take(2) {
            if doc.len() <= MAX_TEXT_SEED {
                json.push(doc.into_bytes());
            }
        }
    }
    for (field, lits) in &fields {
        let value = lits.first().cloned().unwrap_or_default();
        json.push(
            format!(
                "{{\"{}\": \"{}\"}}",
                json_escape(field),
                json_escape(&value)
            )
            .into_bytes(),
        );
    }
    write_seeds(&corpus.join("parse_json"), &json)?;

    // Sigma rules: small files of the SigmaHQ corpus.
    let mut rules = Vec::new();
    files_with_extension(&data.join("sigma/rules"), "yml", &mut rules);
    rules.sort();
    let small: Vec<PathBuf> = rules
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() as usize <= MAX_TEXT_SEED))
        .collect();
    let sigma: Vec<Vec<u8>> = sample(&small, 300)
        .into_iter()
        .map(std::fs::read)
        .collect::<Result<_, _>>()?;
    write_seeds(&corpus.join("parse_sigma"), &sigma)?;

    // EQL queries: the endgame suite's and seed 003's.
    let mut eql: Vec<Vec<u8>> = vec![
        b"sequence with maxspan=1m [process where process.name : \"msiexec.exe\"] by process.entity_id [network where true] by process.entity_id".to_vec(),
        b"process where process.args : (\"/V\", \"-v\") and not process.executable : \"?:\\\\Program Files\\\\*.exe\"".to_vec(),
    ];
    if let Ok(text) = std::fs::read_to_string(data.join("eql/test_queries.toml")) {
        let doc: toml::Table = text.parse()?;
        if let Some(toml::Value::Array(queries)) = doc.get("queries") {
            for q in queries {
                if let Some(toml::Value::String(s)) = q.get("query") {
                    eql.push(s.trim().as_bytes().to_vec());
                }
            }
        }
    }
    write_seeds(&corpus.join("parse_eql"), &eql)?;

    // EVTX: the header and first chunk of small real logs.
    let mut logs = Vec::new();
    files_with_extension(&data.join("evtx"), "evtx", &mut logs);
    logs.sort();
    let mut evtx = Vec::new();
    for path in sample(&logs, 24) {
        let mut bytes = std::fs::read(path)?;
        bytes.truncate(EVTX_SEED);
        evtx.push(bytes);
    }
    write_seeds(&corpus.join("parse_evtx"), &evtx)?;

    // Dictionaries.
    let mut common: BTreeSet<String> = BTreeSet::new();
    common.extend(fields.iter().map(|(f, _)| f.clone()));
    common.extend(literals.iter().cloned());
    let json_tokens = [
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "\\\"",
        "\\\\",
        "\\u0000",
        "\\ud83d\\ude00",
        "true",
        "false",
        "null",
        "-0",
        "1e308",
        "#text",
        "#attributes",
        "Event",
        "System",
        "EventData",
        "@timestamp",
        "winlog",
        "ecs",
        "event",
    ];
    write_dict(
        &dicts.join("parse_json.dict"),
        common.iter().map(String::as_str).chain(json_tokens),
    )?;
    let sigma_tokens = [
        "title:",
        "id:",
        "status:",
        "logsource:",
        "product:",
        "category:",
        "service:",
        "detection:",
        "condition:",
        "selection:",
        "filter:",
        "level:",
        "tags:",
        "|contains",
        "|startswith",
        "|endswith",
        "|all",
        "|re",
        "|i",
        "|m",
        "|s",
        "|cidr",
        "|base64",
        "|base64offset",
        "|wide",
        "|utf16le",
        "|utf16be",
        "|utf16",
        "|windash",
        "|exists",
        "|fieldref",
        "|gt",
        "|gte",
        "|lt",
        "|lte",
        "|neq",
        "|cased",
        "|expand",
        "|minute",
        "|hour",
        "|day",
        "|week",
        "|month",
        "|year",
        "1 of ",
        "all of ",
        "them",
        " and ",
        " or ",
        "not ",
        "(",
        ")",
        "- ",
        "---",
        "'",
        "\"",
        "*",
        "?",
        "\\*",
        "null",
        "%",
        "|",
        "correlation:",
        "action: global",
        "timeframe:",
    ];
    write_dict(
        &dicts.join("parse_sigma.dict"),
        fields.iter().map(|(f, _)| f.as_str()).chain(sigma_tokens),
    )?;
    let eql_tokens = [
        "sequence",
        "by",
        "with",
        "maxspan=",
        "until",
        "where",
        "and",
        "or",
        "not",
        "in",
        "in~",
        "like",
        "like~",
        "regex",
        "regex~",
        ":",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "any",
        "process",
        "network",
        "file",
        "true",
        "false",
        "null",
        "|",
        "head",
        "tail",
        "filter",
        "[",
        "]",
        "(",
        ")",
        ",",
        "\"",
        "\"\"\"",
        "?\"",
        "`",
        "startsWith(",
        "endsWith(",
        "stringContains(",
        "wildcard(",
        "length(",
        "substring(",
        "concat(",
        "between(",
        "cidrMatch(",
        "number(",
        "add(",
        "descendant of",
        "child of",
        "event of",
        "1m",
        "30s",
        "2h",
        "*",
        "?",
        "\\\\",
    ];
    write_dict(
        &dicts.join("parse_eql.dict"),
        fields.iter().map(|(f, _)| f.as_str()).chain(eql_tokens),
    )?;
    println!(
        "fuzz_corpus: {} fields, {} literals; seeds: {} json, {} sigma, {} eql, {} evtx -> {}",
        fields.len(),
        literals.len(),
        json.len(),
        sigma.len(),
        eql.len(),
        evtx.len(),
        out.display()
    );
    Ok(())
}

/// Event paths (all layouts) with their literals, and every literal text.
fn vocabulary(sets: &[RuleSet]) -> (Vec<(String, Vec<String>)>, BTreeSet<String>) {
    let mut fields: Vec<(String, Vec<String>)> = Vec::new();
    let mut literals = BTreeSet::new();
    let mut add = |path: &str, lit: Option<String>| {
        let i = match fields.iter().position(|(f, _)| f == path) {
            Some(i) => i,
            None => {
                fields.push((path.to_string(), Vec::new()));
                fields.len() - 1
            }
        };
        if let Some(l) = lit {
            if !fields[i].1.contains(&l) {
                fields[i].1.push(l.clone());
            }
            literals.insert(l);
        }
    };
    fn walk(e: &Expr, add: &mut dyn FnMut(&str, Option<String>)) {
        match e {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| walk(e, add)),
            Expr::Not(e) => walk(e, add),
            Expr::Keyword(p) => add("Data", Some(text_of(&p.kind))),
            Expr::Field(t) => {
                let lit = match &t.test {
                    Test::Str(p) => Some(text_of(&p.kind)),
                    Test::Regex(r) => Some(r.pattern.clone()),
                    Test::Num { value, .. } => Some(match value {
                        detect::ir::Number::Int(i) => i.to_string(),
                        detect::ir::Number::Float(f) => f.to_string(),
                    }),
                    _ => None,
                };
                add(&t.field, lit);
            }
        }
    }
    for set in sets {
        for rule in &set.rules {
            for layout in detect::Layout::ALL {
                if let Ok(e) = lower(rule, layout) {
                    walk(&e, &mut add);
                }
            }
        }
        for seq in &set.sequences {
            for stage in seq.stages.iter().chain(seq.until.as_ref()) {
                walk(&stage.condition, &mut add);
                for k in &stage.keys {
                    add(k, None);
                }
            }
        }
    }
    (fields, literals)
}

/// A literal's text, wildcards written back as `*` and `?`.
fn text_of(kind: &StrKind) -> String {
    match kind {
        StrKind::Exact(s) | StrKind::Prefix(s) | StrKind::Suffix(s) | StrKind::Contains(s) => {
            s.clone()
        }
        StrKind::Glob(toks) => toks
            .iter()
            .map(|t| match t {
                GlobToken::Lit(s) => s.as_str(),
                GlobToken::AnyChar => "?",
                GlobToken::AnyRun => "*",
            })
            .collect(),
    }
}

/// `n` items at a fixed stride (all of them when there are fewer).
fn sample<T: Clone>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    (0..n).map(|i| items[i * items.len() / n].clone()).collect()
}

fn files_with_extension(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            files_with_extension(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn write_seeds(dir: &Path, seeds: &[Vec<u8>]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for s in seeds {
        std::fs::write(dir.join(format!("seed-{:016x}", fnv(s))), s)?;
    }
    Ok(())
}

/// FNV-1a, for stable seed file names.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn json_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// Writes a libFuzzer dictionary: one quoted entry per line, bytes outside
/// printable ASCII (and `"` and `\`) as `\xNN`.
fn write_dict<'a>(path: &Path, entries: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
    let mut seen = BTreeSet::new();
    let mut out = String::new();
    for e in entries {
        if e.is_empty() || e.len() > 64 || !seen.insert(e.to_string()) {
            continue;
        }
        out.push('"');
        for b in e.bytes() {
            if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
                let _ = write!(out, "\\x{b:02X}");
            } else {
                out.push(char::from(b));
            }
        }
        out.push_str("\"\n");
    }
    std::fs::write(path, out)
}
