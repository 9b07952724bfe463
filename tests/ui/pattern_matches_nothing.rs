detect::rules! {
    pub ruleset Broken;
    rule no_filters {
        selection: { Image: "x" },
        condition: selection and not 1 of filter_*,
    }
}
fn main() {}
