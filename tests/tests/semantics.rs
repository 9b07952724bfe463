//! The semantics table: one row per (rule, event, expected verdict), run
//! against the generated code, the same IR compiled at run time
//! (`RuntimeRuleSet`) *and* the reference interpreter.
//!
//! Every matcher and modifier has rules here with positive and negative rows;
//! `every_rule_has_a_positive_and_a_negative_row` keeps it that way. Every
//! event of the table is also run through every rule of the set, checking that
//! generated code and interpreter agree beyond the rows written by hand.

use detect::JsonEvent;
use detect::interpreter::Interpreter;
use detect::runtime::RuntimeRuleSet;
use detect_tests::semantics_rules::Semantics;

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";

/// (rule, event JSON, expected)
fn table() -> Vec<(&'static str, String, bool)> {
    let f = |v: &str| format!(r#"{{"F": {v}}}"#);
    let mut t: Vec<(&'static str, String, bool)> = vec![
        ("exact_ci", f(r#""abc""#), true),
        ("exact_ci", f(r#""ABC""#), true),
        ("exact_ci", f(r#""abcd""#), false),
        ("exact_ci", "{}".into(), false),
        ("exact_ci", f("null"), false),
        ("exact_ci", f(r#"["x", "ABC"]"#), true),
        ("exact_ci", f(r#"[["x"], ["aBc"]]"#), true),
        ("exact_ci", f(r#"[]"#), false),
        ("exact_ci", f(r#"{"nested": "abc"}"#), false),
        ("exact_unicode", f(r#""äö""#), true),
        ("exact_unicode", f(r#""ÄÖ""#), true),
        ("exact_unicode", f(r#""AO""#), false),
        ("exact_kelvin", f("\"\u{212A}\""), true),
        ("exact_kelvin", f(r#""K""#), true),
        ("exact_kelvin", f(r#""x""#), false),
        // Unicode folding maps KELVIN SIGN to `k` and İ to `i`: the prefilter's
        // ASCII automaton cannot see that, and must not drop these matches.
        ("atom_kelvin", f("\"x\u{212A}KBACKUP\""), true),
        ("atom_kelvin", f(r#""kbackup""#), false),
        ("atom_dotted_i", f("\"\u{130}MAG\u{130}NG\""), true),
        ("atom_dotted_i", f(r#""imagin""#), false),
        ("atom_non_ascii", f(r#""STRAßE_XYZ""#), true),
        ("atom_non_ascii", f(r#""STRASSE_XYZ""#), false),
        ("exact_cased", f(r#""Abc""#), true),
        ("exact_cased", f(r#""abc""#), false),
        ("exact_empty", f(r#""""#), true),
        ("exact_empty", "{}".into(), false),
        ("exact_empty", f("null"), false),
        ("exact_empty", f(r#"" ""#), false),
        ("number_as_text", f("443"), true),
        ("number_as_text", f(r#""443""#), true),
        ("number_as_text", f("4430"), false),
        ("number_as_text", f("443.0"), false),
        ("number_as_text", f(r#"" 443""#), false),
        ("number_as_text", f("[80, 443]"), true),
        ("negative_number", f("-5"), true),
        ("negative_number", f("5"), false),
        ("bool_text", f("true"), true),
        ("bool_text", f(r#""TRUE""#), true),
        ("bool_text", f("false"), false),
        ("list_or", f(r#""y""#), true),
        ("list_or", f(r#""z""#), false),
        ("star", f(r#""ac""#), true),
        ("star", f(r#""aBBBc""#), true),
        ("star", f(r#""ab""#), false),
        ("star", f(r#""xac""#), false),
        ("question", f(r#""abc""#), true),
        ("question", f(r#""aäc""#), true),
        ("question", f(r#""ac""#), false),
        ("question", f(r#""abbc""#), false),
        ("escaped_star", f(r#""a*c""#), true),
        ("escaped_star", f(r#""abc""#), false),
        ("escaped_backslash_then_star", f(r#""a\\xyz""#), true),
        ("escaped_backslash_then_star", f(r#""a\\""#), true),
        ("escaped_backslash_then_star", f(r#""axyz""#), false),
        ("plain_backslash", f(r#""c:\\windows\\X""#), true),
        ("plain_backslash", f(r#""c:windowsx""#), false),
        ("only_star", f(r#""""#), true),
        ("only_star", f(r#""anything""#), true),
        ("only_star", "{}".into(), false),
        ("only_star", f("null"), false),
        ("contains", f(r#""hayNEEDLEstack""#), true),
        ("contains", f(r#""needl""#), false),
        ("contains_wild", f(r#""xxaYYbzz""#), true),
        ("contains_wild", f(r#""ba""#), false),
        ("contains_cased", f(r#""aNeedle""#), true),
        ("contains_cased", f(r#""aneedle""#), false),
        ("startswith", f(r#""PREfix""#), true),
        ("startswith", f(r#""apre""#), false),
        ("endswith", f(r#""C:\\Windows\\System32\\CMD.EXE""#), true),
        ("endswith", f(r#""C:\\cmd.exe.bak""#), false),
        ("endswith_unicode", f(r#""hauptstrasse""#), true),
        ("endswith_unicode", f(r#""hauptstraße""#), false),
        ("contains_all", f(r#""x b2 y A1""#), true),
        ("contains_all", f(r#""a1 only""#), false),
        // `all` ANDs per-value tests, and each test is "any element": like a
        // multi-valued field in a search backend, different elements may satisfy each.
        ("contains_all", f(r#"["a1", "b2"]"#), true),
        ("re_plain", f(r#""abc""#), true),
        ("re_plain", f(r#""ABC""#), false),
        ("re_plain", f(r#""a\nc""#), false),
        ("re_search", f(r#""abbbc""#), true),
        ("re_search", f(r#""ac""#), false),
        ("re_i", f(r#""ABC""#), true),
        ("re_i", f(r#""abcd""#), false),
        ("re_m", f(r#""a\nb\nc""#), true),
        ("re_m", f(r#""abc""#), false),
        ("re_no_m", f(r#""a\nb\nc""#), false),
        ("re_no_m", f(r#""b""#), true),
        ("re_s", f(r#""a\nc""#), true),
        ("re_s", f(r#""a\n\nc""#), false),
        ("re_alternation", f(r#""powershell ${INPUT} x""#), true),
        (
            "re_alternation",
            f(r#""cmd /c POWERSHELL -NoExit -C whoami""#),
            true,
        ),
        ("re_alternation", f(r#""powershell -noexit""#), false),
        ("re_alternation", f(r#""$inp ut""#), false),
        ("re_optional", f(r#""xabijx""#), true),
        ("re_optional", f(r#""abcdefghij""#), true),
        ("re_optional", f(r#""abcdij""#), false),
        ("re_optional", f(r#""cdefgh""#), false),
        ("re_i_folds", f(r#""TASK_KILL""#), true),
        // Simple case folding: `(?i)k` matches U+212A, `(?i)s` U+017F; the
        // prefilter must not drop these though the atoms hold `k` and `s`.
        ("re_i_folds", f("\"TAS\u{212A}_KILL now\""), true),
        ("re_i_folds", f("\"\u{17F}EKURLSA::logonpasswords\""), true),
        ("re_i_folds", f("\"\u{17F}ekurl\u{17F}\""), false),
        ("re_i_folds", f(r#""tas_kill""#), false),
        ("re_cased_non_ascii", f(r#""Straße1""#), true),
        ("re_cased_non_ascii", f(r#""straße1""#), false),
        ("re_cased_non_ascii", f(r#""STRASSE1""#), false),
        ("cidr_v4", f(r#""10.1.2.3""#), true),
        ("cidr_v4", f(r#""::ffff:10.0.0.1""#), true),
        ("cidr_v4", f(r#""11.0.0.1""#), false),
        ("cidr_v4", f(r#""not an ip""#), false),
        ("cidr_v4", f(r#""10.1.2.3 ""#), false),
        ("cidr_v6", f(r#""FE80::1""#), true),
        ("cidr_v6", f(r#""fec0::1""#), false),
        ("cidr_v6", f(r#""10.0.0.1""#), false),
        ("cidr_mixed", f(r#""10.9.9.9""#), true),
        ("cidr_mixed", f(r#""::ffff:192.168.1.1""#), true),
        ("cidr_mixed", f(r#""::FFFF:10.0.0.1""#), true),
        ("cidr_mixed", f(r#""192.168.1.1""#), false),
        ("cidr_mixed", f(r#""fe80::1""#), true),
        ("cidr_mixed", f(r#""2001:db8::1""#), false),
        ("cidr_mixed", f(r#"["2001:db8::1", "-", "10.0.0.1"]"#), true),
        ("cidr_mixed", f(r#""010.0.0.1""#), false),
        ("str_list_mixed", f(r#""--ABC--""#), true),
        ("str_list_mixed", f(r#""x and y""#), true),
        ("str_list_mixed", f(r#""exact""#), true),
        ("str_list_mixed", f(r#""EXACT""#), true),
        ("str_list_mixed", f(r#""a.exe""#), false),
        ("str_list_mixed", r#"{"F": "a.exe", "G": "q"}"#.into(), true),
        ("str_list_mixed", r#"{"F": "ab", "G": "q"}"#.into(), false),
        ("cidr_list", f(r#""172.20.1.1""#), true),
        ("cidr_list", f(r#""172.32.0.1""#), false),
        ("base64_exact", f(r#""YWJj""#), true),
        ("base64_exact", f(r#""YWJjZA==""#), false),
        ("base64offset_contains", f(r#""L2Jpbi9iYXNoIC1j""#), true),
        (
            "base64offset_contains",
            f(r#""eC9iaW4vYmFzaCAtYw==""#),
            true,
        ),
        (
            "base64offset_contains",
            f(r#""eHkvYmluL2Jhc2ggLWM=""#),
            true,
        ),
        ("base64offset_contains", f(r#""L2Jpbi9zaA==""#), false),
        (
            "wide_base64offset",
            f(r#""YwBtAGQAIAAvAGMAIABwAGkAbgBnACAAOAAuADgALgA4AC4AOAA=""#),
            true,
        ),
        (
            "wide_base64offset",
            f(r#""eABjAG0AZAAgAC8AYwAgAHAAaQBuAGcAIAA4AC4AOAAuADgALgA4AA==""#),
            true,
        ),
        ("wide_base64offset", f(r#""cGluZw==""#), false),
        ("utf16le_base64", f(r#""cABpAG4AZwA=""#), true),
        ("utf16le_base64", f(r#""AHAAaQBuAGc=""#), false),
        ("utf16be_base64", f(r#""AHAAaQBuAGc=""#), true),
        ("utf16be_base64", f(r#""cABpAG4AZwA=""#), false),
        ("utf16_bom_base64", f(r#""//5wAGkAbgBnAA==""#), true),
        ("utf16_bom_base64", f(r#""cABpAG4AZwA=""#), false),
        ("windash", f(r#""powershell -enc AAA""#), true),
        ("windash", f(r#""powershell /enc AAA""#), true),
        ("windash", f("\"powershell \u{2013}enc AAA\""), true),
        ("windash", f("\"powershell \u{2015}ENC AAA\""), true),
        ("windash", f(r#""powershell enc AAA""#), false),
        ("windash", f(r#""powershell \\enc AAA""#), false),
        ("exists_true", f("null"), true),
        ("exists_true", f(r#""""#), true),
        ("exists_true", r#"{"G": 1}"#.into(), false),
        ("exists_false", r#"{"G": 1}"#.into(), true),
        ("exists_false", f(r#""x""#), false),
        ("null_value", "{}".into(), true),
        ("null_value", f("null"), true),
        ("null_value", f(r#""""#), false),
        ("null_value", f(r#""x""#), false),
        ("fieldref", r#"{"F": "abc", "G": "ABC"}"#.into(), true),
        ("fieldref", r#"{"F": "abc", "G": "abd"}"#.into(), false),
        ("fieldref", r#"{"F": "abc"}"#.into(), false),
        ("fieldref", r#"{"F": 7, "G": "7"}"#.into(), true),
        (
            "fieldref_cased",
            r#"{"F": "abc", "G": "ABC"}"#.into(),
            false,
        ),
        ("fieldref_cased", r#"{"F": "abc", "G": "abc"}"#.into(), true),
        (
            "fieldref_endswith",
            r#"{"F": "C:\\x\\CMD.exe", "G": "cmd.exe"}"#.into(),
            true,
        ),
        (
            "fieldref_endswith",
            r#"{"F": "cmd.exe", "G": "C:\\cmd.exe"}"#.into(),
            false,
        ),
        ("gt", f("11"), true),
        ("gt", f("10.5"), true),
        ("gt", f(r#""11""#), true),
        ("gt", f("10"), false),
        ("gt", f(r#""abc""#), false),
        ("gt", "{}".into(), false),
        ("gte", f("10"), true),
        ("gte", f("9"), false),
        ("lt", f("-3"), true),
        ("lt", f("10"), false),
        ("lte", f("10.5"), true),
        ("lte", f("10.6"), false),
        ("neq", f(r#""y""#), true),
        ("neq", f(r#""x""#), false),
        ("neq", f(r#""X""#), false),
        ("neq", "{}".into(), true),
        ("neq_list", f(r#""z""#), true),
        ("neq_list", f(r#""y""#), false),
        ("neq_number", f("3"), true),
        ("neq_number", f("6"), false),
        (
            "hour",
            r#"{"T": "2019-10-31T14:48:42.000000Z"}"#.into(),
            true,
        ),
        ("hour", r#"{"T": "2019-10-31 14:01:00.123"}"#.into(), true),
        ("hour", r#"{"T": "2019-10-31T15:48:42Z"}"#.into(), false),
        ("hour", r#"{"T": "not a time"}"#.into(), false),
        ("month_gte", r#"{"T": "2019-06-01T00:00:00Z"}"#.into(), true),
        (
            "month_gte",
            r#"{"T": "2019-05-31T23:59:59Z"}"#.into(),
            false,
        ),
        ("week", r#"{"T": "2021-01-03T10:00:00Z"}"#.into(), true),
        ("week", r#"{"T": "2021-01-04T10:00:00Z"}"#.into(), false),
        ("expand", r#"{"User": "ROOT"}"#.into(), true),
        ("expand", r#"{"User": "Administrator"}"#.into(), true),
        ("expand", r#"{"User": "alice"}"#.into(), false),
        ("keyword", r#"{"A": "x EVIL y"}"#.into(), true),
        ("keyword", r#"{"A": ["a", "evil"]}"#.into(), true),
        (
            "keyword",
            r#"{"A": {"B": {"C": "very evil"}}}"#.into(),
            true,
        ),
        ("keyword", r#"{"evil": "good"}"#.into(), false),
        ("keyword", r#"{"A": "good"}"#.into(), false),
        ("keyword_all", r#"{"X": "a1", "Y": "b2"}"#.into(), true),
        ("keyword_all", r#"{"X": "a1"}"#.into(), false),
        ("keyword_wild", r#"{"X": "run mimi-katz now"}"#.into(), true),
        ("keyword_wild", r#"{"X": "katz mimi"}"#.into(), false),
        ("map_and", r#"{"A": "1", "B": "2"}"#.into(), true),
        ("map_and", r#"{"A": "1", "B": "3"}"#.into(), false),
        ("list_of_maps", r#"{"B": "2"}"#.into(), true),
        ("list_of_maps", r#"{"A": "2"}"#.into(), false),
        (
            "dotted_path",
            r#"{"process": {"parent": {"name": "X.EXE"}}}"#.into(),
            true,
        ),
        (
            "dotted_path",
            r#"{"process.parent.name": "x.exe"}"#.into(),
            true,
        ),
        (
            "dotted_path",
            r#"{"process": {"parent.name": "x.exe"}}"#.into(),
            true,
        ),
        (
            "dotted_path",
            r#"{"process": [{"parent": {"name": "y"}}, {"parent": {"name": "x.exe"}}]}"#.into(),
            true,
        ),
        (
            "dotted_path",
            r#"{"process": {"name": "x.exe"}}"#.into(),
            false,
        ),
        ("quoted_field", r#"{"Some Field": "V"}"#.into(), true),
        ("quoted_field", r#"{"SomeField": "v"}"#.into(), false),
        ("cond_and_not", r#"{"A": "1"}"#.into(), true),
        ("cond_and_not", r#"{"A": "1", "B": "2"}"#.into(), false),
        ("cond_or_paren", r#"{"B": "2", "C": "3"}"#.into(), true),
        ("cond_or_paren", r#"{"A": "1"}"#.into(), false),
        ("cond_precedence", r#"{"A": "1"}"#.into(), true),
        ("cond_precedence", r#"{"B": "2"}"#.into(), false),
        ("one_of_pattern", r#"{"B": "2"}"#.into(), true),
        ("one_of_pattern", r#"{"C": "3"}"#.into(), false),
        ("all_of_pattern", r#"{"A": "1", "B": "2"}"#.into(), true),
        ("all_of_pattern", r#"{"A": "1"}"#.into(), false),
        ("one_of_them_skips_underscore", r#"{"A": "1"}"#.into(), true),
        (
            "one_of_them_skips_underscore",
            r#"{"H": "x"}"#.into(),
            false,
        ),
        (
            "all_of_them_skips_underscore",
            r#"{"A": "1", "B": "2"}"#.into(),
            true,
        ),
        (
            "all_of_them_skips_underscore",
            r#"{"A": "1", "H": "x"}"#.into(),
            false,
        ),
        ("not_one_of", r#"{"A": "1"}"#.into(), true),
        ("not_one_of", r#"{"A": "1", "C": "3"}"#.into(), false),
    ];
    // Log sources and layouts: the same rule on flat, evtx-nested and ECS events.
    let layout_rows: Vec<(&'static str, String, bool)> = vec![
        ("layout_process_creation", format!(r#"{{"Channel": "{SYSMON}", "EventID": 1, "CommandLine": "an EVIL one"}}"#), true),
        ("layout_process_creation", r#"{"Channel": "Security", "EventID": 4688, "CommandLine": "evil"}"#.into(), true),
        ("layout_process_creation", format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "CommandLine": "evil"}}"#), false),
        ("layout_process_creation", r#"{"Channel": "Application", "EventID": 1, "CommandLine": "evil"}"#.into(), false),
        ("layout_process_creation", r#"{"CommandLine": "evil"}"#.into(), false),
        ("layout_process_creation", format!(r#"{{"Event": {{"System": {{"Channel": "{SYSMON}", "EventID": 1}}, "EventData": {{"CommandLine": "evil"}}}}}}"#), true),
        ("layout_process_creation", format!(r##"{{"Event": {{"System": {{"Channel": "{SYSMON}", "EventID": {{"#attributes": {{"Qualifiers": 0}}, "#text": 1}}}}, "EventData": {{"CommandLine": "evil"}}}}}}"##), true),
        ("layout_process_creation", format!(r#"{{"Event": {{"System": {{"Channel": "{SYSMON}", "EventID": 1}}, "EventData": {{"Image": "evil"}}}}}}"#), false),
        ("layout_process_creation", format!(r#"{{"@timestamp": "2024-01-01T00:00:00Z", "winlog": {{"channel": "{SYSMON}", "event_id": 1}}, "process": {{"command_line": "evil"}}}}"#), true),
        ("layout_process_creation", format!(r#"{{"@timestamp": "2024-01-01T00:00:00Z", "winlog.channel": "{SYSMON}", "winlog.event_id": "1", "process.command_line": "evil"}}"#), true),
        ("layout_process_creation", format!(r#"{{"@timestamp": "2024-01-01T00:00:00Z", "winlog": {{"channel": "{SYSMON}", "event_id": 1}}, "CommandLine": "evil"}}"#), false),
        ("layout_image_rename", format!(r#"{{"Channel": "{SYSMON}", "EventID": 1, "Image": "C:\\evil.exe"}}"#), true),
        ("layout_image_rename", r#"{"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\evil.exe"}"#.into(), true),
        ("layout_image_rename", r#"{"Channel": "Security", "EventID": 4688, "Image": "C:\\evil.exe"}"#.into(), false),
        ("layout_network", format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "DestinationPort": 443}}"#), true),
        ("layout_network", format!(r#"{{"Channel": "{SYSMON}", "EventID": 3, "DestinationPort": 8443}}"#), false),
        ("layout_network", format!(r#"{{"Event": {{"System": {{"Channel": "{SYSMON}", "EventID": 3}}, "EventData": {{"DestinationPort": "443"}}}}}}"#), true),
        ("layout_network", format!(r#"{{"ecs": {{"version": "8"}}, "winlog": {{"channel": "{SYSMON}", "event_id": 3}}, "destination": {{"port": 443}}}}"#), true),
        ("layout_application", r#"{"Channel": "Application", "Provider_Name": "MsiInstaller", "EventID": 1040}"#.into(), true),
        ("layout_application", r#"{"Channel": "System", "Provider_Name": "MsiInstaller", "EventID": 1040}"#.into(), false),
        ("layout_application", r##"{"Event": {"System": {"Channel": "Application", "Provider": {"#attributes": {"Name": "MsiInstaller"}}, "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 1040}}}}"##.into(), true),
        ("layout_application", r##"{"Event": {"System": {"Channel": "Application", "Provider": {"#attributes": {"Name": "Other"}}, "EventID": 1040}}}"##.into(), false),
        ("layout_application", r#"{"@timestamp": "x", "winlog": {"channel": "Application", "provider_name": "MsiInstaller", "event_id": 1040}}"#.into(), true),
        // Event IDs taken from the body into the routing: same verdicts as the body.
        ("layout_application", r#"{"Channel": "Application", "Provider_Name": "MsiInstaller", "EventID": "01040"}"#.into(), false),
        ("layout_application", r#"{"Channel": "Application", "Provider_Name": "MsiInstaller", "EventID": 1041}"#.into(), false),
        ("layout_application", r#"{"Channel": "Application", "Provider_Name": "MsiInstaller", "EventID": [1041, 1040]}"#.into(), true),
        ("layout_application", r#"{"Channel": "Application", "Provider_Name": "MsiInstaller", "EventID": "1040 "}"#.into(), false),
        ("routing_event_ids_in_body", r#"{"Channel": "Security", "EventID": 4625, "TargetUserName": "Administrator"}"#.into(), true),
        ("routing_event_ids_in_body", r#"{"Channel": "security", "EventID": "4624", "TargetUserName": "admin", "LogonType": 3}"#.into(), true),
        ("routing_event_ids_in_body", r#"{"Channel": "Security", "EventID": 4624, "TargetUserName": "admin", "LogonType": 5}"#.into(), false),
        ("routing_event_ids_in_body", r#"{"Channel": "Security", "EventID": 4634, "TargetUserName": "admin"}"#.into(), false),
        ("routing_event_ids_in_body", r#"{"Channel": "Security", "TargetUserName": "admin"}"#.into(), false),
        ("routing_event_ids_in_body", r#"{"Channel": "Security", "EventID": [4634, 4625], "TargetUserName": "admin"}"#.into(), true),
        ("routing_event_ids_in_body", r#"{"Channel": "System", "EventID": 4625, "TargetUserName": "admin"}"#.into(), false),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": 4738, "AllowedToDelegateTo": "host/x"}"#.into(), true),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": 4738, "AllowedToDelegateTo": "-"}"#.into(), false),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": 5136, "AttributeLDAPDisplayName": "ServicePrincipalName"}"#.into(), true),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": 5136, "AttributeLDAPDisplayName": "other"}"#.into(), false),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": 4625, "AttributeLDAPDisplayName": "servicePrincipalName"}"#.into(), false),
        ("routing_event_ids_nested", r#"{"Channel": "Security", "EventID": [4625, 4738]}"#.into(), true),
        ("atom_groups", r#"{"Image": "C:\\X\\CSI.EXE", "Company": "microsoft corporation", "Product": "Visual Studio"}"#.into(), true),
        ("atom_groups", r#"{"Image": "C:\\X\\csi.exe", "Company": "Microsoft Corporation", "Product": "Office"}"#.into(), false),
        ("atom_groups", r#"{"Image": "C:\\X\\cmd.exe", "Company": "Microsoft Corporation", "Product": "Visual Studio"}"#.into(), false),
        ("atom_groups", r#"{"Image": "C:\\X\\csi.exe", "Product": "Visual Studio"}"#.into(), false),
        ("atom_groups", r#"{"Image": ["a", "C:\\X\\csi.exe"], "Company": ["Microsoft Corporation"], "Product": "Visual"}"#.into(), true),
        ("atom_groups", r#"{"Image": "C:\\X\\csi.exe", "Company": "Microsoft Corporation", "Product": "Visual", "User": "svc_build"}"#.into(), false),
        ("contains_set", r#"{"F": "x HOTEL y"}"#.into(), true),
        ("contains_set", r#"{"F": ["none", "GolF"]}"#.into(), true),
        ("contains_set", r#"{"F": "x hotl y"}"#.into(), false),
        ("contains_set", r#"{"F": "\u212Ailo"}"#.into(), true),
        ("contains_set", r#"{"F": "\u212Aila"}"#.into(), false),
        ("contains_set", r#"{"F": "ẞTRAßE"}"#.into(), true),
        ("contains_set", r#"{"F": "run.PS1"}"#.into(), true),
        ("contains_set", r#"{"F": 12}"#.into(), false),
        ("atom_alternatives", r#"{"Image": "C:\\Windows\\x.exe", "CommandLine": "a \\..\\..\\b"}"#.into(), true),
        ("atom_alternatives", r#"{"Image": "C:\\Windows\\x.exe", "CommandLine": "a b"}"#.into(), false),
        ("atom_alternatives", r#"{"Image": "C:\\Tools\\x.exe", "CommandLine": "a \\..\\..\\b"}"#.into(), false),
        ("atom_alternatives", r#"{"Image": "C:\\Tools\\x.exe", "CommandLine": "x.EXE\\..\\y"}"#.into(), true),
        ("atom_alternatives", r#"{"CommandLine": "x.exe\\..\\y"}"#.into(), true),
        ("atom_alternatives", r#"{"Image": "C:\\Windows\\x.exe", "CommandLine": "GoogleDriveSync.exe\\..\\y"}"#.into(), false),
        ("atom_alternatives", r#"{"Image": ["C:\\Windows\\x.exe"], "CommandLine": ["q", "\\..\\..\\"]}"#.into(), true),
        ("str_set", r#"{"F": "C:\\Windows\\System32\\VERSION.DLL"}"#.into(), true),
        ("str_set", r#"{"F": ["x", "C:\\w\\AuthZ.dll"]}"#.into(), true),
        ("str_set", r#"{"F": "C:\\x\\aclui.dll.bak"}"#.into(), false),
        ("str_set", r#"{"F": "C:\\x\\xaclui.dll"}"#.into(), false),
        ("str_set", r#"{"F": "aclui.dll"}"#.into(), false),
        ("str_set", r#"{"F": "run.PS1"}"#.into(), true),
        ("str_set", r#"{"F": "C:\\Users\\Public\\a.exe"}"#.into(), true),
        ("str_set", r#"{"F": "C:\\Users\\Publi"}"#.into(), false),
        ("str_set", r#"{"F": "D:\\a"}"#.into(), true),
        ("str_set", r#"{"F": "EXACTLY THIS VALUE"}"#.into(), true),
        ("str_set", r#"{"F": "exactly this value!"}"#.into(), false),
        ("str_set", r#"{"F": "exactly this valu"}"#.into(), false),
        ("str_set", r#"{"F": "\u212A"}"#.into(), true),
        ("str_set", r#"{"F": "C:\\\u212Aernel\\Version.dll"}"#.into(), true),
        ("str_set", r#"{"F": "C:\\\u212Aernel\\Version.dl"}"#.into(), false),
        ("str_set", r#"{"F": "STRAẞE"}"#.into(), true),
        ("str_set", r#"{"F": "CasedValue"}"#.into(), true),
        ("str_set", r#"{"F": "casedvalue"}"#.into(), false),
        ("str_set", r#"{"F": "WILD-card"}"#.into(), true),
        ("str_set", r#"{"F": 7}"#.into(), false),
        ("atom_cyrillic", r#"{"F": "pАyload"}"#.into(), true),
        ("atom_cyrillic", r#"{"F": "pаyload"}"#.into(), true),
        ("atom_cyrillic", r#"{"F": "nеt"}"#.into(), true),
        ("atom_cyrillic", r#"{"F": "NЕT"}"#.into(), true),
        ("atom_cyrillic", r#"{"F": "payload net"}"#.into(), false),
        ("and_same_field", r#"{"CommandLine": "NET user x /ADD", "Image": "C:\\w\\net.exe"}"#.into(), true),
        ("and_same_field", r#"{"CommandLine": ["net user", "x /add"], "Image": "C:\\w\\net.exe"}"#.into(), true),
        ("and_same_field", r#"{"CommandLine": "net user x", "Image": "C:\\w\\net.exe"}"#.into(), false),
        ("and_same_field", r#"{"CommandLine": "x net user /add", "Image": "C:\\w\\net.exe"}"#.into(), false),
        ("and_same_field", r#"{"CommandLine": "net user /add", "Image": "C:\\w\\cmd.exe"}"#.into(), false),
        ("and_same_field", r#"{"CommandLine": null, "Image": "C:\\w\\net.exe"}"#.into(), false),
        ("and_same_field", r#"{"CommandLine": [], "Image": "C:\\w\\net.exe"}"#.into(), false),
        ("atom_emoji", r#"{"F": "say 😂 now"}"#.into(), true),
        ("atom_emoji", r#"{"F": "say 😀 now"}"#.into(), false),
        ("atom_caseless_symbol", r#"{"F": "a→äb"}"#.into(), true),
        ("atom_caseless_symbol", r#"{"F": "a→ÄB"}"#.into(), true),
        ("atom_caseless_symbol", r#"{"F": "a→AB"}"#.into(), false),
        ("atom_caseless_symbol", r#"{"F": "a\u2192\u00e4\u212a"}"#.into(), false),
        ("atom_weak", r#"{"F": "rar a -HP secret"}"#.into(), true),
        ("atom_weak", r#"{"F": "rar a -h p"}"#.into(), false),
    ];
    t.extend(layout_rows);
    t
}

#[test]
fn generated_code_run_time_rules_and_interpreter_follow_the_table() {
    let interp = Interpreter::new(&Semantics::ir()).expect("IR loads");
    let run_time = RuntimeRuleSet::compile(Semantics::ir()).expect("IR compiles at run time");
    let mut failures = Vec::new();
    for (rule, json, expected) in table() {
        let info = Semantics::rule(rule).unwrap_or_else(|| panic!("no rule {rule}"));
        let event = JsonEvent::parse_str(&json).unwrap_or_else(|e| panic!("bad event {json}: {e}"));
        let mut generated = false;
        Semantics::scan(&event, |r| generated |= r.index == info.index);
        let mut unfiltered = false;
        Semantics::scan_unfiltered(&event, |r| unfiltered |= r.index == info.index);
        let interpreted = interp.rule_matches(info.index, &event);
        let mut rt = false;
        run_time.scan(&event, |r| rt |= r == info.index);
        let mut rt_unfiltered = false;
        run_time.scan_unfiltered(&event, |r| rt_unfiltered |= r == info.index);
        if [generated, unfiltered, interpreted, rt, rt_unfiltered] != [expected; 5] {
            failures.push(format!(
                "{rule} on {json}: expected {expected}, generated {generated}, unfiltered {unfiltered}, interpreter {interpreted}, run-time {rt}, run-time unfiltered {rt_unfiltered}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_event_gets_the_same_verdicts_from_every_rule_in_every_back_end() {
    let interp = Interpreter::new(&Semantics::ir()).expect("IR loads");
    let run_time = RuntimeRuleSet::compile(Semantics::ir()).expect("IR compiles at run time");
    assert_eq!(run_time.rules().len(), Semantics::RULES.len());
    for (_, json, _) in table() {
        let event = JsonEvent::parse_str(&json).unwrap();
        let mut generated = Vec::new();
        Semantics::scan(&event, |r| generated.push(r.index));
        let mut unfiltered = Vec::new();
        Semantics::scan_unfiltered(&event, |r| unfiltered.push(r.index));
        assert_eq!(generated, interp.matches(&event), "event {json}");
        assert_eq!(unfiltered, generated, "event {json}");
        let mut rt = Vec::new();
        run_time.scan(&event, |r| rt.push(r));
        let mut rt_unfiltered = Vec::new();
        run_time.scan_unfiltered(&event, |r| rt_unfiltered.push(r));
        assert_eq!(rt, generated, "run-time scan, event {json}");
        assert_eq!(
            rt_unfiltered, generated,
            "run-time scan_unfiltered, event {json}"
        );
    }
}

#[test]
fn every_rule_has_a_positive_and_a_negative_row() {
    let rows = table();
    for info in Semantics::RULES {
        let pos = rows.iter().any(|(r, _, e)| *r == info.name && *e);
        let neg = rows.iter().any(|(r, _, e)| *r == info.name && !*e);
        assert!(
            pos && neg,
            "rule {} needs both a positive and a negative row",
            info.name
        );
    }
}
