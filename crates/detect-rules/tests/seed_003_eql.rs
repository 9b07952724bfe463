//! Seed 003, Elastic's "Remote File Execution via MSIEXEC", parsed verbatim
//! from the pack's source (Elasticsearch dialect) by the EQL front end and
//! run through the reference sequence matcher on hand-written ECS events.

use detect::JsonEvent;
use detect_eql::reference::ReferenceMatcher;
use detect_eql::{Body, Options, parse_query};

mod common;

use common::{EXCLUDED_EXECUTABLES, s, seed_003_query};

fn matcher() -> ReferenceMatcher {
    let q = parse_query(seed_003_query(), &Options::elasticsearch()).expect("seed 003 parses");
    let seq = q.to_sequence("msiexec_remote_file_execution").unwrap();
    ReferenceMatcher::new(&seq, q.dialect).unwrap()
}

fn json(v: V) -> JsonEvent {
    JsonEvent::parse_str(&v.0).unwrap()
}

/// A JSON event's text (the test needs no serde_json).
struct V(String);

fn msiexec_start(id: &str) -> V {
    V(format!(
        r#"{{"event": {{"category": ["process"], "type": ["start"], "action": "start"}},
            "host": {{"os": {{"type": "windows"}}}},
            "process": {{"name": "msiexec.exe", "entity_id": {},
                         "executable": "C:\\Windows\\System32\\msiexec.exe",
                         "args": ["C:\\Windows\\System32\\msiexec.exe", "/V"]}}}}"#,
        s(id)
    ))
}

fn connection(id: &str) -> V {
    V(format!(
        r#"{{"event": {{"category": ["network"], "action": "connection_attempted"}},
            "host": {{"os": {{"type": "windows"}}}},
            "process": {{"name": "msiexec.exe", "entity_id": {}}},
            "destination": {{"ip": "203.0.113.7", "port": 443}}}}"#,
        s(id)
    ))
}

#[derive(Clone)]
struct Child {
    parent: String,
    executable: String,
    name: String,
    args: Vec<String>,
    user: String,
    subject: Option<String>,
    trusted: Option<bool>,
    integrity: Option<String>,
}

fn child(parent: &str) -> Child {
    Child {
        parent: parent.into(),
        executable: r"C:\Users\bob\AppData\Local\Temp\payload.exe".into(),
        name: "payload.exe".into(),
        args: vec![r"C:\Users\bob\AppData\Local\Temp\payload.exe".into()],
        user: "S-1-5-21-1004336348-1177238915-682003330-1001".into(),
        subject: None,
        trusted: None,
        integrity: None,
    }
}

impl Child {
    fn event(&self) -> V {
        let args: Vec<String> = self.args.iter().map(|a| s(a)).collect();
        let mut sig = Vec::new();
        if let Some(x) = &self.subject {
            sig.push(format!(r#""subject_name": {}"#, s(x)));
        }
        if let Some(t) = self.trusted {
            sig.push(format!(r#""trusted": {t}"#));
        }
        let ext = match &self.integrity {
            Some(i) => format!(
                r#", "Ext": {{"token": {{"integrity_level_name": {}}}}}"#,
                s(i)
            ),
            None => String::new(),
        };
        V(format!(
            r#"{{"event": {{"category": ["process"], "action": "start"}},
                "host": {{"os": {{"type": "windows"}}}},
                "user": {{"id": {}}},
                "process": {{"name": {}, "executable": {}, "args": [{}], "entity_id": "child-{}",
                             "code_signature": {{{}}}{},
                             "parent": {{"name": "msiexec.exe", "entity_id": {}}}}}}}"#,
            s(&self.user),
            s(&self.name),
            s(&self.executable),
            args.join(", "),
            self.parent,
            sig.join(", "),
            ext,
            s(&self.parent)
        ))
    }
}

/// Runs `(ms, event)` in order; positions are indices.
fn run(events: Vec<(i64, V)>) -> Vec<Vec<u64>> {
    let mut m = matcher();
    let mut out = Vec::new();
    for (i, (ts, ev)) in events.into_iter().enumerate() {
        out.extend(m.step(&json(ev), ts, i as u64));
    }
    out
}

fn chain(c: Child) -> Vec<Vec<u64>> {
    let id = c.parent.clone();
    run(vec![
        (0, msiexec_start(&id)),
        (1_000, connection(&id)),
        (2_000, c.event()),
    ])
}

#[test]
#[ignore = "needs ../shared (run with --ignored)"]
fn seed_003_copy_is_the_seed_page_verbatim() {
    let dir = detect_test_support::shared("seeds");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let pages: Vec<_> = entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("003_"))
        .collect();
    assert_eq!(pages.len(), 1, "one page of seed 003 in {}", dir.display());
    let page = std::fs::read_to_string(pages[0].path()).unwrap();
    assert!(
        page.contains(seed_003_query()),
        "the pack's copy of seed 003 differs from the seed page"
    );
}

#[test]
fn seed_003_parses_verbatim() {
    let q = parse_query(seed_003_query(), &Options::elasticsearch()).unwrap();
    let Body::Sequence(seq) = &q.body else {
        panic!("not a sequence")
    };
    assert_eq!(seq.stages.len(), 3);
    assert_eq!(seq.maxspan_ms, Some(60_000));
    let keys: Vec<&str> = seq.stages.iter().map(|s| s.keys[0].as_str()).collect();
    assert_eq!(
        keys,
        [
            "process.entity_id",
            "process.entity_id",
            "process.parent.entity_id"
        ]
    );
    assert!(seq.stages.iter().all(|s| s.keys.len() == 1));
    assert!(seq.until.is_none());
}

#[test]
fn the_full_chain_fires() {
    assert_eq!(chain(child("p1")), vec![vec![0, 1, 2]]);
}

#[test]
fn a_chain_of_61_seconds_does_not_fire_60_does() {
    let c = child("p1");
    let at = |t: i64| {
        run(vec![
            (0, msiexec_start("p1")),
            (30_000, connection("p1")),
            (t, c.event()),
        ])
    };
    assert!(at(61_000).is_empty());
    assert_eq!(at(60_000), vec![vec![0, 1, 2]]);
}

#[test]
fn wrong_parent_key_does_not_fire() {
    let out = run(vec![
        (0, msiexec_start("p1")),
        (1_000, connection("p1")),
        (2_000, child("p2").event()),
    ]);
    assert!(out.is_empty());
    // Nor does a connection from another process.
    let out = run(vec![
        (0, msiexec_start("p1")),
        (1_000, connection("p2")),
        (2_000, child("p1").event()),
    ]);
    assert!(out.is_empty());
}

#[test]
fn each_excluded_executable_is_excluded() {
    for &exe in EXCLUDED_EXECUTABLES {
        let mut c = child("p1");
        c.executable = exe.into();
        assert!(chain(c.clone()).is_empty(), "{exe} should be excluded");
        // `:` is case-insensitive.
        c.executable = exe.to_uppercase();
        assert!(
            chain(c).is_empty(),
            "{} should be excluded",
            exe.to_uppercase()
        );
    }
    // Near misses still fire: `?` is exactly one character, `.tmp` vs `.exe`.
    for exe in [
        r"C:\Windows\Temp\msiexec.exe",
        r"CC:\Windows\System32\sc.exe",
        r"C:\Windows\Installer\MSI4F2A.exe",
        r"C:\Program Files\Vendor\app.dll",
    ] {
        let mut c = child("p1");
        c.executable = exe.into();
        assert_eq!(chain(c), vec![vec![0, 1, 2]], "{exe} should fire");
    }
}

#[test]
fn the_other_exclusions() {
    // Under Program Files but not an `.exe`: the list does not exclude it,
    // and the signed-and-trusted clause needs an `.exe` too.
    let mut c = child("p1");
    c.executable = r"C:\Program Files\Vendor\tool.com".into();
    c.trusted = Some(true);
    assert_eq!(chain(c), vec![vec![0, 1, 2]]);
    // Script hosts at high integrity with Program Files arguments.
    let mut c = child("p1");
    c.name = "RUNDLL32.EXE".into();
    c.executable = r"C:\Users\bob\rundll32.exe".into();
    c.integrity = Some("high".into());
    c.args = vec![
        "rundll32.exe".into(),
        r"C:\Program Files\Vendor\x.dll,Entry".into(),
    ];
    assert!(chain(c.clone()).is_empty());
    c.integrity = Some("medium".into());
    assert_eq!(chain(c.clone()), vec![vec![0, 1, 2]]);
    // rundll32 printui.
    let mut c = child("p1");
    c.name = "rundll32.exe".into();
    c.args = vec!["rundll32.exe".into(), "printui.dll,PrintUIEntry".into()];
    assert!(chain(c).is_empty());
}

#[test]
fn user_id_must_be_a_domain_or_local_user() {
    for (user, fires) in [
        ("S-1-5-18", false),
        ("S-1-5-19", false),
        ("S-1-5-20", false),
        ("S-1-5-12-1-2-3", true),
        ("S-1-5-21-1-2-3-500", true),
        ("s-1-5-21-1-2-3-500", true),
    ] {
        let mut c = child("p1");
        c.user = user.into();
        assert_eq!(!chain(c).is_empty(), fires, "user {user}");
    }
}

#[test]
fn a_citrix_signed_trusted_child_is_excluded() {
    let mut c = child("p1");
    c.subject = Some("Citrix Systems, Inc.".into());
    c.trusted = Some(true);
    assert!(chain(c.clone()).is_empty());
    // Untrusted, or another spelling (`==` is case-sensitive): fires.
    c.trusted = Some(false);
    assert_eq!(chain(c.clone()), vec![vec![0, 1, 2]]);
    c.trusted = Some(true);
    c.subject = Some("CITRIX SYSTEMS, INC.".into());
    assert_eq!(chain(c), vec![vec![0, 1, 2]]);
}

#[test]
fn msiexec_without_v_does_not_start_a_sequence() {
    let start = msiexec_start("p1")
        .0
        .replace(r#", "/V"]"#, r#", "/i", "x.msi"]"#);
    let out = run(vec![
        (0, V(start)),
        (1_000, connection("p1")),
        (2_000, child("p1").event()),
    ]);
    assert!(out.is_empty());
    // `:` is case-insensitive: `/v` starts it.
    let start = msiexec_start("p1").0.replace(r#""/V""#, r#""/v""#);
    let out = run(vec![
        (0, V(start)),
        (1_000, connection("p1")),
        (2_000, child("p1").event()),
    ]);
    assert_eq!(out, vec![vec![0, 1, 2]]);
}

#[test]
fn stages_out_of_order_do_not_fire() {
    let orders: [[usize; 3]; 5] = [[1, 0, 2], [0, 2, 1], [2, 1, 0], [2, 0, 1], [1, 2, 0]];
    for order in orders {
        let evs = [msiexec_start("p1"), connection("p1"), child("p1").event()];
        let mut evs: Vec<Option<V>> = evs.into_iter().map(Some).collect();
        let stream = order
            .iter()
            .enumerate()
            .map(|(i, &k)| (i as i64 * 1_000, evs[k].take().unwrap()))
            .collect();
        assert!(run(stream).is_empty(), "order {order:?}");
    }
}

#[test]
fn events_with_earlier_timestamps_do_not_advance() {
    let out = run(vec![
        (10_000, msiexec_start("p1")),
        (9_000, connection("p1")),
        (11_000, child("p1").event()),
    ]);
    assert!(out.is_empty());
}

#[test]
fn a_restarted_first_stage_replaces_the_pending_sequence() {
    let out = run(vec![
        (0, msiexec_start("p1")),
        (30_000, msiexec_start("p1")),
        (65_000, connection("p1")),
        (70_000, child("p1").event()),
    ]);
    // Timed from the restart (30 s), so within a minute; reports the newer start.
    assert_eq!(out, vec![vec![1, 2, 3]]);
    // A restart after the connection discards the advanced sequence? No: the
    // advanced one waits at stage 2, the restart only replaces stage 1.
    let out = run(vec![
        (0, msiexec_start("p1")),
        (1_000, connection("p1")),
        (2_000, msiexec_start("p1")),
        (3_000, child("p1").event()),
    ]);
    assert_eq!(out, vec![vec![0, 1, 3]]);
}

#[test]
fn interleaved_chains_of_many_keys() {
    const N: usize = 200;
    let mut stream = Vec::new();
    let mut t = 0;
    for stage in 0..3 {
        for k in 0..N {
            // Interleave: even keys forward, odd keys backward.
            let k = if stage % 2 == 0 { k } else { N - 1 - k };
            let id = format!("proc-{k}");
            let ev = match stage {
                0 => msiexec_start(&id),
                1 => connection(&id),
                _ => child(&id).event(),
            };
            stream.push((t, ev));
            t += 10;
        }
    }
    let out = run(stream);
    assert_eq!(out.len(), N);
    for seq in &out {
        // Stage 0 of key k is at k, stage 1 at N + (N-1-k), stage 2 at 2N + k.
        let k = seq[0] as usize;
        assert_eq!(
            seq,
            &vec![k as u64, (2 * N - 1 - k) as u64, (2 * N + k) as u64]
        );
    }
}

#[test]
fn events_without_a_key_never_join() {
    let start = msiexec_start("p1").0.replace(r#""entity_id": "p1","#, "");
    let out = run(vec![
        (0, V(start)),
        (
            1_000,
            V(connection("p1").0.replace(r#", "entity_id": "p1""#, "")),
        ),
        (
            2_000,
            V(child("p1").event().0.replace(r#", "entity_id": "p1""#, "")),
        ),
    ]);
    assert!(out.is_empty());
}
