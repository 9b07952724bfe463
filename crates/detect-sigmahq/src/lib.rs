//! Sigma YAML compiled at build time by `detect_macros::sigma_rules!`.
//!
//! * [`Seeds`]: the two Sigma seed rules of the project (`rules/`), always built;
//! * [`AcmeSeeds`]: the same seeds through the processing pipeline
//!   `pipelines/acme.yml` (a fictitious EDR's channel and field names), the
//!   compile-time test of `pipeline = ...`;
//! * `SigmaHqWindows` (feature `corpus`): every supported rule of SigmaHQ's
//!   `rules/windows` folder, as one generated type; the rules it skips are
//!   listed with the reason in `detect_tests::SIGMAHQ_UNSUPPORTED`;
//! * `KernelFileAccess`, `KernelFileRename` (feature `corpus`): those skipped rules (log sources
//!   `file_access` and `file_rename`, the Kernel-File ETW provider), compiled
//!   through the pipeline `pipelines/kernel_file_etw.yml` that says where
//!   such events are.
//!
//! # Where the SigmaHQ rules come from (feature `corpus`)
//!
//! The corpus is read at build time from a checkout of
//! [SigmaHQ/sigma](https://github.com/SigmaHQ/sigma): the directory named by
//! the environment variable `DETECT_SIGMAHQ_DIR` (an absolute path to the
//! repository's root, the folder holding `rules/windows`), or else
//! `../shared/data/sigma` beside the workspace (the project's CI). The
//! tests, and the counts in `detect_tests::SIGMAHQ_UNSUPPORTED`, are for
//! revision `8eaafff1` (2026-08):
//!
//! ```sh
//! git clone https://github.com/SigmaHQ/sigma ~/sigma && git -C ~/sigma checkout 8eaafff1
//! DETECT_SIGMAHQ_DIR=~/sigma cargo build --release -p detect-cli --features sigmahq
//! ```
//!
//! Other revisions compile too (rules detect does not support are left out
//! and listed in `SKIPPED`). Without either directory the build stops with
//! an error that names `DETECT_SIGMAHQ_DIR`; cargo rebuilds the crate when the
//! variable changes. `SigmaHqWindows::ROOTS` says which directory was read.
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

#![forbid(unsafe_code)]

detect_macros::sigma_rules! {
    /// The project's Sigma seed rules, compiled from `rules/*.yml`.
    pub ruleset Seeds = "rules";
}

detect_macros::sigma_rules! {
    /// The seed rules through `pipelines/acme.yml`: Sysmon events are read
    /// from ACME's channel (`ACME/Sysmon`), `CommandLine` is `cmdline`, and
    /// network connections use ACME's field names.
    pub ruleset AcmeSeeds = "rules", pipeline = "pipelines/acme.yml";
}

#[cfg(feature = "corpus")]
detect_macros::sigma_rules! {
    /// The SigmaHQ windows rules of log source `file_access`, which
    /// `SigmaHqWindows` skips, given a log source by
    /// `pipelines/kernel_file_etw.yml`.
    pub ruleset KernelFileAccess =
        env("DETECT_SIGMAHQ_DIR", "../../../shared/data/sigma") / "rules/windows/file/file_access",
        pipeline = "pipelines/kernel_file_etw.yml";
    /// The same for `file_rename`.
    pub ruleset KernelFileRename =
        env("DETECT_SIGMAHQ_DIR", "../../../shared/data/sigma") / "rules/windows/file/file_rename",
        pipeline = "pipelines/kernel_file_etw.yml";
}

#[cfg(feature = "corpus")]
detect_macros::sigma_rules! {
    /// Every supported rule of SigmaHQ's `rules/windows` (see `SKIPPED` for
    /// the others and why).
    pub ruleset SigmaHqWindows =
        env("DETECT_SIGMAHQ_DIR", "../../../shared/data/sigma") / "rules/windows",
        skip_unsupported;
}
