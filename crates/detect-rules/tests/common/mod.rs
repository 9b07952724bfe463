//! What the tests of the built-in rules share (each test binary uses a
//! part of it).
#![allow(dead_code)]

/// Seed 003's query as the pack writes it in `src/lib.rs` (the one copy of
/// the text; the seed's page on ../shared has it verbatim).
pub fn seed_003_query() -> &'static str {
    let lib = include_str!("../../src/lib.rs");
    let start = lib
        .find("r#\"sequence with")
        .expect("seed 003 in src/lib.rs")
        + 3;
    let end = start + lib[start..].find("\"#;").expect("end of seed 003");
    &lib[start..end]
}

/// `x` as a JSON string.
pub fn s(x: &str) -> String {
    let mut o = String::from("\"");
    for c in x.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// One executable for each path the seed's third stage excludes (`?:` is
/// any drive letter: some are on D:).
pub const EXCLUDED_EXECUTABLES: &[&str] = &[
    r"C:\Windows\SysWOW64\msiexec.exe",
    r"C:\Windows\System32\msiexec.exe",
    r"D:\Windows\System32\srtasks.exe",
    r"C:\Windows\SysWOW64\srtasks.exe",
    r"C:\Windows\System32\taskkill.exe",
    r"C:\Windows\Installer\MSI4F2A.tmp",
    r"C:\Program Files\Vendor\app.exe",
    r"D:\Program Files (x86)\Vendor\app.exe",
    r"C:\Windows\System32\ie4uinit.exe",
    r"C:\Windows\SysWOW64\ie4uinit.exe",
    r"C:\Windows\System32\sc.exe",
    r"C:\Windows\system32\Wbem\mofcomp.exe",
    r"C:\Windows\twain_32\fjscan32\SOP\crtdmprc.exe",
    r"C:\Windows\SysWOW64\taskkill.exe",
    r"C:\Windows\SysWOW64\schtasks.exe",
    r"C:\Windows\system32\schtasks.exe",
    r"C:\Windows\System32\sdbinst.exe",
];
