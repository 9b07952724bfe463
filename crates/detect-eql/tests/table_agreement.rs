//! The naive reference matcher and the bounded production table
//! (`detect_core::sequence::SequenceTable`) agree on every stream while the
//! table's capacity is not exceeded, under both [`Joins`] (which differ, at
//! this level, on events older than a pending sequence's last one).

use detect_core::ir::{Expr, Joins, Sequence, SequenceStage};
use detect_core::sequence::SequenceTable;
use detect_eql::reference::{KeyValue, ReferenceMatcher};

/// A small deterministic generator (no dependency on `rand`).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn sequence(stages: usize, until: bool, maxspan: Option<u64>, joins: Joins) -> Sequence {
    let stage = || SequenceStage {
        logsource: Default::default(),
        condition: Expr::And(vec![]),
        keys: vec!["k".into()],
    };
    Sequence {
        name: "s".into(),
        meta: Default::default(),
        vocabulary: Default::default(),
        stages: (0..stages).map(|_| stage()).collect(),
        until: until.then(stage),
        maxspan_ms: maxspan,
        joins,
    }
}

#[test]
fn reference_and_table_agree_on_random_streams() {
    agree_on_random_streams(Joins::Elasticsearch);
}

#[test]
fn reference_and_table_agree_on_random_streams_with_endgame_joins() {
    agree_on_random_streams(Joins::Endgame);
}

fn agree_on_random_streams(joins: Joins) {
    let mut rng = Lcg(0x5eed);
    let mut completed = 0;
    let mut out_of_order = 0;
    for round in 0..300 {
        let stages = 1 + rng.next(4) as usize;
        let has_until = rng.next(2) == 0;
        let maxspan = match rng.next(3) {
            0 => None,
            _ => Some(rng.next(50)),
        };
        let seq = sequence(stages, has_until, maxspan, joins);
        let mut reference = ReferenceMatcher::for_sequence(&seq).unwrap();
        let mut table = SequenceTable::new(stages, 10_000, maxspan).with_joins(joins);
        let keys = 1 + rng.next(6);
        let mut ts: i64 = 0;
        let mut got_ref = Vec::new();
        let mut got_table = Vec::new();
        for pos in 0..400u64 {
            // Mostly increasing time, sometimes a step back.
            ts += rng.next(10) as i64 - if rng.next(10) == 0 { 15 } else { 0 };
            let key_of = |rng: &mut Lcg| -> Option<String> {
                if rng.next(4) == 0 {
                    None
                } else {
                    Some(format!("key{}", rng.next(keys)))
                }
            };
            let mut ref_keys: Vec<Option<KeyValue>> = Vec::new();
            let mut table_keys = Vec::new();
            for _ in 0..stages {
                let k = key_of(&mut rng);
                table_keys.push(k.as_ref().map(|k| table.key(&[k])));
                ref_keys.push(k.map(|k| vec![Some(k)]));
            }
            let until = if has_until && rng.next(8) == 0 {
                key_of(&mut rng)
            } else {
                None
            };
            let table_until = until.as_ref().map(|k| table.key(&[k]));
            got_ref.extend(reference.step_keys(ts, pos, &ref_keys, until.map(|k| vec![Some(k)])));
            table.step(ts, pos, &table_keys, table_until, |e| {
                got_table.push(e.to_vec())
            });
        }
        assert_eq!(
            got_ref, got_table,
            "round {round}: stages {stages}, until {has_until}, maxspan {maxspan:?}"
        );
        assert_eq!(table.stats().evicted, 0);
        completed += got_ref.len();
        out_of_order += table.stats().out_of_order;
    }
    assert!(
        completed > 1_000,
        "the streams complete too few sequences ({completed})"
    );
    // Elasticsearch joins hold back older events (the streams have them);
    // endgame joins never do.
    match joins {
        Joins::Elasticsearch => assert!(out_of_order > 0, "no event was out of order"),
        Joins::Endgame => assert_eq!(out_of_order, 0),
    }
}
