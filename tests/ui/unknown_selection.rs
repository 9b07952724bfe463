detect::rules! {
    pub ruleset Broken;
    rule typo {
        selection: { Image|endswith: r"\cmd.exe" },
        filter: { User: "SYSTEM" },
        condition: selection and not filtr,
    }
}
fn main() {}
