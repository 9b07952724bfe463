detect::rules! {
    pub ruleset Broken;
    #[logsource(product = windows, category = proces_creation)]
    rule bad_source {
        selection: { Image: "x" },
        condition: selection,
    }
}
fn main() {}
