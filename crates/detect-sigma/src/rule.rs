//! Sigma rule documents into IR rules.

use detect_core::compile::logsource;
use detect_core::compile::sigma::{ItemErrorAt, SigmaValue, detection_item};
use detect_core::ir::{
    Detection, Expr, Level, LogSource, Metadata, Rule, Selection, Status, Vocabulary,
};

use crate::condition::parse_condition;
use crate::meta_rules::{PendingCorrelation, PendingFilter, parse_correlation, parse_filter};
use crate::yaml::{Kind, Node, Scalar, parse_documents};
use crate::{ErrorKind, ParseOptions, SigmaError};

/// Error-building context: the file and the options.
struct Ctx<'a> {
    path: &'a str,
    options: &'a ParseOptions,
}

impl Ctx<'_> {
    fn err(&self, node: Option<&Node>, kind: ErrorKind, message: impl Into<String>) -> SigmaError {
        SigmaError {
            path: self.path.to_string(),
            line: node.map(|n| n.line),
            col: node.map(|n| n.col),
            kind,
            message: message.into(),
        }
    }

    fn invalid(&self, node: &Node, message: impl Into<String>) -> SigmaError {
        self.err(Some(node), ErrorKind::Invalid, message)
    }
}

/// A Rust-identifier-safe rule name from a file stem: characters other than
/// ASCII letters, digits and `_` become `_`, and a leading digit gets `r_`.
pub fn rule_name_from_stem(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if name.is_empty() {
        name = "rule".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "r_");
    }
    name
}

/// Everything one file holds: rules, and correlations and filters whose
/// references are resolved once every file is read.
#[derive(Debug, Default)]
pub(crate) struct ParsedFile {
    pub(crate) rules: Vec<Rule>,
    /// The `name` attribute of each rule (what correlations and filters may
    /// refer to besides the `id`).
    pub(crate) sigma_names: Vec<Option<String>>,
    pub(crate) correlations: Vec<PendingCorrelation>,
    pub(crate) filters: Vec<PendingFilter>,
}

/// The rules of a file that holds nothing else.
pub(crate) fn parse_file(
    path: &str,
    text: &str,
    options: &ParseOptions,
) -> Result<Vec<Rule>, SigmaError> {
    let parsed = parse_file_all(path, text, options)?;
    if !parsed.correlations.is_empty() || !parsed.filters.is_empty() {
        return Err(SigmaError {
            path: path.to_string(),
            line: None,
            col: None,
            kind: ErrorKind::Unsupported,
            message: "correlation and filter documents refer to other rules: load them with \
                      their rules (load_path, load_paths or load_dir)"
                .into(),
        });
    }
    Ok(parsed.rules)
}

pub(crate) fn parse_file_all(
    path: &str,
    text: &str,
    options: &ParseOptions,
) -> Result<ParsedFile, SigmaError> {
    let cx = Ctx { path, options };
    let mut parsed = ParsedFile::default();
    let mut correlation_docs: Vec<Node> = Vec::new();
    let docs = parse_documents(text).map_err(|e| SigmaError::yaml(path, e))?;
    let stem = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base_name = rule_name_from_stem(&stem);

    // Rule collections (Sigma 1 "action" documents): `global` merges into every
    // following document, `reset` forgets it, `repeat` reuses the previous
    // document with changes.
    let mut global: Option<Node> = None;
    let mut previous: Option<Node> = None;
    let mut rule_docs: Vec<Node> = Vec::new();
    for doc in docs {
        if doc.is_null() {
            continue;
        }
        let Kind::Map(entries) = &doc.kind else {
            return Err(cx.invalid(
                &doc,
                format!(
                    "a Sigma document must be a mapping (title, logsource, detection...), found {}",
                    doc.describe()
                ),
            ));
        };
        if doc.get("correlation").is_some() {
            correlation_docs.push(doc.clone());
            continue;
        }
        if doc.get("filter").is_some() && doc.get("detection").is_none() {
            parsed.filters.push(parse_filter(path, &doc, options)?);
            continue;
        }
        let action = match doc.get("action") {
            None => None,
            Some(a) => match a.as_text() {
                Some(t) => Some((t, a)),
                None => return Err(cx.invalid(a, "`action` must be global, reset or repeat")),
            },
        };
        let body = Node {
            line: doc.line,
            col: doc.col,
            kind: Kind::Map(
                entries
                    .iter()
                    .filter(|(k, _)| k != "action")
                    .cloned()
                    .collect(),
            ),
        };
        match action.as_ref().map(|(t, n)| (t.as_str(), *n)) {
            Some(("global", _)) => {
                global = Some(match global {
                    Some(g) => merge(&g, &body),
                    None => body,
                });
            }
            Some(("reset", _)) => global = None,
            Some(("repeat", n)) => {
                let Some(prev) = &previous else {
                    return Err(cx.invalid(n, "`action: repeat` needs a previous rule document"));
                };
                let doc = merge(prev, &body);
                previous = Some(doc.clone());
                rule_docs.push(with_global(&global, doc));
            }
            Some((other, n)) => {
                return Err(cx.invalid(
                    n,
                    format!("unknown `action: {other}`; use global, reset or repeat"),
                ));
            }
            None => {
                previous = Some(body.clone());
                rule_docs.push(with_global(&global, body));
            }
        }
    }
    if rule_docs.is_empty() && correlation_docs.is_empty() && parsed.filters.is_empty() {
        return Err(cx.err(
            None,
            ErrorKind::Invalid,
            "no rule in this file (only empty or `action: global` documents)",
        ));
    }
    let many = rule_docs.len() > 1;
    for (i, doc) in rule_docs.iter().enumerate() {
        let name = if many {
            format!("{base_name}_{}", i + 1)
        } else {
            base_name.clone()
        };
        parsed.rules.push(rule_from_doc(&cx, name, doc)?);
        parsed.sigma_names.push(text_field(&cx, doc, "name")?);
    }
    // A correlation is called by its `name`, else after the file (numbered
    // when several in the file have no name).
    let unnamed = correlation_docs
        .iter()
        .filter(|d| d.get("name").is_none())
        .count();
    let mut k = 0;
    for doc in &correlation_docs {
        let name = match text_field(&cx, doc, "name")? {
            Some(n) => rule_name_from_stem(&n),
            None if unnamed > 1 => {
                k += 1;
                format!("{base_name}_{k}")
            }
            None => base_name.clone(),
        };
        let meta = metadata(&cx, doc)?;
        parsed
            .correlations
            .push(parse_correlation(path, doc, name, meta)?);
    }
    Ok(parsed)
}

fn with_global(global: &Option<Node>, doc: Node) -> Node {
    match global {
        Some(g) => merge(g, &doc),
        None => doc,
    }
}

/// Recursive merge of mappings (keys of `over` win, new keys are appended);
/// anything else in `over` replaces `base`.
fn merge(base: &Node, over: &Node) -> Node {
    match (&base.kind, &over.kind) {
        (Kind::Map(b), Kind::Map(o)) => {
            let mut out = b.clone();
            for (k, v) in o {
                match out.iter_mut().find(|(bk, _)| bk == k) {
                    Some(slot) => slot.1 = merge(&slot.1, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Node {
                line: over.line,
                col: over.col,
                kind: Kind::Map(out),
            }
        }
        _ => over.clone(),
    }
}

fn text_field(cx: &Ctx<'_>, doc: &Node, key: &str) -> Result<Option<String>, SigmaError> {
    match doc.get(key) {
        None => Ok(None),
        Some(n) if n.is_null() => Ok(None),
        Some(n) => n.as_text().map(Some).ok_or_else(|| {
            cx.invalid(
                n,
                format!("`{key}` must be a string, found {}", n.describe()),
            )
        }),
    }
}

fn list_field(cx: &Ctx<'_>, doc: &Node, key: &str) -> Result<Vec<String>, SigmaError> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(n) if n.is_null() => Ok(Vec::new()),
        Some(n) => match &n.kind {
            Kind::Seq(items) => items
                .iter()
                .filter(|i| !i.is_null())
                .map(|i| {
                    i.as_text().ok_or_else(|| {
                        cx.invalid(
                            i,
                            format!("`{key}` must list strings, found {}", i.describe()),
                        )
                    })
                })
                .collect(),
            _ => n
                .as_text()
                .map(|t| vec![t])
                .ok_or_else(|| cx.invalid(n, format!("`{key}` must be a list of strings"))),
        },
    }
}

fn rule_from_doc(cx: &Ctx<'_>, name: String, doc: &Node) -> Result<Rule, SigmaError> {
    let meta = metadata(cx, doc)?;
    rule_body(cx, name, meta, doc)
}

/// The descriptive attributes of a rule or correlation document.
fn metadata(cx: &Ctx<'_>, doc: &Node) -> Result<Metadata, SigmaError> {
    let title = text_field(cx, doc, "title")?
        .ok_or_else(|| cx.invalid(doc, "missing `title`: every Sigma rule needs one"))?;
    let level = match doc.get("level") {
        None => Level::default(),
        Some(n) => {
            let t = n.as_text().unwrap_or_default();
            Level::parse(&t).ok_or_else(|| {
                cx.invalid(
                    n,
                    format!(
                        "unknown level `{t}`; use informational, low, medium, high or critical"
                    ),
                )
            })?
        }
    };
    let status = match doc.get("status") {
        None => None,
        Some(n) => {
            let t = n.as_text().unwrap_or_default();
            Some(Status::parse(&t).ok_or_else(|| {
                cx.invalid(
                    n,
                    format!(
                        "unknown status `{t}`; use stable, test, experimental, deprecated or unsupported"
                    ),
                )
            })?)
        }
    };
    let author = match doc.get("author") {
        Some(Node {
            kind: Kind::Seq(_), ..
        }) => Some(list_field(cx, doc, "author")?.join(", ")),
        _ => text_field(cx, doc, "author")?,
    };
    let meta = Metadata {
        id: text_field(cx, doc, "id")?,
        title,
        description: text_field(cx, doc, "description")?.map(|d| d.trim_end().to_string()),
        level,
        status,
        tags: list_field(cx, doc, "tags")?,
        references: list_field(cx, doc, "references")?,
        falsepositives: list_field(cx, doc, "falsepositives")?,
        author,
        date: text_field(cx, doc, "date")?,
        modified: text_field(cx, doc, "modified")?,
    };
    Ok(meta)
}

fn rule_body(cx: &Ctx<'_>, name: String, meta: Metadata, doc: &Node) -> Result<Rule, SigmaError> {
    let ls_node = doc
        .get("logsource")
        .ok_or_else(|| cx.invalid(doc, "missing `logsource`: every Sigma rule needs one"))?;
    if !matches!(ls_node.kind, Kind::Map(_)) {
        return Err(cx.invalid(
            ls_node,
            "`logsource` must be a mapping (product, category, service)",
        ));
    }
    let mut logsource = LogSource {
        product: text_field(cx, ls_node, "product")?,
        category: text_field(cx, ls_node, "category")?,
        service: text_field(cx, ls_node, "service")?,
        definition: text_field(cx, ls_node, "definition")?,
    };
    // Pipelines rewrite the log source before it is checked (they may give
    // meaning to a category detect does not know), and the detection once
    // it is built.
    let pipeline_entries: Vec<Option<usize>> = cx
        .options
        .pipelines
        .iter()
        .map(|p| p.apply_logsource(&mut logsource))
        .collect();
    if let Err(e) = logsource::resolve(&logsource, Vocabulary::Windows) {
        return Err(cx.err(
            Some(ls_node),
            ErrorKind::Unsupported,
            format!("unsupported log source: {e}"),
        ));
    }

    let det = doc
        .get("detection")
        .ok_or_else(|| cx.invalid(doc, "missing `detection`: every Sigma rule needs one"))?;
    let Kind::Map(entries) = &det.kind else {
        return Err(cx.invalid(
            det,
            "`detection` must be a mapping of selections and a `condition`",
        ));
    };
    let mut selections = Vec::new();
    for (key, value) in entries {
        if key == "condition" || key == "timeframe" {
            continue;
        }
        let expr = selection_expr(cx, value)?;
        selections.push(Selection {
            name: key.clone(),
            expr,
        });
    }
    if selections.is_empty() {
        return Err(cx.invalid(det, "`detection` defines no selection"));
    }
    let names: Vec<&str> = selections.iter().map(|s| s.name.as_str()).collect();
    let cond_node = det
        .get("condition")
        .ok_or_else(|| cx.invalid(det, "missing `condition` in `detection`"))?;
    let cond_texts: Vec<&Node> = match &cond_node.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![cond_node],
    };
    let mut conditions = Vec::new();
    for c in &cond_texts {
        let Some(text) = c.as_text() else {
            return Err(cx.invalid(c, "a condition must be a string"));
        };
        let parsed = parse_condition(&text, &names).map_err(|e| {
            cx.err(
                Some(c),
                if e.unsupported {
                    ErrorKind::Unsupported
                } else {
                    ErrorKind::Invalid
                },
                format!("condition: {}", e.message),
            )
        })?;
        conditions.push(parsed);
    }
    if conditions.is_empty() {
        return Err(cx.invalid(cond_node, "empty condition list"));
    }
    let condition = if conditions.len() == 1 {
        conditions.remove(0)
    } else {
        detect_core::ir::Condition::Or(conditions)
    };
    let mut detection = Detection {
        selections,
        condition,
    };
    for (pipeline, entry) in cx.options.pipelines.iter().zip(pipeline_entries) {
        pipeline.apply_detection(entry, &mut detection);
    }
    Ok(Rule {
        name,
        meta,
        logsource,
        vocabulary: Vocabulary::Windows,
        detection,
    })
}

/// The expression of a selection map read outside a rule (a pipeline's
/// `conditions`), errors naming `path`.
pub(crate) fn selection_for(
    path: &str,
    node: &Node,
    options: &ParseOptions,
) -> Result<Expr, SigmaError> {
    selection_expr(&Ctx { path, options }, node)
}

fn selection_expr(cx: &Ctx<'_>, node: &Node) -> Result<Expr, SigmaError> {
    match &node.kind {
        Kind::Map(entries) => map_expr(cx, node, entries),
        Kind::Seq(items) => {
            if items.is_empty() {
                return Err(cx.invalid(node, "empty selection list"));
            }
            let mut parts = Vec::new();
            let mut keywords = Vec::new();
            let mut keyword_nodes = Vec::new();
            for item in items {
                match &item.kind {
                    Kind::Map(entries) => parts.push(map_expr(cx, item, entries)?),
                    Kind::Scalar(_) => {
                        keywords.push(sigma_value(cx, item)?);
                        keyword_nodes.push(item);
                    }
                    Kind::Seq(_) => {
                        return Err(cx.invalid(
                            item,
                            "a selection list holds maps or keywords, not nested lists",
                        ));
                    }
                }
            }
            if !keywords.is_empty() {
                let e = item_expr(cx, node, None, &[], &keywords, &keyword_nodes)?;
                parts.insert(0, e);
            }
            Ok(if parts.len() == 1 {
                parts.remove(0)
            } else {
                Expr::Or(parts)
            })
        }
        Kind::Scalar(Scalar::Null) => Err(cx.invalid(node, "empty selection")),
        Kind::Scalar(_) => {
            let v = sigma_value(cx, node)?;
            item_expr(cx, node, None, &[], &[v], &[node])
        }
    }
}

fn map_expr(cx: &Ctx<'_>, node: &Node, entries: &[(String, Node)]) -> Result<Expr, SigmaError> {
    if entries.is_empty() {
        return Err(cx.invalid(
            node,
            "empty selection: add `Field: value` entries (use `Field: null` for a missing field)",
        ));
    }
    let mut parts = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let mut pieces = key.split('|');
        let field = pieces.next().unwrap_or_default();
        let mods: Vec<&str> = pieces.collect();
        let field = (!field.is_empty()).then_some(field);
        let (values, nodes): (Vec<SigmaValue>, Vec<&Node>) = match &value.kind {
            Kind::Seq(items) => {
                let mut vs = Vec::with_capacity(items.len());
                for i in items {
                    vs.push(sigma_value(cx, i)?);
                }
                (vs, items.iter().collect())
            }
            Kind::Scalar(_) => (vec![sigma_value(cx, value)?], vec![value]),
            Kind::Map(_) => {
                return Err(cx.invalid(
                    value,
                    format!("`{key}` has a mapping as value; Sigma values are scalars or lists"),
                ));
            }
        };
        parts.push(
            item_expr(cx, value, field, &mods, &values, &nodes).map_err(|mut e| {
                e.message = format!("`{key}`: {}", e.message);
                e
            })?,
        );
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        Expr::And(parts)
    })
}

fn sigma_value(cx: &Ctx<'_>, node: &Node) -> Result<SigmaValue, SigmaError> {
    match &node.kind {
        Kind::Scalar(Scalar::Str(s)) => Ok(SigmaValue::Str(s.clone())),
        Kind::Scalar(Scalar::Num(t, n)) => Ok(SigmaValue::Num(t.clone(), *n)),
        Kind::Scalar(Scalar::Bool(b)) => Ok(SigmaValue::Bool(*b)),
        Kind::Scalar(Scalar::Null) => Ok(SigmaValue::Null),
        _ => Err(cx.invalid(
            node,
            format!(
                "expected a value (string, number, boolean or null), found {}",
                node.describe()
            ),
        )),
    }
}

fn item_expr(
    cx: &Ctx<'_>,
    node: &Node,
    field: Option<&str>,
    mods: &[&str],
    values: &[SigmaValue],
    value_nodes: &[&Node],
) -> Result<Expr, SigmaError> {
    let placeholders = |name: &str| cx.options.placeholders.get(name).cloned();
    detection_item(field, mods, values, &placeholders).map_err(|e| {
        let at = match e.at {
            ItemErrorAt::Value(i) => value_nodes.get(i).copied().unwrap_or(node),
            _ => node,
        };
        let m = &e.message;
        let unsupported = (m.starts_with("invalid regular expression")
            && (m.contains("look-around")
                || m.contains("backreferences")
                || m.contains("unrecognized flag")))
            || (m.starts_with("placeholder") && m.contains("has no values"));
        cx.err(
            Some(at),
            if unsupported {
                ErrorKind::Unsupported
            } else {
                ErrorKind::Invalid
            },
            e.message,
        )
    })
}
