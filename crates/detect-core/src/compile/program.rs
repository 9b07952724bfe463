//! Predicates of rules compiled at run time: [`Node`] trees evaluated as
//! they stand.
//!
//! A program is the plan itself: each node calls the [`crate::rt`] helper
//! that generated code would call, with the same constant arguments
//! (owned here), so the run-time door runs the same tests as the
//! build-time one. Evaluating it costs a `match` per node over what the
//! generated code does; the helpers (lookups, string search, automata)
//! dominate either way. Nothing allocates: the regexes and sets are built
//! at first use (or by [`Program::warm_up`]).

use super::plan::Node;
use crate::event::Event;
use crate::rt::{self, Text};

/// A compiled predicate.
#[derive(Debug)]
pub struct Program {
    root: Node,
}

impl Program {
    /// The program running `root`.
    pub fn new(root: Node) -> Program {
        Program { root }
    }

    /// The plan it runs.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Whether `event` satisfies the predicate; `paths` are the event paths
    /// of the rule set's fields in the event's layout.
    #[inline]
    pub fn eval(&self, event: &dyn Event, paths: &[Text]) -> bool {
        eval(&self.root, event, paths)
    }

    /// Builds the regexes and sets now.
    pub fn warm_up(&self) {
        warm_up(&self.root)
    }
}

fn eval(node: &Node, e: &dyn Event, p: &[Text]) -> bool {
    let at = |f: &u32| -> &str { &p[*f as usize] };
    match node {
        Node::Const(b) => *b,
        Node::And(steps) => steps.iter().all(|s| eval(s, e, p)),
        Node::Or(steps) => steps.iter().any(|s| eval(s, e, p)),
        Node::Not(inner) => !eval(inner, e, p),
        Node::Keyword(test) => rt::keyword_str(e, test),
        Node::Str { field, test } => rt::field_str(e, at(field), test),
        Node::StrAll { field, tests } => rt::field_str_all(e, at(field), tests),
        Node::StrAny { field, tests } => rt::field_str_any(e, at(field), tests),
        Node::StrAnyWithNeedles {
            field,
            tests,
            needles,
        } => rt::field_str_any_set(e, at(field), tests, needles),
        Node::StrSet {
            field,
            set,
            needles,
        } => rt::field_str_set(e, at(field), set, needles.as_ref()),
        Node::CidrAny { field, nets } => rt::field_cidr_any(e, at(field), nets),
        Node::Cidr {
            field,
            v4,
            addr,
            prefix,
        } => rt::field_cidr(e, at(field), *v4, *addr, *prefix),
        Node::Regex { field, regex } => rt::field_regex(e, at(field), regex),
        Node::Num { field, op, value } => rt::field_num(e, at(field), *op, *value),
        Node::Time {
            field,
            part,
            op,
            value,
        } => rt::field_time(e, at(field), *part, *op, *value),
        Node::Exists { field, exists } => rt::exists(e, at(field)) == *exists,
        Node::Null { field } => rt::is_null(e, at(field)),
        Node::FieldRef {
            field,
            other,
            kind,
            case_insensitive,
        } => rt::field_ref_match(e, at(field), at(other), *kind, *case_insensitive),
    }
}

fn warm_up(node: &Node) {
    match node {
        Node::And(steps) | Node::Or(steps) => steps.iter().for_each(warm_up),
        Node::Not(inner) => warm_up(inner),
        Node::StrAnyWithNeedles { needles, .. } => needles.warm_up(),
        Node::StrSet { set, needles, .. } => {
            set.warm_up();
            if let Some(n) = needles {
                n.warm_up();
            }
        }
        Node::Regex { regex, .. } => regex.warm_up(),
        _ => {}
    }
}
