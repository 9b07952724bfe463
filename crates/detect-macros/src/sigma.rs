//! `sigma_rules!`: Sigma YAML files compiled at build time.
//!
//! ```text
//! sigma_rules! {
//!     /// Docs of the generated type.
//!     pub ruleset Name = "path/to/dir/or/file.yml";
//!     pub ruleset Other = "corpus", skip_unsupported;
//!     pub ruleset Picked = ["corpus/a.yml", "corpus/b.yml", "more"];
//!     pub ruleset Mapped = "rules", pipeline = "acme.yml", pipeline = "more.yml";
//!     pub ruleset Theirs = env("SIGMA_DIR", "../sigma") / "rules/windows";
//! }
//! ```
//!
//! `env("VAR", "default") / "sub/dir"` is a path chosen when the crate is
//! built: the directory named by the environment variable `VAR` when it is
//! set (to an absolute path), else `default` (relative to
//! `CARGO_MANIFEST_DIR`), then `sub/dir` below it (the `/ "..."` part is
//! optional). It lets a crate compile rules that live outside it, such as a
//! checkout of the SigmaHQ repository, from wherever its user keeps them.
//! When the chosen path does not exist, the error names the variable to set.
//! The expansion reads the variable with `option_env!`, so cargo rebuilds the
//! crate when it changes.
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
use syn::{Attribute, Ident, LitStr, Token, Visibility, bracketed, parenthesized};

mod kw {
    syn::custom_keyword!(ruleset);
    syn::custom_keyword!(env);
    syn::custom_keyword!(skip_unsupported);
}

/// One `vis ruleset Name = "path" [, skip_unsupported];` item.
pub struct SigmaItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
    /// One path, or the paths of a `[...]` list (never empty).
    paths: Vec<RulePath>,
    skip_unsupported: bool,
    pipelines: Vec<LitStr>,
}

/// Where rules are read: `"path"`, or `env("VAR", "default") [/ "sub/dir"]`.
struct RulePath {
    /// The written path, or the default when `env` is set.
    lit: LitStr,
    /// With `env(...)`: the variable's name.
    var: Option<LitStr>,
    /// With `/ "sub/dir"`: the part below the chosen directory.
    below: Option<LitStr>,
}

impl Parse for RulePath {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if !input.peek(kw::env) {
            return Ok(RulePath {
                lit: input.parse()?,
                var: None,
                below: None,
            });
        }
        input.parse::<kw::env>()?;
        let args;
        let paren = parenthesized!(args in input);
        let shape = "write `env(\"VARIABLE\", \"default/dir\")`, optionally followed by \
                     `/ \"sub/dir\"`";
        let var: LitStr = args.parse().map_err(|e| syn::Error::new(e.span(), shape))?;
        if var.value().is_empty() || var.value().contains(['=', '\0']) {
            return Err(syn::Error::new(
                var.span(),
                "not an environment variable name",
            ));
        }
        args.parse::<Token![,]>()
            .map_err(|_| syn::Error::new(paren.span.join(), shape))?;
        let lit: LitStr = args.parse().map_err(|e| syn::Error::new(e.span(), shape))?;
        if !args.is_empty() {
            return Err(syn::Error::new(args.span(), shape));
        }
        let below = if input.peek(Token![/]) {
            input.parse::<Token![/]>()?;
            Some(input.parse::<LitStr>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected the path below the directory, as a string",
                )
            })?)
        } else {
            None
        };
        Ok(RulePath {
            lit,
            var: Some(var),
            below,
        })
    }
}

impl RulePath {
    /// The path as written, for messages.
    fn shown(&self) -> String {
        let mut text = match &self.var {
            Some(var) => format!("env(\"{}\", \"{}\")", var.value(), self.lit.value()),
            None => self.lit.value(),
        };
        if let Some(below) = &self.below {
            text = format!("{text} / \"{}\"", below.value());
        }
        text
    }

    /// The directory or file to read, given the calling crate's manifest
    /// directory `base` and the environment (`env` reads a variable), or an
    /// error saying what to change.
    fn resolve(&self, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> syn::Result<PathBuf> {
        let set = self.var.as_ref().and_then(|var| {
            env(&var.value())
                .filter(|v| !v.is_empty())
                .map(|v| (var, v))
        });
        let dir = match &set {
            Some((var, value)) => {
                let dir = PathBuf::from(value);
                if !dir.is_absolute() {
                    return Err(syn::Error::new(
                        var.span(),
                        format!(
                            "the environment variable {} is `{value}`, a relative path: set it to \
                             an absolute path (for example `${}=$PWD/{value}`)",
                            var.value(),
                            var.value()
                        ),
                    ));
                }
                dir
            }
            None => base.join(self.lit.value()),
        };
        let root = match &self.below {
            Some(below) => dir.join(below.value()),
            None => dir,
        };
        if root.exists() {
            return Ok(root);
        }
        let span = self.var.as_ref().map_or(self.lit.span(), LitStr::span);
        let message = match (&self.var, &set) {
            (None, _) => format!(
                "`{}` does not exist (paths are relative to CARGO_MANIFEST_DIR, {})",
                self.lit.value(),
                base.display()
            ),
            (Some(var), Some((_, value))) => format!(
                "`{}` does not exist: the environment variable {} is `{value}`; set it to the \
                 directory that holds `{}`",
                root.display(),
                var.value(),
                self.below
                    .as_ref()
                    .map_or(String::from("the rules"), LitStr::value)
            ),
            (Some(var), None) => format!(
                "`{}` does not exist and the environment variable {} is not set: set {} to the \
                 absolute path of the directory that holds `{}` (the default, `{}`, is relative \
                 to CARGO_MANIFEST_DIR, {})",
                root.display(),
                var.value(),
                var.value(),
                self.below
                    .as_ref()
                    .map_or(String::from("the rules"), LitStr::value),
                self.lit.value(),
                base.display()
            ),
        };
        Err(syn::Error::new(span, message))
    }
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
                     `env(\"VARIABLE\", \"default/dir\")`, or a `[...]` list of them",
                )
            };
            let paths: Vec<RulePath> = if input.peek(syn::token::Bracket) {
                let content;
                let bracket = bracketed!(content in input);
                let list = content
                    .parse_terminated(<RulePath as Parse>::parse, Token![,])
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
    let span = item.paths[0].lit.span();
    let base = manifest_dir();
    let env = |var: &str| std::env::var(var).ok();
    let roots = item
        .paths
        .iter()
        .map(|path| path.resolve(&base, &env))
        .collect::<syn::Result<Vec<PathBuf>>>()?;
    let shown_paths = item
        .paths
        .iter()
        .map(RulePath::shown)
        .collect::<Vec<_>>()
        .join("`, `");
    // `option_env!` makes cargo rebuild the crate when a variable changes.
    let tracked = item.paths.iter().filter_map(|p| p.var.as_ref()).map(|var| {
        quote!(
            const _: ::core::option::Option<&str> = ::core::option_env!(#var);
        )
    });
    let shown_roots = roots.iter().map(|r| r.display().to_string());
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
    let root_paths: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let loaded = match load_paths(&root_paths, &options) {
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
        #(#tracked)*

        impl #name {
            /// The files or folders the rules were read from, in the order
            /// given (absolute paths, as found when the crate was built).
            pub const ROOTS: &'static [&'static str] = &[#(#shown_roots),*];
            /// Rule files left out because they use Sigma features or log
            /// sources detect does not support: (path, reason).
            pub const SKIPPED: &'static [(&'static str, &'static str)] = &[#(#skipped),*];
            /// The file each rule was compiled from, by rule index (relative
            /// to the crate's manifest directory when under it).
            pub const SOURCES: &'static [&'static str] = &[#(#sources),*];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> RulePath {
        syn::parse_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// A directory that exists, with `rules/windows` below it.
    fn checkout(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("detect-macros-{test}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rules/windows")).unwrap();
        dir
    }

    #[test]
    fn env_paths_take_the_variable_else_the_default() {
        let dir = checkout("env-paths");
        let base = dir.join("crate");
        std::fs::create_dir_all(&base).unwrap();
        let p = path(r#"env("SIGMA_DIR", "..") / "rules/windows""#);
        let value = dir.display().to_string();
        let set = |_: &str| Some(value.clone());
        let unset = |_: &str| None;
        let empty = |_: &str| Some(String::new());
        assert_eq!(p.resolve(&base, &set).unwrap(), dir.join("rules/windows"));
        // Unset or empty: the default, relative to the manifest directory.
        assert_eq!(
            p.resolve(&base, &unset).unwrap(),
            base.join("../rules/windows")
        );
        assert_eq!(
            p.resolve(&base, &empty).unwrap(),
            base.join("../rules/windows")
        );
        // Without `/ "..."`, the directory itself.
        let p = path(r#"env("SIGMA_DIR", "nowhere")"#);
        assert_eq!(p.resolve(&base, &set).unwrap(), dir);
        assert_eq!(p.shown(), r#"env("SIGMA_DIR", "nowhere")"#);
        // A plain path is unchanged.
        let p = path(r#""..""#);
        assert_eq!(p.resolve(&base, &set).unwrap(), base.join(".."));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directories_name_the_variable_to_set() {
        let base = PathBuf::from("/nonexistent/detect/crate");
        let p = path(r#"env("SIGMA_DIR", "../sigma") / "rules/windows""#);
        let err = p.resolve(&base, &|_| None).unwrap_err().to_string();
        assert!(
            err.contains("the environment variable SIGMA_DIR is not set: set SIGMA_DIR to the absolute path of the directory that holds `rules/windows`"),
            "{err}"
        );
        assert!(
            err.contains("/nonexistent/detect/crate/../sigma/rules/windows"),
            "{err}"
        );
        let err = p
            .resolve(&base, &|_| Some("/nonexistent/sigma".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("`/nonexistent/sigma/rules/windows` does not exist: the environment variable SIGMA_DIR is `/nonexistent/sigma`"),
            "{err}"
        );
        let err = p
            .resolve(&base, &|_| Some("sigma".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`sigma`, a relative path"), "{err}");
        let err = path(r#""no/such/dir""#)
            .resolve(&base, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("`no/such/dir` does not exist"), "{err}");
    }

    #[test]
    fn malformed_env_paths_are_errors() {
        for (text, message) in [
            (r#"env("A")"#, "write `env(\"VARIABLE\", \"default/dir\")`"),
            (r#"env("A", "b", "c")"#, "write `env("),
            (r#"env("", "b")"#, "not an environment variable name"),
            (
                r#"env("A", "b") / 3"#,
                "expected the path below the directory",
            ),
        ] {
            let err = syn::parse_str::<RulePath>(text)
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(message)),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn the_expansion_tracks_the_variable_and_lists_its_roots() {
        let dir = checkout("expansion");
        let windows = dir.join("rules/windows");
        std::fs::write(
            windows.join("a.yml"),
            "title: A\nlogsource: {product: windows, category: process_creation}\n\
             detection: {sel: {Image|endswith: '\\\\a.exe'}, condition: sel}\n",
        )
        .unwrap();
        // SAFETY: no other test of this crate reads or writes this variable.
        unsafe { std::env::set_var("DETECT_MACROS_TEST_SIGMA_DIR", &dir) };
        let input: SigmaInput = syn::parse_str(
            r#"pub ruleset Theirs = env("DETECT_MACROS_TEST_SIGMA_DIR", "nowhere") / "rules/windows";"#,
        )
        .unwrap();
        let code = expand(&input).to_string();
        assert!(!code.contains("compile_error"), "{code}");
        assert!(
            code.contains(r#"option_env ! ("DETECT_MACROS_TEST_SIGMA_DIR")"#),
            "{code}"
        );
        assert!(
            code.contains(&format!("{:?}", windows.display().to_string())),
            "ROOTS"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
