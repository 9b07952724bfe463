//! Processing pipelines: your own field names and log sources, applied to
//! Sigma rules as they are translated.
//!
//! Sigma rules name fields the way Windows does (`Image`, `CommandLine`) and
//! select events by abstract log sources (`category: process_creation`).
//! detect's built-in tables ([`detect_core::layout`], [`detect_core::compile::logsource`])
//! map those onto Windows event logs in three layouts. When your events use
//! other names, or come from a source detect does not know, a pipeline
//! rewrites the rules first, in the spirit of pySigma's processing pipelines
//! (field name mapping, log source change, added conditions), with a small
//! YAML format of its own:
//!
//! ```yaml
//! name: acme-edr                 # optional; names the pipeline in errors
//! field_mappings:                # rule field -> event field, for every rule
//!   CommandLine: cmdline
//!   Image: process.path
//! logsources:                    # the first entry whose `match` fits a rule applies
//!   - match:                     # every key given must equal the rule's (case-insensitive)
//!       product: windows
//!       category: process_creation
//!     conditions:                # the events of this log source: a Sigma selection
//!       Channel: ACME/Process
//!       EventID: [1, 100]
//!     field_mappings:            # only for rules this entry applies to (win over the above)
//!       ParentImage: parent.path
//!   - match: {category: antivirus}
//!     logsource: {service: windefend}   # or: use a log source detect knows
//! ```
//!
//! * `field_mappings` renames fields in the rule's detection (the fields of
//!   `fieldref` too). A field is renamed once per pipeline: by the matching
//!   log source entry's mapping if it has one, else by the top-level one.
//!   The new name is then placed in the event layout like any rule field
//!   (`cmdline` is `Event.EventData.cmdline` in the evtx layout; a name
//!   starting with `Event.` is a full evtx path).
//!   Correlation rules' `group-by`, alias and value (`field`) names are
//!   renamed by the top-level mapping only (a correlation has no log source
//!   for an entry to match), so that they name what the renamed rules read.
//! * A `logsources` entry applies to the rules whose log source has every
//!   `match` key (`product`, `category`, `service`) with that value; a key
//!   left out matches anything. Its `logsource` replaces the rule's log
//!   source (keys given replace, keys left out are cleared) by one that
//!   [`detect_core::compile::logsource::resolve`] knows: the generated code keeps
//!   routing such rules by its channel and event ID table. Its `conditions`
//!   instead say which events belong to the source, as a Sigma selection map
//!   (the rule's own vocabulary and modifiers: `Channel|startswith: ACME/`);
//!   the rule's `category` and `service` are cleared and the conditions are
//!   ANDed with its condition, so the rule is checked on every event, with
//!   the conditions first. An entry with neither only maps fields.
//! * Several pipelines apply in order, each to what the previous produced.
//!   Log sources are rewritten before the rule's log source is checked, so a
//!   pipeline can give meaning to a category detect does not know.
//!
//! Use them at build time with `sigma_rules!` (`pub ruleset R = "rules",
//! pipeline = "acme.yml";`) or at run time with [`ParseOptions::pipelines`]
//! (`detect scan --sigma DIR --pipeline acme.yml`).
//!
//! ```
//! use detect_sigma::{pipeline::Pipeline, ParseOptions};
//! use detect_core::{interpreter::Interpreter, ir::RuleSet, JsonEvent};
//!
//! let pipeline = Pipeline::parse("acme.yml", r#"
//! field_mappings: {CommandLine: cmdline}
//! logsources:
//!   - match: {category: process_creation}
//!     conditions: {Channel: ACME/Process}
//! "#)?;
//! let rule = r#"
//! title: Msiexec from the web
//! logsource: {product: windows, category: process_creation}
//! detection:
//!   selection: {CommandLine|contains: 'msiexec /i http'}
//!   condition: selection
//! "#;
//! let options = ParseOptions { pipelines: vec![pipeline], ..Default::default() };
//! let rules = detect_sigma::parse_rule_file_with("msi.yml", rule, &options)?;
//! let interpreter = Interpreter::new(&RuleSet { rules, ..Default::default() })?;
//! let acme = JsonEvent::parse_str(r#"{"Channel": "ACME/Process", "cmdline": "msiexec /i http://x/y.msi"}"#)?;
//! assert_eq!(interpreter.matches(&acme), [0]);
//! let sysmon = JsonEvent::parse_str(r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
//!     "CommandLine": "msiexec /i http://x/y.msi"}"#)?;
//! assert!(interpreter.matches(&sysmon).is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use detect_core::ir::{Condition, Detection, Expr, LogSource, Selection};

use crate::yaml::{Kind, Node, parse_documents};
use crate::{ErrorKind, ParseOptions, SigmaError};

/// A processing pipeline read from YAML (see the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pipeline {
    /// The pipeline's `name`, or the file it was read from.
    pub name: String,
    /// Top-level field mappings: rule field to event field.
    pub field_mappings: BTreeMap<String, String>,
    /// Log source entries, in file order (the first that matches applies).
    pub logsources: Vec<LogSourceMapping>,
}

/// One entry of a pipeline's `logsources`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogSourceMapping {
    /// The log source keys a rule must have (lowercase values; `None`: any).
    pub matches: LogSource,
    /// A log source detect knows, replacing the rule's.
    pub logsource: Option<LogSource>,
    /// The events of this source, ANDed with the rule's condition.
    pub conditions: Option<Expr>,
    /// Field mappings for the rules this entry applies to.
    pub field_mappings: BTreeMap<String, String>,
}

const TOP_KEYS: &[&str] = &["name", "field_mappings", "logsources"];
const ENTRY_KEYS: &[&str] = &["match", "logsource", "conditions", "field_mappings"];
const LOGSOURCE_KEYS: &[&str] = &["product", "category", "service"];

impl Pipeline {
    /// Reads a pipeline from its YAML text; `path` names it in errors.
    ///
    /// ```
    /// let err = detect_sigma::pipeline::Pipeline::parse("p.yml", "field_mapings: {}").unwrap_err();
    /// assert_eq!(err.to_string(), "p.yml:1:1: unknown pipeline key `field_mapings`; \
    ///     did you mean `field_mappings`? known keys: name, field_mappings, logsources");
    /// ```
    pub fn parse(path: &str, text: &str) -> Result<Pipeline, SigmaError> {
        let err = |node: Option<&Node>, message: String| SigmaError {
            path: path.to_string(),
            line: node.map(|n| n.line),
            col: node.map(|n| n.col),
            kind: ErrorKind::Invalid,
            message,
        };
        let docs = parse_documents(text).map_err(|e| SigmaError::yaml(path, e))?;
        let docs: Vec<Node> = docs.into_iter().filter(|d| !d.is_null()).collect();
        let [doc] = docs.as_slice() else {
            return Err(err(
                docs.get(1),
                format!(
                    "a pipeline file holds one YAML document, found {}",
                    docs.len()
                ),
            ));
        };
        let Kind::Map(entries) = &doc.kind else {
            return Err(err(
                Some(doc),
                format!(
                    "a pipeline is a mapping (name, field_mappings, logsources), found {}",
                    doc.describe()
                ),
            ));
        };
        check_keys(entries, doc, TOP_KEYS, "pipeline key", &err)?;
        let name = match doc.get("name") {
            None => path.to_string(),
            Some(n) => n
                .as_text()
                .ok_or_else(|| err(Some(n), "`name` must be a string".into()))?,
        };
        let field_mappings = match doc.get("field_mappings") {
            None => BTreeMap::new(),
            Some(n) => mappings(n, &err)?,
        };
        let mut logsources = Vec::new();
        if let Some(list) = doc.get("logsources") {
            let Kind::Seq(items) = &list.kind else {
                return Err(err(
                    Some(list),
                    "`logsources` must be a list of entries (match, logsource or conditions, \
                     field_mappings)"
                        .into(),
                ));
            };
            for item in items {
                logsources.push(entry(path, item, &err)?);
            }
        }
        Ok(Pipeline {
            name,
            field_mappings,
            logsources,
        })
    }

    /// Applies the pipeline to a whole rule: its log source, then its
    /// detection. (The Sigma front end does the same in two steps, checking
    /// the rewritten log source in between.)
    pub fn apply(&self, rule: &mut detect_core::ir::Rule) {
        let entry = self.apply_logsource(&mut rule.logsource);
        self.apply_detection(entry, &mut rule.detection);
    }

    /// `field` renamed by the pipeline's own `field_mappings` (not a log
    /// source entry's: a correlation has no log source of its own). Used
    /// for correlations' `group-by`, alias and value fields, read from the
    /// events of rules whose detections were renamed alike.
    pub(crate) fn map_field(&self, field: &str) -> String {
        self.field_mappings
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_string())
    }

    /// Rewrites `logsource` by the first matching entry; returns its index.
    pub(crate) fn apply_logsource(&self, logsource: &mut LogSource) -> Option<usize> {
        let index = self
            .logsources
            .iter()
            .position(|e| fits(&e.matches, logsource))?;
        let entry = &self.logsources[index];
        if let Some(new) = &entry.logsource {
            logsource.product = new.product.clone();
            logsource.category = new.category.clone();
            logsource.service = new.service.clone();
        } else if entry.conditions.is_some() {
            logsource.category = None;
            logsource.service = None;
        }
        Some(index)
    }

    /// Renames fields of `detection` and adds the conditions of entry `entry`.
    pub(crate) fn apply_detection(&self, entry: Option<usize>, detection: &mut Detection) {
        let entry = entry.and_then(|i| self.logsources.get(i));
        let mut rename = |field: &str| {
            entry
                .and_then(|e| e.field_mappings.get(field))
                .or_else(|| self.field_mappings.get(field))
                .cloned()
                .unwrap_or_else(|| field.to_string())
        };
        for selection in &mut detection.selections {
            selection.expr.map_fields(&mut rename);
        }
        if let Some(conditions) = entry.and_then(|e| e.conditions.as_ref()) {
            let index = detection.selections.len();
            detection.selections.push(Selection {
                // A leading `_` keeps it out of `them`; the name is only shown
                // in debug output.
                name: format!("_pipeline_{index}"),
                expr: conditions.clone(),
            });
            let condition = std::mem::replace(&mut detection.condition, Condition::Selection(0));
            detection.condition = Condition::And(vec![Condition::Selection(index), condition]);
        }
    }
}

/// Whether a rule's log source has every key `pattern` gives.
fn fits(pattern: &LogSource, ls: &LogSource) -> bool {
    let key = |want: &Option<String>, have: &Option<String>| match want {
        None => true,
        Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
    };
    key(&pattern.product, &ls.product)
        && key(&pattern.category, &ls.category)
        && key(&pattern.service, &ls.service)
}

type ErrFn<'a> = dyn Fn(Option<&Node>, String) -> SigmaError + 'a;

fn check_keys(
    entries: &[(String, Node)],
    node: &Node,
    known: &[&str],
    what: &str,
    err: &ErrFn<'_>,
) -> Result<(), SigmaError> {
    for (k, v) in entries {
        if !known.contains(&k.as_str()) {
            let hint = detect_core::compile::sigma::closest(k, known)
                .map(|c| format!("did you mean `{c}`? "))
                .unwrap_or_default();
            // The value's position is the best the tree keeps for a key.
            let at = if v.line == node.line {
                Some(node)
            } else {
                Some(v)
            };
            return Err(err(
                at,
                format!(
                    "unknown {what} `{k}`; {hint}known keys: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn mappings(node: &Node, err: &ErrFn<'_>) -> Result<BTreeMap<String, String>, SigmaError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(err(
            Some(node),
            "`field_mappings` must map rule fields to event fields".into(),
        ));
    };
    let mut out = BTreeMap::new();
    for (from, to) in entries {
        let target = match &to.kind {
            Kind::Seq(_) => {
                return Err(err(
                    Some(to),
                    format!(
                        "`{from}` maps to a list; a field maps to exactly one event field here"
                    ),
                ));
            }
            _ => to.as_text().filter(|t| !t.is_empty()).ok_or_else(|| {
                err(
                    Some(to),
                    format!("`{from}` must map to a field name, found {}", to.describe()),
                )
            })?,
        };
        if from.contains('|') || target.contains('|') {
            return Err(err(
                Some(to),
                format!("`{from}: {target}`: field mappings take field names, without modifiers"),
            ));
        }
        out.insert(from.clone(), target);
    }
    Ok(out)
}

fn logsource(node: &Node, what: &str, err: &ErrFn<'_>) -> Result<LogSource, SigmaError> {
    let Kind::Map(entries) = &node.kind else {
        return Err(err(
            Some(node),
            format!("`{what}` must be a mapping of product, category and service"),
        ));
    };
    check_keys(entries, node, LOGSOURCE_KEYS, &format!("`{what}` key"), err)?;
    let text = |key: &str| -> Result<Option<String>, SigmaError> {
        match node.get(key) {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(n) => n
                .as_text()
                .map(|t| Some(t.to_ascii_lowercase()))
                .ok_or_else(|| err(Some(n), format!("`{what}.{key}` must be a string"))),
        }
    };
    Ok(LogSource {
        product: text("product")?,
        category: text("category")?,
        service: text("service")?,
        definition: None,
    })
}

fn entry(path: &str, item: &Node, err: &ErrFn<'_>) -> Result<LogSourceMapping, SigmaError> {
    let Kind::Map(entries) = &item.kind else {
        return Err(err(
            Some(item),
            "a `logsources` entry is a mapping (match, logsource or conditions, field_mappings)"
                .into(),
        ));
    };
    check_keys(entries, item, ENTRY_KEYS, "`logsources` entry key", err)?;
    let matches = match item.get("match") {
        Some(m) => logsource(m, "match", err)?,
        None => {
            return Err(err(
                Some(item),
                "a `logsources` entry needs `match` (the product, category or service it applies to)"
                    .into(),
            ));
        }
    };
    let new = item
        .get("logsource")
        .map(|n| logsource(n, "logsource", err))
        .transpose()?;
    if let Some(new) = &new
        && let Err(e) =
            detect_core::compile::logsource::resolve(new, detect_core::ir::Vocabulary::Windows)
    {
        return Err(err(item.get("logsource"), format!("`logsource`: {e}")));
    }
    let conditions = match item.get("conditions") {
        None => None,
        Some(c) => {
            if new.is_some() {
                return Err(err(
                    Some(c),
                    "give `logsource` (a log source detect knows) or `conditions` (your own), \
                     not both"
                        .into(),
                ));
            }
            if !matches!(c.kind, Kind::Map(_)) {
                return Err(err(
                    Some(c),
                    "`conditions` is a Sigma selection map (`Channel: ACME/Process`)".into(),
                ));
            }
            Some(crate::rule::selection_for(
                path,
                c,
                &ParseOptions::default(),
            )?)
        }
    };
    let field_mappings = match item.get("field_mappings") {
        None => BTreeMap::new(),
        Some(n) => mappings(n, err)?,
    };
    Ok(LogSourceMapping {
        matches,
        logsource: new,
        conditions,
        field_mappings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect_core::ir::{Case, FieldTest, StrKind, StrPattern, Test};

    fn parse(text: &str) -> Result<Pipeline, String> {
        Pipeline::parse("p.yml", text).map_err(|e| e.to_string())
    }

    #[test]
    fn full_pipeline() {
        let p = parse(
            "name: acme\nfield_mappings: {CommandLine: cmdline}\nlogsources:\n  - match: {Category: x}\n\
             \x20\x20\x20\x20conditions: {Channel: A}\n    field_mappings: {Image: path}\n  - match: {product: Linux}\n\
             \x20\x20\x20\x20logsource: {service: security}\n",
        );
        assert!(p.is_err(), "keys are case-sensitive: {p:?}");
        let p = parse(
            "name: acme\nfield_mappings: {CommandLine: cmdline}\nlogsources:\n  - match: {category: x}\n\
             \x20\x20\x20\x20conditions: {Channel: A}\n    field_mappings: {Image: path}\n  - match: {product: Linux}\n\
             \x20\x20\x20\x20logsource: {service: security}\n",
        )
        .unwrap();
        assert_eq!(p.name, "acme");
        assert_eq!(p.field_mappings["CommandLine"], "cmdline");
        assert_eq!(p.logsources.len(), 2);
        assert_eq!(p.logsources[0].matches.category.as_deref(), Some("x"));
        assert_eq!(
            p.logsources[0].conditions,
            Some(Expr::Field(FieldTest {
                field: "Channel".into(),
                test: Test::Str(StrPattern {
                    kind: StrKind::Exact("A".into()),
                    case: Case::Insensitive
                })
            }))
        );
        assert_eq!(p.logsources[1].matches.product.as_deref(), Some("linux"));
        assert_eq!(
            p.logsources[1]
                .logsource
                .as_ref()
                .unwrap()
                .service
                .as_deref(),
            Some("security")
        );
    }

    #[test]
    fn mistakes_are_clear_errors() {
        for (text, want) in [
            ("[1]", "a pipeline is a mapping"),
            ("a: 1\n---\nb: 2\n", "one YAML document, found 2"),
            (
                "field_mappings: [a]",
                "must map rule fields to event fields",
            ),
            ("field_mappings: {a: [b, c]}", "maps to a list"),
            ("field_mappings: {a|contains: b}", "without modifiers"),
            ("field_mappings: {a: {b: c}}", "must map to a field name"),
            ("logsources: {a: b}", "must be a list of entries"),
            ("logsources: [{conditions: {a: b}}]", "needs `match`"),
            (
                "logsources: [{match: {categry: x}}]",
                "did you mean `category`?",
            ),
            (
                "logsources: [{match: {category: x}, logsource: {category: nope}}]",
                "unknown Windows log source category `nope`",
            ),
            (
                "logsources: [{match: {category: x}, logsource: {service: security}, conditions: {a: b}}]",
                "not both",
            ),
            (
                "logsources: [{match: {category: x}, conditions: [a]}]",
                "is a Sigma selection map",
            ),
            (
                "logsources: [{match: {category: x}, conditions: {a|endwith: b}}]",
                "did you mean `endswith`?",
            ),
            ("name: [a]", "`name` must be a string"),
            ("a: [", "invalid YAML"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.starts_with("p.yml:"), "{e}");
        }
    }

    #[test]
    fn first_matching_entry_applies_and_entry_mappings_win() {
        let p = parse(
            "field_mappings: {A: top, B: top_b}\nlogsources:\n  - match: {product: windows, category: c}\n\
             \x20\x20\x20\x20field_mappings: {A: entry}\n  - match: {category: c}\n    conditions: {X: y}\n",
        )
        .unwrap();
        let mut ls = LogSource {
            product: Some("Windows".into()),
            category: Some("C".into()),
            ..Default::default()
        };
        assert_eq!(p.apply_logsource(&mut ls), Some(0));
        // Entry 0 only maps fields: the log source is kept.
        assert_eq!(ls.category.as_deref(), Some("C"));
        let mut other = LogSource {
            category: Some("c".into()),
            ..Default::default()
        };
        assert_eq!(p.apply_logsource(&mut other), Some(1));
        assert_eq!(other.category, None);
        let mut none = LogSource::default();
        assert_eq!(p.apply_logsource(&mut none), None);

        let field = |name: &str| {
            Expr::Field(FieldTest {
                field: name.into(),
                test: Test::Null,
            })
        };
        let mut det = Detection {
            selections: vec![Selection {
                name: "s".into(),
                expr: Expr::And(vec![field("A"), field("B"), field("C")]),
            }],
            condition: Condition::Selection(0),
        };
        p.apply_detection(Some(0), &mut det);
        assert_eq!(
            det.selections[0].expr,
            Expr::And(vec![field("entry"), field("top_b"), field("C")])
        );
        assert_eq!(det.condition, Condition::Selection(0));
        p.apply_detection(Some(1), &mut det);
        assert_eq!(det.selections.len(), 2);
        assert!(det.selections[1].name.starts_with('_'));
        assert_eq!(
            det.condition,
            Condition::And(vec![Condition::Selection(1), Condition::Selection(0)])
        );
    }
}
