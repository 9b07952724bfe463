//! The built-in rule pack: the project's seed rules, written in the `rules!` DSL.
//!
//! | rule | origin | log source |
//! |---|---|---|
//! | [`Builtin`] `msi_install_from_web` | Datadog `def-000-ce3` "Windows MSI installation from web" | Application log, MsiInstaller event 1040 |
//! | [`Builtin`] `msiexec_web_install` | Sigma "MsiExec Web Install" (2018) | process creation: Sysmon 1 and Security 4688 |
//! | [`Builtin`] `msiexec_http_connection` | Sigma `8e5e38e4-...` "Msiexec.EXE Initiated Network Connection Over HTTP" | network connection: Sysmon 3 |
//! | [`Builtin`] `msiexec_remote_file_execution` (sequence) | Elastic EQL "Remote File Execution via MSIEXEC" | ECS process and network events; state in [`BuiltinSequences`] |
//!
//! ```
//! use detect_rules::Builtin;
//! use detect::JsonEvent;
//! let ev = JsonEvent::parse_str(r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application",
//!     "Data": ["http://officemysuppbox.com/staterepository", "2600"]}"#).unwrap();
//! let mut hits = Vec::new();
//! Builtin::scan(&ev, |r| hits.push(r.name));
//! assert_eq!(hits, ["msi_install_from_web"]);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

detect::rules! {
    /// The seed rules of detect, compiled into one zero-allocation matcher.
    pub ruleset Builtin;

    /// Detects Windows Installer package installations initiated directly from web URLs,
    /// potentially indicating malicious software distribution: MsiInstaller event 1040
    /// ("beginning a Windows Installer transaction") whose data holds a URL (`://`),
    /// excluding installs of the Datadog agent from Datadog's own download locations.
    ///
    /// Datadog attribute search is case-sensitive, so the URL test is `cased`; the
    /// exclusion compares host names, which are case-insensitive. The seed page
    /// gives no severity: `medium` is ours.
    #[id = "def-000-ce3"]
    #[title = "Windows MSI installation from web"]
    #[level(medium)]
    #[tags(attack.defense_evasion, attack.ta0005, attack.t1218)]
    #[author = "Datadog"]
    #[references("https://docs.datadoghq.com/security/default_rules/def-000-ce3/")]
    #[logsource(product = windows, service = application)]
    rule msi_install_from_web {
        selection: {
            Provider_Name|cased: "MsiInstaller",
            EventID: 1040,
            Data|contains|cased: "://",
        },
        filter_datadog_agent: {
            Data|contains: [
                "://s3.amazonaws.com/ddagent-windows-stable/",
                "://ddagent-windows-stable.s3.amazonaws.com/",
                "://windows-agent.datadoghq.com/",
            ],
        },
        condition: selection and not filter_datadog_agent,
    }

    /// Detects suspicious msiexec process starts with web addresses as parameter.
    ///
    /// The 2018 rule writes the value as `'* msiexec*:\/\/*'`; under the Sigma escape
    /// rules `\/` is a literal backslash followed by `/`, which no URL contains. The
    /// intent (and the current SigmaHQ rule) is `://`, which is what this rule matches.
    /// Its two log source documents (Sysmon 1 and Security 4688) are the two variants
    /// of `process_creation`.
    #[title = "MsiExec Web Install"]
    #[status(experimental)]
    #[level(medium)]
    #[author = "Florian Roth"]
    #[date = "2018/02/09"]
    #[references("https://blog.trendmicro.com/trendlabs-security-intelligence/attack-using-windows-installer-msiexec-exe-leads-lokibot/")]
    #[falsepositives("False positives depend on scripts and administrative tools used in the monitored environment")]
    #[logsource(product = windows, category = process_creation)]
    rule msiexec_web_install {
        selection: { CommandLine: "* msiexec*://*" },
        condition: selection,
    }

    /// Detects a network connection initiated by an "Msiexec.exe" process over port 80 or 443.
    /// Adversaries might abuse "msiexec.exe" to install and execute remotely hosted packages.
    /// Use this rule to hunt for potentially anomalous or suspicious communications.
    #[id = "8e5e38e4-5350-4c0b-895a-e872ce0dd54f"]
    #[title = "Msiexec.EXE Initiated Network Connection Over HTTP"]
    #[status(test)]
    #[level(low)]
    #[author = "frack113"]
    #[date = "2022-01-16"]
    #[modified = "2024-07-16"]
    #[tags(attack.stealth, attack.t1218.007, detection.threat-hunting)]
    #[references(
        "https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/msiexec",
        "https://github.com/redcanaryco/atomic-red-team/blob/f339e7da7d05f6057fdfcdd3742bfcf365fee2a9/atomics/T1218.007/T1218.007.md",
    )]
    #[falsepositives("Likely")]
    #[logsource(product = windows, category = network_connection)]
    rule msiexec_http_connection {
        selection: {
            Initiated: "true",
            Image|endswith: r"\msiexec.exe",
            DestinationPort: [80, 443],
        },
        condition: selection,
    }
    /// Identifies the installation of remote packages by the built-in Windows
    /// installer: msiexec started with `/V`, then a network connection from
    /// it, then a child process it starts, within one minute, joined by the
    /// msiexec process's entity id. Elastic's EQL rule, written verbatim (the
    /// Elasticsearch dialect: `:` case-insensitive with wildcards, `==`
    /// case-sensitive); it reads ECS events (Elastic Defend).
    #[title = "Remote File Execution via MSIEXEC"]
    #[level(low)]
    #[author = "Elastic"]
    #[tags(
        "Domain: Endpoint",
        "OS: Windows",
        "Use Case: Threat Detection",
        "Tactic: Initial Access",
        "Tactic: Defense Evasion",
        "Data Source: Elastic Defend",
    )]
    sequence msiexec_remote_file_execution = r#"sequence with maxspan=1m
 [process where host.os.type == "windows" and event.action == "start" and
    process.name : "msiexec.exe" and process.args : "/V"] by process.entity_id
 [network where host.os.type == "windows" and process.name : "msiexec.exe" and
    event.action == "connection_attempted"] by process.entity_id
 [process where host.os.type == "windows" and event.action == "start" and
  process.parent.name : "msiexec.exe" and user.id : ("S-1-5-21-*", "S-1-5-12-1-*") and
  not process.executable : ("?:\\Windows\\SysWOW64\\msiexec.exe",
                            "?:\\Windows\\System32\\msiexec.exe",
                            "?:\\Windows\\System32\\srtasks.exe",
                            "?:\\Windows\\SysWOW64\\srtasks.exe",
                            "?:\\Windows\\System32\\taskkill.exe",
                            "?:\\Windows\\Installer\\MSI*.tmp",
                            "?:\\Program Files\\*.exe",
                            "?:\\Program Files (x86)\\*.exe",
                            "?:\\Windows\\System32\\ie4uinit.exe",
                            "?:\\Windows\\SysWOW64\\ie4uinit.exe",
                            "?:\\Windows\\System32\\sc.exe",
                            "?:\\Windows\\system32\\Wbem\\mofcomp.exe",
                            "?:\\Windows\\twain_32\\fjscan32\\SOP\\crtdmprc.exe",
                            "?:\\Windows\\SysWOW64\\taskkill.exe",
                            "?:\\Windows\\SysWOW64\\schtasks.exe",
                            "?:\\Windows\\system32\\schtasks.exe",
                            "?:\\Windows\\System32\\sdbinst.exe") and
  not (process.code_signature.subject_name == "Citrix Systems, Inc." and process.code_signature.trusted == true) and
  not (process.name : ("regsvr32.exe", "powershell.exe", "rundll32.exe", "wscript.exe") and
       process.Ext.token.integrity_level_name == "high" and
       process.args : ("?:\\Program Files\\*", "?:\\Program Files (x86)\\*")) and
  not (process.executable : ("?:\\Program Files\\*.exe", "?:\\Program Files (x86)\\*.exe") and process.code_signature.trusted == true) and
  not (process.name : "rundll32.exe" and process.args : "printui.dll,PrintUIEntry")
  ] by process.parent.entity_id"#;
}
