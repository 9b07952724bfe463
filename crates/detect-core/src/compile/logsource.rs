//! Log sources: which events a rule looks at.
//!
//! A Sigma log source (`product`/`category`/`service`) is resolved into one or
//! more [`SourceVariant`]s. Each variant is a condition on the event (its
//! channel and event ID) plus field renames that hold only for that variant:
//! `process_creation` is Sysmon event 1 *or* Security event 4688, and in 4688
//! the image is called `NewProcessName`. A rule matches an event when, for some
//! variant, the variant's condition holds and the rule's detection (with the
//! variant's renames applied) holds.
//!
//! The conditions are written in the Windows vocabulary and then mapped onto the
//! event layout like any rule field (see [`crate::layout`]), so the same table
//! serves flat, evtx-nested and ECS events.

use crate::ir::{Case, Expr, FieldTest, LogSource, StrKind, StrPattern, Test, Vocabulary};

/// One way an event can belong to a log source.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceVariant {
    /// Short name for reports (`sysmon`, `security`...).
    pub name: &'static str,
    /// What the event must satisfy (in the rule's vocabulary).
    pub condition: Expr,
    /// Rule field renames for this variant: (rule name, event name).
    pub renames: &'static [(&'static str, &'static str)],
    /// The same condition as channel/event-ID sets, when it has that shape, so
    /// generated code can route events with a table instead of testing it per rule.
    pub dispatch: Option<Dispatch>,
}

/// A log source condition of the form "channel is one of these and (if any are
/// listed) the event ID is one of these"; `condition` is exactly
/// `Channel in channels (case-insensitive) and EventID in event_ids (as text)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// Event log channels, as written (compared case-insensitively).
    pub channels: Vec<&'static str>,
    /// Event IDs; empty means any.
    pub event_ids: Vec<u32>,
}

/// Windows services and the event log channel they read.
pub const WINDOWS_SERVICES: &[(&str, &[&str])] = &[
    ("security", &["Security"]),
    ("system", &["System"]),
    ("application", &["Application"]),
    ("sysmon", &["Microsoft-Windows-Sysmon/Operational"]),
    ("powershell", &["Microsoft-Windows-PowerShell/Operational"]),
    ("powershell-classic", &["Windows PowerShell"]),
    (
        "taskscheduler",
        &["Microsoft-Windows-TaskScheduler/Operational"],
    ),
    ("wmi", &["Microsoft-Windows-WMI-Activity/Operational"]),
    ("dns-server", &["DNS Server"]),
    (
        "dns-server-analytic",
        &["Microsoft-Windows-DNS-Server/Analytical"],
    ),
    (
        "dns-client",
        &["Microsoft-Windows-DNS Client Events/Operational"],
    ),
    (
        "driver-framework",
        &["Microsoft-Windows-DriverFrameworks-UserMode/Operational"],
    ),
    (
        "windefend",
        &["Microsoft-Windows-Windows Defender/Operational"],
    ),
    (
        "bits-client",
        &["Microsoft-Windows-Bits-Client/Operational"],
    ),
    (
        "codeintegrity-operational",
        &["Microsoft-Windows-CodeIntegrity/Operational"],
    ),
    (
        "firewall-as",
        &["Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"],
    ),
    ("msexchange-management", &["MSExchange Management"]),
    ("ntlm", &["Microsoft-Windows-NTLM/Operational"]),
    (
        "printservice-admin",
        &["Microsoft-Windows-PrintService/Admin"],
    ),
    (
        "printservice-operational",
        &["Microsoft-Windows-PrintService/Operational"],
    ),
    (
        "smbclient-security",
        &["Microsoft-Windows-SmbClient/Security"],
    ),
    (
        "smbclient-connectivity",
        &["Microsoft-Windows-SmbClient/Connectivity"],
    ),
    ("openssh", &["OpenSSH/Operational"]),
    ("shell-core", &["Microsoft-Windows-Shell-Core/Operational"]),
    (
        "terminalservices-localsessionmanager",
        &["Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"],
    ),
    (
        "appxdeployment-server",
        &["Microsoft-Windows-AppXDeploymentServer/Operational"],
    ),
    (
        "appxpackaging-om",
        &["Microsoft-Windows-AppxPackaging/Operational"],
    ),
    ("capi2", &["Microsoft-Windows-CAPI2/Operational"]),
    (
        "certificateservicesclient-lifecycle-system",
        &["Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational"],
    ),
    (
        "diagnosis-scripted",
        &["Microsoft-Windows-Diagnosis-Scripted/Operational"],
    ),
    ("ldap", &["Microsoft-Windows-LDAP-Client/Debug"]),
    ("lsa-server", &["Microsoft-Windows-LSA/Operational"]),
    (
        "microsoft-servicebus-client",
        &["Microsoft-ServiceBus-Client"],
    ),
    (
        "security-mitigations",
        &[
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "Microsoft-Windows-Security-Mitigations/User Mode",
        ],
    ),
    ("vhdmp", &["Microsoft-Windows-VHDMP/Operational"]),
    (
        "appmodel-runtime",
        &["Microsoft-Windows-AppModel-Runtime/Admin"],
    ),
    ("hyper-v-worker", &["Microsoft-Windows-Hyper-V-Worker"]),
    (
        "kernel-shimengine",
        &["Microsoft-Windows-Kernel-ShimEngine/Operational"],
    ),
    (
        "iis-configuration",
        &["Microsoft-IIS-Configuration/Operational"],
    ),
    (
        "smbserver-connectivity",
        &["Microsoft-Windows-SMBServer/Connectivity"],
    ),
    (
        "bitlocker",
        &["Microsoft-Windows-BitLocker/BitLocker Management"],
    ),
    ("dhcp", &["Microsoft-Windows-DHCP-Server/Operational"]),
    ("dns-server-audit", &["Microsoft-Windows-DNS-Server/Audit"]),
    (
        "kernel-event-tracing",
        &["Microsoft-Windows-Kernel-EventTracing"],
    ),
    ("ntfs", &["Microsoft-Windows-Ntfs/Operational"]),
    ("sense", &["Microsoft-Windows-SENSE/Operational"]),
    (
        "application-experience",
        &[
            "Microsoft-Windows-Application-Experience/Program-Telemetry",
            "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
        ],
    ),
    (
        "servicebus-client",
        &[
            "Microsoft-ServiceBus-Client/Operational",
            "Microsoft-ServiceBus-Client/Admin",
        ],
    ),
    (
        "applocker",
        &[
            "Microsoft-Windows-AppLocker/MSI and Script",
            "Microsoft-Windows-AppLocker/EXE and DLL",
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
        ],
    ),
];

const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const PS: &str = "Microsoft-Windows-PowerShell/Operational";
const PS_CLASSIC: &str = "Windows PowerShell";
const PS_CORE: &str = "PowerShellCore/Operational";

/// Windows categories: (category, variants as (name, channel, event ids, renames)).
#[allow(clippy::type_complexity)]
pub const WINDOWS_CATEGORIES: &[(&str, &[(&str, &str, &[u32], &[(&str, &str)])])] = &[
    (
        "process_creation",
        &[
            ("sysmon", SYSMON, &[1], &[]),
            (
                "security",
                "Security",
                &[4688],
                &[
                    ("Image", "NewProcessName"),
                    ("ParentImage", "ParentProcessName"),
                    ("ProcessId", "NewProcessId"),
                    ("IntegrityLevel", "MandatoryLabel"),
                    ("User", "SubjectUserName"),
                ],
            ),
        ],
    ),
    ("file_change", &[("sysmon", SYSMON, &[2], &[])]),
    ("network_connection", &[("sysmon", SYSMON, &[3], &[])]),
    ("sysmon_status", &[("sysmon", SYSMON, &[4, 16], &[])]),
    ("process_termination", &[("sysmon", SYSMON, &[5], &[])]),
    ("driver_load", &[("sysmon", SYSMON, &[6], &[])]),
    ("image_load", &[("sysmon", SYSMON, &[7], &[])]),
    ("create_remote_thread", &[("sysmon", SYSMON, &[8], &[])]),
    ("raw_access_thread", &[("sysmon", SYSMON, &[9], &[])]),
    ("raw_access_read", &[("sysmon", SYSMON, &[9], &[])]),
    ("process_access", &[("sysmon", SYSMON, &[10], &[])]),
    ("file_event", &[("sysmon", SYSMON, &[11], &[])]),
    ("registry_add", &[("sysmon", SYSMON, &[12], &[])]),
    ("registry_delete", &[("sysmon", SYSMON, &[12], &[])]),
    ("registry_set", &[("sysmon", SYSMON, &[13], &[])]),
    ("registry_rename", &[("sysmon", SYSMON, &[14], &[])]),
    ("registry_event", &[("sysmon", SYSMON, &[12, 13, 14], &[])]),
    ("create_stream_hash", &[("sysmon", SYSMON, &[15], &[])]),
    ("pipe_created", &[("sysmon", SYSMON, &[17, 18], &[])]),
    ("wmi_event", &[("sysmon", SYSMON, &[19, 20, 21], &[])]),
    ("dns_query", &[("sysmon", SYSMON, &[22], &[])]),
    ("file_delete", &[("sysmon", SYSMON, &[23, 26], &[])]),
    ("file_delete_detected", &[("sysmon", SYSMON, &[26], &[])]),
    ("sysmon_error", &[("sysmon", SYSMON, &[255], &[])]),
    ("clipboard_capture", &[("sysmon", SYSMON, &[24], &[])]),
    ("process_tampering", &[("sysmon", SYSMON, &[25], &[])]),
    ("file_block_executable", &[("sysmon", SYSMON, &[27], &[])]),
    ("file_block_shredding", &[("sysmon", SYSMON, &[28], &[])]),
    (
        "file_executable_detected",
        &[("sysmon", SYSMON, &[29], &[])],
    ),
    (
        "ps_module",
        &[
            ("powershell", PS, &[4103], &[]),
            ("powershell", PS_CORE, &[4103], &[]),
        ],
    ),
    (
        "ps_script",
        &[
            ("powershell", PS, &[4104], &[]),
            ("powershell", PS_CORE, &[4104], &[]),
        ],
    ),
    (
        "ps_classic_start",
        &[("powershell-classic", PS_CLASSIC, &[400], &[])],
    ),
    (
        "ps_classic_provider_start",
        &[("powershell-classic", PS_CLASSIC, &[600], &[])],
    ),
    (
        "ps_classic_script",
        &[("powershell-classic", PS_CLASSIC, &[800], &[])],
    ),
];

/// Windows categories of the Sigma taxonomy that no event log channel
/// carries: their events come from an ETW provider read in real time
/// (category, provider). Rules using them are refused with this reason; a
/// processing pipeline (`detect_sigma::pipeline`) can say where such events
/// are in your own logs.
pub const WINDOWS_ETW_ONLY_CATEGORIES: &[(&str, &str)] = &[
    ("file_access", "Microsoft-Windows-Kernel-File"),
    ("file_rename", "Microsoft-Windows-Kernel-File"),
];

/// ECS event categories a rule in the ECS vocabulary may name (`process where ...`).
pub const ECS_CATEGORIES: &[&str] = &[
    "authentication",
    "configuration",
    "database",
    "driver",
    "file",
    "host",
    "iam",
    "intrusion_detection",
    "library",
    "malware",
    "network",
    "package",
    "process",
    "registry",
    "session",
    "threat",
    "web",
];

/// Why a log source could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownLogSource(pub String);

impl std::fmt::Display for UnknownLogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnknownLogSource {}

/// Resolves a log source into its variants. An empty log source yields one
/// variant that accepts every event.
///
/// ```
/// use detect_core::ir::{LogSource, Vocabulary};
/// use detect_core::compile::logsource::resolve;
/// let ls = LogSource { product: Some("windows".into()), category: Some("process_creation".into()), ..Default::default() };
/// let variants = resolve(&ls, Vocabulary::Windows).unwrap();
/// assert_eq!(variants.iter().map(|v| v.name).collect::<Vec<_>>(), ["sysmon", "security"]);
///
/// let bad = LogSource { product: Some("windows".into()), category: Some("proces_creation".into()), ..Default::default() };
/// assert!(resolve(&bad, Vocabulary::Windows).unwrap_err().to_string().contains("process_creation"));
///
/// let etw = LogSource { product: Some("windows".into()), category: Some("file_access".into()), ..Default::default() };
/// assert!(resolve(&etw, Vocabulary::Windows).unwrap_err().to_string()
///     .contains("is the ETW provider Microsoft-Windows-Kernel-File, which writes to no event log channel"));
/// ```
pub fn resolve(
    ls: &LogSource,
    vocabulary: Vocabulary,
) -> Result<Vec<SourceVariant>, UnknownLogSource> {
    let product = ls.product.as_deref().map(str::to_ascii_lowercase);
    let category = ls.category.as_deref().map(str::to_ascii_lowercase);
    let service = ls.service.as_deref().map(str::to_ascii_lowercase);
    if vocabulary == Vocabulary::Ecs {
        return resolve_ecs(product.as_deref(), category.as_deref(), service.as_deref());
    }
    match product.as_deref() {
        None | Some("windows") => {}
        Some(other) => {
            if category.is_some() || service.is_some() {
                return Err(UnknownLogSource(format!(
                    "log source product `{other}` is not supported yet (only `windows`); \
                     remove `product` or write the event conditions in the rule"
                )));
            }
            // A bare unknown product narrows nothing we can check.
            return Ok(vec![any_event()]);
        }
    }
    let mut variants = Vec::new();
    match (category.as_deref(), service.as_deref()) {
        (None, None) => variants.push(any_event()),
        (Some(cat), svc) => {
            let Some((_, cat_variants)) = WINDOWS_CATEGORIES.iter().find(|(c, _)| *c == cat) else {
                if let Some((_, provider)) =
                    WINDOWS_ETW_ONLY_CATEGORIES.iter().find(|(c, _)| *c == cat)
                {
                    return Err(UnknownLogSource(format!(
                        "Windows log source category `{cat}` is the ETW provider {provider}, \
                         which writes to no event log channel, so detect has no channel and \
                         event ID to select its events by; map it to your collector's events \
                         with a processing pipeline (`logsources` entry with `conditions`)"
                    )));
                }
                let known: Vec<&str> = WINDOWS_CATEGORIES.iter().map(|(c, _)| *c).collect();
                return Err(UnknownLogSource(format!(
                    "unknown Windows log source category `{cat}`; {}known categories: {}",
                    hint(cat, &known),
                    known.join(", ")
                )));
            };
            for (name, channel, ids, renames) in cat_variants.iter() {
                if svc.is_some_and(|s| s != *name) {
                    continue;
                }
                variants.push(SourceVariant {
                    name,
                    condition: Expr::And(vec![channel_is(&[channel]), event_id_in(ids)]),
                    renames,
                    dispatch: Some(Dispatch {
                        channels: vec![channel],
                        event_ids: ids.to_vec(),
                    }),
                });
            }
            if variants.is_empty() {
                return Err(UnknownLogSource(format!(
                    "category `{cat}` is not produced by service `{}`",
                    svc.unwrap_or_default()
                )));
            }
        }
        (None, Some(svc)) => {
            let Some((name, channels)) = WINDOWS_SERVICES.iter().find(|(s, _)| *s == svc) else {
                let known: Vec<&str> = WINDOWS_SERVICES.iter().map(|(s, _)| *s).collect();
                return Err(UnknownLogSource(format!(
                    "unknown Windows log source service `{svc}`; {}known services: {}",
                    hint(svc, &known),
                    known.join(", ")
                )));
            };
            variants.push(SourceVariant {
                name,
                condition: channel_is(channels),
                renames: &[],
                dispatch: Some(Dispatch {
                    channels: channels.to_vec(),
                    event_ids: Vec::new(),
                }),
            });
        }
    }
    Ok(variants)
}

fn resolve_ecs(
    _product: Option<&str>,
    category: Option<&str>,
    service: Option<&str>,
) -> Result<Vec<SourceVariant>, UnknownLogSource> {
    if let Some(svc) = service {
        return Err(UnknownLogSource(format!(
            "ECS rules select events by category, not by service (`{svc}`)"
        )));
    }
    match category {
        None | Some("any") => Ok(vec![any_event()]),
        Some(cat) => {
            let Some(known) = ECS_CATEGORIES.iter().find(|c| **c == cat) else {
                return Err(UnknownLogSource(format!(
                    "unknown ECS event category `{cat}`; known: {}",
                    ECS_CATEGORIES.join(", ")
                )));
            };
            Ok(vec![SourceVariant {
                name: known,
                condition: Expr::Field(FieldTest {
                    field: "event.category".into(),
                    test: Test::Str(StrPattern {
                        kind: StrKind::Exact((*known).into()),
                        case: Case::Insensitive,
                    }),
                }),
                renames: &[],
                dispatch: None,
            }])
        }
    }
}

fn hint(name: &str, known: &[&str]) -> String {
    crate::compile::sigma::closest(name, known)
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default()
}

fn any_event() -> SourceVariant {
    SourceVariant {
        name: "any",
        condition: Expr::And(vec![]),
        renames: &[],
        dispatch: None,
    }
}

fn channel_is(channels: &[&str]) -> Expr {
    Expr::Or(
        channels
            .iter()
            .map(|c| {
                Expr::Field(FieldTest {
                    field: "Channel".into(),
                    test: Test::Str(StrPattern {
                        kind: StrKind::Exact((*c).into()),
                        case: Case::Insensitive,
                    }),
                })
            })
            .collect(),
    )
}

fn event_id_in(ids: &[u32]) -> Expr {
    Expr::Or(
        ids.iter()
            .map(|id| {
                Expr::Field(FieldTest {
                    field: "EventID".into(),
                    test: Test::Str(StrPattern {
                        kind: StrKind::Exact(id.to_string()),
                        case: Case::Sensitive,
                    }),
                })
            })
            .collect(),
    )
}
