detect::rules! {
    pub ruleset Broken;
    #[level(severe)]
    rule bad_level {
        selection: { Image: "x" },
        condition: selection,
    }
}
fn main() {}
