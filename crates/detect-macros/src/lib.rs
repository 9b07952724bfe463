//! Procedural macros of detect. This crate is a thin shim: the DSL grammar is
//! in [`parse`], its lowering to the IR (with every check and its error span)
//! in [`lower`], and code generation in [`codegen`]. Use the macros through the
//! `detect` crate, whose documentation describes the rule language.

#![cfg_attr(not(test), forbid(unsafe_code))]

mod codegen;
mod correlation;
mod lower;
mod parse;

/// Compiles detection rules into a type with a zero-allocation `scan` method.
/// See the `detect` crate for the language reference.
#[proc_macro]
pub fn rules(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let file = syn::parse_macro_input!(input as parse::RulesFile);
    lower::lower_file(&file)
        .map(|set| codegen::generate(&file.name, &file.vis, &file.attrs, &set))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

mod sigma;

/// Compiles Sigma YAML rules (a file or a folder, relative to the calling
/// crate's `CARGO_MANIFEST_DIR`) into the same kind of type as `rules!`:
/// `sigma_rules! { pub ruleset Name = "rules/windows", skip_unsupported; }`,
/// or from a list of files and folders: `pub ruleset Name = ["a.yml", "dir"];`.
/// The calling crate must depend on `detect`. See `detect_sigma` for what
/// is supported.
#[proc_macro]
pub fn sigma_rules(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = syn::parse_macro_input!(input as sigma::SigmaInput);
    sigma::expand(&input).into()
}
