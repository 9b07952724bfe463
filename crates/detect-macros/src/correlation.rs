//! Code generation for Sigma correlation rules: the generated type carries
//! its correlations as data and hands out their state, the library's
//! [`detect_core::correlation::CorrelationEngine`] (correlations are
//! stateful and read few events, so they run over the library engine rather
//! than generated code, as the rules' matches that feed them are).

use detect_core::ir::RuleSet;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Ident, Visibility};

/// `Name::CORRELATIONS` (metadata of each correlation rule) and
/// `Name::correlations(capacity)` (a fresh engine over them).
pub(crate) fn correlation_items(name: &Ident, vis: &Visibility, set: &RuleSet) -> TokenStream {
    let _ = vis;
    let rule_count = set.rules.len();
    let only = RuleSet {
        rules: Vec::new(),
        sequences: Vec::new(),
        correlations: set.correlations.clone(),
    };
    let json = serde_json::to_string(&only).unwrap_or_default();
    let infos = set.correlations.iter().enumerate().map(|(index, c)| {
        let name = &c.name;
        let title = &c.meta.title;
        let opt = |o: &Option<String>| match o {
            Some(s) => quote!(::core::option::Option::Some(#s)),
            None => quote!(::core::option::Option::None),
        };
        let id = opt(&c.meta.id);
        let description = opt(&c.meta.description);
        let author = opt(&c.meta.author);
        let level = format_ident!("{}", format!("{:?}", c.meta.level));
        let status = match c.meta.status {
            Some(s) => {
                let s = format_ident!("{}", format!("{s:?}"));
                quote!(::core::option::Option::Some(::detect::ir::Status::#s))
            }
            None => quote!(::core::option::Option::None),
        };
        let tags = &c.meta.tags;
        let references = &c.meta.references;
        let falsepositives = &c.meta.falsepositives;
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
                logsource: ::detect::LogSourceInfo { product: None, category: None, service: None },
            }
        }
    });
    quote! {
        impl #name {
            /// Metadata of the correlation rules, by index (as
            /// `CorrelationMatch::correlation` gives it).
            pub const CORRELATIONS: &'static [::detect::RuleInfo] = &[#(#infos),*];

            /// Fresh state for the correlation rules, holding at most
            /// `capacity` groups and window events per correlation. Feed it
            /// the indices of the rules `scan` matched, event by event
            /// (`step`, or `step_at` with the time); print a rule's own
            /// match only when `reports_rule` says so (`generate: false`).
            pub fn correlations(capacity: usize) -> ::detect::correlation::CorrelationEngine {
                let set = ::detect::__rt::ir_from_json(#json);
                ::detect::correlation::CorrelationEngine::new(&set.correlations, #rule_count, capacity)
            }
        }
    }
}
