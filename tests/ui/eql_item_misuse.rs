detect::rules! {
    pub ruleset Misused;
    rule unknown_dialect = eql!(dialect = kibana, "process where true");
    rule a_sequence = eql!("sequence [process where true] by process.entity_id [network where true] by process.entity_id");
    #[logsource(product = windows, category = process_creation)]
    rule with_logsource = eql!("process where process.name : \"cmd.exe\"");
    sequence endgame_event_query = eql!(dialect = endgame, "process where process_name == \"cmd.exe\"");
}
fn main() {}
