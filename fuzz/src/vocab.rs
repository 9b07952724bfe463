//! The vocabulary events are built from: the event paths rules read, per
//! layout, and the literals they compare those paths with.
//!
//! Everything is taken from the rule sets' IR lowered onto each layout
//! (`detect::__internals::compile::lower::lower`), log source conditions included, so generated
//! events reach the same fields and values the rules test, whatever rule set
//! the fuzzer runs.

use detect::__internals::compile::lower::lower;
use detect::Layout;
use detect::ir::{Cidr, Expr, GlobToken, Number, RuleSet, StrKind, Test, TimePart};

/// A value a rule compares a field with.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// Text (exact, prefix, suffix, contains, regex source, keyword).
    Text(String),
    /// A wildcard pattern, instantiated with chosen text for `?` and `*`.
    Glob(Vec<GlobToken>),
    /// A network: events get addresses in and around it.
    Cidr(Cidr),
    /// A number: events get it and its neighbours, as numbers or text.
    Num(Number),
    /// A time part comparison: events get timestamps.
    Time(TimePart, i64),
}

/// One event path and the literals compared with it.
#[derive(Clone, Debug, Default)]
pub struct FieldVocab {
    /// The event path (dotted).
    pub path: String,
    /// Indices into [`Vocab::lits`].
    pub lits: Vec<usize>,
}

/// Paths per layout and all literals.
#[derive(Clone, Debug, Default)]
pub struct Vocab {
    /// `fields[layout index]`: paths of that layout ([`Layout::ALL`] order).
    pub fields: [Vec<FieldVocab>; 3],
    /// Every literal, deduplicated.
    pub lits: Vec<Lit>,
    /// Literals of keyword tests (searched in every value).
    pub keywords: Vec<usize>,
    /// `rules[layout index][set]`: every rule of rule set `set` lowered onto
    /// that layout (log source condition included), and its sequence stages
    /// (ECS), for events built to satisfy one of them. Grouped by set so that
    /// a small set is picked as often as a large one.
    pub rules: [Vec<Vec<Expr>>; 3],
}

impl Vocab {
    /// The vocabulary of every rule and sequence stage of `sets`.
    pub fn of(sets: &[RuleSet]) -> Vocab {
        let mut v = Vocab::default();
        for (si, set) in sets.iter().enumerate() {
            for per_layout in &mut v.rules {
                per_layout.push(Vec::new());
            }
            for rule in &set.rules {
                for (li, layout) in Layout::ALL.into_iter().enumerate() {
                    if let Ok(expr) = lower(rule, layout) {
                        v.walk(li, &expr);
                        v.rules[li][si].push(expr);
                    }
                }
            }
            for seq in &set.sequences {
                for stage in seq.stages.iter().chain(seq.until.as_ref()) {
                    // Sequence stages are already over event paths (ECS).
                    v.walk(2, &stage.condition);
                    v.rules[2][si].push(stage.condition.clone());
                    for k in &stage.keys {
                        v.field(2, k);
                    }
                }
                v.field(2, "@timestamp");
            }
        }
        v
    }

    fn lit(&mut self, lit: Lit) -> usize {
        match self.lits.iter().position(|l| *l == lit) {
            Some(i) => i,
            None => {
                self.lits.push(lit);
                self.lits.len() - 1
            }
        }
    }

    fn field(&mut self, layout: usize, path: &str) -> usize {
        let fields = &mut self.fields[layout];
        match fields.iter().position(|f| f.path == path) {
            Some(i) => i,
            None => {
                fields.push(FieldVocab {
                    path: path.to_string(),
                    lits: Vec::new(),
                });
                fields.len() - 1
            }
        }
    }

    fn walk(&mut self, layout: usize, expr: &Expr) {
        match expr {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| self.walk(layout, e)),
            Expr::Not(e) => self.walk(layout, e),
            Expr::Keyword(p) => {
                let l = self.lit(str_lit(&p.kind));
                if !self.keywords.contains(&l) {
                    self.keywords.push(l);
                }
            }
            Expr::Field(t) => {
                let f = self.field(layout, &t.field);
                let lit = match &t.test {
                    Test::Str(p) => Some(str_lit(&p.kind)),
                    Test::Regex(r) => Some(Lit::Text(r.pattern.clone())),
                    Test::Cidr(c) => Some(Lit::Cidr(*c)),
                    Test::Num { value, .. } => Some(Lit::Num(*value)),
                    Test::Time { part, value, .. } => Some(Lit::Time(*part, *value)),
                    Test::FieldRef { other, .. } => {
                        self.field(layout, other);
                        None
                    }
                    Test::Exists(_) | Test::Null => None,
                };
                if let Some(lit) = lit {
                    let l = self.lit(lit);
                    let lits = &mut self.fields[layout][f].lits;
                    if !lits.contains(&l) {
                        lits.push(l);
                    }
                }
            }
        }
    }
}

fn str_lit(kind: &StrKind) -> Lit {
    match kind {
        StrKind::Exact(s) | StrKind::Prefix(s) | StrKind::Suffix(s) | StrKind::Contains(s) => {
            Lit::Text(s.clone())
        }
        StrKind::Glob(toks) => Lit::Glob(toks.clone()),
    }
}
