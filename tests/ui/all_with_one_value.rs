detect::rules! {
    pub ruleset Broken;
    rule lonely_all {
        selection: { CommandLine|contains|all: "x" },
        condition: selection,
    }
}
fn main() {}
