//! `sigma_rules!` with `pipeline = ...`: the seed rules compiled through
//! `pipelines/acme.yml` agree with the same YAML and pipeline loaded at run
//! time into the reference interpreter, and the pipeline's log source and
//! field names are the ones that match.

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::ir::RuleSet;
use detect_sigma::pipeline::Pipeline;
use detect_sigma::{LoadOptions, ParseOptions};
use detect_sigmahq::AcmeSeeds;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// The seeds and `file` loaded at run time through the pipeline `pipeline`.
fn run_time(rules: &str, pipeline: &str) -> RuleSet {
    let path = format!("{MANIFEST}/{pipeline}");
    let text = std::fs::read_to_string(&path).unwrap();
    let options = LoadOptions {
        parse: ParseOptions {
            pipelines: vec![Pipeline::parse(&path, &text).unwrap()],
            ..ParseOptions::default()
        },
        skip_unsupported: false,
    };
    let (set, failures) = detect_sigma::load_dir(rules.as_ref(), &options);
    assert!(failures.is_empty(), "{failures:?}");
    set
}

/// Names of the rules of `AcmeSeeds` that match `line`, checked three ways.
fn run(interp: &Interpreter, line: &str) -> Vec<&'static str> {
    let ev = JsonEvent::parse_str(line).unwrap();
    let mut hits = Vec::new();
    AcmeSeeds::scan(&ev, |r| hits.push(r.index));
    let mut unfiltered = Vec::new();
    AcmeSeeds::scan_unfiltered(&ev, |r| unfiltered.push(r.index));
    assert_eq!(hits, unfiltered, "{line}");
    assert_eq!(hits, interp.matches(&ev), "{line}");
    hits.into_iter().map(|i| AcmeSeeds::RULES[i].name).collect()
}

#[test]
fn compiled_pipeline_agrees_with_the_run_time_pipeline() {
    let set = run_time(&format!("{MANIFEST}/rules"), "pipelines/acme.yml");
    assert_eq!(
        set,
        AcmeSeeds::ir(),
        "same IR at build time and at run time"
    );
    let interp = Interpreter::new(&set).unwrap();
    let cl = r#"cmd /c msiexec /q /i https:\\/\\/e.example/x.msi"#;
    // The seed collection's Sysmon document now reads ACME's channel; its
    // Security document is unchanged but reads `cmdline` too.
    assert_eq!(
        run(
            &interp,
            &format!(r#"{{"Channel": "ACME/Sysmon", "EventID": 1, "cmdline": "{cl}"}}"#)
        ),
        ["msiexec_web_install_1"]
    );
    assert_eq!(
        run(
            &interp,
            &format!(r#"{{"Channel": "Security", "EventID": 4688, "cmdline": "{cl}"}}"#)
        ),
        ["msiexec_web_install_2"]
    );
    // Other channels, event IDs or the old field name do not match.
    for line in [
        format!(r#"{{"Channel": "ACME/Sysmon", "EventID": 2, "cmdline": "{cl}"}}"#),
        format!(r#"{{"Channel": "ACME/Sysmon", "EventID": 1, "CommandLine": "{cl}"}}"#),
        format!(r#"{{"Channel": "Security", "EventID": 4688, "CommandLine": "{cl}"}}"#),
        format!(
            r#"{{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "cmdline": "{cl}"}}"#
        ),
    ] {
        assert!(run(&interp, &line).is_empty(), "{line}");
    }
    // Network connections stay Sysmon 3, with ACME's field names, in every layout.
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    assert_eq!(
        run(
            &interp,
            &format!(
                r#"{{"Channel": "{sysmon}", "EventID": 3, "Initiated": "true", "exe": "C:\\Windows\\msiexec.exe", "dport": 443}}"#
            )
        ),
        ["net_connection_win_msiexec_http"]
    );
    assert_eq!(
        run(
            &interp,
            &format!(
                r#"{{"Event": {{"System": {{"Channel": "{sysmon}", "EventID": 3}}, "EventData": {{"Initiated": "true", "exe": "C:\\Windows\\msiexec.exe", "dport": 80}}}}}}"#
            )
        ),
        ["net_connection_win_msiexec_http"]
    );
    assert!(
        run(
            &interp,
            &format!(
                r#"{{"Channel": "{sysmon}", "EventID": 3, "Initiated": "true", "Image": "C:\\Windows\\msiexec.exe", "DestinationPort": 443}}"#
            )
        )
        .is_empty()
    );
}

/// The SigmaHQ rules skipped for their ETW log source compile once a
/// pipeline says where their events are, and agree with the interpreter.
#[cfg(feature = "corpus")]
#[test]
fn kernel_file_rules_compile_through_a_pipeline() {
    use detect_sigmahq::{KernelFileAccess, KernelFileRename};
    // The folder the compiled rules were read from.
    let access_dir = KernelFileAccess::ROOTS[0];
    assert!(access_dir.ends_with("rules/windows/file/file_access"));
    let access = run_time(access_dir, "pipelines/kernel_file_etw.yml");
    assert_eq!(access, KernelFileAccess::ir());
    assert_eq!(KernelFileAccess::LEN, 7);
    assert_eq!(KernelFileRename::LEN, 1);
    assert!(KernelFileAccess::SKIPPED.is_empty() && KernelFileRename::SKIPPED.is_empty());
    let interp = Interpreter::new(&access).unwrap();
    // Every rule of the category is checked on events of the provider only.
    for line in [
        r#"{"Provider_Name": "Microsoft-Windows-Kernel-File", "FileName": "C:\\Users\\a\\AppData\\Roaming\\Microsoft\\Protect\\S-1-5-21\\x", "Image": "C:\\evil.exe"}"#,
        r#"{"Provider_Name": "Microsoft-Windows-Sysmon", "FileName": "C:\\Users\\a\\AppData\\Roaming\\Microsoft\\Protect\\S-1-5-21\\x", "Image": "C:\\evil.exe"}"#,
    ] {
        let ev = JsonEvent::parse_str(line).unwrap();
        let mut hits = Vec::new();
        KernelFileAccess::scan(&ev, |r| hits.push(r.index));
        assert_eq!(hits, interp.matches(&ev), "{line}");
    }
}
