//! Generates the benchmark rule sets: `gen_{10,100,1000,5000}.rs` in `OUT_DIR`,
//! each one `detect::rules! { pub ruleset GenN; ... }` with N rules shaped
//! like SigmaHQ's Windows rules (mostly process_creation, some
//! network_connection, a few Security and PowerShell ones).
//!
//! Everything comes from a fixed-seed xorshift generator and the vocabulary
//! below, so the output is the same on every build and on every machine. Rule
//! `r{i}` is drawn from its own generator seeded with `i`, so each set is a
//! prefix of the next larger one (Gen10 is the first ten rules of Gen100...).

use std::fmt::Write as _;
use std::path::PathBuf;

/// The rule set sizes; each becomes `gen_{n}.rs` with `pub ruleset Gen{n};`.
const SIZES: [usize; 4] = [10, 100, 1000, 5000];

/// Seed mixed into every rule's generator. Changing it changes every rule.
const SEED: u64 = 0x5EED_DE7E_C7B3_4C11;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for n in SIZES {
        let text = ruleset(n);
        let path = out.join(format!("gen_{n}.rs"));
        // Rewrite only when the text changes, so that rustc's view of the file
        // (and the incremental cache) stays put when nothing changed.
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).expect("OUT_DIR is writable");
        }
    }
}

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// xorshift64* with a splitmix64-scrambled seed ([`XorShift64Star::seeded`]).
use detect_test_support::XorShift64Star as Rng;

// ---------------------------------------------------------------------------
// Vocabulary (written for these benchmarks; no rule text is copied)
// ---------------------------------------------------------------------------

/// Binaries that are frequent in real Windows telemetry (and in
/// `windows-samples.ndjson`), so rules naming them do fire now and then.
const COMMON_BINS: &[&str] = &[
    "cmd.exe",
    "powershell.exe",
    "svchost.exe",
    "rundll32.exe",
    "reg.exe",
    "ping.exe",
    "whoami.exe",
    "wmic.exe",
    "schtasks.exe",
    "regsvr32.exe",
    "sc.exe",
    "net.exe",
    "conhost.exe",
    "dllhost.exe",
    "mshta.exe",
    "certutil.exe",
    "bitsadmin.exe",
    "netsh.exe",
    "wusa.exe",
    "consent.exe",
];

/// Living-off-the-land binaries and tools that SigmaHQ rules name but that
/// are rare in ordinary telemetry.
const RARE_BINS: &[&str] = &[
    "cscript.exe",
    "wscript.exe",
    "msiexec.exe",
    "net1.exe",
    "nltest.exe",
    "taskkill.exe",
    "tasklist.exe",
    "vssadmin.exe",
    "wevtutil.exe",
    "bcdedit.exe",
    "procdump.exe",
    "psexec.exe",
    "curl.exe",
    "odbcconf.exe",
    "installutil.exe",
    "msbuild.exe",
    "csc.exe",
    "forfiles.exe",
    "pcalua.exe",
    "hh.exe",
    "cmstp.exe",
    "control.exe",
    "eventvwr.exe",
    "fodhelper.exe",
    "sdbinst.exe",
    "mmc.exe",
    "at.exe",
    "attrib.exe",
    "icacls.exe",
    "takeown.exe",
    "esentutl.exe",
    "ntdsutil.exe",
    "diskshadow.exe",
    "findstr.exe",
    "expand.exe",
    "extrac32.exe",
    "makecab.exe",
    "xcopy.exe",
    "robocopy.exe",
    "dsquery.exe",
    "adfind.exe",
    "quser.exe",
    "qwinsta.exe",
    "systeminfo.exe",
    "ipconfig.exe",
    "arp.exe",
    "nslookup.exe",
    "pwsh.exe",
    "powershell_ise.exe",
    "regasm.exe",
    "regsvcs.exe",
    "msdt.exe",
    "wsl.exe",
    "finger.exe",
    "ieexec.exe",
    "mavinject.exe",
    "plink.exe",
    "7z.exe",
    "winrar.exe",
    "anydesk.exe",
];

/// Parents whose children SigmaHQ rules flag: document readers, servers,
/// script hosts, browsers (rare as parents of shells in ordinary telemetry).
const SUSPICIOUS_PARENTS: &[&str] = &[
    "winword.exe",
    "excel.exe",
    "powerpnt.exe",
    "outlook.exe",
    "w3wp.exe",
    "sqlservr.exe",
    "wmiprvse.exe",
    "mshta.exe",
    "wscript.exe",
    "cscript.exe",
    "java.exe",
    "chrome.exe",
    "msedge.exe",
    "firefox.exe",
    "taskeng.exe",
    "spoolsv.exe",
    "python.exe",
    "acrord32.exe",
    "onenote.exe",
    "httpd.exe",
    "tomcat.exe",
];

/// Parent processes in general (filters, and now and then a rule on a common
/// parent, which does fire on real data).
const PARENTS: &[&str] = &[
    "explorer.exe",
    "winword.exe",
    "excel.exe",
    "powerpnt.exe",
    "outlook.exe",
    "w3wp.exe",
    "sqlservr.exe",
    "wmiprvse.exe",
    "services.exe",
    "svchost.exe",
    "cmd.exe",
    "powershell.exe",
    "mshta.exe",
    "wscript.exe",
    "cscript.exe",
    "java.exe",
    "chrome.exe",
    "msedge.exe",
    "firefox.exe",
    "taskeng.exe",
    "spoolsv.exe",
    "winlogon.exe",
    "userinit.exe",
    "python.exe",
];

/// Command-line fragments (contains/all).
const CLI: &[&str] = &[
    " /c ",
    " /k ",
    " -enc ",
    " -nop ",
    " -w hidden",
    "-ExecutionPolicy Bypass",
    "IEX",
    "DownloadString",
    "DownloadFile",
    "Invoke-WebRequest",
    "FromBase64String",
    "Net.WebClient",
    "http://",
    "https://",
    "://",
    r"\AppData\Local\Temp",
    r"\Users\Public",
    r"\ProgramData",
    r"\Windows\Temp",
    " add ",
    " delete ",
    " query ",
    " /create ",
    " /sc onlogon",
    " /ru system",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
    r"\CurrentControlSet\Services",
    "shadowcopy",
    "delete shadows",
    " /all",
    " /quiet",
    "-urlcache",
    "-decode",
    "-split",
    "javascript:",
    "vbscript:",
    ",DllRegisterServer",
    "comsvcs",
    "MiniDump",
    " #24",
    "sekurlsa::",
    "lsadump::",
    " /transfer ",
    " /download ",
    "localgroup administrators",
    " user ",
    " /domain",
    "domain_trusts",
    "/dclist:",
    "advfirewall",
    " set opmode ",
    "portproxy",
    " binPath=",
    " start= auto",
    "process call create",
    "/node:",
    " /format:",
    ".hta",
    ".vbs",
    ".ps1",
    ".bat",
    ".dll",
    ".tmp",
    "-noprofile",
    "Bypass",
    "Unrestricted",
    "recoveryenabled no",
    "ignoreallfailures",
    " cl ",
    "ntds.dit",
    " ifm ",
    "mimikatz",
    "-accepteula",
    " -ma ",
    "lsass",
    " /grant ",
    "Everyone:F",
    " +h ",
    "Add-MpPreference",
    "-ExclusionPath",
    "-DisableRealtimeMonitoring",
    "Start-Process",
    "-Verb RunAs",
    "ms-settings",
    r"\shell\open\command",
    "DelegateExecute",
    " /priv",
    " /t REG_SZ",
    " /f",
    "127.0.0.1",
    " /extract:",
    "/Processid:",
    " -Embedding",
    "ScreenConnect",
    "AtomicRed",
];

/// Fragments with exactly one leading dash or slash, for `windash` (which
/// expands every dash that starts a word into five variants).
const WINDASH: &[&str] = &[
    " -enc ",
    " -nop ",
    " -decode ",
    " -urlcache ",
    " /transfer ",
    " -accepteula",
    " /c ",
    " -ma ",
    " -w hidden",
    " /quiet",
    " -exec bypass",
    " /node:",
];

/// Directory prefixes of legitimate software (filters).
const LEGIT_DIRS: &[&str] = &[
    r"C:\Program Files",
    r"C:\Program Files (x86)",
    r"C:\Windows\System32",
    r"C:\Windows\SysWOW64",
    r"C:\Windows\WinSxS",
    r"C:\Windows\Microsoft.NET",
];

/// Suspicious directory fragments (Image|contains).
const SUSPICIOUS_DIRS: &[&str] = &[
    r"\AppData\Local\Temp\",
    r"\AppData\Roaming\",
    r"\Users\Public\",
    r"\Downloads\",
    r"\Desktop\",
    r"\PerfLogs\",
    r"\Windows\Temp\",
    r":\Temp\",
];

/// Command-line fragments of benign callers (filters).
const BENIGN_CLI: &[&str] = &[
    " --type=renderer",
    r"\Microsoft\Teams\",
    "Windows Defender",
    r"\Google\Chrome\",
    "MsMpEng",
    "/Processid:{",
    "OneDriveSetup",
    "-k netsvcs",
    "-k DcomLaunch",
];

const PORTS: &[&str] = &[
    "21", "22", "23", "25", "53", "80", "135", "139", "443", "445", "1080", "1433", "3389", "4444",
    "5985", "5986", "8080", "8443", "9001", "1337", "6667", "8888",
];

const HOSTS: &[&str] = &[
    "pastebin.com",
    ".ngrok.io",
    "raw.githubusercontent.com",
    "transfer.sh",
    "api.telegram.org",
    "discord.com",
    "dropboxusercontent.com",
    ".duckdns.org",
    ".onion",
    "anonfiles.com",
    "portmap.io",
    "mega.nz",
];

const PRIVATE_NETS: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "::1/128",
    "fe80::/10",
];

/// PowerShell script block fragments.
const PS_FRAGMENTS: &[&str] = &[
    "Invoke-Mimikatz",
    "DownloadString",
    "FromBase64String",
    "AmsiUtils",
    "amsiInitFailed",
    "VirtualAlloc",
    "Get-WmiObject",
    "New-Object",
    "IEX",
    "Invoke-Expression",
    "-bxor",
    "Reflection.Assembly",
    "System.Net.Sockets.TCPClient",
    "Get-Process lsass",
    "Compress-Archive",
    "Add-Type",
    "[Char[]]",
    "-join",
    "Invoke-Shellcode",
    "Get-Keystrokes",
    "Set-MpPreference",
    "MemoryStream",
    "IO.Compression.GzipStream",
    "Invoke-Command",
    "Start-BitsTransfer",
    "Get-ADComputer",
    "PowerView",
    "Invoke-Kerberoast",
];

const SECURITY_USERS: &[&str] = &["Administrator", "admin", "Guest", "svc_", "backup", "sql"];
const SHARES: &[&str] = &[r"\ADMIN$", r"\C$", r"\IPC$", r"\SYSVOL"];
const SHARE_TARGETS: &[&str] = &[
    "svcctl", "lsarpc", "samr", "winreg", "atsvc", ".exe", ".dll", "ntds.dit", "PSEXESVC",
];

const TACTICS: &[&str] = &[
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "credential_access",
    "discovery",
    "lateral_movement",
    "command_and_control",
    "exfiltration",
    "impact",
];

const TITLE_WORDS: &[&str] = &[
    "Suspicious",
    "Potential",
    "Uncommon",
    "Remote",
    "Hidden",
    "Encoded",
    "Renamed",
    "Abused",
];

// ---------------------------------------------------------------------------
// Output helpers
// ---------------------------------------------------------------------------

/// A Rust literal for a Sigma string value: raw when possible (as SigmaHQ
/// YAML is copied into the DSL), otherwise a normal escaped literal.
fn lit(s: &str) -> String {
    if s.contains('"') {
        format!("{s:?}")
    } else {
        format!("r\"{s}\"")
    }
}

/// `lit` for one value, `[lit, ...]` for several.
fn lits(values: &[String]) -> String {
    if values.len() == 1 {
        lit(&values[0])
    } else {
        let parts: Vec<String> = values.iter().map(|v| lit(v)).collect();
        format!("[{}]", parts.join(", "))
    }
}

/// Numbers, unquoted: `443` or `[80, 443]`.
fn nums(values: &[&str]) -> String {
    if values.len() == 1 {
        values[0].to_string()
    } else {
        format!("[{}]", values.join(", "))
    }
}

fn backslashed(bins: &[&str]) -> Vec<String> {
    bins.iter().map(|b| format!(r"\{b}")).collect()
}

fn owned(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

/// `regex::escape` for the few metacharacters the vocabulary contains.
fn re_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// What `OriginalFileName` looks like for `bin` (PE metadata casing varies).
fn original_name(rng: &mut Rng, bin: &str) -> String {
    match rng.below(3) {
        0 => bin.to_ascii_uppercase(),
        1 => {
            let mut c = bin.chars();
            let first = c.next().map(|f| f.to_ascii_uppercase());
            first.into_iter().chain(c).collect()
        }
        _ => bin.to_string(),
    }
}

fn stem(bin: &str) -> &str {
    bin.strip_suffix(".exe").unwrap_or(bin)
}

/// A binary: a frequent real one with probability `common`%, else a rare one.
fn bin(rng: &mut Rng, common: u64) -> &'static str {
    if rng.chance(common) {
        rng.pick(COMMON_BINS)
    } else {
        rng.pick(RARE_BINS)
    }
}

fn bins(rng: &mut Rng, n: usize, common: u64) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    while out.len() < n {
        let b = bin(rng, common);
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// One rule, ready to paste into a `rules!` block.
struct Rule {
    title: String,
    level: &'static str,
    logsource: &'static str,
    tactic: &'static str,
    technique: u32,
    /// `name: value` lines.
    selections: Vec<(String, String)>,
    condition: String,
}

fn ruleset(n: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// @generated by benches/build.rs: {n} SigmaHQ-shaped rules. Do not edit.\n"
    );
    let _ = writeln!(out, "detect::rules! {{");
    let _ = writeln!(
        out,
        "    /// {n} generated rules shaped like SigmaHQ's Windows rules (benchmark input)."
    );
    let _ = writeln!(out, "    pub ruleset Gen{n};");
    for i in 0..n {
        let mut rng = Rng::seeded(SEED ^ (i as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let rule = rule(&mut rng);
        write_rule(&mut out, i, &mut rng, &rule);
    }
    out.push_str("}\n");
    out
}

fn write_rule(out: &mut String, i: usize, rng: &mut Rng, r: &Rule) {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.next_u64() as u32,
        rng.next_u64() as u16,
        rng.next_u64() & 0xfff,
        (rng.next_u64() & 0x3fff) | 0x8000,
        rng.next_u64() & 0xffff_ffff_ffff
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "    /// Generated rule {i}: {}.", r.title);
    let _ = writeln!(out, "    #[id = \"{id}\"]");
    let _ = writeln!(out, "    #[title = {:?}]", r.title);
    let _ = writeln!(out, "    #[status(test)]");
    let _ = writeln!(out, "    #[level({})]", r.level);
    let _ = writeln!(
        out,
        "    #[tags(attack.{}, attack.t{})]",
        r.tactic, r.technique
    );
    let _ = writeln!(out, "    #[logsource({})]", r.logsource);
    let _ = writeln!(out, "    rule r{i} {{");
    for (name, value) in &r.selections {
        let _ = writeln!(out, "        {name}: {value},");
    }
    let _ = writeln!(out, "        condition: {},", r.condition);
    let _ = writeln!(out, "    }}");
}

const PROCESS_CREATION: &str = "product = windows, category = process_creation";
const NETWORK_CONNECTION: &str = "product = windows, category = network_connection";

fn rule(rng: &mut Rng) -> Rule {
    // SigmaHQ's windows/ tree is dominated by process_creation rules.
    let kind = rng.weighted(&[86, 8, 3, 3]);
    let level =
        ["informational", "low", "medium", "high", "critical"][rng.weighted(&[3, 10, 45, 35, 7])];
    let tactic = rng.pick(TACTICS);
    let technique = 1000 + rng.below(620) as u32;
    let (logsource, title, selections, condition) = match kind {
        0 => process_creation(rng),
        1 => network(rng),
        2 => security(rng),
        _ => powershell(rng),
    };
    Rule {
        title,
        level,
        logsource,
        tactic,
        technique,
        selections,
        condition,
    }
}

type Body = (&'static str, String, Vec<(String, String)>, String);

/// `selection_img`: the image by path suffix or by PE original file name.
fn selection_img(rng: &mut Rng, images: &[&str]) -> (String, String) {
    let originals: Vec<String> = images.iter().map(|b| original_name(rng, b)).collect();
    let value = if rng.chance(75) {
        format!(
            "[{{ Image|endswith: {} }}, {{ OriginalFileName: {} }}]",
            lits(&backslashed(images)),
            lits(&originals)
        )
    } else {
        format!("{{ Image|endswith: {} }}", lits(&backslashed(images)))
    };
    ("selection_img".into(), value)
}

/// A command-line selection: `contains` (any), `contains|all`, sometimes
/// `windash`, `endswith` or a regex.
fn selection_cli(rng: &mut Rng) -> String {
    match rng.weighted(&[48, 34, 8, 4, 3, 3]) {
        0 => {
            let n = rng.range(1, 5);
            format!(
                "{{ CommandLine|contains: {} }}",
                lits(&owned(&rng.pick_n(CLI, n)))
            )
        }
        1 => {
            let n = rng.range(2, 3);
            format!(
                "{{ CommandLine|contains|all: {} }}",
                lits(&owned(&rng.pick_n(CLI, n)))
            )
        }
        2 => {
            let n = rng.range(1, 3);
            format!(
                "{{ CommandLine|windash|contains: {} }}",
                lits(&owned(&rng.pick_n(WINDASH, n)))
            )
        }
        3 => {
            let n = rng.range(1, 3);
            let ends: Vec<String> = rng
                .pick_n(CLI, n)
                .iter()
                .map(|s| s.trim_end().to_string())
                .collect();
            format!("{{ CommandLine|endswith: {} }}", lits(&ends))
        }
        4 => format!(
            "{{ ParentCommandLine|contains: {} }}",
            lits(&owned(&rng.pick_n(CLI, 2)))
        ),
        _ => format!(
            "{{ CommandLine|contains: {}, IntegrityLevel: {} }}",
            lit(rng.pick(CLI)),
            lits(&owned(&rng.pick_n(
                &["High", "System", "S-1-16-12288", "S-1-16-16384"],
                2
            )))
        ),
    }
}

/// A valid `re` value built from the vocabulary (about 2% of rules).
fn regex(rng: &mut Rng) -> String {
    let frag = re_escape(rng.pick(CLI).trim());
    let b = re_escape(stem(bin(rng, 30)));
    match rng.below(6) {
        0 => format!(r"\s-[a-zA-Z]{{1,3}}\s+.*{frag}"),
        1 => format!(r"\\{b}\.exe.?\s+.*{frag}"),
        2 => r"[A-Za-z0-9+/]{60,}={0,2}".to_string(),
        3 => format!(r#"^"?[A-Z]:\\Users\\[^\\]+\\(AppData|Downloads|Desktop)\\.*{frag}"#),
        4 => format!(r"(?:{b}|{frag})\s+/[a-z]+:\S+"),
        _ => format!(r"\b{b}\b.*\b(http|https|ftp)://[^\s/]+/"),
    }
}

fn process_creation(rng: &mut Rng) -> Body {
    let mut sels: Vec<(String, String)> = Vec::new();
    let main_bin = bin(rng, 30);
    let title = format!(
        "{} {} Execution",
        rng.pick(TITLE_WORDS),
        stem(main_bin).to_ascii_uppercase()
    );
    let shape = rng.weighted(&[36, 15, 13, 10, 8, 8, 2, 3]);
    let condition = match shape {
        // Image + command line, both required.
        0 => {
            let mut images = vec![main_bin];
            let extra = rng.below(3);
            images.extend(bins(rng, extra, 30).into_iter().filter(|b| *b != main_bin));
            sels.push(selection_img(rng, &images));
            sels.push(("selection_cli".into(), selection_cli(rng)));
            "all of selection_*".to_string()
        }
        // One selection holding both.
        1 => {
            let n = rng.range(2, 3);
            let all = rng.pick_n(CLI, n);
            sels.push((
                "selection".into(),
                format!(
                    "{{ Image|endswith: {}, CommandLine|contains|all: {} }}",
                    lit(&format!(r"\{main_bin}")),
                    lits(&owned(&all))
                ),
            ));
            "selection".to_string()
        }
        // Image + command line minus legitimate callers.
        2 => {
            sels.push(selection_img(rng, &[main_bin]));
            sels.push(("selection_cli".into(), selection_cli(rng)));
            filters(rng, &mut sels);
            if rng.chance(30) {
                sels.push((
                    "filter_optional_benign".into(),
                    format!(
                        "{{ CommandLine|contains: {} }}",
                        lits(&owned(&rng.pick_n(BENIGN_CLI, 2)))
                    ),
                ));
                "all of selection_* and not 1 of filter_main_* and not 1 of filter_optional_*"
                    .to_string()
            } else {
                "all of selection_* and not 1 of filter_main_*".to_string()
            }
        }
        // Suspicious parent spawning a shell or LOLBin.
        3 => {
            let n = rng.range(1, 4);
            let parents = if rng.chance(85) {
                SUSPICIOUS_PARENTS
            } else {
                PARENTS
            };
            sels.push((
                "selection_parent".into(),
                format!(
                    "{{ ParentImage|endswith: {} }}",
                    lits(&backslashed(&rng.pick_n(parents, n)))
                ),
            ));
            let mut children = vec![main_bin];
            let extra = rng.range(1, 3);
            children.extend(bins(rng, extra, 30).into_iter().filter(|b| *b != main_bin));
            sels.push((
                "selection_child".into(),
                format!("{{ Image|endswith: {} }}", lits(&backslashed(&children))),
            ));
            if rng.chance(50) {
                "selection_parent and selection_child".to_string()
            } else {
                "all of selection_*".to_string()
            }
        }
        // Any of several command-line shapes of one tool.
        4 => {
            sels.push(selection_img(rng, &[main_bin]));
            for j in 0..rng.range(2, 3) {
                sels.push((format!("selection_cli_{j}"), selection_cli(rng)));
            }
            "selection_img and 1 of selection_cli_*".to_string()
        }
        // Executable running from a suspicious directory.
        5 => {
            let n = rng.range(1, 3);
            sels.push((
                "selection".into(),
                format!(
                    "{{ Image|contains: {}, Image|endswith: {} }}",
                    lits(&owned(&rng.pick_n(SUSPICIOUS_DIRS, n))),
                    lits(&backslashed(&[main_bin]))
                ),
            ));
            if rng.chance(50) {
                filters(rng, &mut sels);
                "selection and not 1 of filter_main_*".to_string()
            } else {
                "selection".to_string()
            }
        }
        // A regular expression on the command line (~2% of all rules).
        6 => {
            sels.push(selection_img(rng, &[main_bin]));
            let flags = ["", "|i", "|i|s", "|m"][rng.weighted(&[5, 3, 1, 1])];
            sels.push((
                "selection_re".into(),
                format!("{{ CommandLine|re{flags}: {} }}", lit(&regex(rng))),
            ));
            "all of selection_*".to_string()
        }
        // Hashes, descriptions and other PE metadata.
        _ => {
            let hashes: Vec<String> = (0..rng.range(1, 4))
                .map(|_| {
                    let kind = rng.pick(&["IMPHASH=", "MD5=", "SHA256="]);
                    let digits = if kind == "SHA256=" { 4 } else { 2 };
                    let hex: String = (0..digits)
                        .map(|_| format!("{:016X}", rng.next_u64()))
                        .collect();
                    format!("{kind}{hex}")
                })
                .collect();
            sels.push((
                "selection_hash".into(),
                format!("{{ Hashes|contains: {} }}", lits(&hashes)),
            ));
            sels.push((
                "selection_meta".into(),
                format!(
                    "{{ Description: {:?}, Product|contains: {:?} }}",
                    format!("{} Tool", stem(main_bin)),
                    "Sysinternals"
                ),
            ));
            "1 of selection_*".to_string()
        }
    };
    (PROCESS_CREATION, title, sels, condition)
}

/// One or two `filter_main_*` selections.
fn filters(rng: &mut Rng, sels: &mut Vec<(String, String)>) {
    let n = rng.range(1, 2);
    let kinds = [0, 1, 2, 3, 4];
    let mut used = Vec::new();
    while used.len() < n {
        let k = kinds[rng.below(kinds.len())];
        if used.contains(&k) {
            continue;
        }
        used.push(k);
        let (name, value) = match k {
            0 => {
                let m = rng.range(1, 3);
                (
                    "filter_main_legit_dirs",
                    format!(
                        "{{ ParentImage|startswith: {} }}",
                        lits(&owned(&rng.pick_n(LEGIT_DIRS, m)))
                    ),
                )
            }
            1 => (
                "filter_main_system",
                r#"{ User|contains: ["AUTHORI", "AUTORI"] }"#.to_string(),
            ),
            2 => (
                "filter_main_parent",
                format!(
                    "{{ ParentImage|endswith: {} }}",
                    lits(&backslashed(&rng.pick_n(PARENTS, 2)))
                ),
            ),
            3 => ("filter_main_null", "{ ParentImage: null }".to_string()),
            _ => {
                let m = rng.range(1, 3);
                (
                    "filter_main_benign_cli",
                    format!(
                        "{{ CommandLine|contains: {} }}",
                        lits(&owned(&rng.pick_n(BENIGN_CLI, m)))
                    ),
                )
            }
        };
        sels.push((name.to_string(), value));
    }
}

fn network(rng: &mut Rng) -> Body {
    let mut sels = Vec::new();
    let n = rng.range(1, 3);
    let images = bins(rng, n, 35);
    let title = format!(
        "{} Network Connection Initiated By {}",
        rng.pick(TITLE_WORDS),
        stem(images[0]).to_ascii_uppercase()
    );
    let n = rng.range(1, 4);
    let condition = match rng.below(3) {
        0 => {
            sels.push((
                "selection".into(),
                format!(
                    "{{ Image|endswith: {}, Initiated: \"true\", DestinationPort: {} }}",
                    lits(&backslashed(&images)),
                    nums(&rng.pick_n(PORTS, n))
                ),
            ));
            let m = rng.range(2, 4);
            sels.push((
                "filter_main_local".into(),
                format!(
                    "{{ DestinationIp|cidr: {} }}",
                    lits(&owned(&rng.pick_n(PRIVATE_NETS, m)))
                ),
            ));
            "selection and not 1 of filter_main_*".to_string()
        }
        1 => {
            sels.push((
                "selection".into(),
                format!(
                    "{{ Initiated: \"true\", DestinationHostname|endswith: {} }}",
                    lits(&owned(&rng.pick_n(HOSTS, n)))
                ),
            ));
            if rng.chance(50) {
                sels.push((
                    "filter_main_browsers".into(),
                    format!(
                        "{{ Image|endswith: {} }}",
                        lits(&backslashed(&["chrome.exe", "msedge.exe", "firefox.exe"]))
                    ),
                ));
                "selection and not 1 of filter_main_*".to_string()
            } else {
                "selection".to_string()
            }
        }
        _ => {
            let m = rng.range(1, 3);
            sels.push((
                "selection_img".into(),
                format!(
                    "{{ Image|contains: {} }}",
                    lits(&owned(&rng.pick_n(SUSPICIOUS_DIRS, m)))
                ),
            ));
            sels.push((
                "selection_port".into(),
                format!("{{ DestinationPort: {} }}", nums(&rng.pick_n(PORTS, n))),
            ));
            sels.push((
                "filter_main_local".into(),
                format!(
                    "{{ DestinationIp|cidr: {} }}",
                    lits(&owned(&PRIVATE_NETS[..4]))
                ),
            ));
            "all of selection_* and not 1 of filter_main_*".to_string()
        }
    };
    (NETWORK_CONNECTION, title, sels, condition)
}

fn security(rng: &mut Rng) -> Body {
    let mut sels = Vec::new();
    let (title, condition) = match rng.below(3) {
        0 => {
            let n = rng.range(1, 2);
            let logon = nums(&rng.pick_n(&["2", "3", "8", "10"], n));
            sels.push((
                "selection".into(),
                format!(
                    "{{ EventID: 4625, LogonType: {logon}, TargetUserName|startswith: {} }}",
                    lits(&owned(&rng.pick_n(SECURITY_USERS, 2)))
                ),
            ));
            sels.push((
                "filter_main_local".into(),
                format!("{{ IpAddress|cidr: {} }}", lits(&owned(&PRIVATE_NETS[..3]))),
            ));
            (
                "Failed Logon From Public Address",
                "selection and not 1 of filter_main_*",
            )
        }
        1 => {
            let n = rng.range(1, 3);
            sels.push((
                "selection".into(),
                format!(
                    "{{ EventID: 5145, ShareName|endswith: {}, RelativeTargetName|contains: {} }}",
                    lit(rng.pick(SHARES)),
                    lits(&owned(&rng.pick_n(SHARE_TARGETS, n)))
                ),
            ));
            ("Remote Access To Admin Share", "selection")
        }
        _ => {
            sels.push((
                "selection".into(),
                format!(
                    "{{ EventID: 4663, ObjectName|endswith: {}, AccessMask: \"0x1\" }}",
                    lits(&owned(&rng.pick_n(
                        &[r"\ntds.dit", r"\SAM", r"\SECURITY", r"\lsass.exe"],
                        2
                    )))
                ),
            ));
            sels.push((
                "filter_main_system".into(),
                format!(
                    "{{ ProcessName|startswith: {} }}",
                    lits(&owned(&LEGIT_DIRS[..3]))
                ),
            ));
            (
                "Sensitive File Access",
                "selection and not 1 of filter_main_*",
            )
        }
    };
    (
        "product = windows, service = security",
        title.to_string(),
        sels,
        condition.to_string(),
    )
}

fn powershell(rng: &mut Rng) -> Body {
    let mut sels = Vec::new();
    let n = rng.range(2, 3);
    let frags = owned(&rng.pick_n(PS_FRAGMENTS, n));
    let (logsource, condition) = if rng.chance(50) {
        sels.push((
            "selection".into(),
            format!("{{ ScriptBlockText|contains|all: {} }}", lits(&frags)),
        ));
        ("product = windows, category = ps_script", "selection")
    } else {
        sels.push((
            "selection".into(),
            format!(
                "{{ EventID: 4104, ScriptBlockText|contains: {} }}",
                lits(&frags)
            ),
        ));
        sels.push((
            "filter_main_defender".into(),
            format!(
                "{{ Path|startswith: {} }}",
                lit(r"C:\ProgramData\Microsoft\Windows Defender")
            ),
        ));
        (
            "product = windows, service = powershell",
            "selection and not 1 of filter_main_*",
        )
    };
    (
        logsource,
        format!("{} PowerShell {}", rng.pick(TITLE_WORDS), frags[0]),
        sels,
        condition.to_string(),
    )
}
