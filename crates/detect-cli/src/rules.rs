//! `detect rules`: the rules of a pack as a table, JSON lines or CSV, after
//! the same rule options as `detect scan` (see [`crate::filter`]).
//!
//! The rule metadata is known before any event (`Builtin::RULES`, then the
//! sequence rules of `Builtin::SEQUENCES`; or the chosen pack's), so the
//! table can measure every column before printing; nothing here runs on
//! events. A sequence rule's log source is shown as `ECS sequence`: the
//! built-in sequences read ECS events.
//!
//! JSON lines: one object per rule with `name`, `id`, `title`, `level`,
//! `status`, `logsource`, `sequence`, `tags`, `author`, `description`,
//! `references` and `falsepositives` (null or empty when the rule has none).
//! CSV: the table's columns with a header row, tags separated by `, `.

use std::io::{self, Write};
use std::process::ExitCode;

use detect::RuleInfo;

use crate::cli::{RulesArgs, RulesFormat};
use crate::filter::RuleSelection;
use crate::pack;

/// Column headers, in order.
const HEADERS: [&str; 7] = [
    "NAME",
    "ID",
    "LEVEL",
    "STATUS",
    "LOGSOURCE",
    "TITLE",
    "TAGS",
];

/// Log source column of a sequence rule.
pub(crate) const SEQUENCE_LOGSOURCE: &str = "ECS sequence";

/// The cells of one rule's row (`sequence`: a sequence rule).
fn row(rule: &RuleInfo, sequence: bool) -> [String; 7] {
    [
        rule.name.to_string(),
        rule.id.unwrap_or("-").to_string(),
        rule.level.as_str().to_string(),
        rule.status.map_or("-", |s| s.as_str()).to_string(),
        if sequence {
            SEQUENCE_LOGSOURCE.to_string()
        } else {
            rule.logsource.to_string()
        },
        rule.title.to_string(),
        if rule.tags.is_empty() {
            "-".to_string()
        } else {
            rule.tags.join(",")
        },
    ]
}

/// The table of `rules` then `sequences`: a header line, then one line per rule.
pub(crate) fn table(rules: &[&RuleInfo], sequences: &[&RuleInfo]) -> String {
    let rows: Vec<[String; 7]> = rules
        .iter()
        .map(|r| row(r, false))
        .chain(sequences.iter().map(|r| row(r, true)))
        .collect();
    let mut widths = HEADERS.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push('\n');
    };
    line(&HEADERS);
    for r in &rows {
        line(&r.each_ref().map(String::as_str));
    }
    out
}

/// One JSON object per rule, each on its line.
pub(crate) fn jsonl(rules: &[&RuleInfo], sequences: &[&RuleInfo]) -> String {
    let mut out = String::new();
    let all = rules
        .iter()
        .map(|r| (r, false))
        .chain(sequences.iter().map(|r| (r, true)));
    for (rule, sequence) in all {
        let logsource = if sequence {
            SEQUENCE_LOGSOURCE.to_string()
        } else {
            rule.logsource.to_string()
        };
        let object = serde_json::json!({
            "name": rule.name,
            "id": rule.id,
            "title": rule.title,
            "level": rule.level.as_str(),
            "status": rule.status.map(|s| s.as_str()),
            "logsource": logsource,
            "sequence": sequence,
            "tags": rule.tags,
            "author": rule.author,
            "description": rule.description,
            "references": rule.references,
            "falsepositives": rule.falsepositives,
        });
        out.push_str(&object.to_string());
        out.push('\n');
    }
    out
}

/// The table's columns as CSV (RFC 4180), with a header row.
pub(crate) fn csv(rules: &[&RuleInfo], sequences: &[&RuleInfo]) -> Result<String, String> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let header = [
        "Name",
        "ID",
        "Level",
        "Status",
        "LogSource",
        "Title",
        "Tags",
    ];
    let mut write = |cells: &[&str]| writer.write_record(cells).map_err(|e| e.to_string());
    write(&header)?;
    let all = rules
        .iter()
        .map(|r| row(r, false))
        .chain(sequences.iter().map(|r| row(r, true)));
    for mut cells in all {
        // No placeholders in CSV: an absent value is an empty field; tags
        // are separated by `, ` as in `detect scan --format csv`.
        for cell in &mut cells {
            if cell == "-" {
                cell.clear();
            }
        }
        cells[6] = cells[6].replace(',', ", ");
        write(&cells.each_ref().map(String::as_str))?;
    }
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// Runs `detect rules` for the pack and rules `args` choose.
pub(crate) fn run(args: &RulesArgs) -> ExitCode {
    let pack = match pack::load(&args.pack) {
        Ok((pack, skipped)) => {
            for line in pack::skipped_report(&skipped) {
                eprintln!("detect: {line}");
            }
            pack
        }
        Err(e) => {
            eprintln!("detect: {}", e.0.replace('\n', "\ndetect: "));
            return ExitCode::from(2);
        }
    };
    let selection = match RuleSelection::new(&args.filter).and_then(|s| {
        s.for_pack(&pack)?;
        Ok(s)
    }) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("detect: {message}");
            return ExitCode::from(2);
        }
    };
    let rules: Vec<&RuleInfo> = pack.rules().iter().filter(|r| selection.wants(r)).collect();
    let sequences: Vec<&RuleInfo> = pack
        .sequences()
        .iter()
        .filter(|r| selection.wants(r))
        .collect();
    let text = match args.format {
        RulesFormat::Table => table(&rules, &sequences),
        RulesFormat::Jsonl => jsonl(&rules, &sequences),
        RulesFormat::Csv => match csv(&rules, &sequences) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("detect: cannot format the rules as CSV: {e}");
                return ExitCode::from(2);
            }
        },
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("detect: cannot write the output: {e}; check the disk or the pipe");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect_rules::Builtin;

    fn all() -> (Vec<&'static RuleInfo>, Vec<&'static RuleInfo>) {
        (
            Builtin::RULES.iter().collect(),
            Builtin::SEQUENCES.iter().collect(),
        )
    }

    #[test]
    fn jsonl_and_csv_list_every_rule() {
        let (rules, sequences) = all();
        let text = jsonl(&rules, &sequences);
        let objects: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(objects.len(), rules.len() + sequences.len());
        let http = objects
            .iter()
            .find(|o| o["name"] == "msiexec_http_connection")
            .unwrap();
        assert_eq!(http["id"], "8e5e38e4-5350-4c0b-895a-e872ce0dd54f");
        assert_eq!(
            (http["status"].as_str(), http["level"].as_str()),
            (Some("test"), Some("low"))
        );
        assert_eq!(http["tags"][1], "attack.t1218.007");
        assert_eq!(objects.last().unwrap()["sequence"], true);

        let text = csv(&rules, &sequences).unwrap();
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "Name",
                "ID",
                "Level",
                "Status",
                "LogSource",
                "Title",
                "Tags"
            ]
        );
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), rules.len() + sequences.len());
        let http = rows
            .iter()
            .find(|r| &r[0] == "msiexec_http_connection")
            .unwrap();
        assert_eq!(
            &http[6],
            "attack.stealth, attack.t1218.007, detection.threat-hunting"
        );
        // A title with a comma is quoted and read back whole.
        let seq = rows
            .iter()
            .find(|r| &r[0] == "msiexec_remote_file_execution")
            .unwrap();
        assert_eq!((&seq[1], &seq[4]), ("", SEQUENCE_LOGSOURCE));
        assert!(
            seq[6].contains("Tactic: Initial Access, Tactic: Defense Evasion"),
            "{seq:?}"
        );
    }

    #[test]
    fn lists_every_rule_with_aligned_columns() {
        let (rules, sequences) = all();
        let text = table(&rules, &sequences);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            Builtin::RULES.len() + Builtin::SEQUENCES.len() + 1
        );
        let title_at = lines[0].find("TITLE").unwrap();
        let all = Builtin::RULES.iter().chain(Builtin::SEQUENCES);
        for (rule, line) in all.zip(&lines[1..]) {
            assert!(line.starts_with(rule.name), "{line}");
            assert_eq!(
                line.get(title_at..).map(|t| t.starts_with(rule.title)),
                Some(true),
                "{text}"
            );
        }
        let seq = lines
            .iter()
            .find(|l| l.starts_with("msiexec_remote_file_execution "))
            .unwrap();
        assert!(seq.contains(SEQUENCE_LOGSOURCE), "{text}");
    }
}
