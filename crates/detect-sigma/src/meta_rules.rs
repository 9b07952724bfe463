//! Sigma correlation rules and filters: documents that refer to other rules.
//!
//! Both are read with their file and resolved once every file of a load is
//! read (by [`crate::load_paths`], [`crate::load_dirs`] and the other
//! loaders), since they may name rules of other files:
//!
//! * a reference is a rule's (or correlation's) `id` or its `name`
//!   attribute; one that names nothing, or more than one rule, is an error;
//! * a **filter** (`filter:` with `rules`, selections and `condition`) is
//!   added to each rule it names as `and not (condition)` over its own
//!   selections, with the processing pipelines' field mappings applied; its
//!   `logsource` is read but does not restrict anything further (the rules
//!   it names have their own);
//! * a **correlation** becomes a [`Correlation`] whose inputs are rule or
//!   correlation indices, ordered so that a correlation comes after the
//!   correlations it reads (a cycle is an error), its `aliases` resolved
//!   into each input's group-by fields; the pipelines' top-level field
//!   mappings rename the event fields it reads (group-by, aliases, `field`).
//!
//! `timespan` is a whole number followed by `s`, `m`, `h` or `d` (the
//! specification's units) or `w` (weeks, which pySigma also accepts);
//! months and years are refused (no fixed length). `condition` holds one or
//! two of `gt gte lt lte eq neq` (two make a range: both must hold), and for
//! the value kinds `field` (a name, or for `value_count` a list: distinct
//! combinations); `value_percentile` also takes `percentile` (0 to 100,
//! default 50). `temporal` defaults to "every input"; `temporal_ordered`
//! takes no condition (it fires when every input matched in order).
//! `taxonomy: ecs` reads the group-by and value fields as ECS names.

use detect_core::ir::{
    Condition, Correlation, CorrelationInput, CorrelationKind, CorrelationSource, Detection,
    Metadata, NumOp, Number, Rule, Selection, Vocabulary,
};

use crate::condition::parse_condition;
use crate::pipeline::Pipeline;
use crate::yaml::{Kind, Node, Scalar};
use crate::{ErrorKind, ParseOptions, SigmaError};

/// A reference to a rule as written, with its line and column.
pub(crate) type Reference = (String, (usize, usize));

/// A correlation read from its file, its references not yet resolved.
#[derive(Clone, Debug)]
pub(crate) struct PendingCorrelation {
    pub(crate) path: String,
    pub(crate) node: (usize, usize),
    /// The `name` attribute.
    pub(crate) sigma_name: Option<String>,
    /// The correlation, without inputs.
    pub(crate) correlation: Correlation,
    /// The references, as written, with where they are written.
    pub(crate) refs: Vec<Reference>,
    /// alias -> (rule reference -> field).
    pub(crate) aliases: Vec<(String, Vec<(String, String)>)>,
}

/// A filter read from its file, its references not yet resolved.
#[derive(Clone, Debug)]
pub(crate) struct PendingFilter {
    pub(crate) path: String,
    pub(crate) refs: Vec<Reference>,
    pub(crate) selections: Vec<Selection>,
    pub(crate) condition: Condition,
}

fn err(path: &str, at: Option<(usize, usize)>, kind: ErrorKind, message: String) -> SigmaError {
    SigmaError {
        path: path.to_string(),
        line: at.map(|a| a.0),
        col: at.map(|a| a.1),
        kind,
        message,
    }
}

fn at(node: &Node) -> Option<(usize, usize)> {
    Some((node.line, node.col))
}

fn invalid(path: &str, node: &Node, message: impl Into<String>) -> SigmaError {
    err(path, at(node), ErrorKind::Invalid, message.into())
}

fn text_list(path: &str, node: &Node, key: &str) -> Result<Vec<Reference>, SigmaError> {
    let items: Vec<&Node> = match &node.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .map(|i| {
            i.as_text()
                .filter(|t| !t.is_empty())
                .map(|t| (t, (i.line, i.col)))
                .ok_or_else(|| invalid(path, i, format!("`{key}` must list names or ids")))
        })
        .collect()
}

/// Parses `Xs`, `Xm`, `Xh`, `Xd` or `Xw` into milliseconds.
///
/// ```
/// # use detect_sigma::timespan_ms;
/// assert_eq!(timespan_ms("90m"), Ok(5_400_000));
/// assert_eq!(timespan_ms("1d"), Ok(86_400_000));
/// assert!(timespan_ms("1M").is_err());
/// ```
pub fn timespan_ms(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("timespan `{text}` has no unit; write e.g. 5m (s, m, h, d or w)"))?;
    let (number, unit) = text.split_at(unit_at);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("timespan `{text}` must start with a whole number, as in 5m"))?;
    let scale: u64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => {
            return Err(format!(
                "timespan `{text}`: unknown unit `{unit}`; use s, m, h, d or w"
            ));
        }
    };
    n.checked_mul(scale)
        .filter(|&ms| ms > 0)
        .ok_or_else(|| format!("timespan `{text}` must be positive and at most 584 million years"))
}

/// Reads a correlation document (`meta` already read from it).
pub(crate) fn parse_correlation(
    path: &str,
    doc: &Node,
    name: String,
    meta: Metadata,
) -> Result<PendingCorrelation, SigmaError> {
    let body = doc.get("correlation").expect("a correlation document");
    if !matches!(body.kind, Kind::Map(_)) {
        return Err(invalid(
            path,
            body,
            "`correlation` must be a mapping (type, rules, group-by, timespan, condition)",
        ));
    }
    let type_node = body
        .get("type")
        .ok_or_else(|| invalid(path, body, "missing `type` in `correlation`"))?;
    let type_text = type_node.as_text().unwrap_or_default();
    let kind = CorrelationKind::parse(&type_text).ok_or_else(|| {
        invalid(
            path,
            type_node,
            format!(
                "unknown correlation type `{type_text}`; use event_count, value_count, temporal, \
                 temporal_ordered, value_sum, value_avg or value_percentile"
            ),
        )
    })?;
    let rules_node = body
        .get("rules")
        .ok_or_else(|| invalid(path, body, "missing `rules` in `correlation`"))?;
    let refs = text_list(path, rules_node, "rules")?;
    if refs.is_empty() {
        return Err(invalid(path, rules_node, "`rules` is empty"));
    }
    let group_by = match body.get("group-by") {
        None => Vec::new(),
        Some(n) if n.is_null() => Vec::new(),
        Some(n) => text_list(path, n, "group-by")?
            .into_iter()
            .map(|(t, _)| t)
            .collect(),
    };
    let span_node = body
        .get("timespan")
        .ok_or_else(|| invalid(path, body, "missing `timespan` in `correlation` (e.g. 5m)"))?;
    let timespan_ms = timespan_ms(&span_node.as_text().unwrap_or_default())
        .map_err(|m| invalid(path, span_node, m))?;
    let mut aliases = Vec::new();
    if let Some(a) = body.get("aliases").filter(|a| !a.is_null()) {
        let Kind::Map(entries) = &a.kind else {
            return Err(invalid(
                path,
                a,
                "`aliases` must map alias names to {rule: field}",
            ));
        };
        for (alias, per_rule) in entries {
            let Kind::Map(fields) = &per_rule.kind else {
                return Err(invalid(
                    path,
                    per_rule,
                    format!("alias `{alias}` must map rule names to fields"),
                ));
            };
            let mut list = Vec::new();
            for (rule, field) in fields {
                let f = field
                    .as_text()
                    .ok_or_else(|| invalid(path, field, "an alias field must be a name"))?;
                list.push((rule.clone(), f));
            }
            aliases.push((alias.clone(), list));
        }
    }
    let mut condition = Vec::new();
    let mut fields = Vec::new();
    let mut percentile = None;
    match body.get("condition").filter(|c| !c.is_null()) {
        None => {}
        Some(c) => {
            let Kind::Map(entries) = &c.kind else {
                return Err(invalid(
                    path,
                    c,
                    "`condition` must be a mapping such as {gte: 10}",
                ));
            };
            for (key, value) in entries {
                let number = || match &value.kind {
                    Kind::Scalar(Scalar::Num(_, n)) => Ok(*n),
                    _ => Err(invalid(path, value, format!("`{key}` must be a number"))),
                };
                let op = match key.as_str() {
                    "gt" => NumOp::Gt,
                    "gte" => NumOp::Ge,
                    "lt" => NumOp::Lt,
                    "lte" => NumOp::Le,
                    "eq" => NumOp::Eq,
                    "neq" => NumOp::Ne,
                    "field" => {
                        fields = text_list(path, value, "field")?
                            .into_iter()
                            .map(|(t, _)| t)
                            .collect();
                        continue;
                    }
                    "percentile" if kind == CorrelationKind::ValuePercentile => {
                        let p = match number()? {
                            Number::Int(i) => i as f64,
                            Number::Float(f) => f,
                        };
                        if !(0.0..=100.0).contains(&p) {
                            return Err(invalid(
                                path,
                                value,
                                "`percentile` must be between 0 and 100",
                            ));
                        }
                        percentile = Some(p);
                        continue;
                    }
                    other => {
                        return Err(invalid(
                            path,
                            value,
                            format!(
                                "unknown condition key `{other}`; use gt, gte, lt, lte, eq, neq and field"
                            ),
                        ));
                    }
                };
                condition.push((op, number()?));
            }
            if condition.len() > 2 {
                return Err(invalid(
                    path,
                    c,
                    "a condition holds one comparison, or two for a range",
                ));
            }
        }
    }
    let n = refs.len() as i64;
    match kind {
        CorrelationKind::Temporal if condition.is_empty() => {
            condition.push((NumOp::Ge, Number::Int(n)));
        }
        CorrelationKind::TemporalOrdered => {
            if !condition.is_empty() {
                return Err(err(
                    path,
                    at(body),
                    ErrorKind::Unsupported,
                    "a temporal_ordered correlation takes no condition: it fires when every rule \
                     matched in order (chain another correlation to count)"
                        .into(),
                ));
            }
            condition.push((NumOp::Ge, Number::Int(n)));
        }
        _ if condition.is_empty() => {
            return Err(invalid(
                path,
                body,
                format!(
                    "a {} correlation needs a `condition` such as {{gte: 10}}",
                    kind.as_str()
                ),
            ));
        }
        _ => {}
    }
    if kind.needs_field() && fields.is_empty() {
        return Err(invalid(
            path,
            body,
            format!(
                "a {} correlation needs `field` in its condition",
                kind.as_str()
            ),
        ));
    }
    if !kind.needs_field() && !fields.is_empty() {
        return Err(invalid(
            path,
            body,
            format!("a {} correlation takes no `field`", kind.as_str()),
        ));
    }
    if kind != CorrelationKind::ValueCount && fields.len() > 1 {
        return Err(invalid(
            path,
            body,
            format!("a {} correlation reads one `field`", kind.as_str()),
        ));
    }
    let generate = match doc.get("generate") {
        None => false,
        Some(Node {
            kind: Kind::Scalar(Scalar::Bool(b)),
            ..
        }) => *b,
        Some(n) => return Err(invalid(path, n, "`generate` must be true or false")),
    };
    let vocabulary = match doc.get("taxonomy").and_then(|t| t.as_text()) {
        Some(t) if t.eq_ignore_ascii_case("ecs") => Vocabulary::Ecs,
        _ => Vocabulary::Windows,
    };
    let sigma_name = doc.get("name").and_then(|n| n.as_text());
    Ok(PendingCorrelation {
        path: path.to_string(),
        node: (doc.line, doc.col),
        sigma_name,
        correlation: Correlation {
            name,
            meta,
            kind,
            inputs: Vec::new(),
            group_by,
            timespan_ms,
            condition,
            fields,
            percentile,
            generate,
            vocabulary,
        },
        refs,
        aliases,
    })
}

/// Reads a filter document.
pub(crate) fn parse_filter(
    path: &str,
    doc: &Node,
    options: &ParseOptions,
) -> Result<PendingFilter, SigmaError> {
    if doc.get("title").and_then(|t| t.as_text()).is_none() {
        return Err(invalid(
            path,
            doc,
            "missing `title`: every Sigma filter needs one",
        ));
    }
    if doc.get("logsource").is_none() {
        return Err(invalid(
            path,
            doc,
            "missing `logsource`: every Sigma filter needs one",
        ));
    }
    let body = doc.get("filter").expect("a filter document");
    let Kind::Map(entries) = &body.kind else {
        return Err(invalid(
            path,
            body,
            "`filter` must be a mapping (rules, selections, condition)",
        ));
    };
    let rules_node = body
        .get("rules")
        .ok_or_else(|| invalid(path, body, "missing `rules` in `filter`"))?;
    let refs = text_list(path, rules_node, "rules")?;
    let mut selections = Vec::new();
    for (key, value) in entries {
        if key == "rules" || key == "condition" {
            continue;
        }
        let expr = crate::rule::selection_for(path, value, options)?;
        selections.push(Selection {
            name: key.clone(),
            expr,
        });
    }
    if selections.is_empty() {
        return Err(invalid(path, body, "`filter` defines no selection"));
    }
    let cond_node = body
        .get("condition")
        .ok_or_else(|| invalid(path, body, "missing `condition` in `filter`"))?;
    let text = cond_node
        .as_text()
        .ok_or_else(|| invalid(path, cond_node, "a filter condition must be a string"))?;
    let names: Vec<&str> = selections.iter().map(|s| s.name.as_str()).collect();
    let condition = parse_condition(&text, &names)
        .map_err(|e| invalid(path, cond_node, format!("condition: {}", e.message)))?;
    let mut detection = Detection {
        selections,
        condition,
    };
    for pipeline in &options.pipelines {
        pipeline.apply_detection(None, &mut detection);
    }
    Ok(PendingFilter {
        path: path.to_string(),
        refs,
        selections: detection.selections,
        condition: detection.condition,
    })
}

fn offset(c: &Condition, by: usize) -> Condition {
    match c {
        Condition::Selection(i) => Condition::Selection(i + by),
        Condition::Not(c) => Condition::Not(Box::new(offset(c, by))),
        Condition::And(v) => Condition::And(v.iter().map(|c| offset(c, by)).collect()),
        Condition::Or(v) => Condition::Or(v.iter().map(|c| offset(c, by)).collect()),
        Condition::AnyOf(v) => Condition::AnyOf(v.iter().map(|i| i + by).collect()),
        Condition::AllOf(v) => Condition::AllOf(v.iter().map(|i| i + by).collect()),
    }
}

/// What a reference names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Rule(usize),
    Correlation(usize),
}

/// Resolves filters into `rules` and correlations into IR correlations
/// (dependency order). `sigma_names` is the `name` attribute of each rule.
/// Errors are given per filter or correlation, which is then left out.
pub(crate) fn resolve(
    rules: &mut [Rule],
    sigma_names: &[Option<String>],
    filters: Vec<PendingFilter>,
    pending: Vec<PendingCorrelation>,
    pipelines: &[Pipeline],
) -> (Vec<Correlation>, Vec<SigmaError>) {
    // Event fields named by a correlation are renamed as the rules'
    // detection fields were, pipeline after pipeline.
    let map_field = |field: &str| {
        pipelines
            .iter()
            .fold(field.to_string(), |f, p| p.map_field(&f))
    };
    let mut errors = Vec::new();
    let find = |reference: &str, with_correlations: bool| -> Vec<Target> {
        let mut out: Vec<Target> = rules
            .iter()
            .zip(sigma_names)
            .enumerate()
            .filter(|(_, (r, n))| {
                r.meta.id.as_deref() == Some(reference) || n.as_deref() == Some(reference)
            })
            .map(|(i, _)| Target::Rule(i))
            .collect();
        if with_correlations {
            out.extend(
                pending
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| {
                        p.correlation.meta.id.as_deref() == Some(reference)
                            || p.sigma_name.as_deref() == Some(reference)
                    })
                    .map(|(i, _)| Target::Correlation(i)),
            );
        }
        out
    };
    let describe = |found: &[Target]| -> String {
        found
            .iter()
            .map(|t| match t {
                Target::Rule(i) => format!("rule `{}`", rules[*i].meta.title),
                Target::Correlation(i) => {
                    format!("correlation `{}`", pending[*i].correlation.meta.title)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let resolve_one = |path: &str, reference: &str, at: (usize, usize), with_correlations: bool| {
        let found = find(reference, with_correlations);
        match found.len() {
            1 => Ok(found[0]),
            0 => Err(err(
                path,
                Some(at),
                ErrorKind::Invalid,
                format!(
                    "`{reference}` names no loaded rule (refer to a rule by its `id` or its `name` attribute)"
                ),
            )),
            _ => Err(err(
                path,
                Some(at),
                ErrorKind::Invalid,
                format!("`{reference}` is ambiguous: it names {}", describe(&found)),
            )),
        }
    };

    // Filters: resolve every reference first, then change the rules.
    let mut edits: Vec<(usize, usize)> = Vec::new();
    for (f, filter) in filters.iter().enumerate() {
        let mut targets = Vec::new();
        let mut failed = false;
        for (reference, at) in &filter.refs {
            match resolve_one(&filter.path, reference, *at, false) {
                Ok(Target::Rule(i)) => targets.push(i),
                Ok(Target::Correlation(_)) => unreachable!("filters name rules only"),
                Err(e) => {
                    errors.push(e);
                    failed = true;
                }
            }
        }
        if !failed {
            edits.extend(targets.into_iter().map(|i| (i, f)));
        }
    }
    let mut resolved_errors = Vec::new();
    // The names an alias may use for an input: the reference as written,
    // the target's id and its `name`.
    let names_of = |target: Target, reference: &str| -> Vec<String> {
        let (id, name) = match target {
            Target::Rule(i) => (rules[i].meta.id.clone(), sigma_names[i].clone()),
            Target::Correlation(d) => (
                pending[d].correlation.meta.id.clone(),
                pending[d].sigma_name.clone(),
            ),
        };
        [Some(reference.to_string()), id, name]
            .into_iter()
            .flatten()
            .collect()
    };
    // Correlations: inputs, then dependency order.
    let mut inputs: Vec<Option<Vec<(Target, String)>>> = Vec::new();
    for p in &pending {
        let mut list = Vec::new();
        let mut failed = false;
        for (reference, at) in &p.refs {
            match resolve_one(&p.path, reference, *at, true) {
                Ok(t) => list.push((t, reference.clone())),
                Err(e) => {
                    resolved_errors.push(e);
                    failed = true;
                }
            }
        }
        for (target, reference) in &list {
            let names = names_of(*target, reference);
            for (alias, per_rule) in &p.aliases {
                if p.correlation.group_by.contains(alias)
                    && !per_rule.iter().any(|(r, _)| names.contains(r))
                {
                    resolved_errors.push(err(
                        &p.path,
                        Some(p.node),
                        ErrorKind::Invalid,
                        format!("alias `{alias}` gives no field for `{reference}`"),
                    ));
                    failed = true;
                }
            }
        }
        inputs.push((!failed).then_some(list));
    }
    errors.extend(resolved_errors);
    // Depth-first order over correlation references; cycles are errors.
    let mut order: Vec<usize> = Vec::new();
    let mut state = vec![0u8; pending.len()]; // 0 new, 1 visiting, 2 done
    fn visit(
        c: usize,
        inputs: &[Option<Vec<(Target, String)>>],
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) -> bool {
        match state[c] {
            2 => return true,
            1 => return false,
            _ => {}
        }
        state[c] = 1;
        let mut ok = inputs[c].is_some();
        if let Some(list) = &inputs[c] {
            for (t, _) in list {
                if let Target::Correlation(d) = t
                    && !visit(*d, inputs, state, order)
                {
                    ok = false;
                }
            }
        }
        state[c] = 2;
        if ok {
            order.push(c);
        }
        ok
    }
    for c in 0..pending.len() {
        if state[c] == 0 && !visit(c, &inputs, &mut state, &mut order) && inputs[c].is_some() {
            errors.push(err(
                &pending[c].path,
                Some(pending[c].node),
                ErrorKind::Invalid,
                format!(
                    "correlation `{}` refers to itself through its rules (a cycle), or to a \
                     correlation that failed",
                    pending[c].correlation.meta.title
                ),
            ));
        }
    }
    let mut position = vec![usize::MAX; pending.len()];
    for (k, &c) in order.iter().enumerate() {
        position[c] = k;
    }
    let mut out = Vec::new();
    for &c in &order {
        let p = &pending[c];
        let list = inputs[c].as_ref().expect("ordered correlations resolved");
        let mut corr = p.correlation.clone();
        corr.fields = corr.fields.iter().map(|f| map_field(f)).collect();
        for (target, reference) in list {
            let names = names_of(*target, reference);
            let source = match *target {
                Target::Rule(i) => CorrelationSource::Rule(i),
                Target::Correlation(d) => CorrelationSource::Correlation(position[d]),
            };
            let group_fields = corr
                .group_by
                .iter()
                .map(|g| {
                    let field = p
                        .aliases
                        .iter()
                        .find(|(a, _)| a == g)
                        .and_then(|(_, per_rule)| per_rule.iter().find(|(r, _)| names.contains(r)))
                        .map_or_else(|| g.clone(), |(_, field)| field.clone());
                    // A correlation input's group values are the inner
                    // correlation's group key, named by its `group-by`.
                    match source {
                        CorrelationSource::Rule(_) => map_field(&field),
                        CorrelationSource::Correlation(_) => field,
                    }
                })
                .collect();
            corr.inputs.push(CorrelationInput {
                source,
                group_fields,
            });
        }
        out.push(corr);
    }
    for (rule, f) in edits {
        let filter = &filters[f];
        let detection = &mut rules[rule].detection;
        let base = detection.selections.len();
        for s in &filter.selections {
            detection.selections.push(Selection {
                // A leading `_` keeps it out of the rule's own `them`.
                name: format!("_filter_{}_{}", f, s.name),
                expr: s.expr.clone(),
            });
        }
        let own = std::mem::replace(&mut detection.condition, Condition::And(Vec::new()));
        detection.condition = Condition::And(vec![
            own,
            Condition::Not(Box::new(offset(&filter.condition, base))),
        ]);
    }

    (out, errors)
}
