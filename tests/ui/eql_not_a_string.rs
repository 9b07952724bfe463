detect::rules! {
    pub ruleset Unquoted;
    rule not_a_string = eql!(process where true);
}
fn main() {}
