detect::rules! {
    pub ruleset Broken;
    rule typo {
        selection: { Image|endwith: r"\cmd.exe" },
        condition: selection,
    }
}
fn main() {}
