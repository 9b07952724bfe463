//! The engine's tables as `static` data.
//!
//! Numbers carry no type suffix (the field gives their type). Every list
//! is written as `List::Borrowed(&[...])`, so the tables cost
//! nothing at start-up: the engine reads the program's own read-only data.

use detect_core::engine::{
    ChannelArms, DispatchTable, FieldAtoms, NO_SOURCE, PrefilterTables, SequenceSpec, Tables,
    VariantTables,
};
use detect_core::ir::Joins;
use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};

/// Encoded tables larger than this many bytes are written as a byte string
/// rather than as `static` arrays (see `detect_core::engine::tables`: rustc's
/// memory grows far faster than the arrays). The built-in pack's tables take
/// a few kilobytes, SigmaHQ's windows corpus several megabytes.
const LARGEST_STATIC: usize = 256 * 1024;

/// The `TABLES` static and a `tables()` function giving the engine's tables.
pub fn item(t: &Tables) -> TokenStream {
    let bytes = t.to_bytes();
    if bytes.len() > LARGEST_STATIC {
        let bytes = proc_macro2::Literal::byte_string(&bytes);
        return quote! {
            /// Dispatch, field paths and prefilter atoms of the rule set,
            /// encoded (`rt::Tables::to_bytes`): too large for static arrays.
            static TABLES: &[u8] = #bytes;

            /// The tables, decoded from `TABLES`.
            fn tables() -> rt::Tables {
                rt::Tables::from_bytes(TABLES)
            }
        };
    }
    let tables = tables(t);
    quote! {
        /// Dispatch, field paths and prefilter atoms of the rule set.
        static TABLES: rt::Tables = #tables;

        /// The tables the engine is built from (the statics themselves).
        fn tables() -> rt::Tables {
            TABLES.clone()
        }
    }
}

/// `rt::Tables { ... }` for `tables`.
fn tables(t: &Tables) -> TokenStream {
    let rule_count = number(t.rule_count);
    let rules = variant_tables(&t.rules);
    let stages = variant_tables(&t.stages);
    let paths = t.paths.iter().map(|p| texts(p));
    let sequences = list(t.sequences.iter().map(sequence));
    let timestamp_field = number(t.timestamp_field);
    quote! {
        rt::Tables {
            rule_count: #rule_count,
            rules: #rules,
            stages: #stages,
            paths: [#(#paths),*],
            sequences: #sequences,
            timestamp_field: #timestamp_field,
        }
    }
}

/// `List::Borrowed(&[items...])`.
fn list(items: impl Iterator<Item = TokenStream>) -> TokenStream {
    quote!(List::Borrowed(&[#(#items),*]))
}

/// `List::Borrowed(&[1, 2, ...])`: numbers without a type suffix, their
/// type is the field's.
fn numbers<T: Into<u64> + Copy>(items: &[T]) -> TokenStream {
    let items = items.iter().map(|&n| number(n));
    quote!(List::Borrowed(&[#(#items),*]))
}

/// An unsuffixed integer literal.
fn number(n: impl Into<u64>) -> Literal {
    Literal::u64_unsuffixed(n.into())
}

fn texts(items: &[std::borrow::Cow<'static, str>]) -> TokenStream {
    let items = items.iter().map(|t| {
        let t: &str = t;
        quote!(Text::Borrowed(#t))
    });
    list(items)
}

fn variant_tables(v: &VariantTables) -> TokenStream {
    let variant_target = numbers(&v.variant_target);
    let variant_source = v.variant_source.iter().map(|&s| {
        if s == NO_SOURCE {
            quote!(rt::NO_SOURCE)
        } else {
            number(s).into_token_stream()
        }
    });
    let variant_source = quote!(List::Borrowed(&[#(#variant_source),*]));
    let atomless = numbers(&v.atomless);
    let alternatives = list(
        v.alternatives
            .iter()
            .map(|alts| list(alts.iter().map(|groups| numbers(groups)))),
    );
    let group_count = number(v.group_count);
    let dispatch = dispatch(&v.dispatch);
    let prefilters = v.prefilters.iter().map(prefilter);
    quote! {
        rt::VariantTables {
            variant_target: #variant_target,
            variant_source: #variant_source,
            atomless: #atomless,
            alternatives: #alternatives,
            group_count: #group_count,
            dispatch: #dispatch,
            prefilters: [#(#prefilters),*],
        }
    }
}

fn dispatch(d: &DispatchTable) -> TokenStream {
    let channels = texts(&d.channels);
    let channel_arms = list(d.channel_arms.iter().map(|a: &ChannelArms| {
        let ids = a
            .by_event_id
            .iter()
            .map(|&(id, arm)| (number(id), number(arm)))
            .map(|(id, arm)| quote!((#id, #arm)));
        let other = number(a.other);
        quote!(rt::ChannelArms { by_event_id: List::Borrowed(&[#(#ids),*]), other: #other })
    }));
    let other_arm = number(d.other_arm);
    let masks = list(d.masks.iter().map(|m| numbers(m)));
    quote! {
        rt::DispatchTable {
            channels: #channels,
            channel_arms: #channel_arms,
            other_arm: #other_arm,
            masks: #masks,
        }
    }
}

fn prefilter(p: &PrefilterTables) -> TokenStream {
    let fields = list(p.fields.iter().map(|f: &FieldAtoms| {
        let path: &str = &f.path;
        let atoms = texts(&f.atoms);
        let targets = list(f.targets.iter().map(|t| numbers(t)));
        quote!(rt::FieldAtoms { path: Text::Borrowed(#path), atoms: #atoms, targets: #targets })
    }));
    let arm_fields = list(p.arm_fields.iter().map(|a| numbers(a)));
    quote!(rt::PrefilterTables { fields: #fields, arm_fields: #arm_fields })
}

fn sequence(s: &SequenceSpec) -> TokenStream {
    let stages = number(s.stages);
    let maxspan = match s.maxspan_ms {
        Some(m) => {
            let m = number(m);
            quote!(::core::option::Option::Some(#m))
        }
        None => quote!(::core::option::Option::None),
    };
    let joins = match s.joins {
        Joins::Elasticsearch => quote!(::detect::ir::Joins::Elasticsearch),
        Joins::Endgame => quote!(::detect::ir::Joins::Endgame),
    };
    let units = numbers(&s.units);
    let keys = list(s.keys.iter().map(|k| numbers(k)));
    let has_until = s.has_until;
    quote! {
        rt::SequenceSpec {
            stages: #stages,
            maxspan_ms: #maxspan,
            joins: #joins,
            units: #units,
            keys: #keys,
            has_until: #has_until,
        }
    }
}
