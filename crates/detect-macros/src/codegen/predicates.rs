//! Predicates as Rust: each [`Node`] of a predicate's plan becomes the call
//! of the `rt` helper it names, with its constant arguments in `static`
//! items, so a rule's body reads as a boolean expression of helper calls.
//!
//! Regexes and sets (built on first use) are statics of the rule set's
//! module, shared by every predicate that uses an equal one, so that
//! `warm_up` can build them all ahead of the first event.

use std::cell::RefCell;
use std::collections::BTreeMap;

use detect_core::compile::Node;
use detect_core::ir::{NumOp, Number, RefKind, TimePart};
use detect_core::matcher::GlobTok;
use detect_core::rt::StrTest;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Ident;

/// The statics that predicates share (regexes, sets), and the statement
/// that builds each.
#[derive(Default)]
pub struct SharedStatics {
    /// The statics' declarations.
    pub decls: RefCell<Vec<TokenStream>>,
    /// One statement per static that builds it.
    pub warm: RefCell<Vec<TokenStream>>,
    /// The static already declared for a given content.
    by_content: RefCell<BTreeMap<String, Ident>>,
}

impl SharedStatics {
    /// The static named `prefix` and a fresh number for `key`, declared by
    /// `decl` and built by `warm` the first time `key` is asked for.
    fn shared(
        &self,
        key: String,
        prefix: &str,
        decl: impl FnOnce(&Ident) -> TokenStream,
        warm: impl FnOnce(&Ident) -> TokenStream,
    ) -> Ident {
        if let Some(name) = self.by_content.borrow().get(&key) {
            return name.clone();
        }
        let name = format_ident!("{}_{}", prefix, self.decls.borrow().len());
        self.decls.borrow_mut().push(decl(&name));
        self.warm.borrow_mut().push(warm(&name));
        self.by_content.borrow_mut().insert(key, name.clone());
        name
    }

    fn regex(&self, pattern: &str) -> Ident {
        self.shared(
            format!("re {pattern}"),
            "REGEX",
            |name| {
                let doc = format!(" The regex `{pattern}`, compiled on first use.");
                quote!(
                    #[doc = #doc]
                    static #name: rt::LazyRegex = rt::LazyRegex::new(Text::Borrowed(#pattern));
                )
            },
            |name| quote!(#name.warm_up();),
        )
    }

    fn str_set(&self, tests: &[StrTest]) -> Ident {
        let tests: Vec<TokenStream> = tests.iter().map(str_test).collect();
        let key: Vec<String> = tests.iter().map(ToString::to_string).collect();
        self.shared(
            format!("strs {key:?}"),
            "STR_SET",
            |name| {
                quote!(
                    /// String tests of one field, matched together (built on first use).
                    static #name: rt::StrSet = rt::StrSet::new(List::Borrowed(&[#(#tests),*]));
                )
            },
            |name| quote!(#name.warm_up();),
        )
    }

    fn needles(&self, needles: &[std::borrow::Cow<'static, str>]) -> Ident {
        let needles: Vec<&str> = needles.iter().map(|n| &**n).collect();
        self.shared(
            format!("set {needles:?}"),
            "NEEDLES",
            |name| {
                quote!(
                    /// Substrings searched for in one pass (built on first use).
                    static #name: rt::ContainsSet =
                    rt::ContainsSet::new(List::Borrowed(&[#(Text::Borrowed(#needles)),*]));)
            },
            |name| quote!(#name.warm_up();),
        )
    }
}

/// The body of a predicate function: [`node`] without the braces of a
/// lone block, nor the parentheses
/// around a top-level `&&` or `||` chain, unless its first operand is a
/// block (a statement there: `{ .. } && x` would not parse as one
/// expression).
pub fn body(n: &Node, statics: &SharedStatics) -> TokenStream {
    let (steps, and) = match n {
        Node::And(steps) if steps.len() > 1 => (steps, true),
        Node::Or(steps) if steps.len() > 1 => (steps, false),
        _ => return unbraced(node(n, statics)),
    };
    let steps: Vec<TokenStream> = steps.iter().map(|s| node(s, statics)).collect();
    let starts_with_block = matches!(
        steps[0].clone().into_iter().next(),
        Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
    );
    let chain = if and {
        quote!(#(#steps)&&*)
    } else {
        quote!(#(#steps)||*)
    };
    if starts_with_block {
        quote!((#chain))
    } else {
        chain
    }
}

/// `tokens` without their braces when they are one block (the function
/// body is a block already).
fn unbraced(tokens: TokenStream) -> TokenStream {
    let mut trees = tokens.clone().into_iter();
    match (trees.next(), trees.next()) {
        (Some(proc_macro2::TokenTree::Group(g)), None)
            if g.delimiter() == proc_macro2::Delimiter::Brace =>
        {
            g.stream()
        }
        _ => tokens,
    }
}

/// The boolean expression running `node` over `e` (the event) and `p`
/// (the field paths).
pub fn node(n: &Node, statics: &SharedStatics) -> TokenStream {
    let path = |f: &u32| {
        let f = proc_macro2::Literal::u32_unsuffixed(*f);
        quote!(&p[#f])
    };
    match n {
        Node::Const(b) => quote!(#b),
        Node::And(steps) if steps.is_empty() => quote!(true),
        Node::Or(steps) if steps.is_empty() => quote!(false),
        Node::And(steps) if steps.len() == 1 => node(&steps[0], statics),
        Node::Or(steps) if steps.len() == 1 => node(&steps[0], statics),
        Node::And(steps) => {
            let steps = steps.iter().map(|s| node(s, statics));
            quote!((#(#steps)&&*))
        }
        Node::Or(steps) => {
            let steps = steps.iter().map(|s| node(s, statics));
            quote!((#(#steps)||*))
        }
        Node::Not(inner) => {
            let inner = node(inner, statics);
            quote!(!#inner)
        }
        Node::Keyword(test) => {
            let test = str_test(test);
            quote!({
                static TEST: rt::StrTest = #test;
                rt::keyword_str(e, &TEST)
            })
        }
        Node::Str { field, test } => {
            let (path, test) = (path(field), str_test(test));
            quote!({
                static TEST: rt::StrTest = #test;
                rt::field_str(e, #path, &TEST)
            })
        }
        Node::StrAll { field, tests } => {
            let (path, tests) = (path(field), tests.iter().map(str_test));
            quote!({
                static TESTS: &[rt::StrTest] = &[#(#tests),*];
                rt::field_str_all(e, #path, TESTS)
            })
        }
        Node::StrAny { field, tests } => {
            let (path, tests) = (path(field), tests.iter().map(str_test));
            quote!({
                static TESTS: &[rt::StrTest] = &[#(#tests),*];
                rt::field_str_any(e, #path, TESTS)
            })
        }
        Node::StrAnyWithNeedles {
            field,
            tests,
            needles,
        } => {
            let set = statics.needles(needles.needles());
            let (path, tests) = (path(field), tests.iter().map(str_test));
            quote!({
                static TESTS: &[rt::StrTest] = &[#(#tests),*];
                rt::field_str_any_set(e, #path, TESTS, &#set)
            })
        }
        Node::StrSet {
            field,
            set,
            needles,
        } => {
            let strs = statics.str_set(set.tests());
            let needles = match needles {
                Some(n) => {
                    let n = statics.needles(n.needles());
                    quote!(::core::option::Option::Some(&#n))
                }
                None => quote!(::core::option::Option::None),
            };
            let path = path(field);
            quote!(rt::field_str_set(e, #path, &#strs, #needles))
        }
        Node::CidrAny { field, nets } => {
            let path = path(field);
            let nets = nets
                .iter()
                .map(|(v4, addr, prefix)| quote!((#v4, #addr, #prefix)));
            quote!({
                static NETS: &[(bool, u128, u8)] = &[#(#nets),*];
                rt::field_cidr_any(e, #path, NETS)
            })
        }
        Node::Cidr {
            field,
            v4,
            addr,
            prefix,
        } => {
            let path = path(field);
            quote!(rt::field_cidr(e, #path, #v4, #addr, #prefix))
        }
        Node::Regex { field, regex } => {
            let re = statics.regex(regex.pattern());
            let path = path(field);
            quote!(rt::field_regex(e, #path, &#re))
        }
        Node::Num { field, op, value } => {
            let (path, op, value) = (path(field), num_op(*op), number(*value));
            quote!(rt::field_num(e, #path, #op, #value))
        }
        Node::Time {
            field,
            part,
            op,
            value,
        } => {
            let (path, part, op) = (path(field), time_part(*part), num_op(*op));
            quote!(rt::field_time(e, #path, #part, #op, #value))
        }
        Node::Exists {
            field,
            exists: true,
        } => {
            let path = path(field);
            quote!(rt::exists(e, #path))
        }
        Node::Exists {
            field,
            exists: false,
        } => {
            let path = path(field);
            quote!(!rt::exists(e, #path))
        }
        Node::Null { field } => {
            let path = path(field);
            quote!(rt::is_null(e, #path))
        }
        Node::FieldRef {
            field,
            other,
            kind,
            case_insensitive,
        } => {
            let (path, other) = (path(field), path(other));
            let kind = match kind {
                RefKind::Exact => quote!(::detect::ir::RefKind::Exact),
                RefKind::Prefix => quote!(::detect::ir::RefKind::Prefix),
                RefKind::Suffix => quote!(::detect::ir::RefKind::Suffix),
                RefKind::Contains => quote!(::detect::ir::RefKind::Contains),
            };
            quote!(rt::field_ref_match(e, #path, #other, #kind, #case_insensitive))
        }
    }
}

/// The constant `StrTest` (patterns already folded by the plan).
fn str_test(t: &StrTest) -> TokenStream {
    match t {
        StrTest::Eq(s) => quote!(rt::StrTest::Eq(Text::Borrowed(#s))),
        StrTest::EqCi(s) => quote!(rt::StrTest::EqCi(Text::Borrowed(#s))),
        StrTest::Prefix(s) => quote!(rt::StrTest::Prefix(Text::Borrowed(#s))),
        StrTest::PrefixCi(s) => quote!(rt::StrTest::PrefixCi(Text::Borrowed(#s))),
        StrTest::Suffix(s) => quote!(rt::StrTest::Suffix(Text::Borrowed(#s))),
        StrTest::SuffixCi(s) => quote!(rt::StrTest::SuffixCi(Text::Borrowed(#s))),
        StrTest::Contains(s) => quote!(rt::StrTest::Contains(Text::Borrowed(#s))),
        StrTest::ContainsCi(s) => quote!(rt::StrTest::ContainsCi(Text::Borrowed(#s))),
        StrTest::Glob(tokens, ci) => {
            let tokens = tokens.iter().map(|tok| match tok {
                GlobTok::Lit(s) => {
                    let s: &str = s;
                    quote!(rt::GlobTok::Lit(Text::Borrowed(#s)))
                }
                GlobTok::AnyChar => quote!(rt::GlobTok::AnyChar),
                GlobTok::AnyRun => quote!(rt::GlobTok::AnyRun),
            });
            quote!(rt::StrTest::Glob(List::Borrowed(&[#(#tokens),*]), #ci))
        }
    }
}

fn num_op(op: NumOp) -> TokenStream {
    let v = format_ident!("{}", format!("{op:?}"));
    quote!(::detect::ir::NumOp::#v)
}

fn number(n: Number) -> TokenStream {
    match n {
        Number::Int(i) => quote!(::detect::ir::Number::Int(#i)),
        Number::Float(f) => quote!(::detect::ir::Number::Float(#f)),
    }
}

fn time_part(p: TimePart) -> TokenStream {
    let v = format_ident!("{}", format!("{p:?}"));
    quote!(::detect::ir::TimePart::#v)
}
