//! IR -> Rust.
//!
//! For every rule and every event layout the rule is lowered (log source
//! conditions added, fields mapped: `detect_core::lower`) and compiled into a
//! plain boolean expression of calls to `detect::__rt` helpers with constant
//! arguments. Everything that can be decided at compile time is: patterns are
//! case-folded here, wildcard shapes are reduced to prefix/suffix/contains
//! where possible, modifier expansions are already literals in the IR, and a
//! regex is compiled once per process on first use. `scan` matches on the
//! event's layout once and then runs each rule's function for that layout.

use detect_core::ir::{
    Case, Expr, GlobToken, NumOp, Number, RefKind, RuleSet, StrKind, StrPattern, Test, TimePart,
};
use detect_core::layout::Layout;
use detect_core::matcher::fold;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::parse::RulesFile;

pub fn generate(file: &RulesFile, set: &RuleSet) -> TokenStream {
    let name = &file.name;
    let vis = &file.vis;
    let docs = file.attrs.iter().filter(|a| a.path().is_ident("doc"));
    let infos = set.rules.iter().enumerate().map(|(i, r)| rule_info(i, r));
    let json = serde_json::to_string(set).unwrap_or_default();
    let mut fns = Vec::new();
    let mut arms = Vec::new();
    for layout in Layout::ALL {
        let mut calls = Vec::new();
        for (i, rule) in set.rules.iter().enumerate() {
            let f = format_ident!("__rule_{}_{}", i, layout.as_str());
            let body = match detect_core::lower::lower(rule, layout) {
                Ok(expr) => expr_tokens(&expr),
                // Validated while lowering the DSL; unreachable in practice.
                Err(e) => {
                    let msg = e.to_string();
                    quote!(compile_error!(#msg))
                }
            };
            fns.push(quote! {
                #[inline]
                #[allow(clippy::all, unused_variables)]
                fn #f<E: ::detect::Event + ?Sized>(e: &E) -> bool { #body }
            });
            calls.push(quote! { if Self::#f(event) { sink(&Self::RULES[#i]); } });
        }
        let variant = format_ident!("{}", format!("{layout:?}"));
        arms.push(quote! { ::detect::Layout::#variant => { #(#calls)* } });
    }
    let count = set.rules.len();
    quote! {
        #(#docs)*
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #name;

        impl #name {
            /// Metadata of every rule, in declaration order.
            pub const RULES: &'static [::detect::RuleInfo] = &[#(#infos),*];
            /// Number of rules in the set.
            pub const LEN: usize = #count;

            /// Evaluates every rule against `event` and calls `sink` for each
            /// match, in rule order. Allocates nothing.
            #[inline]
            pub fn scan<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, mut sink: F) {
                match ::detect::Event::layout(event) {
                    #(#arms)*
                }
            }

            /// The metadata of the rule called `name`.
            pub fn rule(name: &str) -> ::core::option::Option<&'static ::detect::RuleInfo> {
                Self::RULES.iter().find(|r| r.name == name)
            }

            /// The IR this code was generated from (for the reference interpreter).
            pub fn ir() -> ::detect::ir::RuleSet {
                ::detect::__rt::ir_from_json(#json)
            }

            #(#fns)*
        }

        impl ::detect::CompiledRuleSet for #name {
            const RULES: &'static [::detect::RuleInfo] = #name::RULES;
            #[inline]
            fn scan<E: ::detect::Event + ?Sized, F: FnMut(&'static ::detect::RuleInfo)>(event: &E, sink: F) {
                #name::scan(event, sink)
            }
            fn ir() -> ::detect::ir::RuleSet {
                #name::ir()
            }
        }
    }
}

fn opt_str(s: &Option<String>) -> TokenStream {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn rule_info(index: usize, r: &detect_core::ir::Rule) -> TokenStream {
    let name = &r.name;
    let id = opt_str(&r.meta.id);
    let title = &r.meta.title;
    let description = opt_str(&r.meta.description);
    let level = format_ident!("{}", format!("{:?}", r.meta.level));
    let status = match r.meta.status {
        Some(s) => {
            let s = format_ident!("{}", format!("{s:?}"));
            quote!(::core::option::Option::Some(::detect::ir::Status::#s))
        }
        None => quote!(::core::option::Option::None),
    };
    let tags = &r.meta.tags;
    let references = &r.meta.references;
    let falsepositives = &r.meta.falsepositives;
    let author = opt_str(&r.meta.author);
    let product = opt_str(&r.logsource.product);
    let category = opt_str(&r.logsource.category);
    let service = opt_str(&r.logsource.service);
    quote! {
        ::detect::RuleInfo {
            index: #index,
            name: #name,
            id: #id,
            title: #title,
            description: #description,
            level: ::detect::ir::Level::#level,
            status: #status,
            tags: &[#(#tags),*],
            references: &[#(#references),*],
            falsepositives: &[#(#falsepositives),*],
            author: #author,
            logsource: ::detect::LogSourceInfo { product: #product, category: #category, service: #service },
        }
    }
}

fn expr_tokens(expr: &Expr) -> TokenStream {
    match expr {
        Expr::And(parts) if parts.is_empty() => quote!(true),
        Expr::Or(parts) if parts.is_empty() => quote!(false),
        Expr::And(parts) => {
            let p = parts.iter().map(expr_tokens);
            quote!((#(#p)&&*))
        }
        Expr::Or(parts) => {
            let p = parts.iter().map(expr_tokens);
            quote!((#(#p)||*))
        }
        Expr::Not(inner) => {
            let i = expr_tokens(inner);
            quote!((!#i))
        }
        Expr::Keyword(p) => {
            let m = str_match(p);
            quote!(::detect::__rt::any_value_text(e, |t: &str| #m))
        }
        Expr::Field(ft) => {
            let path = &ft.field;
            match &ft.test {
                Test::Str(p) => {
                    let m = str_match(p);
                    quote!(::detect::__rt::any_text(e, #path, |t: &str| #m))
                }
                Test::Regex(re) => {
                    let pattern = re.full_pattern();
                    quote!({
                        static RE: ::std::sync::OnceLock<::detect::__rt::Regex> = ::std::sync::OnceLock::new();
                        let re = RE.get_or_init(|| ::detect::__rt::compile_regex(#pattern));
                        ::detect::__rt::any_text(e, #path, |t: &str| re.is_match(t))
                    })
                }
                Test::Cidr(c) => {
                    let (v4, addr, prefix) = (c.v4, c.addr, c.prefix);
                    quote!(::detect::__rt::any_text(e, #path, |t: &str| ::detect::__rt::cidr_contains(t, #v4, #addr, #prefix)))
                }
                Test::Num { op, value } => {
                    let op = num_op(*op);
                    let value = number(*value);
                    quote!(::detect::__rt::any_number(e, #path, |n| ::detect::__rt::cmp_number(n, #op, #value)))
                }
                Test::Time { part, op, value } => {
                    let part = time_part(*part);
                    let op = num_op(*op);
                    quote!(::detect::__rt::any_text(e, #path, |t: &str| {
                        ::detect::__rt::time_part(t, #part).is_some_and(|x| {
                            ::detect::__rt::cmp_number(::detect::ir::Number::Int(x), #op, ::detect::ir::Number::Int(#value))
                        })
                    }))
                }
                Test::Exists(true) => quote!(::detect::__rt::exists(e, #path)),
                Test::Exists(false) => quote!((!::detect::__rt::exists(e, #path))),
                Test::Null => quote!(::detect::__rt::is_null(e, #path)),
                Test::FieldRef { other, kind, case } => {
                    let kind = match kind {
                        RefKind::Exact => quote!(::detect::ir::RefKind::Exact),
                        RefKind::Prefix => quote!(::detect::ir::RefKind::Prefix),
                        RefKind::Suffix => quote!(::detect::ir::RefKind::Suffix),
                        RefKind::Contains => quote!(::detect::ir::RefKind::Contains),
                    };
                    let ci = *case == Case::Insensitive;
                    quote!(::detect::__rt::field_ref(e, #path, #other, |a: &str, b: &str| ::detect::__rt::ref_match(a, b, #kind, #ci)))
                }
            }
        }
    }
}

/// True when case folding cannot change whether `s` matches: no character of
/// `s` is the lowercase of anything (only letters have case mappings).
fn case_neutral(s: &str) -> bool {
    !s.chars().any(char::is_alphabetic)
}

fn str_match(p: &StrPattern) -> TokenStream {
    let ci = p.case == Case::Insensitive;
    match &p.kind {
        StrKind::Exact(s) if !ci || case_neutral(s) => quote!(t == #s),
        StrKind::Prefix(s) if !ci || case_neutral(s) => quote!(t.starts_with(#s)),
        StrKind::Suffix(s) if !ci || case_neutral(s) => quote!(t.ends_with(#s)),
        StrKind::Contains(s) if !ci || case_neutral(s) => quote!(::detect::__rt::contains(t, #s)),
        StrKind::Exact(s) => {
            let f = fold(s);
            quote!(::detect::__rt::eq_ci(t, #f))
        }
        StrKind::Prefix(s) => {
            let f = fold(s);
            quote!(::detect::__rt::starts_with_ci(t, #f))
        }
        StrKind::Suffix(s) => {
            let f = fold(s);
            quote!(::detect::__rt::ends_with_ci(t, #f))
        }
        StrKind::Contains(s) => {
            let f = fold(s);
            quote!(::detect::__rt::contains_ci(t, #f))
        }
        StrKind::Glob(tokens) => {
            let toks = tokens.iter().map(|t| match t {
                GlobToken::Lit(s) => {
                    let s = if ci { fold(s) } else { s.clone() };
                    quote!(::detect::__rt::GlobTok::Lit(#s))
                }
                GlobToken::AnyChar => quote!(::detect::__rt::GlobTok::AnyChar),
                GlobToken::AnyRun => quote!(::detect::__rt::GlobTok::AnyRun),
            });
            quote!(::detect::__rt::glob(t, &[#(#toks),*], #ci))
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
