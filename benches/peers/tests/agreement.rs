//! Agreement before speed: every peer's verdicts against detect's, rule by
//! rule and event by event, on the real events (each rule on the events its
//! log source applies to). Case 1 always; case 2 with feature `corpus`.
//! `cargo test --release --ignore-rust-version -- --nocapture` prints the
//! full report (`PEERS_VERBOSE=1` adds every file a peer refused).
//!
//! The rules each peer disagrees on are listed below with the reason; each
//! reason is pinned on a minimal rule in `deviations.rs`. A new disagreement,
//! or one that goes away, fails the test.

/// Case 1: sigma-rust and rsigma agree on every rule they load; tau-engine
/// does not fire `rundll32_uncommon_dll_extension` on one Security 4688 event
/// whose `ParentCommandLine` is absent (`not` over an absent field is false in
/// tau: `tau_not_of_an_absent_field_is_false`).
const CASE1: [&[&str]; 3] = [
    &[],
    &[],
    &["proc_creation_win_rundll32_uncommon_dll_extension"],
];

/// Case 2, rsigma: none.
#[cfg(feature = "corpus")]
const CASE2_RSIGMA: &[&str] = &[];

/// Case 2, sigma-rust: string tests never match array fields (`Data`:
/// `sigma_rust_does_not_look_into_arrays`): the ESENT, MsiInstaller and
/// MSSQL rules (`win_mssql_failed_logon_from_external_network` fires where
/// its `Data` filter should drop the event); numbers do not match their text
/// (`sigma_rust_numbers_do_not_match_their_text`): `PreAuthType: 0`,
/// `SourcePort: 3389`; `null` does not match an absent field
/// (`null_on_an_absent_field`): the rules whose `filter_*null` drops events
/// lacking `ParentImage`, `ParentUser`, `CurrentDirectory` or `LogonId` fire.
#[cfg(feature = "corpus")]
const CASE2_SIGMA_RUST: &[&str] = &[
    "win_esent_ntdsutil_abuse",
    "win_esent_ntdsutil_abuse_susp_location",
    "win_msi_install_from_susp_locations",
    "win_msi_install_from_web",
    "win_mssql_failed_logon_from_external_network",
    "win_mssql_xp_cmdshell_change",
    "win_security_kerberos_asrep_roasting",
    "win_security_rdp_reverse_tunnel",
    "proc_creation_win_susp_cross_user_process_spawn",
    "proc_creation_win_susp_lolbin_exec_from_non_c_drive",
    "proc_creation_win_susp_proc_wrong_parent",
    "proc_creation_win_whoami_parent_anomaly",
    "proc_creation_win_wmiprvse_spawning_process",
];

/// Case 2, tau-engine: `not` over a selection on an absent field is false
/// (`tau_not_of_an_absent_field_is_false`): rules with a `not filter_*` on
/// `SourceUser`, `ParentImage` or `ParentCommandLine` miss events lacking
/// them; `null` does not match an absent field (`null_on_an_absent_field`):
/// `wmiprvse_spawning_process` fires on an event its `LogonId: null` filter
/// drops.
#[cfg(feature = "corpus")]
const CASE2_TAU: &[&str] = &[
    "proc_access_win_lsass_memdump",
    "proc_creation_win_csc_susp_dynamic_compilation",
    "proc_creation_win_powershell_base64_encoded_cmd_patterns",
    "proc_creation_win_powershell_non_interactive_execution",
    "proc_creation_win_rundll32_uncommon_dll_extension",
    "proc_creation_win_susp_bad_opsec_sacrificial_processes",
    "proc_creation_win_wmiprvse_spawning_process",
];

#[path = "../harness/mod.rs"]
mod harness;

use detect_peers::{Events, Pack, Router, Routing};
use harness::{
    Loaded, Peer, Rsigma, SigmaRust, Tau, compare, detect_verdicts, peer_events, print_report,
};

/// The real events. This workspace compiles SigmaHQ rules from
/// `../shared/data` and cannot build without it, so a missing events file is
/// a failure, never a skip.
fn events() -> Events {
    Events::load().unwrap_or_else(|why| panic!("{why}"))
}

/// Checks one peer on one case; returns the names of the rules it disagrees on.
fn check<P: Peer>(
    pack: &Pack,
    events: &Events,
    routing: &Routing,
    detect: &[Vec<usize>],
) -> Vec<String> {
    let loaded = Loaded::<P>::new(pack);
    let evs = peer_events::<P>(events, routing);
    let a = compare(&loaded, routing, detect, &evs);
    print_report(pack, events, &loaded, &a);
    assert!(a.pairs > 0, "{}: nothing compared", P::NAME);
    a.disagreements
        .iter()
        .map(|d| pack.ir.rules[d.rule].name.clone())
        .collect()
}

#[test]
fn case1_seed_and_msiexec_rules() {
    let events = events();
    let pack = Pack::msiexec();
    let routing = Routing::new(&pack.ir, &events.detect).unwrap();
    // The benchmark routes peer events by Channel and EventID alone.
    Router::new(&events, &routing).unwrap();
    let detect = detect_verdicts(&pack, &events);
    let fired: usize = detect.iter().map(Vec::len).sum();
    println!(
        "[msiexec] detect: {} rules, {} skipped, {} events, {} arms (largest: {} rules), {fired} matches",
        pack.ir.rules.len(),
        pack.skipped.len(),
        events.len(),
        routing.arms.len(),
        routing.arms.iter().map(Vec::len).max().unwrap_or(0)
    );
    assert!(pack.ir.rules.len() >= 56, "seed + msiexec rules compiled");
    assert_eq!(check::<Rsigma>(&pack, &events, &routing, &detect), CASE1[0]);
    assert_eq!(
        check::<SigmaRust>(&pack, &events, &routing, &detect),
        CASE1[1]
    );
    assert_eq!(check::<Tau>(&pack, &events, &routing, &detect), CASE1[2]);
}

#[cfg(feature = "corpus")]
#[test]
fn case2_sigmahq_windows() {
    let events = events();
    let pack = Pack::corpus();
    let routing = Routing::new(&pack.ir, &events.detect).unwrap();
    // The benchmark routes peer events by Channel and EventID alone.
    Router::new(&events, &routing).unwrap();
    let detect = detect_verdicts(&pack, &events);
    let fired: usize = detect.iter().map(Vec::len).sum();
    println!(
        "[corpus] detect: {} rules, {} skipped, {} events, {} arms (largest: {} rules), {fired} matches",
        pack.ir.rules.len(),
        pack.skipped.len(),
        events.len(),
        routing.arms.len(),
        routing.arms.iter().map(Vec::len).max().unwrap_or(0)
    );
    assert_eq!(
        check::<Rsigma>(&pack, &events, &routing, &detect),
        CASE2_RSIGMA
    );
    assert_eq!(
        check::<SigmaRust>(&pack, &events, &routing, &detect),
        CASE2_SIGMA_RUST
    );
    assert_eq!(check::<Tau>(&pack, &events, &routing, &detect), CASE2_TAU);
}
