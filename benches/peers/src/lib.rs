//! # detect-peers
//!
//! The side-by-side benchmark of detect against the Sigma engines a user
//! would pick instead: [rsigma](https://crates.io/crates/rsigma-eval),
//! [sigma-rust](https://crates.io/crates/sigma-rust) and
//! [tau-engine](https://crates.io/crates/tau-engine). The peers are
//! dev-dependencies of this crate only (its tests and benchmarks); this
//! library holds detect's side: the two rule cases compiled by
//! `sigma_rules!`, the real events, and the log source routing that makes the
//! engines comparable.
//!
//! * Case 1, [`Msiexec`]: the project's Sigma seed rules (001, 002) plus every
//!   SigmaHQ windows rule whose file mentions `msiexec` ([`MSIEXEC_FILES`]).
//! * Case 2, `SigmaHqWindows` (feature `corpus`): every SigmaHQ windows rule
//!   detect compiles.
//!
//! detect dispatches each rule by its log source (channel and event ID); the
//! peers evaluate whatever rules they are given. [`Routing`] gives each event
//! the rules whose log source applies to it (an "arm"), so that each peer is
//! handed, per event, exactly the rules detect considers, and verdicts are
//! compared only where a rule applies. For the log source whose field names
//! differ (`process_creation` read from Security 4688, where `Image` is
//! `NewProcessName`...), [`Routing::aliases`] lists the renames and
//! [`peer_json`] adds the rule-side names to the event handed to peers, the
//! job a pySigma pipeline does for them.
//!
//! This crate has its own workspace and lockfile (see `Cargo.toml`) and needs
//! `../shared/data` next to the workspace: its purpose is to run the real
//! rules over the real events.

pub mod tau;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use detect::__internals::compile::logsource::resolve;
use detect::JsonEvent;
use detect::interpreter::CompiledExpr;
use detect::ir::RuleSet;

detect::sigma_rules! {
    /// Case 1: the seed Sigma rules 001 and 002 (`detect-sigmahq/rules`) and
    /// the SigmaHQ windows rules that mention msiexec ([`MSIEXEC_FILES`]).
    pub ruleset Msiexec = [
        "../../crates/detect-sigmahq/rules",
        "../../../shared/data/sigma/rules/windows/builtin/security/win_security_susp_lsass_dump_generic.yml",
        "../../../shared/data/sigma/rules/windows/builtin/windefend/win_defender_asr_lsass_access.yml",
        "../../../shared/data/sigma/rules/windows/create_remote_thread/create_remote_thread_win_susp_uncommon_source_image.yml",
        "../../../shared/data/sigma/rules/windows/file/file_access/file_access_win_susp_process_access_browser_cred_files.yml",
        "../../../shared/data/sigma/rules/windows/file/file_event/file_event_win_creation_system_file.yml",
        "../../../shared/data/sigma/rules/windows/file/file_event/file_event_win_net_cli_artefact.yml",
        "../../../shared/data/sigma/rules/windows/file/file_event/file_event_win_powershell_module_uncommon_creation.yml",
        "../../../shared/data/sigma/rules/windows/image_load/image_load_dll_vss_ps_susp_load.yml",
        "../../../shared/data/sigma/rules/windows/process_access/proc_access_win_svchost_credential_dumping.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_attrib_hiding_files.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_hh_html_help_susp_child_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_dll.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_embedding.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_execute_dll.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_install_quiet.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_install_remote.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_masquerading.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_msiexec_web_install.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_office_onenote_susp_child_processes.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_office_outlook_susp_child_processes.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_office_susp_child_processes.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_pdqdeploy_runner_susp_children.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_powershell_comobject_msi_remote.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_powershell_script_exec_from_temp_folder.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_powershell_set_policies_to_unsecure_level.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_powershell_snapins_hafnium.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_renamed_binary_highly_relevant.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_renamed_plink.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_rundll32_susp_shellexec_execution.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_rundll32_susp_shellexec_ordinal_execution.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_rundll32_uncommon_dll_extension.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_schtasks_system_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_scrcons_susp_child_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_sdbinst_shim_persistence.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_servu_susp_child_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_always_install_elevated_windows_installer.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_elavated_msi_spawned_shell.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_eventlog_clear.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_script_exec_from_env_folder.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_system_exe_anomaly.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_susp_velociraptor_child_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_wmic_susp_execution_via_office_process.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_wmiprvse_susp_child_processes.yml",
        "../../../shared/data/sigma/rules/windows/process_creation/proc_creation_win_wscript_cscript_susp_child_processes.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_delete/registry_delete_removal_com_hijacking_registry_key.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_event/registry_event_ssp_added_lsa_config.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_add_load_service_in_safe_mode.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_asep_reg_keys_modification_office.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_asep_reg_keys_modification_winsock2.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_asep_reg_keys_modification_wow6432node.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_persistence_office_vsto.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_taskcache_entry.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_treatas_persistence.yml",
        "../../../shared/data/sigma/rules/windows/registry/registry_set/registry_set_vbs_payload_stored.yml",
    ], skip_unsupported;
}

#[cfg(feature = "corpus")]
pub use detect_sigmahq::SigmaHqWindows;

/// The SigmaHQ rule files of case 1, relative to `../shared/data/sigma/rules/windows`:
/// every windows rule whose text mentions `msiexec` (case-insensitive), as
/// `grep -ril msiexec` listed them at SigmaHQ 8eaafff1.
pub const MSIEXEC_FILES: &[&str] = &[
    "builtin/security/win_security_susp_lsass_dump_generic.yml",
    "builtin/windefend/win_defender_asr_lsass_access.yml",
    "create_remote_thread/create_remote_thread_win_susp_uncommon_source_image.yml",
    "file/file_access/file_access_win_susp_process_access_browser_cred_files.yml",
    "file/file_event/file_event_win_creation_system_file.yml",
    "file/file_event/file_event_win_net_cli_artefact.yml",
    "file/file_event/file_event_win_powershell_module_uncommon_creation.yml",
    "image_load/image_load_dll_vss_ps_susp_load.yml",
    "process_access/proc_access_win_svchost_credential_dumping.yml",
    "process_creation/proc_creation_win_attrib_hiding_files.yml",
    "process_creation/proc_creation_win_hh_html_help_susp_child_process.yml",
    "process_creation/proc_creation_win_msiexec_dll.yml",
    "process_creation/proc_creation_win_msiexec_embedding.yml",
    "process_creation/proc_creation_win_msiexec_execute_dll.yml",
    "process_creation/proc_creation_win_msiexec_install_quiet.yml",
    "process_creation/proc_creation_win_msiexec_install_remote.yml",
    "process_creation/proc_creation_win_msiexec_masquerading.yml",
    "process_creation/proc_creation_win_msiexec_web_install.yml",
    "process_creation/proc_creation_win_office_onenote_susp_child_processes.yml",
    "process_creation/proc_creation_win_office_outlook_susp_child_processes.yml",
    "process_creation/proc_creation_win_office_susp_child_processes.yml",
    "process_creation/proc_creation_win_pdqdeploy_runner_susp_children.yml",
    "process_creation/proc_creation_win_powershell_comobject_msi_remote.yml",
    "process_creation/proc_creation_win_powershell_script_exec_from_temp_folder.yml",
    "process_creation/proc_creation_win_powershell_set_policies_to_unsecure_level.yml",
    "process_creation/proc_creation_win_powershell_snapins_hafnium.yml",
    "process_creation/proc_creation_win_renamed_binary_highly_relevant.yml",
    "process_creation/proc_creation_win_renamed_plink.yml",
    "process_creation/proc_creation_win_rundll32_susp_shellexec_execution.yml",
    "process_creation/proc_creation_win_rundll32_susp_shellexec_ordinal_execution.yml",
    "process_creation/proc_creation_win_rundll32_uncommon_dll_extension.yml",
    "process_creation/proc_creation_win_schtasks_system_process.yml",
    "process_creation/proc_creation_win_scrcons_susp_child_process.yml",
    "process_creation/proc_creation_win_sdbinst_shim_persistence.yml",
    "process_creation/proc_creation_win_servu_susp_child_process.yml",
    "process_creation/proc_creation_win_susp_always_install_elevated_windows_installer.yml",
    "process_creation/proc_creation_win_susp_elavated_msi_spawned_shell.yml",
    "process_creation/proc_creation_win_susp_eventlog_clear.yml",
    "process_creation/proc_creation_win_susp_script_exec_from_env_folder.yml",
    "process_creation/proc_creation_win_susp_system_exe_anomaly.yml",
    "process_creation/proc_creation_win_susp_velociraptor_child_process.yml",
    "process_creation/proc_creation_win_wmic_susp_execution_via_office_process.yml",
    "process_creation/proc_creation_win_wmiprvse_susp_child_processes.yml",
    "process_creation/proc_creation_win_wscript_cscript_susp_child_processes.yml",
    "registry/registry_delete/registry_delete_removal_com_hijacking_registry_key.yml",
    "registry/registry_event/registry_event_ssp_added_lsa_config.yml",
    "registry/registry_set/registry_set_add_load_service_in_safe_mode.yml",
    "registry/registry_set/registry_set_asep_reg_keys_modification_office.yml",
    "registry/registry_set/registry_set_asep_reg_keys_modification_winsock2.yml",
    "registry/registry_set/registry_set_asep_reg_keys_modification_wow6432node.yml",
    "registry/registry_set/registry_set_persistence_office_vsto.yml",
    "registry/registry_set/registry_set_taskcache_entry.yml",
    "registry/registry_set/registry_set_treatas_persistence.yml",
    "registry/registry_set/registry_set_vbs_payload_stored.yml",
];

/// The absolute path of `rel` under `../shared/data`, or why it is missing.
pub fn shared_data(rel: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found (../shared/data is absent)",
            path.display()
        ))
    }
}

/// A rule set compiled by `sigma_rules!`, with what the harness needs from it.
pub struct Pack {
    /// Short name for reports (`msiexec`, `corpus`).
    pub name: &'static str,
    /// The IR the code was generated from (rule `i` is `ir.rules[i]`).
    pub ir: RuleSet,
    /// The absolute path of the file each rule comes from, by rule index.
    pub sources: Vec<PathBuf>,
    /// Files detect does not compile, with the reason.
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// The generated `scan`, reporting rule indices.
    pub scan: fn(&JsonEvent, &mut dyn FnMut(usize)),
    /// The generated `scan_unfiltered` (no dispatch table, no prefilter).
    pub scan_unfiltered: fn(&JsonEvent, &mut dyn FnMut(usize)),
}

macro_rules! pack {
    ($ty:ty, $name:expr, $base:expr) => {{
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join($base);
        Pack {
            name: $name,
            ir: <$ty as detect::CompiledRuleSet>::ir(),
            sources: <$ty>::SOURCES
                .iter()
                .map(|s| normalize(&base.join(s)))
                .collect(),
            skipped: <$ty>::SKIPPED
                .iter()
                .map(|(p, why)| (normalize(&base.join(p)), *why))
                .collect(),
            scan: |event, sink| <$ty as detect::CompiledRuleSet>::scan(event, |r| sink(r.index)),
            scan_unfiltered: |event, sink| {
                <$ty as detect::CompiledRuleSet>::scan_unfiltered(event, |r| sink(r.index))
            },
        }
    }};
}

impl Pack {
    /// Case 1.
    pub fn msiexec() -> Pack {
        pack!(Msiexec, "msiexec", "")
    }

    /// Case 2: the whole SigmaHQ windows pack of `detect-sigmahq`.
    #[cfg(feature = "corpus")]
    pub fn corpus() -> Pack {
        pack!(SigmaHqWindows, "corpus", "../../crates/detect-sigmahq")
    }

    /// The rule files of this case, each once, in rule order, then the
    /// skipped ones: what the peers are asked to load.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        for f in self
            .sources
            .iter()
            .chain(self.skipped.iter().map(|(p, _)| p))
        {
            if !files.contains(f) {
                files.push(f.clone());
            }
        }
        files
    }

    /// The indices of the rules compiled from `file`, in document order.
    pub fn rules_of(&self, file: &Path) -> Vec<usize> {
        (0..self.sources.len())
            .filter(|&i| self.sources[i] == file)
            .collect()
    }
}

/// `path` without `.` and `..` components (the files are reached through
/// different relative paths from different manifests).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The real events, each line parsed once for detect and once as a
/// `serde_json::Value` (from which each peer builds its own event type).
pub struct Events {
    /// The NDJSON lines, without their line ends.
    pub lines: Vec<String>,
    /// detect's events (flat layout).
    pub detect: Vec<JsonEvent>,
    /// The same events as JSON values.
    pub json: Vec<serde_json::Value>,
}

impl Events {
    /// Loads `../shared/data/events/windows-samples.ndjson`.
    pub fn load() -> Result<Events, String> {
        let path = shared_data("events/windows-samples.ndjson")?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut events = Events {
            lines: Vec::new(),
            detect: Vec::new(),
            json: Vec::new(),
        };
        // One engine's events at a time, so that each engine's lie
        // together in memory as they would in that engine's own process
        // (detect's were once interleaved with the JSON trees the peers'
        // events are made from, which cost detect's pass about 10%).
        let lines = || {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
        };
        let at = |n: usize, e: &dyn std::fmt::Display| format!("{}:{}: {e}", path.display(), n + 1);
        for (n, line) in lines() {
            events
                .detect
                .push(JsonEvent::parse_str(line).map_err(|e| at(n, &e))?);
        }
        for (n, line) in lines() {
            events
                .json
                .push(serde_json::from_str(line).map_err(|e| at(n, &e))?);
        }
        events.lines = lines().map(|(_, line)| line.to_string()).collect();
        Ok(events)
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when there are no events.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes of the lines.
    pub fn bytes(&self) -> u64 {
        self.lines.iter().map(|l| l.len() as u64).sum()
    }
}

/// Which rules of a pack apply to which event, by log source.
pub struct Routing {
    /// The arm of each event.
    pub arm_of_event: Vec<usize>,
    /// Per arm, the indices of the rules whose log source applies (sorted).
    pub arms: Vec<Vec<usize>>,
    /// Per event, the field renames of the log source variants that apply to
    /// it: (rule-side name, event-side name).
    pub aliases: Vec<&'static [(&'static str, &'static str)]>,
}

impl Routing {
    /// Routes `events` for the rules of `ir` (flat layout: `Channel` and
    /// `EventID` at the top level), with detect's log source table.
    pub fn new(ir: &RuleSet, events: &[JsonEvent]) -> Result<Routing, String> {
        // One compiled condition per distinct log source variant.
        let mut conditions: Vec<(CompiledExpr, &'static [(&'static str, &'static str)])> =
            Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut rule_variants: Vec<Vec<usize>> = Vec::with_capacity(ir.rules.len());
        for rule in &ir.rules {
            let variants = resolve(&rule.logsource, rule.vocabulary)
                .map_err(|e| format!("rule {}: {e}", rule.name))?;
            let mut ids = Vec::new();
            for v in variants {
                let key = format!("{:?}{:?}", v.condition, v.renames);
                let id = match seen.get(&key) {
                    Some(&id) => id,
                    None => {
                        let c = CompiledExpr::new(&v.condition)
                            .map_err(|e| format!("rule {}: {e}", rule.name))?;
                        conditions.push((c, v.renames));
                        seen.insert(key, conditions.len() - 1);
                        conditions.len() - 1
                    }
                };
                ids.push(id);
            }
            rule_variants.push(ids);
        }
        let mut arms: Vec<Vec<usize>> = Vec::new();
        let mut arm_ids: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut arm_of_event = Vec::with_capacity(events.len());
        let mut aliases = Vec::with_capacity(events.len());
        for event in events {
            let holds: Vec<bool> = conditions.iter().map(|(c, _)| c.matches(event)).collect();
            let renamed = conditions
                .iter()
                .zip(&holds)
                .filter(|(c, h)| **h && !c.1.is_empty())
                .map(|(c, _)| c.1)
                .collect::<Vec<_>>();
            if renamed.len() > 1 {
                return Err("an event belongs to two renaming log source variants".into());
            }
            aliases.push(renamed.first().copied().unwrap_or(&[]));
            let rules: Vec<usize> = (0..ir.rules.len())
                .filter(|&r| rule_variants[r].iter().any(|&v| holds[v]))
                .collect();
            let next = arms.len();
            let arm = *arm_ids.entry(rules.clone()).or_insert(next);
            if arm == next {
                arms.push(rules);
            }
            arm_of_event.push(arm);
        }
        Ok(Routing {
            arm_of_event,
            arms,
            aliases,
        })
    }
}

/// The arm of an event from its `Channel` and `EventID` alone, which is
/// all detect's log sources look at: what a peer user's dispatch on the log
/// source costs, timed with the peers (detect's own dispatch is inside its
/// `scan`). Built from the events and their [`Routing`], checking that the
/// two agree.
pub struct Router {
    by_channel: HashMap<String, HashMap<u64, usize>>,
}

impl Router {
    /// The router giving each event of `events` its arm in `routing`.
    pub fn new(events: &Events, routing: &Routing) -> Result<Router, String> {
        let mut by_channel: HashMap<String, HashMap<u64, usize>> = HashMap::new();
        for (i, json) in events.json.iter().enumerate() {
            let (channel, id) = channel_and_id(json)
                .ok_or_else(|| format!("event {} has no Channel or EventID", i + 1))?;
            let arm = routing.arm_of_event[i];
            let known = *by_channel
                .entry(channel.to_string())
                .or_default()
                .entry(id)
                .or_insert(arm);
            if known != arm {
                return Err(format!(
                    "event {}: ({channel}, {id}) routes to two arms: the log sources look at more than Channel and EventID",
                    i + 1
                ));
            }
        }
        Ok(Router { by_channel })
    }

    /// The arm for `channel` and `event_id` (`None`: a pair none of the
    /// events had).
    #[inline]
    pub fn arm(&self, channel: &str, event_id: u64) -> Option<usize> {
        self.by_channel.get(channel)?.get(&event_id).copied()
    }
}

/// `Channel` and `EventID` (a number, or a string holding one) of a flat event.
pub fn channel_and_id(json: &serde_json::Value) -> Option<(&str, u64)> {
    let channel = json.get("Channel")?.as_str()?;
    let id = json.get("EventID")?;
    let id = id.as_u64().or_else(|| id.as_str()?.parse().ok())?;
    Some((channel, id))
}

/// The JSON object handed to peers for an event: `json` with, for each
/// rename `(rule name, event name)` of its log source, the rule-side name
/// added with the event-side value (when the event has it and lacks the
/// rule-side name).
pub fn peer_json(json: &serde_json::Value, aliases: &[(&str, &str)]) -> serde_json::Value {
    let mut v = json.clone();
    if let Some(obj) = v.as_object_mut() {
        for (rule_name, event_name) in aliases {
            if !obj.contains_key(*rule_name)
                && let Some(value) = obj.get(*event_name).cloned()
            {
                obj.insert((*rule_name).to_string(), value);
            }
        }
    }
    v
}
