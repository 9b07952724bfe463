//! The grammar of `rules!`, parsed with syn into a span-carrying AST.
//!
//! ```text
//! file        := attr* vis "ruleset" IDENT ";" item*
//! item        := placeholder | rule | sequence
//! sequence    := attr* "sequence" IDENT "=" (STRING | eql) ";"   (an EQL sequence query)
//! placeholder := "placeholder" IDENT "=" "[" STRING,* "]" ";"
//! rule        := attr* "rule" IDENT ("{" (entry ("," entry)* ","?)? "}" | "=" eql ";")
//! eql         := "eql" "!" "(" ["dialect" "=" IDENT ","] STRING ","? ")"  (EQL text, verbatim)
//! entry       := IDENT ":" selection | "condition" ":" cond
//! selection   := map | "[" map,+ "]" | "[" value,+ "]"
//! map         := "{" (item ("," item)* ","?)? "}"
//! item        := field? ("|" IDENT)* ":" (value | "[" value,* "]")
//! field       := STRING | IDENT ("." IDENT)*
//! value       := STRING | ["-"] INT | ["-"] FLOAT | "true" | "false" | "null"
//! cond        := or ; or := and ("or" and)* ; and := not ("and" not)*
//! not         := "not" not | "(" or ")" | ("1" | "all") "of" (pattern | "them") | IDENT
//! ```
//! Nothing is interpreted here; [`crate::lower`] gives the AST its meaning.

use detect_core::compile::sigma::SigmaValue;
use detect_core::ir::Number;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Token, Visibility, braced, bracketed, parenthesized};

pub struct RulesFile {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub placeholders: Vec<PlaceholderDef>,
    pub rules: Vec<RuleDef>,
    pub sequences: Vec<SequenceDef>,
}

/// `sequence name = "EQL sequence query";` or `sequence name = eql!(...);`
pub struct SequenceDef {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub eql: EqlSource,
}

/// EQL text written verbatim: `eql!("...")` or `eql!(dialect = endgame, "...")`
/// (or, after `sequence name =`, a bare string).
pub struct EqlSource {
    /// `dialect = NAME`, when given.
    pub dialect: Option<Ident>,
    /// The query text.
    pub text: LitStr,
}

impl EqlSource {
    /// A bare string, or `eql!(...)`.
    fn parse(input: ParseStream, bare: bool) -> syn::Result<EqlSource> {
        if bare && input.peek(LitStr) {
            return Ok(EqlSource {
                dialect: None,
                text: input.parse()?,
            });
        }
        let hint = "write `eql!(r#\"EQL query\"#)` or `eql!(dialect = endgame, r#\"...\"#)`";
        expect_word(input, "eql", hint)?;
        input
            .parse::<Token![!]>()
            .map_err(|e| syn::Error::new(e.span(), hint))?;
        let content;
        parenthesized!(content in input);
        let mut dialect = None;
        if is_word(&content, "dialect") {
            content.call(Ident::parse_any)?;
            content.parse::<Token![=]>()?;
            dialect = Some(content.call(Ident::parse_any)?);
            content.parse::<Token![,]>()?;
        }
        let text: LitStr = content.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected the EQL text as a string literal; {hint}"),
            )
        })?;
        if content.peek(Token![,]) {
            content.parse::<Token![,]>()?;
        }
        if !content.is_empty() {
            return Err(content.error(format!("unexpected tokens after the EQL text; {hint}")));
        }
        Ok(EqlSource { dialect, text })
    }
}

pub struct PlaceholderDef {
    pub name: Ident,
    pub values: Vec<LitStr>,
}

pub struct RuleDef {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    /// `rule name = eql!(...);`: the rule is this EQL event query (and has
    /// no selections or condition).
    pub eql: Option<EqlSource>,
    pub body_span: Span,
    pub selections: Vec<SelDef>,
    pub condition: Option<CondExpr>,
}

pub struct SelDef {
    pub name: Ident,
    pub body: SelBody,
}

pub enum SelBody {
    Map(MapDef),
    Maps(Vec<MapDef>, Span),
    Keywords(Vec<ValueDef>, Span),
}

pub struct MapDef {
    pub span: Span,
    pub entries: Vec<EntryDef>,
}

pub struct EntryDef {
    pub field: Option<(String, Span)>,
    pub mods: Vec<Ident>,
    pub colon: Span,
    pub values: Vec<ValueDef>,
    pub values_span: Span,
}

#[derive(Clone)]
pub struct ValueDef {
    pub value: SigmaValue,
    pub span: Span,
}

pub enum CondExpr {
    Ref(Ident),
    Not(Box<CondExpr>),
    And(Vec<CondExpr>),
    Or(Vec<CondExpr>),
    Of {
        all: bool,
        pattern: String,
        span: Span,
    },
}

fn is_word(input: ParseStream, word: &str) -> bool {
    input.peek(Ident::peek_any) && input.fork().call(Ident::parse_any).is_ok_and(|i| i == word)
}

fn expect_word(input: ParseStream, word: &str, hint: &str) -> syn::Result<Ident> {
    let span = input.span();
    match input.call(Ident::parse_any) {
        Ok(i) if i == word => Ok(i),
        Ok(i) => Err(syn::Error::new(
            i.span(),
            format!("expected `{word}`, found `{i}`; {hint}"),
        )),
        Err(_) => Err(syn::Error::new(span, format!("expected `{word}`; {hint}"))),
    }
}

impl Parse for RulesFile {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        expect_word(
            input,
            "ruleset",
            "a `rules!` block starts with `pub ruleset Name;` naming the type to generate",
        )?;
        let name: Ident = input.parse()?;
        input.parse::<Token![;]>()?;
        let mut placeholders = Vec::new();
        let mut rules = Vec::new();
        let mut sequences = Vec::new();
        while !input.is_empty() {
            let item_attrs = input.call(Attribute::parse_outer)?;
            if is_word(input, "placeholder") {
                if let Some(a) = item_attrs.first() {
                    return Err(syn::Error::new(a.span(), "placeholders take no attributes"));
                }
                input.call(Ident::parse_any)?;
                let name: Ident = input.call(Ident::parse_any)?;
                input.parse::<Token![=]>()?;
                let content;
                bracketed!(content in input);
                let values = content.parse_terminated(<LitStr as Parse>::parse, Token![,])?;
                input.parse::<Token![;]>()?;
                placeholders.push(PlaceholderDef {
                    name,
                    values: values.into_iter().collect(),
                });
            } else if is_word(input, "rule") {
                input.call(Ident::parse_any)?;
                rules.push(parse_rule(input, item_attrs)?);
            } else if is_word(input, "sequence") {
                input.call(Ident::parse_any)?;
                let name: Ident = input.call(Ident::parse_any)?;
                input.parse::<Token![=]>().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "write `sequence name = r#\"sequence with maxspan=1m [...] by key ...\"#;`",
                    )
                })?;
                let eql = EqlSource::parse(input, true)?;
                input.parse::<Token![;]>()?;
                sequences.push(SequenceDef {
                    attrs: item_attrs,
                    name,
                    eql,
                });
            } else {
                return Err(input.error(
                    "expected `rule name { ... }`, `rule name = eql!(\"EQL\");`, `sequence name = \"EQL\";` or `placeholder name = [...];`",
                ));
            }
        }
        Ok(RulesFile {
            attrs,
            vis,
            name,
            placeholders,
            rules,
            sequences,
        })
    }
}

fn parse_rule(input: ParseStream, attrs: Vec<Attribute>) -> syn::Result<RuleDef> {
    let name: Ident = input.call(Ident::parse_any)?;
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let eql = EqlSource::parse(input, false)?;
        input.parse::<Token![;]>()?;
        return Ok(RuleDef {
            attrs,
            body_span: eql.text.span(),
            name,
            eql: Some(eql),
            selections: Vec::new(),
            condition: None,
        });
    }
    let content;
    let brace = braced!(content in input);
    let mut selections = Vec::new();
    let mut condition = None;
    while !content.is_empty() {
        let key: Ident = content.call(Ident::parse_any)?;
        content.parse::<Token![:]>()?;
        if key == "condition" {
            if condition.is_some() {
                return Err(syn::Error::new(
                    key.span(),
                    "a rule has one `condition`; combine alternatives with `or`",
                ));
            }
            condition = Some(parse_or(&content)?);
        } else {
            let body = parse_selection(&content)?;
            selections.push(SelDef { name: key, body });
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `,` between the entries of a rule (`selection: {...}, condition: selection`)",
            )
        })?;
    }
    Ok(RuleDef {
        attrs,
        name,
        eql: None,
        body_span: brace.span.join(),
        selections,
        condition,
    })
}

fn parse_selection(input: ParseStream) -> syn::Result<SelBody> {
    if input.peek(syn::token::Brace) {
        return Ok(SelBody::Map(parse_map(input)?));
    }
    if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let span = bracket.span.join();
        if content.peek(syn::token::Brace) {
            let mut maps = Vec::new();
            while !content.is_empty() {
                maps.push(parse_map(&content)?);
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
            return Ok(SelBody::Maps(maps, span));
        }
        let mut values = Vec::new();
        while !content.is_empty() {
            values.push(parse_value(&content)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        return Ok(SelBody::Keywords(values, span));
    }
    Err(input.error(
        "expected a selection: `{ Field: value, ... }`, a list of such maps `[{...}, {...}]`, \
         or a keyword list `[\"text\", ...]`",
    ))
}

fn parse_map(input: ParseStream) -> syn::Result<MapDef> {
    let content;
    let brace = braced!(content in input);
    let mut entries = Vec::new();
    while !content.is_empty() {
        entries.push(parse_entry(&content)?);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>().map_err(|e| {
            syn::Error::new(e.span(), "expected `,` between the fields of a selection")
        })?;
    }
    Ok(MapDef {
        span: brace.span.join(),
        entries,
    })
}

fn parse_entry(input: ParseStream) -> syn::Result<EntryDef> {
    let field = if input.peek(Token![|]) {
        None
    } else if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        Some((s.value(), s.span()))
    } else if input.peek(Ident::peek_any) {
        let first: Ident = input.call(Ident::parse_any)?;
        let span = first.span();
        let mut name = first.to_string();
        while input.peek(Token![.]) {
            input.parse::<Token![.]>()?;
            if input.peek(syn::LitInt) {
                let i: syn::LitInt = input.parse()?;
                name.push('.');
                name.push_str(&i.to_string());
            } else {
                let next: Ident = input.call(Ident::parse_any)?;
                name.push('.');
                name.push_str(&next.to_string());
            }
        }
        Some((name.trim_start_matches("r#").to_string(), span))
    } else {
        return Err(input.error(
            "expected a field name (`CommandLine`, `process.name` or \"Any Name\"), or `|modifier` for a keyword",
        ));
    };
    let mut mods = Vec::new();
    while input.peek(Token![|]) {
        input.parse::<Token![|]>()?;
        mods.push(input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a modifier name after `|` (e.g. `|contains`)",
            )
        })?);
    }
    let colon = input
        .parse::<Token![:]>()
        .map_err(|e| syn::Error::new(e.span(), "expected `:` and a value after the field name"))?;
    let (values, values_span) = if input.peek(syn::token::Bracket) {
        let content;
        let bracket = bracketed!(content in input);
        let mut values = Vec::new();
        while !content.is_empty() {
            values.push(parse_value(&content)?);
            if content.is_empty() {
                break;
            }
            content.parse::<Token![,]>()?;
        }
        (values, bracket.span.join())
    } else {
        let v = parse_value(input)?;
        let span = v.span;
        (vec![v], span)
    };
    Ok(EntryDef {
        field,
        mods,
        colon: colon.span,
        values,
        values_span,
    })
}

fn parse_value(input: ParseStream) -> syn::Result<ValueDef> {
    let neg = if input.peek(Token![-]) {
        input.parse::<Token![-]>()?;
        true
    } else {
        false
    };
    let lookahead = input.lookahead1();
    if !neg && lookahead.peek(LitStr) {
        let s: LitStr = input.parse()?;
        return Ok(ValueDef {
            value: SigmaValue::Str(s.value()),
            span: s.span(),
        });
    }
    if lookahead.peek(syn::LitInt) {
        let i: syn::LitInt = input.parse()?;
        if !i.suffix().is_empty() {
            return Err(syn::Error::new(
                i.span(),
                "write numbers without a type suffix",
            ));
        }
        let text = format!("{}{}", if neg { "-" } else { "" }, i.base10_digits());
        let value = text
            .parse::<i64>()
            .map(Number::Int)
            .or_else(|_| text.parse::<f64>().map(Number::Float))
            .map_err(|_| syn::Error::new(i.span(), "number out of range"))?;
        return Ok(ValueDef {
            value: SigmaValue::Num(text, value),
            span: i.span(),
        });
    }
    if lookahead.peek(syn::LitFloat) {
        let f: syn::LitFloat = input.parse()?;
        let text = format!("{}{}", if neg { "-" } else { "" }, f.base10_digits());
        let value = text
            .parse::<f64>()
            .map_err(|_| syn::Error::new(f.span(), "invalid number"))?;
        return Ok(ValueDef {
            value: SigmaValue::Num(text, Number::Float(value)),
            span: f.span(),
        });
    }
    if !neg && lookahead.peek(syn::LitBool) {
        let b: syn::LitBool = input.parse()?;
        return Ok(ValueDef {
            value: SigmaValue::Bool(b.value),
            span: b.span(),
        });
    }
    if !neg && is_word(input, "null") {
        let i: Ident = input.call(Ident::parse_any)?;
        return Ok(ValueDef {
            value: SigmaValue::Null,
            span: i.span(),
        });
    }
    if !neg && input.peek(Ident::peek_any) {
        let i: Ident = input.call(Ident::parse_any)?;
        return Err(syn::Error::new(
            i.span(),
            format!(
                "expected a value, found `{i}`; quote strings (\"{i}\"), or use a number, `true`, `false` or `null`"
            ),
        ));
    }
    Err(syn::Error::new(
        input.span(),
        "expected a value: a string literal, a number, `true`, `false` or `null`",
    ))
}

fn parse_or(input: ParseStream) -> syn::Result<CondExpr> {
    let mut parts = vec![parse_and(input)?];
    while is_word(input, "or") {
        input.call(Ident::parse_any)?;
        parts.push(parse_and(input)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        CondExpr::Or(parts)
    })
}

fn parse_and(input: ParseStream) -> syn::Result<CondExpr> {
    let mut parts = vec![parse_not(input)?];
    while is_word(input, "and") {
        input.call(Ident::parse_any)?;
        parts.push(parse_not(input)?);
    }
    Ok(if parts.len() == 1 {
        parts.remove(0)
    } else {
        CondExpr::And(parts)
    })
}

fn parse_not(input: ParseStream) -> syn::Result<CondExpr> {
    if is_word(input, "not") {
        input.call(Ident::parse_any)?;
        return Ok(CondExpr::Not(Box::new(parse_not(input)?)));
    }
    if input.peek(syn::token::Paren) {
        let content;
        parenthesized!(content in input);
        let inner = parse_or(&content)?;
        if !content.is_empty() {
            return Err(content.error("expected `and`, `or` or `)` in the condition"));
        }
        return Ok(inner);
    }
    if input.peek(syn::LitInt) {
        let n: syn::LitInt = input.parse()?;
        if n.base10_digits() != "1" {
            return Err(syn::Error::new(
                n.span(),
                "Sigma conditions allow `1 of ...` and `all of ...` only",
            ));
        }
        expect_word(input, "of", "write `1 of sel_*` or `1 of them`")?;
        return parse_pattern(input, false, n.span());
    }
    if is_word(input, "all") && input.peek2(Ident::peek_any) {
        let fork = input.fork();
        fork.call(Ident::parse_any)?;
        if is_word(&fork, "of") {
            let all: Ident = input.call(Ident::parse_any)?;
            input.call(Ident::parse_any)?;
            return parse_pattern(input, true, all.span());
        }
    }
    if input.peek(Ident::peek_any) {
        let id: Ident = input.call(Ident::parse_any)?;
        if id == "and" || id == "or" {
            return Err(syn::Error::new(
                id.span(),
                format!("`{id}` needs a selection on both sides"),
            ));
        }
        return Ok(CondExpr::Ref(id));
    }
    Err(input.error(
        "expected a selection name, `not`, `(`, `1 of ...` or `all of ...` in the condition",
    ))
}

fn parse_pattern(input: ParseStream, all: bool, quant_span: Span) -> syn::Result<CondExpr> {
    let span = input.span();
    let mut pattern = String::new();
    let mut last_was_ident = false;
    loop {
        if input.peek(Token![*]) {
            input.parse::<Token![*]>()?;
            pattern.push('*');
            last_was_ident = false;
        } else if !last_was_ident
            && input.peek(Ident::peek_any)
            && !is_word(input, "and")
            && !is_word(input, "or")
            && !is_word(input, "not")
        {
            let id: Ident = input.call(Ident::parse_any)?;
            pattern.push_str(&id.to_string());
            last_was_ident = true;
        } else {
            break;
        }
    }
    if pattern.is_empty() {
        return Err(syn::Error::new(
            quant_span,
            "expected a selection pattern after `of` (e.g. `sel_*`) or `them`",
        ));
    }
    Ok(CondExpr::Of { all, pattern, span })
}
