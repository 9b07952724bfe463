detect::rules! {
    pub ruleset Broken;
    rule encoded_glob {
        selection: { CommandLine|base64offset|contains: "IEX*" },
        condition: selection,
    }
}
fn main() {}
