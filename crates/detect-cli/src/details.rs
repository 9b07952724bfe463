//! DETAILS: the few fields of an event that tell an analyst what happened,
//! chosen per log source.
//!
//! A match is only useful if its row says *what* the rule saw: the command
//! line of a process creation, the key of a registry write, the user and
//! address of a logon. Which fields those are depends on the event's log
//! source, so they come from a table in the code ([`SOURCE_DETAILS`]: channel,
//! event IDs, fields in the Windows vocabulary), mapped onto the three event
//! layouts once at start-up (as rules map their fields). When the event's
//! source is not in the table, or none of its fields is present, DETAILS
//! falls back to the fields the matching rule's selections test (from the
//! rule set's IR: a rule on an unlisted source still shows what it matched
//! on), then to the first present of a few generic fields
//! ([`GENERIC_FIELDS`]).
//!
//! Values are kept as read (control characters included: the table
//! sanitises them, CSV quotes them, JSON escapes them), each cut at
//! [`DETAIL_VALUE_MAX_CHARS`] characters: a PowerShell script block is
//! reported by its start.

use std::sync::OnceLock;

use detect::__internals::layout::{is_dispatch_field, map_field};
use detect::ir::{Condition, Expr, RuleSet, Vocabulary};
use detect::{Event, Layout, Value};

use crate::fields::truncate_chars;

/// Longest value of one detail field, in characters, before it is cut with `…`.
pub(crate) const DETAIL_VALUE_MAX_CHARS: usize = 300;

/// Fields a rule may test that say which log an event is from rather than
/// what happened (besides the dispatch fields, channel and event ID).
const NOT_DETAILS: &[&str] = &["Provider_Name", "winlog.provider_name", "Provider_Guid"];

/// Most fields taken from a rule's selections when the table has nothing.
const MAX_RULE_FIELDS: usize = 4;

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const SECURITY: &str = "Security";
const SYSTEM: &str = "System";
const POWERSHELL: &str = "Microsoft-Windows-PowerShell/Operational";
const POWERSHELL_CORE: &str = "PowerShellCore/Operational";
const POWERSHELL_CLASSIC: &str = "Windows PowerShell";
const DEFENDER: &str = "Microsoft-Windows-Windows Defender/Operational";
const TASK_SCHEDULER: &str = "Microsoft-Windows-TaskScheduler/Operational";
const BITS: &str = "Microsoft-Windows-Bits-Client/Operational";
const RDP_SESSIONS: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const RDP_CONNECTIONS: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const WMI: &str = "Microsoft-Windows-WMI-Activity/Operational";
const APPLICATION: &str = "Application";

/// The detail fields per log source: (channel, event IDs, fields in the
/// Windows vocabulary, in the order shown). Channels compare
/// case-insensitively. The first entry that lists the event's channel and
/// event ID wins.
pub(crate) const SOURCE_DETAILS: &[(&str, &[u32], &[&str])] = &[
    // Sysmon.
    (
        SYSMON,
        &[1],
        &["CommandLine", "ParentImage", "ParentCommandLine", "User"],
    ),
    (SYSMON, &[2], &["TargetFilename", "Image"]),
    (
        SYSMON,
        &[3],
        &[
            "Image",
            "DestinationIp",
            "DestinationPort",
            "DestinationHostname",
        ],
    ),
    (SYSMON, &[5], &["Image"]),
    (SYSMON, &[6], &["ImageLoaded", "Signature"]),
    (SYSMON, &[7], &["ImageLoaded", "Image"]),
    (
        SYSMON,
        &[8],
        &["SourceImage", "TargetImage", "StartFunction"],
    ),
    (SYSMON, &[9], &["Image", "Device"]),
    (
        SYSMON,
        &[10],
        &["SourceImage", "TargetImage", "GrantedAccess"],
    ),
    (
        SYSMON,
        &[11, 15, 23, 26, 27, 28, 29],
        &["TargetFilename", "Image"],
    ),
    (
        SYSMON,
        &[12, 13, 14],
        &["EventType", "TargetObject", "Details", "NewName", "Image"],
    ),
    (SYSMON, &[17, 18], &["PipeName", "Image"]),
    (SYSMON, &[19], &["Name", "Query"]),
    (SYSMON, &[20], &["Name", "Destination"]),
    (SYSMON, &[21], &["Consumer", "Filter"]),
    (SYSMON, &[22], &["QueryName", "QueryResults", "Image"]),
    (SYSMON, &[24, 25], &["Image", "Type"]),
    (
        SYSMON,
        &[4, 16],
        &["State", "Configuration", "ConfigurationFileHash"],
    ),
    // Security.
    (
        SECURITY,
        &[4688],
        &[
            "CommandLine",
            "NewProcessName",
            "ParentProcessName",
            "SubjectUserName",
        ],
    ),
    (
        SECURITY,
        &[4624, 4625],
        &[
            "TargetUserName",
            "TargetDomainName",
            "LogonType",
            "IpAddress",
            "WorkstationName",
            "Status",
            "SubStatus",
        ],
    ),
    (
        SECURITY,
        &[4634, 4647],
        &["TargetUserName", "TargetDomainName", "LogonType"],
    ),
    (
        SECURITY,
        &[4648],
        &[
            "SubjectUserName",
            "TargetUserName",
            "TargetServerName",
            "IpAddress",
        ],
    ),
    (SECURITY, &[4672], &["SubjectUserName", "PrivilegeList"]),
    (
        SECURITY,
        &[4656, 4658, 4660, 4663],
        &[
            "ObjectName",
            "ObjectType",
            "ProcessName",
            "AccessList",
            "SubjectUserName",
        ],
    ),
    (
        SECURITY,
        &[4657],
        &["ObjectName", "ObjectValueName", "NewValue", "ProcessName"],
    ),
    (
        SECURITY,
        &[4661, 4662],
        &["ObjectName", "ObjectType", "Properties", "SubjectUserName"],
    ),
    (
        SECURITY,
        &[4697],
        &["ServiceName", "ServiceFileName", "SubjectUserName"],
    ),
    (
        SECURITY,
        &[4698, 4699, 4700, 4701, 4702],
        &["TaskName", "SubjectUserName"],
    ),
    (
        SECURITY,
        &[4720, 4722, 4723, 4724, 4725, 4726, 4738, 4740, 4781],
        &["TargetUserName", "SubjectUserName"],
    ),
    (
        SECURITY,
        &[
            4727, 4728, 4729, 4731, 4732, 4733, 4735, 4737, 4754, 4756, 4757,
        ],
        &[
            "MemberName",
            "MemberSid",
            "TargetUserName",
            "SubjectUserName",
        ],
    ),
    (
        SECURITY,
        &[4768, 4769, 4770, 4771],
        &[
            "TargetUserName",
            "ServiceName",
            "IpAddress",
            "TicketEncryptionType",
            "Status",
        ],
    ),
    (
        SECURITY,
        &[4776],
        &["TargetUserName", "Workstation", "Status"],
    ),
    (SECURITY, &[4794], &["SubjectUserName", "Workstation"]),
    (
        SECURITY,
        &[5140, 5145],
        &[
            "ShareName",
            "RelativeTargetName",
            "IpAddress",
            "SubjectUserName",
        ],
    ),
    (
        SECURITY,
        &[5156, 5157],
        &["Application", "DestAddress", "DestPort", "SourceAddress"],
    ),
    (SECURITY, &[1102], &["SubjectUserName", "SubjectDomainName"]),
    (
        SECURITY,
        &[4616],
        &["PreviousTime", "NewTime", "ProcessName", "SubjectUserName"],
    ),
    // System.
    (
        SYSTEM,
        &[7045],
        &[
            "ServiceName",
            "ImagePath",
            "ServiceType",
            "StartType",
            "AccountName",
        ],
    ),
    (SYSTEM, &[7036, 7040], &["param1", "param2", "param3"]),
    (SYSTEM, &[104], &["SubjectUserName", "Channel"]),
    // PowerShell.
    (POWERSHELL, &[4104], &["ScriptBlockText", "Path"]),
    (POWERSHELL_CORE, &[4104], &["ScriptBlockText", "Path"]),
    (POWERSHELL, &[4103], &["Payload", "ContextInfo"]),
    (POWERSHELL_CORE, &[4103], &["Payload", "ContextInfo"]),
    (POWERSHELL_CLASSIC, &[400, 403, 600, 800], &["Data"]),
    // Windows Defender (its data names have spaces).
    (
        DEFENDER,
        &[1006, 1007, 1008, 1015, 1116, 1117, 1118, 1119],
        &[
            "Threat Name",
            "Severity Name",
            "Path",
            "Process Name",
            "Detection User",
            "Action Name",
        ],
    ),
    (
        DEFENDER,
        &[5001, 5004, 5007, 5010, 5012, 5013],
        &["Old Value", "New Value"],
    ),
    // Others.
    (
        TASK_SCHEDULER,
        &[106, 140, 141, 200, 201],
        &["TaskName", "ActionName", "UserContext"],
    ),
    (BITS, &[3, 59, 60], &["jobTitle", "name", "url", "jobOwner"]),
    (
        RDP_SESSIONS,
        &[21, 22, 23, 24, 25],
        &["User", "Address", "SessionID"],
    ),
    (RDP_CONNECTIONS, &[1149], &["Param1", "Param2", "Param3"]),
    (
        WMI,
        &[5857, 5858, 5859, 5860, 5861],
        &["Operation", "Consumer", "PossibleCause", "Provider"],
    ),
    (APPLICATION, &[1040, 1042, 11707, 11724], &["Data"]),
];

/// Fields shown, first present wins, when neither the table nor the rule
/// names a present field.
pub(crate) const GENERIC_FIELDS: &[&str] = &["CommandLine", "Image", "NewProcessName", "Data"];

/// A field shown in DETAILS: its label (the Windows field name) and its path
/// in each layout ([`Layout::ALL`] order).
#[derive(Debug, Clone)]
struct DetailField {
    label: String,
    paths: [String; 3],
}

impl DetailField {
    fn new(vocabulary: Vocabulary, field: &str) -> Self {
        DetailField {
            label: field.to_string(),
            paths: Layout::ALL.map(|layout| map_field(vocabulary, layout, field)),
        }
    }

    fn path(&self, layout: Layout) -> &str {
        &self.paths[layout_slot(layout)]
    }
}

fn layout_slot(layout: Layout) -> usize {
    Layout::ALL.iter().position(|l| *l == layout).unwrap_or(0)
}

/// One row of [`SOURCE_DETAILS`], mapped.
#[derive(Debug, Clone)]
struct SourceEntry {
    channel: &'static str,
    event_ids: &'static [u32],
    fields: Vec<DetailField>,
}

/// The detail fields of one match, in order: `(label, value)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Details {
    /// The fields, each value cut at [`DETAIL_VALUE_MAX_CHARS`].
    pub(crate) items: Vec<(String, String)>,
}

impl Details {
    /// `Label: value ¦ Label: value`, as the table and CSV show it.
    pub(crate) fn joined(&self, out: &mut String) {
        for (i, (label, value)) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_str(" ¦ ");
            }
            out.push_str(label);
            out.push_str(": ");
            out.push_str(value);
        }
    }
}

/// Chooses and reads the DETAILS fields of matches; built once per run.
#[derive(Debug, Clone)]
pub(crate) struct DetailsTable {
    sources: Vec<SourceEntry>,
    /// By [`detect::RuleInfo::index`]: the fields the rule's selections test.
    /// Built at the first match that needs them: a compiled pack's IR is
    /// parsed from its JSON (megabytes for SigmaHQ), which a short scan
    /// whose matches all have source details should not wait for.
    rule_fields: OnceLock<Vec<Vec<DetailField>>>,
    /// Where `rule_fields` comes from when it is not built yet.
    ir: Option<fn() -> RuleSet>,
    generic: Vec<DetailField>,
}

impl DetailsTable {
    /// The table, with the fallback fields of the rules of `ir` (indexed as
    /// the pack's [`detect::RuleInfo::index`]).
    #[cfg(test)]
    pub(crate) fn new(ir: &RuleSet) -> Self {
        let table = Self::without_rules(None);
        let _ = table.rule_fields.set(rule_fields(ir));
        table
    }

    /// The table whose rule fields are read from `ir()` when first needed.
    pub(crate) fn lazy(ir: fn() -> RuleSet) -> Self {
        Self::without_rules(Some(ir))
    }

    fn without_rules(ir: Option<fn() -> RuleSet>) -> Self {
        DetailsTable {
            sources: SOURCE_DETAILS
                .iter()
                .map(|(channel, event_ids, fields)| SourceEntry {
                    channel,
                    event_ids,
                    fields: fields
                        .iter()
                        .map(|f| DetailField::new(Vocabulary::Windows, f))
                        .collect(),
                })
                .collect(),
            rule_fields: OnceLock::new(),
            ir,
            generic: GENERIC_FIELDS
                .iter()
                .map(|f| DetailField::new(Vocabulary::Windows, f))
                .collect(),
        }
    }

    fn rule_fields(&self) -> &[Vec<DetailField>] {
        self.rule_fields.get_or_init(|| match &self.ir {
            Some(ir) => rule_fields(&ir()),
            None => Vec::new(),
        })
    }

    /// Fills `out` with the details of `event` matched by the stateless rule
    /// `rule_index` (`None` for a sequence rule: no rule fields). Returns
    /// which source gave them.
    pub(crate) fn read<E: Event + ?Sized>(
        &self,
        event: &E,
        rule_index: Option<usize>,
        out: &mut Details,
    ) -> DetailsFrom {
        out.items.clear();
        let layout = event.layout();
        let [channel_path, event_id_path] = layout.dispatch_paths();
        let mut channel = String::new();
        first_value(event, channel_path, &mut channel);
        let mut id_text = String::new();
        first_value(event, event_id_path, &mut id_text);
        let event_id: Option<u32> = id_text.trim().parse().ok();
        if let Some(entry) = event_id.and_then(|id| {
            self.sources
                .iter()
                .find(|s| s.event_ids.contains(&id) && s.channel.eq_ignore_ascii_case(&channel))
        }) && read_all(event, layout, &entry.fields, out)
        {
            return DetailsFrom::Source;
        }
        if let Some(fields) = rule_index.and_then(|i| self.rule_fields().get(i))
            && read_all(event, layout, fields, out)
        {
            return DetailsFrom::Rule;
        }
        for field in &self.generic {
            if read_one(event, layout, field, out) {
                return DetailsFrom::Generic;
            }
        }
        DetailsFrom::Nothing
    }
}

/// Which fields DETAILS came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DetailsFrom {
    /// The log source's entry of [`SOURCE_DETAILS`].
    Source,
    /// The fields the rule's selections test.
    Rule,
    /// [`GENERIC_FIELDS`].
    Generic,
    /// No field was present.
    Nothing,
}

/// Reads every present field of `fields`; returns whether any was.
fn read_all<E: Event + ?Sized>(
    event: &E,
    layout: Layout,
    fields: &[DetailField],
    out: &mut Details,
) -> bool {
    let mut any = false;
    for field in fields {
        any |= read_one(event, layout, field, out);
    }
    any
}

/// Appends `field` to `out` if the event has a non-empty value for it
/// (several values joined with `, `).
fn read_one<E: Event + ?Sized>(
    event: &E,
    layout: Layout,
    field: &DetailField,
    out: &mut Details,
) -> bool {
    let mut value = String::new();
    event.lookup(field.path(layout), &mut |v: Value<'_>| {
        v.with_text(|t| {
            // `(NULL)` is how some providers write an unset parameter.
            if !t.is_empty() && t != "(NULL)" {
                if !value.is_empty() {
                    value.push_str(", ");
                }
                value.push_str(t);
            }
        });
        // Enough for the value; stop walking an array.
        value.len() > DETAIL_VALUE_MAX_CHARS * 4
    });
    if value.trim().is_empty() || value == "-" {
        return false;
    }
    truncate_chars(&mut value, DETAIL_VALUE_MAX_CHARS);
    out.items.push((field.label.clone(), value));
    true
}

/// The fallback detail fields of every rule of `ir`, by rule index.
fn rule_fields(ir: &RuleSet) -> Vec<Vec<DetailField>> {
    ir.rules
        .iter()
        .map(|rule| {
            selection_fields(&rule.detection.condition, &rule.detection.selections)
                .into_iter()
                .filter(|f| {
                    !is_dispatch_field(rule.vocabulary, f) && !NOT_DETAILS.contains(&f.as_str())
                })
                .take(MAX_RULE_FIELDS)
                .map(|f| DetailField::new(rule.vocabulary, &f))
                .collect()
        })
        .collect()
}

/// Replaces `out` with the text of the first value at `path`.
fn first_value<E: Event + ?Sized>(event: &E, path: &str, out: &mut String) {
    out.clear();
    event.lookup(path, &mut |v: Value<'_>| {
        v.with_text(|t| out.push_str(t)).is_some()
    });
}

/// The fields tested by the selections a rule's condition uses positively
/// (not under a `not`: a filter's fields say what the rule did *not* see), in
/// declaration order, without repeats.
fn selection_fields(condition: &Condition, selections: &[detect::ir::Selection]) -> Vec<String> {
    let mut positive = vec![false; selections.len()];
    mark_positive(condition, false, &mut positive);
    let mut fields = Vec::new();
    for (selection, _) in selections.iter().zip(&positive).filter(|(_, p)| **p) {
        expr_fields(&selection.expr, &mut fields);
    }
    fields
}

fn mark_positive(condition: &Condition, negated: bool, out: &mut [bool]) {
    let mut mark = |i: usize| {
        if !negated && let Some(p) = out.get_mut(i) {
            *p = true;
        }
    };
    match condition {
        Condition::Selection(i) => mark(*i),
        Condition::AnyOf(list) | Condition::AllOf(list) => list.iter().for_each(|i| mark(*i)),
        Condition::Not(inner) => mark_positive(inner, !negated, out),
        Condition::And(list) | Condition::Or(list) => {
            for c in list {
                mark_positive(c, negated, out);
            }
        }
    }
}

fn expr_fields(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::And(list) | Expr::Or(list) => list.iter().for_each(|e| expr_fields(e, out)),
        // A negated test says what the event is not: not worth showing.
        Expr::Not(_) | Expr::Keyword(_) => {}
        Expr::Field(test) => {
            if !out.contains(&test.field) {
                out.push(test.field.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use detect::JsonEvent;
    use detect_rules::Builtin;

    fn details(line: &str, rule: Option<usize>) -> (Vec<(String, String)>, DetailsFrom) {
        let table = DetailsTable::new(&Builtin::ir());
        let event = JsonEvent::parse_str(line).unwrap();
        let mut out = Details::default();
        let from = table.read(&event, rule, &mut out);
        (out.items, from)
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn chosen_per_log_source_in_every_layout() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            // Sysmon process creation, flat.
            (
                r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\a.exe",
                    "CommandLine": "a.exe /x", "ParentImage": "C:\\p.exe", "User": "CORP\\u"}"#,
                &[
                    ("CommandLine", "a.exe /x"),
                    ("ParentImage", "C:\\p.exe"),
                    ("User", "CORP\\u"),
                ],
            ),
            // Registry set, evtx layout: the key and the value, not the image first.
            (
                r##"{"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 13},
                    "EventData": {"EventType": "SetValue", "Image": "C:\\r.exe",
                    "TargetObject": "HKLM\\Software\\Run\\x", "Details": "C:\\x.exe"}}}"##,
                &[
                    ("EventType", "SetValue"),
                    ("TargetObject", "HKLM\\Software\\Run\\x"),
                    ("Details", "C:\\x.exe"),
                    ("Image", "C:\\r.exe"),
                ],
            ),
            // Logon failure: user, logon type, source address.
            (
                r#"{"Channel": "security", "EventID": "4625", "TargetUserName": "admin", "LogonType": 3,
                    "IpAddress": "10.1.2.3", "WorkstationName": "-"}"#,
                &[
                    ("TargetUserName", "admin"),
                    ("LogonType", "3"),
                    ("IpAddress", "10.1.2.3"),
                ],
            ),
            // Service install, EventID with its qualifiers (evtx rendering).
            (
                r##"{"Event": {"System": {"Channel": "System", "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045}},
                    "EventData": {"ServiceName": "evil", "ImagePath": "C:\\e.exe"}}}"##,
                &[("ServiceName", "evil"), ("ImagePath", "C:\\e.exe")],
            ),
            // Object access.
            (
                r#"{"Channel": "Security", "EventID": 4663, "ObjectName": "C:\\secret.txt",
                    "ProcessName": "C:\\Windows\\explorer.exe"}"#,
                &[
                    ("ObjectName", "C:\\secret.txt"),
                    ("ProcessName", "C:\\Windows\\explorer.exe"),
                ],
            ),
            // Network connection, ECS.
            (
                r#"{"winlog": {"channel": "Microsoft-Windows-Sysmon/Operational", "event_id": 3},
                    "process": {"executable": "C:\\m.exe"}, "destination": {"ip": "1.2.3.4", "port": 443}}"#,
                &[
                    ("Image", "C:\\m.exe"),
                    ("DestinationIp", "1.2.3.4"),
                    ("DestinationPort", "443"),
                ],
            ),
            // Defender: a field name with a space.
            (
                r#"{"Channel": "Microsoft-Windows-Windows Defender/Operational", "EventID": 1116,
                    "Threat Name": "HackTool:Win32/Mimikatz", "Path": "file:_C:\\m.exe"}"#,
                &[
                    ("Threat Name", "HackTool:Win32/Mimikatz"),
                    ("Path", "file:_C:\\m.exe"),
                ],
            ),
        ];
        for (line, expected) in cases {
            let (items, from) = details(line, None);
            assert_eq!(items, pairs(expected), "{line}");
            assert_eq!(from, DetailsFrom::Source, "{line}");
        }
    }

    #[test]
    fn script_blocks_are_cut() {
        let line = format!(
            r#"{{"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104, "ScriptBlockText": "{}"}}"#,
            "a".repeat(5000)
        );
        let (items, _) = details(&line, None);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].1.chars().count(), DETAIL_VALUE_MAX_CHARS);
        assert!(items[0].1.ends_with('…'));
    }

    #[test]
    fn falls_back_to_the_rules_fields_then_generic_fields() {
        // msi_install_from_web tests the unnamed data of MsiInstaller events;
        // on a channel the table does not list, its fields are shown.
        let rule = Builtin::rule("msi_install_from_web").unwrap().index;
        let (items, from) = details(
            r#"{"Channel": "Other", "EventID": 1040, "Provider_Name": "MsiInstaller", "Data": ["http://x/y", "(NULL)", "", "1"]}"#,
            Some(rule),
        );
        assert_eq!(from, DetailsFrom::Rule);
        assert_eq!(items, pairs(&[("Data", "http://x/y, 1")]));
        // No rule fields present: the generic ones.
        let (items, from) = details(
            r#"{"Channel": "Other", "EventID": 1, "Image": "C:\\i.exe"}"#,
            Some(rule),
        );
        assert_eq!(
            (items, from),
            (pairs(&[("Image", "C:\\i.exe")]), DetailsFrom::Generic)
        );
        // Nothing at all.
        let (items, from) = details(r#"{"Channel": "Other"}"#, Some(rule));
        assert_eq!((items.len(), from), (0, DetailsFrom::Nothing));
    }

    #[test]
    fn rule_fields_skip_dispatch_fields_and_filters() {
        let ir: RuleSet = Builtin::ir();
        let rule = ir
            .rules
            .iter()
            .find(|r| r.name == "msiexec_http_connection")
            .unwrap();
        let fields = selection_fields(&rule.detection.condition, &rule.detection.selections);
        // `filter_local` (under `not`) tests DestinationIp: not listed.
        assert_eq!(fields, ["Initiated", "Image", "DestinationPort"]);
        let d = Details {
            items: pairs(&[("A", "1"), ("B", "x, y")]),
        };
        let mut s = String::new();
        d.joined(&mut s);
        assert_eq!(s, "A: 1 ¦ B: x, y");
    }
}
