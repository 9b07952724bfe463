detect::rules! {
    pub ruleset Broken;
    rule expand_unknown {
        selection: { User|expand: "%admins%" },
        condition: selection,
    }
}
fn main() {}
