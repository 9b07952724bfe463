detect::rules! {
    pub ruleset Broken;
    rule no_condition {
        selection: { Image: "x" },
    }
}
fn main() {}
