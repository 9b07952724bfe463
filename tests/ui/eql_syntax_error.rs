detect::rules! {
    pub ruleset Broken;
    sequence bad_eql = r#"sequence with maxspan=1m
        [process where process.name : "msiexec.exe" and] by process.entity_id
        [network where true] by process.entity_id"#;
}
fn main() {}
