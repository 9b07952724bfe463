detect::rules! {
    pub ruleset Broken;
    rule bare_word {
        selection: { Image: cmd },
        condition: selection,
    }
}
fn main() {}
