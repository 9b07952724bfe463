detect::rules! {
    pub ruleset Broken;
    // A syntax error on the second line of the query: the message shows the
    // line with carets under the offending token.
    rule unfinished = eql!(r#"process where process.name : "msiexec.exe"
        and process.args : ("/V", "/i" and user.id == "S-1-5-18""#);
    // Valid EQL that the front end does not implement.
    rule unsupported = eql!(dialect = endgame, "process where length(command_line) > 200");
}
fn main() {}
