detect::rules! {
    pub ruleset Broken;
    rule exists_string {
        selection: { CommandLine|exists: "yes" },
        condition: selection,
    }
}
fn main() {}
