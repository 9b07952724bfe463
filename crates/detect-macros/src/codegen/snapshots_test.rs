//! Snapshot tests of the generated code: three small rule sets (DSL rules,
//! an EQL sequence, Sigma YAML) go through their front end and [`generate`],
//! and the expansion, formatted by `prettyplease`, is pinned with `insta`.
//! A change to the code generator shows up as a reviewable diff of the code
//! a user's crate compiles (`cargo insta review` to accept it).

use std::path::PathBuf;

use detect_sigma::{LoadOptions, load_paths};
use proc_macro2::TokenStream;
use quote::quote;

use super::generate;
use crate::{lower, parse};

/// The expansion of a `rules!` input, formatted.
fn expand_rules(input: TokenStream) -> String {
    let file: parse::RulesFile = syn::parse2(input).expect("rules! input parses");
    let set = lower::lower_file(&file).expect("rules lower to the IR");
    pretty(generate(&file.name, &file.vis, &file.attrs, &set))
}

/// `tokens` as formatted Rust source; panics if they are not a valid file.
fn pretty(tokens: TokenStream) -> String {
    let file = syn::parse2::<syn::File>(tokens).expect("generated code parses as a Rust file");
    prettyplease::unparse(&file)
}

#[test]
fn stateless_dsl_rules() {
    let code = expand_rules(quote! {
        /// Docs for the generated type.
        pub ruleset MyRules;

        /// msiexec started with a web address as parameter.
        #[title = "MsiExec Web Install"]
        #[level(medium)]
        #[tags(attack.defense_evasion, attack.t1218.007)]
        #[logsource(product = windows, category = process_creation)]
        rule msiexec_web_install {
            selection: { CommandLine: "* msiexec*://*" },
            condition: selection,
        }

        #[id = "8e5e38e4-5350-4c0b-895a-e872ce0dd54f"]
        #[level(low)]
        #[logsource(product = windows, category = network_connection)]
        rule msiexec_http_connection {
            selection: {
                Initiated: "true",
                Image|endswith: r"\msiexec.exe",
                DestinationPort: [80, 443],
            },
            filter_local: { DestinationIp|cidr: ["10.0.0.0/8", "192.168.0.0/16"] },
            condition: selection and not 1 of filter_*,
        }
    });
    insta::assert_snapshot!(code);
}

#[test]
fn eql_sequence() {
    let code = expand_rules(quote! {
        pub ruleset Chains;

        /// msiexec started with `/V`, connected out, then started a child
        /// process, within a minute.
        #[level(low)]
        sequence msiexec_remote_file_execution = r#"sequence with maxspan=1m
         [process where event.action == "start" and
            process.name : "msiexec.exe" and process.args : "/V"] by process.entity_id
         [network where process.name : "msiexec.exe" and
            event.action == "connection_attempted"] by process.entity_id
         [process where event.action == "start" and process.parent.name : "msiexec.exe" and
          not process.executable : ("?:\\Windows\\System32\\msiexec.exe", "?:\\Program Files\\*.exe")
         ] by process.parent.entity_id"#;
    });
    insta::assert_snapshot!(code);
}

#[test]
fn sigma_yaml_rules() {
    // Written to files and loaded as `sigma_rules!` loads them.
    let dir = std::env::temp_dir().join(format!("detect-macros-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        (
            "a_whoami.yml",
            r#"title: Whoami Execution
id: e28a5a99-da44-436d-b7a0-2afc20a5f413
status: test
description: whoami.exe started
level: low
tags:
  - attack.discovery
  - attack.t1033
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  filter:
    ParentImage|contains|all:
      - '\Program Files\'
      - 'agent'
  condition: selection and not filter
"#,
        ),
        (
            "b_encoded.yml",
            r#"title: Encoded PowerShell
logsource:
  product: windows
  category: process_creation
detection:
  selection_img:
    Image|endswith:
      - '\powershell.exe'
      - '\pwsh.exe'
  selection_cli:
    CommandLine|re: '(?i)\s-e(nc(odedcommand)?)?\s'
  condition: all of selection_*
"#,
        ),
    ];
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let paths: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
    let loaded = load_paths(&paths, &LoadOptions::default()).expect("the YAML rules load");
    std::fs::remove_dir_all(&dir).unwrap();
    let name = syn::parse_quote!(SigmaPack);
    let vis = syn::parse_quote!(pub);
    let code = pretty(generate(&name, &vis, &[], &loaded.rules));
    insta::assert_snapshot!(code);
}
