//! Event layouts and the mapping of rule field names onto them.
//!
//! The same Windows event reaches detect in several shapes. Rules are written
//! once, in a [`Vocabulary`]; [`map_field`] says where each of their field
//! names lives in a given [`Layout`]. Generated code calls it at compile time
//! (one specialised matcher per layout); the interpreter calls it at load time.
//!
//! | rule field (Windows vocabulary) | [`Layout::Flat`] | [`Layout::EvtxNested`] | [`Layout::Ecs`] |
//! |---|---|---|---|
//! | `EventID` | `EventID` | `Event.System.EventID` | `winlog.event_id` |
//! | `Provider_Name` | `Provider_Name` | `Event.System.Provider.#attributes.Name` | `winlog.provider_name` |
//! | `CommandLine` | `CommandLine` | `Event.EventData.CommandLine` | `process.command_line` |
//! | any other `X` | `X` | `Event.EventData.X` | `winlog.event_data.X` |
//!
//! The full tables are [`EVTX_SYSTEM_FIELDS`] and [`ECS_FIELDS`].
//!
//! In the evtx layout, some channels write their data under
//! `<UserData><Element>` rather than `<EventData>` (WMI-Activity 5858,
//! Security 1102, AppLocker...). [`crate::JsonEvent`] therefore looks a
//! missing `Event.EventData.X` up as `Event.UserData.<any element>.X`; an
//! [`crate::Event`] implemented by hand for this layout should do the same.
//!
//! Some Windows providers name their data with spaces (Windows Defender's
//! `Threat Name`, `Process Name`...), which rules write without (`ThreatName`).
//! The mapping keeps the rule's name; in every layout, an event with no key
//! for it is read through its keys that equal it once their spaces are
//! removed ([`crate::event::same_name_without_spaces`]).

use crate::ir::Vocabulary;
use serde::{Deserialize, Serialize};

/// The shape of an event's fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Layout {
    /// One object with System fields flattened (`Provider_Name`, `EventID`,
    /// `Channel`...) and EventData fields by name (`CommandLine`), as in
    /// `shared/data/events/*.ndjson` and most log shippers' Windows output.
    #[default]
    Flat,
    /// The `evtx` crate's JSON rendering: `Event.System.EventID`,
    /// `Event.EventData.CommandLine`, XML attributes under `#attributes`.
    EvtxNested,
    /// Elastic Common Schema (`process.command_line`, `winlog.event_id`),
    /// nested objects or dotted keys.
    Ecs,
}

impl Layout {
    /// Every layout, in a fixed order (generated code indexes by it).
    pub const ALL: [Layout; 3] = [Layout::Flat, Layout::EvtxNested, Layout::Ecs];

    /// Lowercase name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Flat => "flat",
            Layout::EvtxNested => "evtx",
            Layout::Ecs => "ecs",
        }
    }

    /// Where events of this layout keep the two fields that log source
    /// dispatch reads on every event: the channel and the event ID (the
    /// paths [`map_field`] gives for the Windows fields `Channel` and
    /// `EventID`). An event adapter can find them while parsing, as
    /// [`crate::JsonEvent`] does.
    ///
    /// ```
    /// use detect_core::ir::Vocabulary;
    /// use detect_core::layout::{map_field, Layout};
    /// for layout in Layout::ALL {
    ///     let [channel, event_id] = layout.dispatch_paths();
    ///     assert_eq!(channel, map_field(Vocabulary::Windows, layout, "Channel"));
    ///     assert_eq!(event_id, map_field(Vocabulary::Windows, layout, "EventID"));
    /// }
    /// ```
    pub const fn dispatch_paths(self) -> [&'static str; 2] {
        match self {
            Layout::Flat => ["Channel", "EventID"],
            Layout::EvtxNested => ["Event.System.Channel", "Event.System.EventID"],
            Layout::Ecs => ["winlog.channel", "winlog.event_id"],
        }
    }
}

/// Whether the rule field `field` (in `vocabulary`) is one that log source
/// dispatch routes on in some layout ([`Layout::dispatch_paths`]): such a
/// test holds for every event routed to its rule, so the code generator
/// takes no prefilter atom from it.
///
/// ```
/// use detect_core::ir::Vocabulary;
/// use detect_core::layout::is_dispatch_field;
/// assert!(is_dispatch_field(Vocabulary::Windows, "EventID"));
/// assert!(is_dispatch_field(Vocabulary::Ecs, "winlog.channel"));
/// assert!(!is_dispatch_field(Vocabulary::Windows, "CommandLine"));
/// ```
pub fn is_dispatch_field(vocabulary: Vocabulary, field: &str) -> bool {
    Layout::ALL.into_iter().any(|layout| {
        let path = map_field(vocabulary, layout, field);
        layout.dispatch_paths().contains(&path.as_str())
    })
}

/// Windows System fields (flat name, path under `Event.System` in the evtx layout).
pub const EVTX_SYSTEM_FIELDS: &[(&str, &str)] = &[
    ("EventID", "Event.System.EventID"),
    (
        "EventID_Qualifiers",
        "Event.System.EventID.#attributes.Qualifiers",
    ),
    ("Provider_Name", "Event.System.Provider.#attributes.Name"),
    ("Provider_Guid", "Event.System.Provider.#attributes.Guid"),
    (
        "Provider_EventSourceName",
        "Event.System.Provider.#attributes.EventSourceName",
    ),
    ("Channel", "Event.System.Channel"),
    ("Computer", "Event.System.Computer"),
    ("Version", "Event.System.Version"),
    ("Level", "Event.System.Level"),
    ("Task", "Event.System.Task"),
    ("Opcode", "Event.System.Opcode"),
    ("Keywords", "Event.System.Keywords"),
    (
        "TimeCreated",
        "Event.System.TimeCreated.#attributes.SystemTime",
    ),
    ("EventRecordID", "Event.System.EventRecordID"),
    (
        "Correlation_ActivityID",
        "Event.System.Correlation.#attributes.ActivityID",
    ),
    ("ProcessID", "Event.System.Execution.#attributes.ProcessID"),
    ("ThreadID", "Event.System.Execution.#attributes.ThreadID"),
    ("UserID", "Event.System.Security.#attributes.UserID"),
];

/// Windows vocabulary names and their ECS (Winlogbeat / Elastic Agent) homes.
/// Names not listed map to `winlog.event_data.<Name>`, where Winlogbeat keeps
/// event data it has no ECS field for.
pub const ECS_FIELDS: &[(&str, &str)] = &[
    ("EventID", "winlog.event_id"),
    ("Provider_Name", "winlog.provider_name"),
    ("Provider_Guid", "winlog.provider_guid"),
    ("Channel", "winlog.channel"),
    ("Computer", "winlog.computer_name"),
    ("EventRecordID", "winlog.record_id"),
    ("TimeCreated", "@timestamp"),
    ("UserID", "winlog.user.identifier"),
    ("Task", "winlog.task"),
    ("Opcode", "winlog.opcode"),
    ("Keywords", "winlog.keywords"),
    ("ProcessGuid", "process.entity_id"),
    ("ProcessId", "process.pid"),
    ("Image", "process.executable"),
    ("CommandLine", "process.command_line"),
    ("CurrentDirectory", "process.working_directory"),
    ("OriginalFileName", "process.pe.original_file_name"),
    ("Product", "process.pe.product"),
    ("Company", "process.pe.company"),
    ("Description", "process.pe.description"),
    ("FileVersion", "process.pe.file_version"),
    ("IntegrityLevel", "winlog.event_data.IntegrityLevel"),
    ("ParentProcessGuid", "process.parent.entity_id"),
    ("ParentProcessId", "process.parent.pid"),
    ("ParentImage", "process.parent.executable"),
    ("ParentCommandLine", "process.parent.command_line"),
    ("User", "user.name"),
    ("SourceIp", "source.ip"),
    ("SourcePort", "source.port"),
    ("SourceHostname", "source.domain"),
    ("DestinationIp", "destination.ip"),
    ("DestinationPort", "destination.port"),
    ("DestinationHostname", "destination.domain"),
    ("Protocol", "network.transport"),
    ("TargetFilename", "file.path"),
    ("ImageLoaded", "file.path"),
    ("QueryName", "dns.question.name"),
    ("TargetObject", "registry.path"),
    ("Details", "registry.data.strings"),
    ("ScriptBlockText", "powershell.file.script_block_text"),
];

/// Where the rule field `field` (in `vocabulary`) lives in events of `layout`.
///
/// ```
/// use detect_core::ir::Vocabulary;
/// use detect_core::layout::{map_field, Layout};
/// assert_eq!(map_field(Vocabulary::Windows, Layout::Flat, "CommandLine"), "CommandLine");
/// assert_eq!(map_field(Vocabulary::Windows, Layout::EvtxNested, "CommandLine"), "Event.EventData.CommandLine");
/// assert_eq!(map_field(Vocabulary::Windows, Layout::EvtxNested, "EventID"), "Event.System.EventID");
/// assert_eq!(map_field(Vocabulary::Windows, Layout::Ecs, "CommandLine"), "process.command_line");
/// assert_eq!(map_field(Vocabulary::Windows, Layout::Ecs, "Initiated"), "winlog.event_data.Initiated");
/// assert_eq!(map_field(Vocabulary::Ecs, Layout::Ecs, "process.name"), "process.name");
/// assert_eq!(map_field(Vocabulary::Ecs, Layout::Flat, "process.command_line"), "CommandLine");
/// ```
pub fn map_field(vocabulary: Vocabulary, layout: Layout, field: &str) -> String {
    match (vocabulary, layout) {
        (Vocabulary::Windows, Layout::Flat) => field.to_string(),
        (Vocabulary::Windows, Layout::EvtxNested) => windows_to_evtx(field),
        (Vocabulary::Windows, Layout::Ecs) => lookup(ECS_FIELDS, field)
            .map(str::to_string)
            .unwrap_or_else(|| format!("winlog.event_data.{field}")),
        (Vocabulary::Ecs, Layout::Ecs) => field.to_string(),
        (Vocabulary::Ecs, other) => match reverse_lookup(ECS_FIELDS, field) {
            Some(windows) => map_field(Vocabulary::Windows, other, windows),
            None => match field.strip_prefix("winlog.event_data.") {
                Some(name) => map_field(Vocabulary::Windows, other, name),
                // No Windows equivalent: keep the ECS path, which such events lack.
                None => field.to_string(),
            },
        },
    }
}

fn windows_to_evtx(field: &str) -> String {
    if let Some(path) = lookup(EVTX_SYSTEM_FIELDS, field) {
        return path.to_string();
    }
    if field.starts_with("Event.") {
        // Already a full evtx path (a rule written against this layout).
        return field.to_string();
    }
    format!("Event.EventData.{field}")
}

fn lookup<'a>(table: &'a [(&'a str, &'a str)], key: &str) -> Option<&'a str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn reverse_lookup<'a>(table: &'a [(&'a str, &'a str)], value: &str) -> Option<&'a str> {
    table.iter().find(|(_, v)| *v == value).map(|(k, _)| *k)
}
