//! Every piece of syntax the DSL accepts, in one rule set that must compile.
detect::rules! {
    /// Docs on the generated type.
    pub ruleset Everything;

    placeholder admins = ["root", "Administrator"];

    /// A doc comment becomes the description.
    #[id = "00000000-0000-0000-0000-000000000001"]
    #[title = "Everything at once"]
    #[level = "high"]
    #[status = test]
    #[tags(attack.execution, attack.t1059.001, cve.2021-44228)]
    #[author = "detect"]
    #[date = "2026-11-21"]
    #[modified = "2026-11-22"]
    #[references("https://example.invalid/a", "https://example.invalid/b")]
    #[falsepositives("Administrators")]
    #[logsource(product = windows, category = process_creation, definition = "Sysmon config with process creation")]
    rule everything {
        sel_map: { Image|endswith: r"\x.exe", CommandLine|contains|all: ["a", "b"], "Odd Field": null },
        sel_list: [{ A: 1 }, { B: -2.5 }, { C: true }],
        keywords: ["evil", "mimi*katz"],
        kw_all: { |all: ["x", "y"] },
        sel_mods: {
            D|re|i|m|s: "^a.b$",
            E|cidr: "10.0.0.0/8",
            F|wide|base64offset|contains: "ping",
            G|windash|startswith: "-enc",
            H|exists: true,
            I|fieldref|endswith: "J",
            K|gte: 10,
            L|neq|cased: "Z",
            M|expand: "%admins%",
            N|hour|lt: 6,
            process.parent.name: "x",
        },
        _private: { P: "p" },
        condition: (1 of sel_* or keywords) and not kw_all or all of them,
    }

    #[fields(ecs)]
    #[logsource(category = process)]
    rule ecs_rule {
        selection: { process.name: "msiexec.exe", process.args: "/V" },
        condition: selection,
    }
}

fn main() {
    assert_eq!(Everything::RULES.len(), 2);
    assert_eq!(Everything::RULES[0].level, detect::ir::Level::High);
    assert_eq!(Everything::RULES[0].description, Some("A doc comment becomes the description."));
}
