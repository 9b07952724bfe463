detect::rules! {
    pub ruleset Broken;
    #[severity(high)]
    rule bad_attr {
        selection: { Image: "x" },
        condition: selection,
    }
}
fn main() {}
