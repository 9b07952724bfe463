//! AST -> IR, with every check a rule author can trip over.
//!
//! Errors are collected (several mistakes are reported in one build) and each
//! points at the offending token: the modifier, the value, the attribute or the
//! selection name in the condition. The meaning of detection items comes from
//! `detect_core::compile::sigma`, shared with the Sigma YAML front end.

use std::collections::HashMap;

use detect_core::compile::logsource;
use detect_core::compile::sigma::{ItemErrorAt, detection_item, resolve_pattern};
use detect_core::ir::{
    Condition, Detection, Level, LogSource, Metadata, Rule, RuleSet, Selection, Sequence, Status,
    Vocabulary,
};
use proc_macro2::{Span, TokenTree};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Lit, LitStr, Meta, Token};

use crate::parse::{
    CondExpr, EntryDef, EqlSource, MapDef, RuleDef, RulesFile, SelBody, SequenceDef,
};

/// Collects errors so that one build reports every mistake.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
}

const RULE_ATTRIBUTES: &[&str] = &[
    "doc",
    "id",
    "title",
    "level",
    "status",
    "tags",
    "author",
    "references",
    "falsepositives",
    "date",
    "modified",
    "logsource",
    "fields",
];

pub fn lower_file(file: &RulesFile) -> syn::Result<RuleSet> {
    let mut errors = Errors::default();
    for attr in &file.attrs {
        if !attr.path().is_ident("doc") {
            errors.at(
                attr.span(),
                "only doc comments may precede `ruleset`; rule attributes go on each `rule`",
            );
        }
    }
    let mut placeholders: HashMap<String, Vec<String>> = HashMap::new();
    for p in &file.placeholders {
        let name = p.name.to_string();
        if placeholders.contains_key(&name) {
            errors.at(
                p.name.span(),
                format!("placeholder `{name}` is defined twice"),
            );
        }
        if p.values.is_empty() {
            errors.at(
                p.name.span(),
                format!("placeholder `{name}` needs at least one value"),
            );
        }
        placeholders.insert(name, p.values.iter().map(LitStr::value).collect());
    }
    let lookup = |name: &str| placeholders.get(name).cloned();
    // Rules and sequences share one namespace (both report under their name).
    let mut seen = std::collections::HashSet::new();
    let names = file
        .rules
        .iter()
        .map(|r| &r.name)
        .chain(file.sequences.iter().map(|s| &s.name));
    for name in names {
        if !seen.insert(name.to_string()) {
            errors.at(
                name.span(),
                format!("a rule named `{name}` is already defined in this rule set"),
            );
        }
    }
    let rules: Vec<Rule> = file
        .rules
        .iter()
        .filter_map(|def| lower_rule(def, &lookup, &mut errors))
        .collect();
    let sequences: Vec<Sequence> = file
        .sequences
        .iter()
        .filter_map(|def| lower_sequence(def, &mut errors))
        .collect();
    if file.rules.is_empty() && file.sequences.is_empty() {
        errors.at(
            file.name.span(),
            "this rule set has no rules; add `rule name { ... }` items",
        );
    }
    match errors.0 {
        Some(e) => Err(e),
        None => Ok(RuleSet {
            rules,
            sequences,
            correlations: Vec::new(),
        }),
    }
}

/// What the attributes of a rule or sequence say.
struct Attributes {
    meta: Metadata,
    logsource: LogSource,
    vocabulary: Vocabulary,
}

fn lower_attributes(attrs: &[Attribute], name: &syn::Ident, errors: &mut Errors) -> Attributes {
    let mut meta = Metadata::default();
    let mut logsource = LogSource::default();
    let mut logsource_spans: Vec<(String, Span)> = Vec::new();
    let mut vocabulary = Vocabulary::Windows;
    let mut doc = Vec::new();
    let mut title = None;
    for attr in attrs {
        let Some(key) = attr.path().get_ident().map(ToString::to_string) else {
            errors.at(attr.span(), "unknown attribute");
            continue;
        };
        let result: syn::Result<()> = (|| {
            match key.as_str() {
                "doc" => doc.push(string_value(attr)?.value()),
                "id" => meta.id = Some(string_value(attr)?.value()),
                "title" => title = Some(string_value(attr)?.value()),
                "author" => meta.author = Some(string_value(attr)?.value()),
                "date" => meta.date = Some(string_value(attr)?.value()),
                "modified" => meta.modified = Some(string_value(attr)?.value()),
                "level" => {
                    let (w, span) = word_value(attr)?;
                    meta.level = Level::parse(&w).ok_or_else(|| {
                        syn::Error::new(
                            span,
                            format!("unknown level `{w}`; use one of informational, low, medium, high, critical"),
                        )
                    })?;
                }
                "status" => {
                    let (w, span) = word_value(attr)?;
                    meta.status = Some(Status::parse(&w).ok_or_else(|| {
                        syn::Error::new(
                            span,
                            format!("unknown status `{w}`; use one of stable, test, experimental, deprecated, unsupported"),
                        )
                    })?);
                }
                "tags" => meta.tags = list_values(attr)?,
                "references" => meta.references = list_values(attr)?,
                "falsepositives" => meta.falsepositives = list_values(attr)?,
                "fields" => {
                    let (w, span) = word_value(attr)?;
                    vocabulary = match w.as_str() {
                        "windows" | "sigma" => Vocabulary::Windows,
                        "ecs" => Vocabulary::Ecs,
                        _ => {
                            return Err(syn::Error::new(
                                span,
                                format!(
                                    "unknown field vocabulary `{w}`; use `windows` (Sigma names, the default) or `ecs`"
                                ),
                            ));
                        }
                    };
                }
                "logsource" => {
                    let (ls, spans) = parse_logsource(attr)?;
                    logsource = ls;
                    logsource_spans = spans;
                }
                other => {
                    return Err(syn::Error::new(
                        attr.path().span(),
                        format!(
                            "unknown rule attribute `{other}`; known attributes: {}",
                            RULE_ATTRIBUTES[1..].join(", ")
                        ),
                    ));
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if let Err(e) = logsource::resolve(&logsource, vocabulary) {
        // Point at the key the message is about (category, service, product).
        let msg = e.to_string();
        let span = ["category", "service", "product"]
            .iter()
            .find_map(|k| {
                logsource_spans
                    .iter()
                    .find(|(key, _)| key == k && msg.contains(k))
                    .map(|(_, s)| *s)
            })
            .or_else(|| logsource_spans.first().map(|(_, s)| *s))
            .unwrap_or_else(|| name.span());
        errors.at(span, e);
    }
    let description = doc
        .iter()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    meta.description = (!description.is_empty()).then_some(description);
    meta.title = title.unwrap_or_else(|| name.to_string());

    Attributes {
        meta,
        logsource,
        vocabulary,
    }
}

fn lower_rule(
    def: &RuleDef,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    errors: &mut Errors,
) -> Option<Rule> {
    if let Some(src) = &def.eql {
        return lower_eql_rule(def, src, errors);
    }
    let Attributes {
        meta,
        logsource,
        vocabulary,
    } = lower_attributes(&def.attrs, &def.name, errors);

    let mut selections = Vec::new();
    let mut ok = true;
    let mut names: HashMap<String, Span> = HashMap::new();
    for sel in &def.selections {
        let name = sel.name.to_string();
        if names.insert(name.clone(), sel.name.span()).is_some() {
            errors.at(
                sel.name.span(),
                format!("selection `{name}` is defined twice in this rule"),
            );
            ok = false;
        }
        match lower_selection(&sel.body, placeholders, errors) {
            Some(expr) => selections.push(Selection { name, expr }),
            None => ok = false,
        }
    }
    let name_strings: Vec<String> = def.selections.iter().map(|s| s.name.to_string()).collect();
    let names: Vec<&str> = name_strings.iter().map(String::as_str).collect();
    let condition = match &def.condition {
        None => {
            errors.at(
                def.name.span(),
                format!(
                    "rule `{}` has no `condition`; add one, e.g. `condition: {}`",
                    def.name,
                    names.first().copied().unwrap_or("selection")
                ),
            );
            None
        }
        Some(c) => lower_condition(c, &names, errors),
    };
    if def.selections.is_empty() {
        errors.at(def.body_span, "a rule needs at least one selection, e.g. `selection: { Image|endswith: r\"\\cmd.exe\" }`");
        ok = false;
    }
    let condition = condition?;
    if !ok {
        return None;
    }
    Some(Rule {
        name: def.name.to_string(),
        meta,
        logsource,
        vocabulary,
        detection: Detection {
            selections,
            condition,
        },
    })
}

fn lower_selection(
    body: &SelBody,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    errors: &mut Errors,
) -> Option<detect_core::ir::Expr> {
    use detect_core::ir::Expr as E;
    match body {
        SelBody::Map(map) => lower_map(map, placeholders, errors),
        SelBody::Maps(maps, span) => {
            if maps.is_empty() {
                errors.at(*span, "empty selection: give at least one map");
                return None;
            }
            let parts: Vec<_> = maps
                .iter()
                .map(|m| lower_map(m, placeholders, errors))
                .collect();
            Some(E::Or(parts.into_iter().collect::<Option<Vec<_>>>()?))
        }
        SelBody::Keywords(values, span) => {
            if values.is_empty() {
                errors.at(*span, "empty keyword list: give at least one keyword");
                return None;
            }
            let vals: Vec<_> = values.iter().map(|v| v.value.clone()).collect();
            match detection_item(None, &[], &vals, &placeholders) {
                Ok(e) => Some(e),
                Err(e) => {
                    let span = match e.at {
                        ItemErrorAt::Value(i) => values[i].span,
                        _ => *span,
                    };
                    errors.at(span, e.message);
                    None
                }
            }
        }
    }
}

fn lower_map(
    map: &MapDef,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
    errors: &mut Errors,
) -> Option<detect_core::ir::Expr> {
    if map.entries.is_empty() {
        errors.at(
            map.span,
            "empty selection: add `Field: value` entries (use `Field: null` for a missing field)",
        );
        return None;
    }
    let mut parts = Vec::with_capacity(map.entries.len());
    let mut ok = true;
    for entry in &map.entries {
        match lower_entry(entry, placeholders) {
            Ok(e) => parts.push(e),
            Err(e) => {
                errors.push(e);
                ok = false;
            }
        }
    }
    ok.then_some(if parts.len() == 1 {
        parts.remove(0)
    } else {
        detect_core::ir::Expr::And(parts)
    })
}

fn lower_entry(
    entry: &EntryDef,
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
) -> syn::Result<detect_core::ir::Expr> {
    let mods: Vec<String> = entry.mods.iter().map(ToString::to_string).collect();
    let mod_refs: Vec<&str> = mods.iter().map(String::as_str).collect();
    let values: Vec<_> = entry.values.iter().map(|v| v.value.clone()).collect();
    if let Some((name, span)) = &entry.field
        && name.is_empty()
    {
        return Err(syn::Error::new(*span, "empty field name"));
    }
    detection_item(
        entry.field.as_ref().map(|(n, _)| n.as_str()),
        &mod_refs,
        &values,
        &placeholders,
    )
    .map_err(|e| {
        let span = match e.at {
            ItemErrorAt::Modifier(i) => entry.mods[i].span(),
            ItemErrorAt::Value(i) => entry.values.get(i).map_or(entry.values_span, |v| v.span),
            ItemErrorAt::Field => entry.field.as_ref().map_or(entry.colon, |(_, s)| *s),
            ItemErrorAt::Item => entry.values_span,
        };
        syn::Error::new(span, e.message)
    })
}

fn lower_condition(c: &CondExpr, names: &[&str], errors: &mut Errors) -> Option<Condition> {
    Some(match c {
        CondExpr::Ref(id) => {
            let name = id.to_string();
            match names.iter().position(|n| *n == name) {
                Some(i) => Condition::Selection(i),
                None => {
                    errors.at(
                        id.span(),
                        format!(
                            "unknown selection `{name}` in the condition; this rule defines: {}",
                            if names.is_empty() {
                                "nothing".to_string()
                            } else {
                                names.join(", ")
                            }
                        ),
                    );
                    return None;
                }
            }
        }
        CondExpr::Not(inner) => Condition::Not(Box::new(lower_condition(inner, names, errors)?)),
        CondExpr::And(parts) => Condition::And(
            parts
                .iter()
                .map(|p| lower_condition(p, names, errors))
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<Option<_>>()?,
        ),
        CondExpr::Or(parts) => Condition::Or(
            parts
                .iter()
                .map(|p| lower_condition(p, names, errors))
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<Option<_>>()?,
        ),
        CondExpr::Of { all, pattern, span } => {
            let ids = resolve_pattern(pattern, names);
            if ids.is_empty() {
                errors.at(
                    *span,
                    format!(
                        "`{pattern}` matches no selection of this rule; defined: {}",
                        names.join(", ")
                    ),
                );
                return None;
            }
            if *all {
                Condition::AllOf(ids)
            } else {
                Condition::AnyOf(ids)
            }
        }
    })
}

/// Parses the EQL text of an item at compile time, in its dialect
/// (Elasticsearch by default: ECS field names, `event.category`; endgame:
/// names as written, `event_type`). A parse error is reported on the string
/// with the position in the query and the offending line marked with carets
/// (a proc macro on stable Rust cannot point at a character inside a literal).
fn parse_eql(src: &EqlSource, what: &str, errors: &mut Errors) -> Option<detect_eql::Query> {
    let options = match &src.dialect {
        None => detect_eql::Options::elasticsearch(),
        Some(d) if d == "elasticsearch" => detect_eql::Options::elasticsearch(),
        Some(d) if d == "endgame" => detect_eql::Options::endgame(),
        Some(d) => {
            errors.at(
                d.span(),
                format!(
                    "unknown EQL dialect `{d}`; use `elasticsearch` (the default) or `endgame`"
                ),
            );
            return None;
        }
    };
    let text = src.text.value();
    match detect_eql::parse_query(&text, &options) {
        Ok(q) => Some(q),
        Err(e) => {
            let kind = if e.is_unsupported() {
                "EQL feature not supported"
            } else {
                "EQL syntax error"
            };
            errors.at(
                src.text.span(),
                format!(
                    "{kind} in {what} at line {}, column {} of the query: {}\n{}",
                    e.line,
                    e.column,
                    e.message,
                    caret_snippet(&text, &e)
                ),
            );
            None
        }
    }
}

/// The query line holding the error, and a line of carets under its span.
fn caret_snippet(text: &str, e: &detect_eql::EqlError) -> String {
    let start = e.offset.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let line = text[line_start..line_end].trim_end();
    let pad: String = text[line_start..start]
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let end = e.span.end.clamp(start, line_end);
    let width = text[start..end].chars().count().max(1);
    format!("  | {line}\n  | {pad}{}", "^".repeat(width))
}

/// Refuses the attributes an EQL item cannot take: its events and field
/// names come from the query.
fn check_eql_attributes(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs {
        if attr.path().is_ident("logsource") {
            errors.at(attr.span(), "an EQL query takes its event categories from the query (`process where ...`), not from `#[logsource]`");
        } else if attr.path().is_ident("fields") {
            errors.at(attr.span(), "an EQL query's field names are set by its dialect (ECS for `elasticsearch`, as written for `endgame`), not by `#[fields]`");
        }
    }
}

/// A `rule name = eql!("...");` item: an EQL event query, compiled into a
/// stateless rule like any other (same dispatch, prefilter and metadata).
fn lower_eql_rule(def: &RuleDef, src: &EqlSource, errors: &mut Errors) -> Option<Rule> {
    check_eql_attributes(&def.attrs, errors);
    let attrs = lower_attributes(&def.attrs, &def.name, errors);
    let query = parse_eql(src, "this rule", errors)?;
    if matches!(query.body, detect_eql::Body::Sequence(_)) {
        errors.at(
            src.text.span(),
            "this EQL query is a `sequence`; write it as `sequence name = eql!(...);`",
        );
        return None;
    }
    match query.to_rule(&def.name.to_string()) {
        Ok(mut rule) => {
            rule.meta = attrs.meta;
            Some(rule)
        }
        Err(e) => {
            errors.at(
                src.text.span(),
                format!("{e}; a `rule` takes one EQL event query"),
            );
            None
        }
    }
}

/// A `sequence name = "EQL";` item: the EQL text is parsed here, at compile
/// time, in the item's dialect (Elasticsearch by default).
fn lower_sequence(def: &SequenceDef, errors: &mut Errors) -> Option<Sequence> {
    check_eql_attributes(&def.attrs, errors);
    let attrs = lower_attributes(&def.attrs, &def.name, errors);
    let query = parse_eql(&def.eql, "this sequence", errors)?;
    if !matches!(query.body, detect_eql::Body::Sequence(_)) {
        errors.at(
            def.eql.text.span(),
            "expected an EQL `sequence` query; a single-event query is written as `rule name = eql!(...);`",
        );
        return None;
    }
    match query.to_sequence(&def.name.to_string()) {
        Ok(mut seq) => {
            seq.meta = attrs.meta;
            Some(seq)
        }
        Err(e) => {
            errors.at(def.eql.text.span(), format!("{e}; a `sequence` item takes an EQL `sequence` query (use `rule` for single events)"));
            None
        }
    }
}

/// `#[key = "text"]` or `#[key("text")]`.
fn string_value(attr: &Attribute) -> syn::Result<LitStr> {
    match &attr.meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.clone()),
            other => Err(syn::Error::new(other.span(), "expected a string literal")),
        },
        Meta::List(list) => list.parse_args::<LitStr>(),
        Meta::Path(p) => Err(syn::Error::new(
            p.span(),
            format!(
                "`{}` needs a value: `#[{0} = \"...\"]`",
                attr.path()
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        )),
    }
}

/// `#[key(word)]`, `#[key = word]` or `#[key = "word"]`.
fn word_value(attr: &Attribute) -> syn::Result<(String, Span)> {
    match &attr.meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok((s.value(), s.span())),
            Expr::Path(p) if p.path.get_ident().is_some() => Ok((
                p.path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                p.span(),
            )),
            other => Err(syn::Error::new(
                other.span(),
                "expected a word such as `medium`",
            )),
        },
        Meta::List(list) => {
            let items = list.parse_args_with(parse_list)?;
            match items.as_slice() {
                [(w, span)] => Ok((w.clone(), *span)),
                _ => Err(syn::Error::new(list.span(), "expected exactly one word")),
            }
        }
        Meta::Path(p) => Err(syn::Error::new(
            p.span(),
            "expected a value, e.g. `#[level(medium)]`",
        )),
    }
}

fn list_values(attr: &Attribute) -> syn::Result<Vec<String>> {
    match &attr.meta {
        Meta::List(list) => Ok(list
            .parse_args_with(parse_list)?
            .into_iter()
            .map(|(s, _)| s)
            .collect()),
        _ => string_value(attr).map(|s| vec![s.value()]),
    }
}

/// Comma-separated items; each is a string literal or tokens glued together
/// without spaces (`attack.t1218.007`, `dns-server`).
fn parse_list(input: ParseStream) -> syn::Result<Vec<(String, Span)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        if input.peek(LitStr) {
            let s: LitStr = input.parse()?;
            out.push((s.value(), s.span()));
        } else {
            let span = input.span();
            let mut text = String::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                let tt: TokenTree = input.parse()?;
                text.push_str(&tt.to_string());
            }
            if text.is_empty() {
                return Err(syn::Error::new(span, "empty item"));
            }
            out.push((text, span));
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(out)
}

fn parse_logsource(attr: &Attribute) -> syn::Result<(LogSource, Vec<(String, Span)>)> {
    let Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new(
            attr.span(),
            "write `#[logsource(product = windows, category = process_creation)]`",
        ));
    };
    list.parse_args_with(|input: ParseStream| {
        let mut ls = LogSource::default();
        let mut spans = Vec::new();
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            spans.push((key.to_string(), input.span()));
            let value = if input.peek(LitStr) {
                input.parse::<LitStr>()?.value()
            } else {
                let mut text = String::new();
                while !input.is_empty() && !input.peek(Token![,]) {
                    let tt: TokenTree = input.parse()?;
                    text.push_str(&tt.to_string());
                }
                text
            };
            match key.to_string().as_str() {
                "product" => ls.product = Some(value),
                "category" => ls.category = Some(value),
                "service" => ls.service = Some(value),
                "definition" => ls.definition = Some(value),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown log source key `{other}`; use product, category, service or definition"),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok((ls, spans))
    })
}
