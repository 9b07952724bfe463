//! The table for people: one line per match, fitted to the terminal.
//!
//! Rows are formatted on worker threads while the scan runs, so the column
//! widths are fixed before the first row, from what is known up front: the
//! output width ([`output_width`]), the titles of the rules that can be
//! reported and the names of the inputs. Every cell is cut with `…` to its
//! column, so no value (a long title, a sequence's several locations, a
//! command line) can push the columns out of line.
//!
//! Columns: TIME (UTC, to the second), COMPUTER, CHANNEL (without the
//! `Microsoft-Windows-` prefix and `/Operational` suffix), EID, RECORD (the
//! event's own record id), LEVEL, RULE (the rule's title), TAGS (ATT&CK
//! technique ids such as `T1218.007` when the rule has some, else its tags),
//! LOCATION (the input relative to the directory it was found in, and the
//! line or EVTX record number; a sequence shows its last event and `+N`) and
//! DETAILS (the rest of the width). When the width cannot hold every column
//! with each a fair share ([`fair_share`]; DETAILS 40 characters), TAGS,
//! then CHANNEL, RECORD, LOCATION, EID and COMPUTER are left out, in that
//! order: CSV and JSON lines always carry them (at 100 columns the table
//! shows TIME, COMPUTER, LEVEL, RULE and DETAILS; at 200 every column).
//!
//! LEVEL and RULE are coloured by level (critical bold red, high red,
//! medium yellow, low green) when [`ColorChoice`] says so.
//!
//! The narrowest table (TIME, LEVEL, RULE, DETAILS at their narrowest) is
//! 66 characters wide; a narrower width gets that.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use detect::RuleInfo;
use detect::ir::Level;

use crate::fields::{push_sanitized, truncate_chars};
use crate::record::Record;

/// Output width when it is neither given by `COLUMNS` nor a terminal's.
pub(crate) const DEFAULT_WIDTH: usize = 200;

/// Width of DETAILS that optional columns give way to.
const COMFORTABLE_DETAILS: usize = 40;

/// `--color`: when the table is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// When writing to a terminal and `NO_COLOR` is not set (to a non-empty value).
    Auto,
    /// Always (even with `NO_COLOR`).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given whether the output is a terminal and the
    /// value of `NO_COLOR`.
    pub(crate) fn enabled(self, terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The width the table fits: `COLUMNS` when set to a positive number, else
/// the terminal's when writing to one, else [`DEFAULT_WIDTH`].
pub(crate) fn output_width(to_stdout: bool) -> usize {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    if to_stdout
        && io::stdout().is_terminal()
        && let Some((_, cols)) = console::Term::stdout().size_checked()
    {
        return usize::from(cols);
    }
    DEFAULT_WIDTH
}

/// The table's columns, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Time,
    Computer,
    Channel,
    EventId,
    Record,
    Level,
    Rule,
    Tags,
    Location,
    Details,
}

impl Column {
    const ALL: [Column; 10] = [
        Column::Time,
        Column::Computer,
        Column::Channel,
        Column::EventId,
        Column::Record,
        Column::Level,
        Column::Rule,
        Column::Tags,
        Column::Location,
        Column::Details,
    ];

    /// Left out first to last when the width is short.
    const DROP_ORDER: [Column; 6] = [
        Column::Tags,
        Column::Channel,
        Column::Record,
        Column::Location,
        Column::EventId,
        Column::Computer,
    ];

    /// Given spare width first to last, up to their natural width.
    const GROW_ORDER: [Column; 6] = [
        Column::Rule,
        Column::Computer,
        Column::Location,
        Column::Channel,
        Column::Tags,
        Column::Record,
    ];

    fn header(self) -> &'static str {
        match self {
            Column::Time => "TIME",
            Column::Computer => "COMPUTER",
            Column::Channel => "CHANNEL",
            Column::EventId => "EID",
            Column::Record => "RECORD",
            Column::Level => "LEVEL",
            Column::Rule => "RULE",
            Column::Tags => "TAGS",
            Column::Location => "LOCATION",
            Column::Details => "DETAILS",
        }
    }

    /// Narrowest width.
    fn min(self) -> usize {
        match self {
            Column::Time => 19,
            Column::Computer => 8,
            Column::Channel => 7,
            Column::EventId => 5,
            Column::Record => 6,
            Column::Level => 4,
            Column::Rule => 16,
            Column::Tags => 9,
            Column::Location => 12,
            Column::Details => 20,
        }
    }
}

/// What the column widths are computed from.
pub(crate) struct TableSpec<'a> {
    /// The width to fit.
    pub(crate) width: usize,
    /// The rules that can be reported.
    pub(crate) rules: &'a [&'static RuleInfo],
    /// The inputs' names as shown in LOCATION.
    pub(crate) shown_names: &'a [String],
    /// Whether to colour levels.
    pub(crate) color: bool,
}

/// Column widths of the table, fixed before the first row.
#[derive(Debug, Clone)]
pub(crate) struct TableLayout {
    /// The shown columns and their widths, in display order (DETAILS last,
    /// its width is the room left).
    columns: Vec<(Column, usize)>,
    color: bool,
}

impl TableLayout {
    /// Widths fitting `spec.width`.
    pub(crate) fn new(spec: &TableSpec<'_>) -> Self {
        let natural = |c: Column| -> usize {
            let widest = match c {
                Column::Computer => 20,
                Column::Channel => 14,
                Column::Record => 8,
                Column::Rule => spec
                    .rules
                    .iter()
                    .map(|r| r.title.chars().count())
                    .max()
                    .unwrap_or(0)
                    .min(70),
                Column::Tags => spec
                    .rules
                    .iter()
                    .map(|r| table_tags(r).chars().count())
                    .max()
                    .unwrap_or(0)
                    .min(30),
                // name, ':' or '#', six digits, a sequence's ` +N`.
                Column::Location => spec
                    .shown_names
                    .iter()
                    .map(|n| n.chars().count() + 10)
                    .max()
                    .unwrap_or(0)
                    .min(50),
                other => other.min(),
            };
            widest.max(c.min()).max(c.header().len())
        };
        let mut shown: Vec<Column> = Column::ALL.to_vec();
        let needed = |cols: &[Column]| -> usize {
            cols.iter()
                .map(|c| c.min().max(c.header().len()))
                .sum::<usize>()
                + 2 * cols.len().saturating_sub(1)
        };
        // Optional columns are left out until every column shown can have
        // its fair share (DETAILS 40 characters), not merely its narrowest.
        let comfortable = |cols: &[Column]| -> usize {
            cols.iter()
                .map(|&c| match c {
                    Column::Details => COMFORTABLE_DETAILS,
                    c if Column::GROW_ORDER.contains(&c) => natural(c).min(fair_share(c)),
                    c => c.min().max(c.header().len()),
                })
                .sum::<usize>()
                + 2 * cols.len().saturating_sub(1)
        };
        for drop in Column::DROP_ORDER {
            if comfortable(&shown) <= spec.width {
                break;
            }
            shown.retain(|c| *c != drop);
        }
        let mut widths: Vec<(Column, usize)> = shown
            .iter()
            .map(|&c| (c, c.min().max(c.header().len())))
            .collect();
        let mut spare = spec.width.saturating_sub(needed(&shown));
        // The columns grow first to their fair share, then take a third of
        // what is left (DETAILS has the rest), so that a long title does not
        // starve LOCATION nor DETAILS.
        for round in 0..2 {
            let mut budget = if round == 0 { spare } else { spare / 3 };
            for grow in Column::GROW_ORDER {
                if let Some((_, w)) = widths.iter_mut().find(|(c, _)| *c == grow) {
                    let target = if round == 0 {
                        natural(grow).min(fair_share(grow))
                    } else {
                        natural(grow)
                    };
                    let add = target.saturating_sub(*w).min(budget);
                    *w += add;
                    budget -= add;
                    spare -= add;
                }
            }
        }
        if let Some((_, w)) = widths.iter_mut().find(|(c, _)| *c == Column::Details) {
            *w += spare;
        }
        TableLayout {
            columns: widths,
            color: spec.color,
        }
    }

    /// The header line, with its newline.
    pub(crate) fn header(&self) -> String {
        let mut line = String::new();
        let last = self.columns.len() - 1;
        for (i, (c, w)) in self.columns.iter().enumerate() {
            if i == last {
                line.push_str(c.header());
            } else {
                let _ = write!(line, "{:<w$}  ", c.header());
            }
        }
        line.push('\n');
        line
    }
}

/// `T1218.007,T1059` from `attack.t1218.007` and `attack.t1059` tags, or
/// the tags as written when the rule names no technique.
fn table_tags(rule: &RuleInfo) -> String {
    let techniques: Vec<String> = rule
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .filter(|t| {
            t.len() > 1
                && t.as_bytes()[0].eq_ignore_ascii_case(&b't')
                && t.as_bytes()[1].is_ascii_digit()
        })
        .map(str::to_uppercase)
        .collect();
    if techniques.is_empty() {
        rule.tags.join(",")
    } else {
        techniques.join(",")
    }
}

/// `Sysmon` for `Microsoft-Windows-Sysmon/Operational`.
fn short_channel(channel: &str) -> &str {
    let c = channel
        .strip_prefix("Microsoft-Windows-")
        .unwrap_or(channel);
    c.strip_suffix("/Operational").unwrap_or(c)
}

/// Cuts `s` to at most `max` characters by its start, which becomes `…`.
fn truncate_start(s: &mut String, max: usize) {
    let n = s.chars().count();
    if n <= max {
        return;
    }
    let keep = max.saturating_sub(1);
    let at = s.char_indices().nth(n - keep).map_or(s.len(), |(i, _)| i);
    s.replace_range(..at, "…");
}

/// The width a column grows to before any column grows further.
fn fair_share(column: Column) -> usize {
    match column {
        Column::Rule => 28,
        Column::Computer => 12,
        Column::Location => 28,
        Column::Channel => 12,
        Column::Tags => 12,
        _ => 8,
    }
}

/// `crit`, `high`, `med`, `low`, `info`.
fn short_level(level: Level) -> &'static str {
    match level {
        Level::Critical => "crit",
        Level::High => "high",
        Level::Medium => "med",
        Level::Low => "low",
        Level::Informational => "info",
    }
}

/// The colour of a level.
pub(crate) fn level_style(level: Level) -> Style {
    match level {
        Level::Critical => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        Level::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Level::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Level::Low => Style::new().fg_color(Some(AnsiColor::Green.into())),
        Level::Informational => Style::new(),
    }
}

/// The time as `YYYY-MM-DD HH:MM:SS` (UTC), or as written if it does not parse.
fn table_time(rec: &Record, out: &mut String) {
    out.clear();
    if let Some(ms) = rec.time_ms
        && let Ok(ts) = jiff::Timestamp::from_millisecond(ms)
    {
        let _ = write!(out, "{}", ts.strftime("%Y-%m-%d %H:%M:%S"));
        return;
    }
    push_sanitized(out, &rec.timestamp);
}

/// Formats records as table rows (without the header).
pub(crate) struct TableRows {
    layout: TableLayout,
    /// Input name as reported, to name as shown in LOCATION.
    shown: HashMap<String, String>,
    cell: String,
    line: String,
}

impl TableRows {
    /// Rows laid out as `layout` says, LOCATION showing `shown[name]` for
    /// the input `name` (the name itself when absent).
    pub(crate) fn new(layout: TableLayout, shown: HashMap<String, String>) -> Self {
        TableRows {
            layout,
            shown,
            cell: String::new(),
            line: String::new(),
        }
    }

    /// Writes the row of `rec`.
    pub(crate) fn write(&mut self, out: &mut dyn Write, rec: &Record) -> io::Result<()> {
        self.line.clear();
        let last = self.layout.columns.len() - 1;
        for (i, &(column, width)) in self.layout.columns.iter().enumerate() {
            self.cell.clear();
            match column {
                Column::Time => table_time(rec, &mut self.cell),
                Column::Computer => push_sanitized(&mut self.cell, &rec.computer),
                Column::Channel => push_sanitized(&mut self.cell, short_channel(&rec.channel)),
                Column::EventId => push_sanitized(&mut self.cell, &rec.event_id),
                Column::Record => {
                    let _ = write!(self.cell, "{}", rec.record_id);
                }
                Column::Level => self.cell.push_str(short_level(rec.rule.level)),
                Column::Rule => push_sanitized(&mut self.cell, rec.rule.title),
                Column::Tags => self.cell.push_str(&table_tags(rec.rule)),
                Column::Location => {
                    let name = self.shown.get(&rec.file).unwrap_or(&rec.file);
                    push_sanitized(&mut self.cell, name);
                    let _ = write!(self.cell, "{}", rec.position);
                    if rec.positions.len() > 1 {
                        let _ = write!(self.cell, " +{}", rec.positions.len() - 1);
                    }
                }
                Column::Details => {
                    let mut joined = String::new();
                    rec.details.joined(&mut joined);
                    push_sanitized(&mut self.cell, &joined);
                }
            }
            if self.cell.is_empty() {
                self.cell.push('-');
            }
            if column == Column::Location {
                // The end (file name, line or record) says the most.
                truncate_start(&mut self.cell, width);
            } else {
                truncate_chars(&mut self.cell, width);
            }
            let styled = self.layout.color && matches!(column, Column::Level | Column::Rule);
            let style = level_style(rec.rule.level);
            if styled {
                let _ = write!(self.line, "{}", style.render());
            }
            self.line.push_str(&self.cell);
            if styled {
                let _ = write!(self.line, "{}", style.render_reset());
            }
            if i != last {
                let pad = width - self.cell.chars().count();
                self.line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        self.line.push('\n');
        out.write_all(self.line.as_bytes())
    }
}

/// How each input is shown in LOCATION: relative to the directory given on
/// the command line that it was found in (prefixed with that directory's
/// name when several directories were given), or as given.
pub(crate) fn shown_names(
    roots: &[std::path::PathBuf],
    inputs: &[crate::inputs::Input],
    names: &[String],
) -> Vec<String> {
    let dirs: Vec<&std::path::PathBuf> = roots.iter().filter(|r| r.is_dir()).collect();
    inputs
        .iter()
        .zip(names)
        .map(|(input, name)| {
            let crate::inputs::Input::File(path) = input else {
                return name.clone();
            };
            for dir in &dirs {
                if let Ok(rel) = path.strip_prefix(dir) {
                    let mut shown = String::new();
                    if dirs.len() > 1
                        && let Some(base) = dir.file_name()
                    {
                        push_sanitized(&mut shown, &base.to_string_lossy());
                        shown.push('/');
                    }
                    push_sanitized(&mut shown, &rel.to_string_lossy());
                    return shown;
                }
            }
            name.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn inputs_are_shown_relative_to_their_directory() {
        use crate::inputs::Input;
        let dir = std::env::temp_dir().join(format!("detect-cli-shown-{}", std::process::id()));
        let (a, b) = (dir.join("case1"), dir.join("case2"));
        std::fs::create_dir_all(a.join("sub")).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let inputs = [
            Input::File(a.join("sub/x.evtx")),
            Input::File(b.join("y.evtx")),
            Input::File(PathBuf::from("loose.ndjson")),
            Input::Stdin,
        ];
        let names: Vec<String> = ["full-a", "full-b", "loose.ndjson", "<stdin>"]
            .map(String::from)
            .to_vec();
        // One directory: relative to it.
        let shown = shown_names(std::slice::from_ref(&a), &inputs[..1], &names[..1]);
        assert_eq!(shown, ["sub/x.evtx"]);
        // Several: prefixed with the directory's name; files as given.
        let shown = shown_names(
            &[a.clone(), b.clone(), PathBuf::from("loose.ndjson")],
            &inputs,
            &names,
        );
        assert_eq!(
            shown,
            [
                "case1/sub/x.evtx",
                "case2/y.evtx",
                "loose.ndjson",
                "<stdin>"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn locations_are_cut_by_their_start() {
        let mut s = "a/b/c/file.evtx#350".to_string();
        truncate_start(&mut s, 12);
        assert_eq!(s, "…le.evtx#350");
        assert_eq!(s.chars().count(), 12);
        let mut s = "é/ü.evtx#1".to_string();
        truncate_start(&mut s, 10);
        assert_eq!(s, "é/ü.evtx#1");
        truncate_start(&mut s, 4);
        assert_eq!(s, "…x#1");
    }
}
