//! Lowering a rule to one boolean expression per event layout.
//!
//! Both back ends start here: [`lower`] inlines the condition over the named
//! selections, applies the log source (each [`crate::compile::logsource::SourceVariant`]
//! becomes `variant condition AND detection-with-renames`), and maps every field
//! name onto the target [`Layout`]. The result only contains [`Expr`] nodes
//! whose fields are event paths, ready to be compiled into Rust or interpreted.

use crate::compile::logsource::{Dispatch, UnknownLogSource, resolve};
use crate::ir::{Condition, Detection, Expr, Rule};
use crate::layout::{Layout, map_field};

/// One log source variant of a rule, lowered onto a layout.
#[derive(Clone, Debug, PartialEq)]
pub struct LoweredVariant {
    /// The variant's condition as channel/event-ID sets, when it has that shape.
    pub dispatch: Option<Dispatch>,
    /// The variant's condition over event paths (`And([])` when there is none).
    pub source: Expr,
    /// The rule's detection with the variant's renames, over event paths.
    pub body: Expr,
}

/// The rule as one [`LoweredVariant`] per log source variant, in variant order.
/// The rule matches an event when some variant's `source` and `body` both hold;
/// [`lower`] is exactly that disjunction.
pub fn lower_variants(
    rule: &Rule,
    layout: Layout,
) -> Result<Vec<LoweredVariant>, UnknownLogSource> {
    lower_variants_with(rule, &|f| map_field(rule.vocabulary, layout, f))
}

/// Like [`lower_variants`], with field names left in the rule's vocabulary
/// (renames applied): the code generator maps them through per-layout path
/// tables so one function serves every layout.
pub fn lower_variants_in_vocabulary(rule: &Rule) -> Result<Vec<LoweredVariant>, UnknownLogSource> {
    lower_variants_with(rule, &|f| f.to_string())
}

fn lower_variants_with(
    rule: &Rule,
    map: &dyn Fn(&str) -> String,
) -> Result<Vec<LoweredVariant>, UnknownLogSource> {
    let variants = resolve(&rule.logsource, rule.vocabulary)?;
    let detection = condition_expr(&rule.detection, &rule.detection.condition);
    let mut out = Vec::with_capacity(variants.len());
    for variant in variants {
        let mut body = detection.clone();
        if !variant.renames.is_empty() {
            body.map_fields(&mut |f| {
                variant
                    .renames
                    .iter()
                    .find(|(from, _)| *from == f)
                    .map_or_else(|| f.to_string(), |(_, to)| (*to).to_string())
            });
        }
        let mut source = variant.condition;
        body.map_fields(&mut |f| map(f));
        source.map_fields(&mut |f| map(f));
        out.push(LoweredVariant {
            dispatch: variant.dispatch,
            source: simplify(source),
            body: simplify(body),
        });
    }
    Ok(out)
}

/// The rule as one expression over event paths of `layout`.
///
/// ```
/// use detect_core::ir::*;
/// use detect_core::{compile::lower::lower, layout::Layout};
/// let rule = Rule {
///     name: "r".into(),
///     meta: Metadata::default(),
///     logsource: LogSource { product: Some("windows".into()), service: Some("application".into()), ..Default::default() },
///     vocabulary: Vocabulary::Windows,
///     detection: Detection {
///         selections: vec![Selection { name: "s".into(), expr: Expr::Field(FieldTest { field: "Data".into(), test: Test::Null }) }],
///         condition: Condition::Selection(0),
///     },
/// };
/// let Expr::And(parts) = lower(&rule, Layout::EvtxNested).unwrap() else { panic!() };
/// let mut fields = Vec::new();
/// parts.iter().for_each(|p| p.visit_fields(&mut |f| fields.push(f.to_string())));
/// assert_eq!(fields, ["Event.System.Channel", "Event.EventData.Data"]);
/// ```
pub fn lower(rule: &Rule, layout: Layout) -> Result<Expr, UnknownLogSource> {
    let alternatives = lower_variants(rule, layout)?
        .into_iter()
        .map(|v| Expr::And(vec![v.source, v.body]))
        .collect();
    Ok(simplify(Expr::Or(alternatives)))
}

/// The condition with every selection reference replaced by the selection's expression.
pub fn condition_expr(detection: &Detection, condition: &Condition) -> Expr {
    let sel = |i: &usize| detection.selections[*i].expr.clone();
    match condition {
        Condition::Selection(i) => sel(i),
        Condition::Not(c) => Expr::Not(Box::new(condition_expr(detection, c))),
        Condition::And(cs) => Expr::And(cs.iter().map(|c| condition_expr(detection, c)).collect()),
        Condition::Or(cs) => Expr::Or(cs.iter().map(|c| condition_expr(detection, c)).collect()),
        Condition::AnyOf(ids) => Expr::Or(ids.iter().map(sel).collect()),
        Condition::AllOf(ids) => Expr::And(ids.iter().map(sel).collect()),
    }
}

/// Flattens nested `And`/`Or`, drops neutral elements, unwraps single children
/// and double negations. Preserves meaning exactly (no short-circuit order
/// changes beyond flattening).
///
/// ```
/// use detect_core::ir::Expr;
/// use detect_core::compile::lower::simplify;
/// let e = Expr::Or(vec![Expr::And(vec![Expr::And(vec![]), Expr::Or(vec![])])]);
/// assert_eq!(simplify(e), Expr::Or(vec![]));
/// ```
pub fn simplify(expr: Expr) -> Expr {
    match expr {
        Expr::And(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts.into_iter().map(simplify) {
                match p {
                    Expr::And(inner) => out.extend(inner),
                    Expr::Or(ref inner) if inner.is_empty() => return Expr::Or(vec![]),
                    other => out.push(other),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or(Expr::And(vec![]))
            } else {
                Expr::And(out)
            }
        }
        Expr::Or(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for p in parts.into_iter().map(simplify) {
                match p {
                    Expr::Or(inner) => out.extend(inner),
                    Expr::And(ref inner) if inner.is_empty() => return Expr::And(vec![]),
                    other => out.push(other),
                }
            }
            if out.len() == 1 {
                out.pop().unwrap_or(Expr::Or(vec![]))
            } else {
                Expr::Or(out)
            }
        }
        Expr::Not(inner) => match simplify(*inner) {
            Expr::Not(x) => *x,
            other => Expr::Not(Box::new(other)),
        },
        leaf => leaf,
    }
}
