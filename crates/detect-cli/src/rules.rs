//! `detect rules`: the rules of a pack as a table.
//!
//! The rule metadata is known before any event (`Builtin::RULES`, then the
//! sequence rules of `Builtin::SEQUENCES`; or the chosen pack's), so the
//! table can measure every column before printing; nothing here runs on
//! events. A sequence rule's log source is shown as `ECS sequence`: the
//! built-in sequences read ECS events.

use std::io::{self, Write};
use std::process::ExitCode;

use detect::RuleInfo;

use crate::cli::PackArgs;
use crate::pack;

/// Column headers, in order.
const HEADERS: [&str; 6] = ["NAME", "ID", "LEVEL", "LOGSOURCE", "TITLE", "TAGS"];

/// Log source column of a sequence rule.
pub(crate) const SEQUENCE_LOGSOURCE: &str = "ECS sequence";

/// The cells of one rule's row (`sequence`: a sequence rule).
fn row(rule: &RuleInfo, sequence: bool) -> [String; 6] {
    [
        rule.name.to_string(),
        rule.id.unwrap_or("-").to_string(),
        rule.level.as_str().to_string(),
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
pub(crate) fn table(rules: &[RuleInfo], sequences: &[RuleInfo]) -> String {
    let rows: Vec<[String; 6]> = rules
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

/// Runs `detect rules` for the pack `args` chooses.
pub(crate) fn run(args: &PackArgs) -> ExitCode {
    let pack = match pack::load(args) {
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
    let text = table(pack.rules(), pack.sequences());
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

    #[test]
    fn lists_every_rule_with_aligned_columns() {
        let text = table(Builtin::RULES, Builtin::SEQUENCES);
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
