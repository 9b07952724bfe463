detect::rules! {
    pub ruleset Broken;
    rule empty {
        selection: {},
        condition: selection,
    }
}
fn main() {}
