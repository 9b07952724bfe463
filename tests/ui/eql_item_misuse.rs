detect::rules! {
    pub ruleset Misused;
    rule unknown_dialect = eql!(dialect = kibana, "process where true");
    rule a_sequence = eql!("sequence [process where true] by process.entity_id [network where true] by process.entity_id");
    #[logsource(product = windows, category = process_creation)]
    rule with_logsource = eql!("process where process.name : \"cmd.exe\"");
    sequence endgame_sequence = eql!(dialect = endgame, "sequence [process where true] by unique_pid [network where true] by unique_pid");
}
fn main() {}
