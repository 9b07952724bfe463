detect::rules! {
    rule orphan {
        selection: { Image: "x" },
        condition: selection,
    }
}
fn main() {}
