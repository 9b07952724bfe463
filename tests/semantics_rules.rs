//! The rule set of the semantics table (`tests/tests/semantics.rs`): one small
//! rule per matcher, modifier, condition form and log source. It lives in the
//! library so the real-data suites can run the same rules over real events.

detect::rules! {
    /// One small rule per behaviour under test.
    pub ruleset Semantics;

    placeholder admins = ["root", "Admin*"];

    rule exact_ci { s: { F: "Abc" }, condition: s }
    rule exact_unicode { s: { F: "ÄÖ" }, condition: s }
    rule exact_kelvin { s: { F: "k" }, condition: s }
    rule atom_kelvin { s: { F|contains: "kkbackup" }, condition: s }
    rule atom_dotted_i { s: { F|contains: "imaging" }, condition: s }
    rule atom_non_ascii { s: { F|contains: "straße_xyz" }, condition: s }
    /// Caseless non-ASCII characters may stand in atoms; `Ä` may not.
    rule atom_emoji { s: { F|contains: "😂" }, condition: s }
    rule atom_caseless_symbol { s: { F|contains: "→ÄB" }, condition: s }
    /// Both children of the `And` give an atom group; each needs a hit.
    rule atom_groups {
        img: { Image|endswith: r"\csi.exe" },
        company: { Company: "Microsoft Corporation", Product|contains: "Visual" },
        filter: { User|contains: "svc_build" },
        condition: img and company and not filter,
    }
    /// A long `contains` list is one automaton (`ContainsSet`), next to the
    /// field's other tests.
    rule contains_set {
        s: {
            F|contains: ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "kilo", "ßtraße"],
        },
        t: { F|endswith: ".ps1" },
        condition: s or t,
    }
    /// `1 of sel_* and not filter`: each selection is an alternative of
    /// atom groups (both of `sel_a`'s fields need a hit, or `sel_b`'s).
    rule atom_alternatives {
        sel_a: { Image|contains: r"\windows\", CommandLine|contains: r"\..\..\" },
        sel_b: { CommandLine|contains: r".exe\..\" },
        filter: { CommandLine|contains: "googledrivesync" },
        condition: 1 of sel_* and not filter,
    }
    /// A long list of tests on one field is indexed (`StrSet`): suffixes,
    /// prefixes and whole values by their last or first bytes, the others
    /// (short, cased, wildcard, non-ASCII) tried one by one.
    rule str_set {
        s: {
            F|endswith: [r"\aclui.dll", r"\activeds.dll", r"\adsldpc.dll", r"\apphelp.dll", r"\atl.dll", r"\audioses.dll", r"\authz.dll", r"\avrt.dll", r"\version.dll", r"\winmm.dll", ".ps1"],
        },
        t: { F|startswith: [r"c:\users\public\", r"d:\"] },
        u: { F: ["exactly this value", "k", "Straße"] },
        v: { F|cased: "CasedValue" },
        w: { F: "wild*card" },
        condition: s or t or u or v or w,
    }
    /// Atoms in both cases of a non-ASCII letter (a homoglyph rule's shape).
    rule atom_cyrillic { s: { F|contains: ["а", "Е"] }, condition: s }
    /// Tests of one field across selections, with other tests between.
    rule and_same_field {
        a: { CommandLine|contains: "net", Image|endswith: "\\net.exe" },
        b: { CommandLine|contains: "/add", CommandLine|startswith: "n" },
        c: { CommandLine|re: "user" },
        condition: a and b and c,
    }
    /// A weak atom is still an atom (only a very short one is not).
    rule atom_weak { s: { F|contains: " -hp" }, condition: s }
    rule exact_cased { s: { F|cased: "Abc" }, condition: s }
    rule exact_empty { s: { F: "" }, condition: s }
    rule number_as_text { s: { F: 443 }, condition: s }
    rule negative_number { s: { F: -5 }, condition: s }
    rule bool_text { s: { F: "true" }, condition: s }
    rule list_or { s: { F: ["x", "y"] }, condition: s }
    rule star { s: { F: "a*c" }, condition: s }
    rule question { s: { F: "a?c" }, condition: s }
    rule escaped_star { s: { F: r"a\*c" }, condition: s }
    rule escaped_backslash_then_star { s: { F: r"a\\*" }, condition: s }
    rule plain_backslash { s: { F: r"C:\Windows\x" }, condition: s }
    rule only_star { s: { F: "*" }, condition: s }
    rule contains { s: { F|contains: "needle" }, condition: s }
    rule contains_wild { s: { F|contains: "a*b" }, condition: s }
    rule contains_cased { s: { F|contains|cased: "Needle" }, condition: s }
    rule startswith { s: { F|startswith: "pre" }, condition: s }
    rule endswith { s: { F|endswith: r"\cmd.exe" }, condition: s }
    rule endswith_unicode { s: { F|endswith: "STRASSE" }, condition: s }
    rule contains_all { s: { F|contains|all: ["a1", "b2"] }, condition: s }
    rule re_plain { s: { F|re: "^a.c$" }, condition: s }
    rule re_search { s: { F|re: "b+" }, condition: s }
    rule re_i { s: { F|re|i: "^abc$" }, condition: s }
    rule re_m { s: { F|re|m: "^b$" }, condition: s }
    rule re_no_m { s: { F|re: "^b$" }, condition: s }
    rule re_s { s: { F|re|s: "a.c" }, condition: s }
    /// Regexes have atoms too (literals every match contains): one from each
    /// branch of an alternation (`input`, `noexit`), none from an optional
    /// part (`ab` or `ij`, not `cdefgh`); under `(?i)`, `k` and `s` also
    /// match the KELVIN SIGN and LONG S, which the atoms `task_kill` and
    /// `sekurlsa` do not hold; a case-sensitive regex keeps `ß` in its atom.
    rule re_alternation { s: { F|re|i: r"\$\{?input\}?|noexit.+\-c" }, condition: s }
    rule re_optional { s: { F|re: "ab(cdefgh)?ij" }, condition: s }
    rule re_i_folds { s: { F|re|i: "task_kill|sekurlsa" }, condition: s }
    rule re_cased_non_ascii { s: { F|re: r"Straße\d" }, condition: s }
    rule cidr_v4 { s: { F|cidr: "10.0.0.0/8" }, condition: s }
    rule cidr_v6 { s: { F|cidr: "fe80::/10" }, condition: s }
    rule cidr_list { s: { F|cidr: ["192.168.0.0/16", "172.16.0.0/12"] }, condition: s }
    /// IPv4 and IPv6 networks in one list (generated code parses each value once for all).
    rule cidr_mixed { s: { F|cidr: ["10.0.0.0/8", "::ffff:0:0/96", "fe80::/10"] }, condition: s }
    /// String tests of several kinds on one field, or-ed with another field.
    rule str_list_mixed {
        s: { F|contains: ["abc", "x*y"] },
        t: { F|endswith: ".EXE", G: "q" },
        u: { F: "exact" },
        condition: s or t or u,
    }
    rule base64_exact { s: { F|base64: "abc" }, condition: s }
    rule base64offset_contains { s: { F|base64offset|contains: "/bin/bash" }, condition: s }
    rule wide_base64offset { s: { F|wide|base64offset|contains: "ping" }, condition: s }
    rule utf16le_base64 { s: { F|utf16le|base64: "ping" }, condition: s }
    rule utf16be_base64 { s: { F|utf16be|base64: "ping" }, condition: s }
    rule utf16_bom_base64 { s: { F|utf16|base64: "ping" }, condition: s }
    rule windash { s: { F|windash|contains: " -enc " }, condition: s }
    rule exists_true { s: { F|exists: true }, condition: s }
    rule exists_false { s: { F|exists: false }, condition: s }
    rule null_value { s: { F: null }, condition: s }
    rule fieldref { s: { F|fieldref: "G" }, condition: s }
    rule fieldref_cased { s: { F|fieldref|cased: "G" }, condition: s }
    rule fieldref_endswith { s: { F|fieldref|endswith: "G" }, condition: s }
    rule gt { s: { F|gt: 10 }, condition: s }
    rule gte { s: { F|gte: 10 }, condition: s }
    rule lt { s: { F|lt: 10 }, condition: s }
    rule lte { s: { F|lte: 10.5 }, condition: s }
    rule neq { s: { F|neq: "x" }, condition: s }
    rule neq_list { s: { F|neq: ["x", "y"] }, condition: s }
    rule neq_number { s: { F|neq|gt: 5 }, condition: s }
    rule hour { s: { T|hour: 14 }, condition: s }
    rule month_gte { s: { T|month|gte: 6 }, condition: s }
    rule week { s: { T|week: 53 }, condition: s }
    rule expand { s: { User|expand: "%admins%" }, condition: s }
    rule keyword { keywords: ["evil"], condition: keywords }
    rule keyword_all { k: { |all: ["a1", "b2"] }, condition: k }
    rule keyword_wild { keywords: ["mimi*katz"], condition: keywords }
    rule map_and { s: { A: "1", B: "2" }, condition: s }
    rule list_of_maps { s: [{ A: "1" }, { B: "2" }], condition: s }
    rule dotted_path { s: { process.parent.name: "x.exe" }, condition: s }
    rule quoted_field { s: { "Some Field": "v" }, condition: s }
    rule cond_and_not {
        sel: { A: "1" },
        filter: { B: "2" },
        condition: sel and not filter,
    }
    rule cond_or_paren {
        a: { A: "1" },
        b: { B: "2" },
        c: { C: "3" },
        condition: (a or b) and c,
    }
    rule cond_precedence {
        a: { A: "1" },
        b: { B: "2" },
        c: { C: "3" },
        condition: a or b and c,
    }
    rule one_of_pattern {
        sel_a: { A: "1" },
        sel_b: { B: "2" },
        other: { C: "3" },
        condition: 1 of sel_*,
    }
    rule all_of_pattern {
        sel_a: { A: "1" },
        sel_b: { B: "2" },
        condition: all of sel_*,
    }
    rule one_of_them_skips_underscore {
        a: { A: "1" },
        _helper: { H: "x" },
        condition: 1 of them,
    }
    rule all_of_them_skips_underscore {
        a: { A: "1" },
        b: { B: "2" },
        _helper: { H: "x" },
        condition: all of them,
    }
    rule not_one_of {
        sel: { A: "1" },
        filter_a: { B: "2" },
        filter_b: { C: "3" },
        condition: sel and not 1 of filter_*,
    }

    #[logsource(product = windows, category = process_creation)]
    rule layout_process_creation { s: { CommandLine|contains: "evil" }, condition: s }

    #[logsource(product = windows, category = process_creation)]
    rule layout_image_rename { s: { Image|endswith: r"\evil.exe" }, condition: s }

    #[logsource(product = windows, category = network_connection)]
    rule layout_network { s: { DestinationPort: 443 }, condition: s }

    #[logsource(product = windows, service = application)]
    rule layout_application { s: { Provider_Name: "MsiInstaller", EventID: 1040 }, condition: s }

    /// The event IDs in the body narrow the dispatch (routing on 4624/4625 only).
    #[logsource(product = windows, service = security)]
    rule routing_event_ids_in_body {
        s: { EventID: [4624, 4625], TargetUserName|startswith: "adm" },
        filter: { EventID: 4624, LogonType: 5 },
        condition: s and not filter,
    }

    /// Event IDs required under an `Or` of `And`s narrow the dispatch too
    /// (routing on 4738 and 5136 only).
    #[logsource(product = windows, service = security)]
    rule routing_event_ids_nested {
        changed: { EventID: 4738 },
        filter: { AllowedToDelegateTo: "-" },
        ldap: { EventID: 5136, AttributeLDAPDisplayName: "servicePrincipalName" },
        condition: (changed and not filter) or ldap,
    }
}
