//! Sigma YAML compiled at build time by `detect_macros::sigma_rules!`.
//!
//! * [`Seeds`]: the two Sigma seed rules of the project (`rules/`), always built;
//! * `SigmaHqWindows` (feature `corpus`): every supported rule of SigmaHQ's
//!   `rules/windows` folder, read from `../shared/data/sigma/rules/windows`
//!   next to the workspace, as one generated type.
//!
//! Seed 001 is a rule collection (`action: global` plus one document per log
//! source), so it compiles into two rules, one per document. As published it
//! writes `:\/\/`, and in Sigma only `\*`, `\?` and `\\` are escapes: it
//! matches a literal `:\/\/` (its own Kibana translation says so too).
//!
//! ```
//! use detect::JsonEvent;
//! use detect_sigmahq::Seeds;
//! let ev = JsonEvent::parse_str(r#"{"Channel": "Security", "EventID": 4688,
//!     "CommandLine": "cmd /c msiexec /i https:\\/\\/e.example/x.msi"}"#).unwrap();
//! let mut hits = Vec::new();
//! Seeds::scan(&ev, |r| hits.push(r.name));
//! assert_eq!(hits, ["msiexec_web_install_2"]);
//! assert_eq!(Seeds::SOURCES[1], "rules/msiexec_web_install.yml");
//! ```

detect_macros::sigma_rules! {
    /// The project's Sigma seed rules, compiled from `rules/*.yml`.
    pub ruleset Seeds = "rules";
}

#[cfg(feature = "corpus")]
detect_macros::sigma_rules! {
    /// Every supported rule of SigmaHQ's `rules/windows` (see `SKIPPED` for
    /// the others and why).
    pub ruleset SigmaHqWindows = "../../../shared/data/sigma/rules/windows", skip_unsupported;
}
