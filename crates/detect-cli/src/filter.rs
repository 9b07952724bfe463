//! Which rules and which events are reported: `--rule`, `--exclude-rule`,
//! `--tag`, `--status`, `--id`, `--min-level` (shared by `detect scan` and
//! `detect rules`) and `--from`/`--to` (event time, `detect scan` only).
//!
//! A rule is reported when it passes every option given, and an option
//! given several times passes a rule that matches any of its values:
//! `--tag attack.execution --tag attack.persistence --min-level high` is
//! "high or critical, and tagged with either". `--rule` and `--exclude-rule`
//! take rule names or shell-style globs (`*`, `?`, `[abc]`) over rule names;
//! `--tag` takes tags or globs over tags, compared without regard to case;
//! `--id` takes rule ids (compared without regard to case). A `--rule` or
//! `--id` that selects no rule of the pack is an error (a typo would
//! otherwise silently report nothing).
//!
//! `--from` and `--to` bound the event time, both inclusive: RFC 3339
//! (`2019-03-19T13:05:42Z`, `2019-03-19T15:05:42+02:00`), a date and time
//! without offset (read as UTC), or a date (`--from 2019-03-19` is that day's
//! start, `--to 2019-03-19` its end). Matches whose event has no time that
//! parses are left out when either is given. A completed sequence is judged
//! by its last event's time. The bounds select what is reported: every event
//! is still read and matched (sequences see the events before `--from`).

use detect::RuleInfo;
use detect::ir::{Level, Status};
use glob::{MatchOptions, Pattern};

use crate::cli::FilterArgs;
use crate::pack::Pack;
use crate::scan::RuleFilter;

/// A `--rule`/`--exclude-rule`/`--tag` value: a glob (a plain name is a
/// glob matching itself).
#[derive(Debug, Clone)]
struct Glob {
    text: String,
    pattern: Pattern,
}

impl Glob {
    fn parse(option: &str, text: &str) -> Result<Glob, String> {
        Pattern::new(text)
            .map(|pattern| Glob {
                text: text.to_string(),
                pattern,
            })
            .map_err(|e| format!("{option} {text:?} is not a valid glob: {e}"))
    }

    fn matches(&self, s: &str, case_sensitive: bool) -> bool {
        self.pattern.matches_with(
            s,
            MatchOptions {
                case_sensitive,
                require_literal_separator: false,
                require_literal_leading_dot: false,
            },
        )
    }
}

/// The rule options, parsed.
#[derive(Debug, Clone, Default)]
pub(crate) struct RuleSelection {
    rules: Vec<Glob>,
    exclude: Vec<Glob>,
    tags: Vec<Glob>,
    statuses: Vec<Status>,
    ids: Vec<String>,
    min_level: Option<Level>,
}

impl RuleSelection {
    /// Parses the options of `args`.
    pub(crate) fn new(args: &FilterArgs) -> Result<Self, String> {
        let globs = |option: &str, values: &[String]| -> Result<Vec<Glob>, String> {
            values.iter().map(|v| Glob::parse(option, v)).collect()
        };
        Ok(RuleSelection {
            rules: globs("--rule", &args.rules)?,
            exclude: globs("--exclude-rule", &args.exclude_rules)?,
            tags: globs("--tag", &args.tags)?,
            statuses: args.statuses.iter().map(|s| Status::from(*s)).collect(),
            ids: args.ids.clone(),
            min_level: args.min_level.map(Level::from),
        })
    }

    /// Whether `rule` is reported.
    pub(crate) fn wants(&self, rule: &RuleInfo) -> bool {
        (self.rules.is_empty() || self.rules.iter().any(|g| g.matches(rule.name, true)))
            && !self.exclude.iter().any(|g| g.matches(rule.name, true))
            && (self.tags.is_empty()
                || rule
                    .tags
                    .iter()
                    .any(|t| self.tags.iter().any(|g| g.matches(t, false))))
            && (self.statuses.is_empty() || rule.status.is_some_and(|s| self.statuses.contains(&s)))
            && (self.ids.is_empty()
                || rule
                    .id
                    .is_some_and(|id| self.ids.iter().any(|i| i.eq_ignore_ascii_case(id))))
            && self.min_level.is_none_or(|min| rule.level >= min)
    }

    /// Checks that every `--rule` and `--id` names a rule of `rules`.
    fn check_known(&self, rules: &[&RuleInfo]) -> Result<(), String> {
        for g in &self.rules {
            if !rules.iter().any(|r| g.matches(r.name, true)) {
                return Err(format!(
                    "--rule `{}` matches no rule name; `detect rules` (with the same pack \
                     options) lists the rule names",
                    g.text
                ));
            }
        }
        for id in &self.ids {
            if !rules
                .iter()
                .any(|r| r.id.is_some_and(|i| i.eq_ignore_ascii_case(id)))
            {
                return Err(format!(
                    "--id `{id}` is the id of no rule; `detect rules` (with the same pack \
                     options) lists the rule ids"
                ));
            }
        }
        Ok(())
    }

    /// Which rules and sequence rules of `pack` are reported; an error for a
    /// `--rule` or `--id` that selects nothing.
    pub(crate) fn for_pack(&self, pack: &Pack) -> Result<RuleFilter, String> {
        self.check_known(&pack.all_rules().collect::<Vec<_>>())?;
        Ok(RuleFilter {
            rules: pack.rules().iter().map(|r| self.wants(r)).collect(),
            sequences: pack.sequences().iter().map(|r| self.wants(r)).collect(),
        })
    }
}

/// The event-time bounds of `--from`/`--to`, in ms since the epoch, inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeRange {
    /// Earliest time reported.
    pub(crate) from: Option<i64>,
    /// Latest time reported.
    pub(crate) to: Option<i64>,
}

impl TimeRange {
    /// The range of `--from`/`--to` as given; an error when it is empty.
    pub(crate) fn new(from: Option<i64>, to: Option<i64>) -> Result<Self, String> {
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err("--from is later than --to: no event can be reported".to_string());
        }
        Ok(TimeRange { from, to })
    }

    /// Whether an event at `time` (`None`: no time) is reported.
    pub(crate) fn contains(&self, time: Option<i64>) -> bool {
        if self.from.is_none() && self.to.is_none() {
            return true;
        }
        time.is_some_and(|t| self.from.is_none_or(|f| t >= f) && self.to.is_none_or(|to| t <= to))
    }
}

const DAY_MS: i64 = 86_400_000;

/// Parses a `--from` value (a date is the start of that day, UTC).
pub(crate) fn parse_from(text: &str) -> Result<i64, String> {
    parse_bound(text, false)
}

/// Parses a `--to` value (a date is the end of that day, UTC).
pub(crate) fn parse_to(text: &str) -> Result<i64, String> {
    parse_bound(text, true)
}

fn parse_bound(text: &str, end_of_day: bool) -> Result<i64, String> {
    let t = text.trim();
    let is_date = t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-';
    let ms = detect::__internals::matcher::epoch_millis(t).filter(|_| {
        // Numbers are event times only: bounds are dates or times.
        !t.bytes().all(|b| b.is_ascii_digit())
    });
    match (ms, is_date) {
        (Some(ms), true) if end_of_day => Ok(ms + DAY_MS - 1),
        (Some(ms), _) => Ok(ms),
        (None, _) => Err(format!(
            "{text:?} is not a time: give an RFC 3339 time (2019-03-19T13:05:42Z), a date and \
             time read as UTC (2019-03-19 13:05:42) or a date (2019-03-19)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{MinLevel, StatusArg};
    use crate::record::event_time_ms as event_ms;
    use detect_rules::Builtin;

    fn names(args: FilterArgs) -> Vec<&'static str> {
        let sel = RuleSelection::new(&args).unwrap();
        let f = sel.for_pack(&Pack::Builtin).unwrap();
        Builtin::RULES
            .iter()
            .zip(&f.rules)
            .chain(Builtin::SEQUENCES.iter().zip(&f.sequences))
            .filter(|(_, on)| **on)
            .map(|(r, _)| r.name)
            .collect()
    }

    fn error(args: FilterArgs) -> String {
        match RuleSelection::new(&args).and_then(|s| s.for_pack(&Pack::Builtin)) {
            Ok(f) => panic!("expected an error, got {f:?}"),
            Err(e) => e,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const ALL: [&str; 4] = [
        "msi_install_from_web",
        "msiexec_web_install",
        "msiexec_http_connection",
        "msiexec_remote_file_execution",
    ];

    #[test]
    fn no_option_reports_everything() {
        assert_eq!(names(FilterArgs::default()), ALL);
    }

    #[test]
    fn rule_names_and_globs() {
        let only = |v: &[&str]| {
            names(FilterArgs {
                rules: strings(v),
                ..FilterArgs::default()
            })
        };
        assert_eq!(only(&["msiexec_web_install"]), ["msiexec_web_install"]);
        assert_eq!(
            only(&["msiexec_*"]),
            [
                "msiexec_web_install",
                "msiexec_http_connection",
                "msiexec_remote_file_execution"
            ]
        );
        assert_eq!(
            only(&["msi_*", "*_http_*"]),
            ["msi_install_from_web", "msiexec_http_connection"]
        );
        assert_eq!(only(&["msi?xec_web_install"]), ["msiexec_web_install"]);
        // Names are case-sensitive, as `detect rules` lists them.
        let e = error(FilterArgs {
            rules: strings(&["MSIEXEC_*"]),
            ..FilterArgs::default()
        });
        assert!(e.contains("--rule `MSIEXEC_*` matches no rule"), "{e}");
        let e = error(FilterArgs {
            rules: strings(&["[oops"]),
            ..FilterArgs::default()
        });
        assert!(e.contains("not a valid glob"), "{e}");
    }

    #[test]
    fn exclusions() {
        let got = names(FilterArgs {
            exclude_rules: strings(&["msiexec_*_install", "*sequence*", "msiexec_remote_*"]),
            ..FilterArgs::default()
        });
        assert_eq!(got, ["msi_install_from_web", "msiexec_http_connection"]);
        // An exclusion that matches nothing is not an error.
        assert_eq!(
            names(FilterArgs {
                exclude_rules: strings(&["nothing"]),
                ..FilterArgs::default()
            }),
            ALL
        );
    }

    #[test]
    fn tags_any_of_case_insensitive_with_globs() {
        let tagged = |v: &[&str]| {
            names(FilterArgs {
                tags: strings(v),
                ..FilterArgs::default()
            })
        };
        assert_eq!(tagged(&["ATTACK.T1218.007"]), ["msiexec_http_connection"]);
        assert_eq!(
            tagged(&["attack.t1218*"]),
            ["msi_install_from_web", "msiexec_http_connection"]
        );
        assert_eq!(
            tagged(&["Tactic: Initial Access", "detection.threat-hunting"]),
            ["msiexec_http_connection", "msiexec_remote_file_execution"]
        );
        assert!(tagged(&["attack.t9999"]).is_empty());
    }

    #[test]
    fn statuses() {
        let with = |v: &[StatusArg]| {
            names(FilterArgs {
                statuses: v.to_vec(),
                ..FilterArgs::default()
            })
        };
        assert_eq!(with(&[StatusArg::Experimental]), ["msiexec_web_install"]);
        assert_eq!(
            with(&[StatusArg::Test, StatusArg::Experimental]),
            ["msiexec_web_install", "msiexec_http_connection"]
        );
        // Rules without a status are left out when a status is asked for.
        assert!(with(&[StatusArg::Deprecated]).is_empty());
    }

    #[test]
    fn ids() {
        let got = names(FilterArgs {
            ids: strings(&["8E5E38E4-5350-4C0B-895A-E872CE0DD54F"]),
            ..FilterArgs::default()
        });
        assert_eq!(got, ["msiexec_http_connection"]);
        let e = error(FilterArgs {
            ids: strings(&["00000000-0000-0000-0000-000000000000"]),
            ..FilterArgs::default()
        });
        assert!(e.contains("is the id of no rule"), "{e}");
    }

    #[test]
    fn options_combine_with_and() {
        let got = names(FilterArgs {
            rules: strings(&["msi*"]),
            min_level: Some(MinLevel::Medium),
            exclude_rules: strings(&["msi_install_from_web"]),
            ..FilterArgs::default()
        });
        assert_eq!(got, ["msiexec_web_install"]);
    }

    #[test]
    fn time_bounds() {
        let day = parse_from("2019-03-19").unwrap();
        assert_eq!(Some(day), event_ms("2019-03-19T00:00:00Z"));
        let end = parse_to("2019-03-19").unwrap();
        assert_eq!(Some(end), event_ms("2019-03-19T23:59:59.999Z"));
        assert_eq!(
            parse_from("2019-03-19T15:05:42+02:00").unwrap(),
            event_ms("2019-03-19T13:05:42Z").unwrap()
        );
        assert_eq!(
            parse_to("2019-03-19 13:05:42").unwrap(),
            event_ms("2019-03-19T13:05:42Z").unwrap()
        );
        for bad in ["yesterday", "1553000742", "2019-13-01", ""] {
            let e = parse_from(bad).unwrap_err();
            assert!(e.contains("is not a time"), "{bad}: {e}");
        }
        let r = TimeRange::new(Some(day), Some(end)).unwrap();
        assert!(r.contains(Some(day)) && r.contains(Some(end)));
        assert!(!r.contains(Some(day - 1)) && !r.contains(Some(end + 1)));
        assert!(!r.contains(None));
        assert!(TimeRange::default().contains(None));
        let open = TimeRange::new(Some(day), None).unwrap();
        assert!(open.contains(Some(i64::MAX - 1)) && !open.contains(Some(0)));
        assert!(TimeRange::new(Some(end), Some(day)).is_err());
    }
}
