//! `sigma_rules!`: Sigma YAML files compiled at build time.
//!
//! ```text
//! sigma_rules! {
//!     /// Docs of the generated type.
//!     pub ruleset Name = "path/to/dir/or/file.yml";
//!     pub ruleset Other = "corpus", skip_unsupported;
//!     pub ruleset Picked = ["corpus/a.yml", "corpus/b.yml", "more"];
//!     pub ruleset Mapped = "rules", pipeline = "acme.yml", pipeline = "more.yml";
//! }
//! ```
//!
//! `pipeline = "file.yml"` applies a processing pipeline (field and log
//! source mappings, `detect_sigma::pipeline`) to every rule, in the order
//! given; the file is tracked like the rules.
//!
//! A list of paths compiles every rule under each of them into one rule set,
//! in the order given. Paths are relative to the calling crate's `CARGO_MANIFEST_DIR`. The YAML is
//! translated by `detect_sigma` (the run-time path uses the same code) and the
//! rule set goes through the same code generator as `rules!`. Every file read is
//! `include_bytes!`-ed into an unnamed constant so that cargo rebuilds the crate
//! when a rule changes (adding a file to a folder is not seen until something
//! else triggers a rebuild: stable proc macros cannot track directories).
//! A rule that does not compile is a `compile_error!` naming the file, line and
//! reason; with `skip_unsupported`, rules that are valid Sigma but unsupported
//! (log source, correlation...) are left out and listed in `Name::SKIPPED`.

use std::path::{Path, PathBuf};

use detect_sigma::pipeline::Pipeline;
use detect_sigma::{LoadOptions, ParseOptions, load_paths};
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Visibility, bracketed};

mod kw {
    syn::custom_keyword!(ruleset);
    syn::custom_keyword!(skip_unsupported);
}

/// One `vis ruleset Name = "path" [, skip_unsupported];` item.
pub struct SigmaItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
    /// One path, or the paths of a `[...]` list (never empty).
    paths: Vec<LitStr>,
    skip_unsupported: bool,
    pipelines: Vec<LitStr>,
}

/// The whole macro input.
pub struct SigmaInput {
    items: Vec<SigmaItem>,
}

impl Parse for SigmaInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            input.parse::<kw::ruleset>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected `ruleset`: write `pub ruleset Name = \"path/to/rules\";`",
                )
            })?;
            let name: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let expected = |e: syn::Error| {
                syn::Error::new(
                    e.span(),
                    "expected the path of a Sigma file or folder, relative to CARGO_MANIFEST_DIR, \
                     or a `[...]` list of them",
                )
            };
            let paths: Vec<LitStr> = if input.peek(syn::token::Bracket) {
                let content;
                let bracket = bracketed!(content in input);
                let list = content
                    .parse_terminated(<LitStr as Parse>::parse, Token![,])
                    .map_err(expected)?;
                if list.is_empty() {
                    return Err(syn::Error::new(
                        bracket.span.join(),
                        "empty list of paths: name at least one Sigma file or folder",
                    ));
                }
                list.into_iter().collect()
            } else {
                vec![input.parse().map_err(expected)?]
            };
            let mut skip_unsupported = false;
            let mut pipelines = Vec::new();
            while input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
                if input.is_empty() || input.peek(Token![;]) {
                    break;
                }
                let opt: Ident = input.parse()?;
                if opt == "skip_unsupported" {
                    skip_unsupported = true;
                } else if opt == "pipeline" {
                    input.parse::<Token![=]>()?;
                    pipelines.push(input.parse::<LitStr>().map_err(|e| {
                        syn::Error::new(
                            e.span(),
                            "expected the path of a pipeline YAML file, relative to \
                             CARGO_MANIFEST_DIR",
                        )
                    })?);
                } else {
                    return Err(syn::Error::new(
                        opt.span(),
                        format!(
                            "unknown option `{opt}`; the options are `skip_unsupported` and \
                             `pipeline = \"file.yml\"`"
                        ),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![;]>()?;
            }
            items.push(SigmaItem {
                attrs,
                vis,
                name,
                paths,
                skip_unsupported,
                pipelines,
            });
        }
        Ok(SigmaInput { items })
    }
}

/// Expands every item of the input.
pub fn expand(input: &SigmaInput) -> TokenStream {
    let mut out = TokenStream::new();
    for item in &input.items {
        out.extend(expand_item(item).unwrap_or_else(syn::Error::into_compile_error));
    }
    out
}

fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn shown(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
        .replace('\\', "/")
}

fn expand_item(item: &SigmaItem) -> syn::Result<TokenStream> {
    for attr in &item.attrs {
        if !attr.path().is_ident("doc") {
            return Err(syn::Error::new_spanned(
                attr,
                "only doc comments may precede `ruleset`",
            ));
        }
    }
    let span = item.paths[0].span();
    let base = manifest_dir();
    let mut roots = Vec::with_capacity(item.paths.len());
    for path in &item.paths {
        let root = base.join(path.value());
        if !root.exists() {
            return Err(syn::Error::new(
                path.span(),
                format!(
                    "`{}` does not exist (paths are relative to CARGO_MANIFEST_DIR, {})",
                    path.value(),
                    base.display()
                ),
            ));
        }
        roots.push(root);
    }
    let shown_paths = item
        .paths
        .iter()
        .map(LitStr::value)
        .collect::<Vec<_>>()
        .join("`, `");
    let mut pipelines = Vec::new();
    let mut pipeline_files = Vec::new();
    for lit in &item.pipelines {
        let file = base.join(lit.value());
        let text = std::fs::read_to_string(&file).map_err(|e| {
            syn::Error::new(
                lit.span(),
                format!(
                    "cannot read the pipeline `{}`: {e} (paths are relative to CARGO_MANIFEST_DIR, {})",
                    lit.value(),
                    base.display()
                ),
            )
        })?;
        let pipeline = Pipeline::parse(&shown(&file, &base), &text)
            .map_err(|e| syn::Error::new(lit.span(), e.to_string()))?;
        pipelines.push(pipeline);
        pipeline_files.push(file);
    }
    let options = LoadOptions {
        skip_unsupported: item.skip_unsupported,
        parse: ParseOptions {
            pipelines,
            ..ParseOptions::default()
        },
    };
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let loaded = match load_paths(&roots, &options) {
        Ok(l) => l,
        Err(failed) => {
            let (_, failures) = *failed;
            let mut errors: Option<syn::Error> = None;
            let hint = if failures.iter().any(|(_, e)| e.is_unsupported()) && !item.skip_unsupported
            {
                " (add `, skip_unsupported` to leave unsupported rules out)"
            } else {
                ""
            };
            for (_, e) in &failures {
                let err = syn::Error::new(span, format!("{e}{hint}"));
                match &mut errors {
                    Some(all) => all.combine(err),
                    None => errors = Some(err),
                }
            }
            return Err(errors.unwrap_or_else(|| syn::Error::new(span, "no rule loaded")));
        }
    };
    if loaded.rules.rules.is_empty() {
        return Err(syn::Error::new(
            span,
            format!(
                "no Sigma rule to compile under `{}` ({} file(s) read, {} skipped)",
                shown_paths,
                loaded.files.len(),
                loaded.skipped.len()
            ),
        ));
    }
    let generated = crate::codegen::generate(&item.name, &item.vis, &item.attrs, &loaded.rules);
    let correlations = crate::correlation::correlation_items(&item.name, &item.vis, &loaded.rules);
    let includes = loaded.files.iter().chain(&pipeline_files).map(|f| {
        let abs = f.display().to_string();
        quote!(
            const _: &[u8] = include_bytes!(#abs);
        )
    });
    let skipped = loaded.skipped.iter().map(|(p, e)| {
        let p = shown(p, &base);
        let reason = e.message.clone();
        quote!((#p, #reason))
    });
    let sources = loaded.sources.iter().map(|p| shown(p, &base));
    let name = &item.name;
    Ok(quote! {
        #generated

        #correlations

        #(#includes)*

        impl #name {
            /// Rule files left out because they use Sigma features or log
            /// sources detect does not support: (path, reason).
            pub const SKIPPED: &'static [(&'static str, &'static str)] = &[#(#skipped),*];
            /// The file each rule was compiled from, by rule index (relative
            /// to the crate's manifest directory when under it).
            pub const SOURCES: &'static [&'static str] = &[#(#sources),*];
        }
    })
}
