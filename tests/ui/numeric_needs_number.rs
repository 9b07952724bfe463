detect::rules! {
    pub ruleset Broken;
    rule gt_text {
        selection: { DestinationPort|gt: "high" },
        condition: selection,
    }
}
fn main() {}
