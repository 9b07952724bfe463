detect::rules! {
    pub ruleset Broken;
    sequence single = r#"process where process.name : "msiexec.exe""#;
}
fn main() {}
