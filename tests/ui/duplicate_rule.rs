detect::rules! {
    pub ruleset Broken;
    rule twice { s: { A: "1" }, condition: s }
    rule twice { s: { A: "2" }, condition: s }
}
fn main() {}
