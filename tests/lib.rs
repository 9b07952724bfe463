//! Helpers for the workspace-level test suites in `tests/tests/`: the
//! semantics table's rules, the lists of SigmaHQ rules detect does not
//! compile or match differently. What every crate's tests share (the shared
//! data's paths, the counting allocator, the random generators) is in
//! `detect-test-support`.

pub mod semantics_rules;

/// Splits a file holding one or more concatenated JSON documents (the
/// regression samples' `.json` renderings) into one compact line per document.
pub fn json_documents(text: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<serde_json::Value>()
        .map(|doc| doc.map(|v| v.to_string()))
        .collect()
}

/// The SigmaHQ windows rules (`../shared/data/sigma/rules/windows`, paths
/// relative to it) that detect does not compile, with the reason: the one
/// list of them, checked against what the front end actually skips by
/// `crates/detect-sigma/tests/corpus.rs` (run time) and
/// `crates/detect-sigmahq/tests/corpus.rs` (compiled).
///
/// None is a bug: their log sources (`file_access`, `file_rename`) are the
/// ETW provider Microsoft-Windows-Kernel-File (Sigma taxonomy appendix),
/// which writes to no event log channel, so there is no channel or event ID
/// to route them by (see `detect_core::compile::logsource::WINDOWS_ETW_ONLY_CATEGORIES`).
/// A processing pipeline that says where such events are in a user's logs
/// makes them compile.
pub const SIGMAHQ_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "file/file_access/file_access_win_susp_credential_manager_access.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_susp_credhist.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_susp_crypto_currency_wallets.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_susp_dpapi_master_key_access.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_susp_gpo_files.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_susp_process_access_browser_cred_files.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_access/file_access_win_teams_sensitive_files.yml",
        KERNEL_FILE,
    ),
    (
        "file/file_rename/file_rename_win_ransomware.yml",
        KERNEL_FILE,
    ),
];

const KERNEL_FILE: &str =
    "log source is the ETW provider Microsoft-Windows-Kernel-File (no event log channel)";

/// The SigmaHQ regression tests (`../shared/data/sigma/regression-index.jsonl`,
/// by `rule_path`) that detect does not pass, with the reason, checked by
/// hand on the samples: the one list of them, used by
/// `crates/detect-sigma/tests/regression.rs` (interpreter) and
/// `crates/detect-sigmahq/tests/corpus.rs` (compiled), which fail on any
/// other failure and on an entry here that passes.
///
/// Neither is a bug in detect: each sample holds more events that satisfy the
/// rule as written than the index's `expected_match_count` of 1 (the events
/// are listed), so matching the count would mean missing real matches.
pub const SIGMAHQ_REGRESSION_KNOWN: &[(&str, &str)] = &[
    (
        "rules/windows/registry/registry_set/registry_set_disable_administrative_share.yml",
        "the sample holds two Sysmon 13 events that satisfy the rule as written \
         (...\\LanmanServer\\Parameters\\AutoShareServer and ...\\AutoShareWks, both set to \
         DWORD (0x00000000); the rule lists both suffixes); the index expects 1",
    ),
    (
        "rules/windows/file/file_event/file_event_win_cred_dump_tools_dropped_files.yml",
        "the sample holds three Sysmon 11 events whose TargetFilename ends with a listed \
         suffix (\\procdump64.exe, \\procdump64a.exe, \\procdump.exe; their :Zone.Identifier \
         streams do not match); the index expects 1",
    ),
];
