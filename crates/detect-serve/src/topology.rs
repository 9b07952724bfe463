//! Names, subjects and the JetStream objects every worker and publisher
//! agrees on: the events stream, the detections stream and the lease bucket.
//! Each side creates what is missing, with the same configuration, so the
//! order in which workers and publishers start does not matter.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

use crate::{Error, Settings};

/// The stream holding events, as `events.<partition>.<host>`.
///
/// ```
/// assert_eq!(detect_serve::EVENTS_STREAM, "DETECT_EVENTS");
/// ```
pub const EVENTS_STREAM: &str = "DETECT_EVENTS";
/// The stream capturing detections (`detections.<level>`).
///
/// ```
/// assert_eq!(detect_serve::DETECTIONS_STREAM, "DETECT_DETECTIONS");
/// ```
pub const DETECTIONS_STREAM: &str = "DETECT_DETECTIONS";
/// The key-value bucket of partition leases and worker presence.
pub(crate) const LEASE_BUCKET: &str = "detect-serve-leases";
/// Subject prefix of published events.
pub(crate) const EVENTS_PREFIX: &str = "events";
/// Subject prefix of detections.
pub(crate) const DETECTIONS_PREFIX: &str = "detections";
/// Subject on which every worker reloads its rules (any message; a
/// request gets the first worker's answer).
///
/// ```
/// assert_eq!(detect_serve::RELOAD_SUBJECT, "detect.control.reload");
/// ```
pub const RELOAD_SUBJECT: &str = "detect.control.reload";
/// Prefix of the partition consumers' names (`detect-p<p>-<claim revision>`).
pub(crate) const CONSUMER_PREFIX: &str = "detect";

/// The subject token for a host name: ASCII letters and digits lowercased,
/// `-` and `_` kept, anything else (dots, spaces, `*`, `>`, non-ASCII)
/// replaced by `_`; an empty name is `unknown`. Hosts that differ only in
/// what is replaced share a token, hence a partition: that only puts them
/// in the same partition, it does not mix their state.
///
/// ```
/// use detect_serve::host_token;
/// assert_eq!(host_token("WIN-DC01.corp.local"), "win-dc01_corp_local");
/// assert_eq!(host_token(""), "unknown");
/// assert_eq!(host_token("a b*>"), "a_b__");
/// ```
pub fn host_token(host: &str) -> String {
    if host.is_empty() {
        return "unknown".into();
    }
    host.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect()
}

/// The `Nats-Msg-Id` of a detection: the events stream, the stream sequence
/// of the event that completed the match, the rule, and for a sequence rule
/// the stream sequences of all its events (two sequences of one rule can
/// complete on the same event). The same event and rule give the same id
/// however often the event is delivered, so the detections stream drops
/// the repeats.
///
/// ```
/// assert_eq!(detect_serve::message_id(42, "msiexec_web_install", &[]), "DETECT_EVENTS:42:msiexec_web_install");
/// assert_eq!(detect_serve::message_id(9, "seq", &[3, 5, 9]), "DETECT_EVENTS:9:seq:3,5,9");
/// ```
pub fn message_id(stream_sequence: u64, rule: &str, positions: &[u64]) -> String {
    let mut id = format!("{EVENTS_STREAM}:{stream_sequence}:{rule}");
    for (i, p) in positions.iter().enumerate() {
        id.push(if i == 0 { ':' } else { ',' });
        id.push_str(&p.to_string());
    }
    id
}

/// A nats-server configuration for detect serve: a listen address, JetStream
/// with its store directory, and the mapping of `events.<host>` to
/// `events.<partition>.<host>` over `partitions` partitions (nats-server
/// 2.8 and later; the Debian package is 2.9). Start the server with
/// `nats-server -c FILE`.
///
/// ```
/// let conf = detect_serve::server_config(8, "127.0.0.1:4222", "/tmp/js");
/// assert!(conf.contains(r#""events.*": "events.{{partition(8,1)}}.{{wildcard(1)}}""#));
/// ```
pub fn server_config(partitions: u32, listen: &str, store_dir: &str) -> String {
    format!(
        "# nats-server configuration for `detect serve`: JetStream, and the mapping that puts\n\
         # every event of a host (subject events.<host>) in one of {partitions} partitions\n\
         # (events.<partition>.<host>; partition = FNV-1a hash of the host token mod {partitions}).\n\
         listen: \"{listen}\"\n\
         jetstream {{\n  store_dir: \"{store_dir}\"\n}}\n\
         mappings = {{\n  \"{EVENTS_PREFIX}.*\": \"{EVENTS_PREFIX}.{{{{partition({partitions},1)}}}}.{{{{wildcard(1)}}}}\"\n}}\n"
    )
}

/// The subject a publisher sends an event of `host` to.
pub(crate) fn event_subject(host: &str) -> String {
    format!("{EVENTS_PREFIX}.{}", host_token(host))
}

/// The filter subject of partition `p`.
pub(crate) fn partition_filter(p: u32) -> String {
    format!("{EVENTS_PREFIX}.{p}.*")
}

/// The subject of a detection of `level`.
pub(crate) fn detection_subject(level: &str) -> String {
    format!("{DETECTIONS_PREFIX}.{level}")
}

/// Creates the events and detections streams if they are missing.
pub(crate) async fn ensure_streams(
    js: &jetstream::Context,
    settings: &Settings,
) -> Result<(), Error> {
    js.get_or_create_stream(stream::Config {
        name: EVENTS_STREAM.into(),
        description: Some("detect serve: events, one JSON event per message".into()),
        subjects: vec![format!("{EVENTS_PREFIX}.*.*")],
        retention: stream::RetentionPolicy::Limits,
        max_age: settings.events_max_age,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| Error::context(format!("creating the stream {EVENTS_STREAM}"), e))?;
    js.get_or_create_stream(stream::Config {
        name: DETECTIONS_STREAM.into(),
        description: Some("detect serve: detections, one JSON record per match".into()),
        subjects: vec![format!("{DETECTIONS_PREFIX}.>")],
        retention: stream::RetentionPolicy::Limits,
        duplicate_window: settings.duplicate_window,
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| Error::context(format!("creating the stream {DETECTIONS_STREAM}"), e))?;
    Ok(())
}

/// The lease bucket, created if missing (entries live `lease_ttl`).
///
/// Its stream is created here with the configuration of a key-value bucket
/// (`KV_<bucket>`, `$KV.<bucket>.>`, one value per key, rollups, direct
/// gets) rather than by the client's bucket creation, which first reads the
/// account's limits in a form nats-server 2.9 does not answer.
pub(crate) async fn lease_bucket(
    js: &jetstream::Context,
    lease_ttl: Duration,
) -> Result<kv::Store, Error> {
    let mut bucket = js
        .get_or_create_stream(stream::Config {
            name: format!("KV_{LEASE_BUCKET}"),
            description: Some("detect serve: partition leases and live workers".into()),
            subjects: vec![format!("$KV.{LEASE_BUCKET}.>")],
            max_messages_per_subject: 1,
            max_age: lease_ttl,
            storage: stream::StorageType::Memory,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            num_replicas: 1,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::context(format!("creating the bucket {LEASE_BUCKET}"), e))?;
    let existing = bucket
        .info()
        .await
        .map_err(|e| Error::context(format!("reading the bucket {LEASE_BUCKET}"), e))?
        .config
        .max_age;
    if existing != lease_ttl {
        return Err(Error::new(format!(
            "the lease bucket {LEASE_BUCKET} was created with a lease of {existing:?}, not \
             {lease_ttl:?}: start every worker with the same lease time (or delete the stream \
             KV_{LEASE_BUCKET} while no worker runs)"
        )));
    }
    js.get_key_value(LEASE_BUCKET)
        .await
        .map_err(|e| Error::context(format!("opening the bucket {LEASE_BUCKET}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects() {
        let table = [
            ("HOST1", "events.host1"),
            ("dc.example.org", "events.dc_example_org"),
            ("Ünïcode", "events._n_code"),
            ("", "events.unknown"),
        ];
        for (host, subject) in table {
            assert_eq!(event_subject(host), subject);
        }
        assert_eq!(partition_filter(3), "events.3.*");
        assert_eq!(detection_subject("high"), "detections.high");
    }
}
