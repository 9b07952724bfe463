detect::rules! {
    pub ruleset Broken;
    rule conflict {
        selection: { CommandLine|contains|endswith: "x" },
        condition: selection,
    }
}
fn main() {}
