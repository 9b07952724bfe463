detect::rules! {
    pub ruleset Broken;
    rule flag_alone {
        selection: { CommandLine|contains|i: "x" },
        condition: selection,
    }
}
fn main() {}
