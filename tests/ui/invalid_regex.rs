detect::rules! {
    pub ruleset Broken;
    rule bad_regex {
        selection: { CommandLine|re: "(unclosed" },
        condition: selection,
    }
}
fn main() {}
