use std::fs;
use std::path::Path;

use super::*;
use crate::EventId;

fn settings(dir: &Path, mode: SpoolMode) -> SpoolSettings {
    let mut settings = SpoolSettings::new(dir.to_owned());
    settings.mode = mode;
    settings
}

fn append(spool: &Spool, n: u64) -> Result<(), Refused> {
    let payload = n.to_le_bytes();
    let key = format!("k{}", n % 7);
    let id = EventId::from_u128(u128::from(n) + 1);
    spool.append(&KafkaRecord {
        topic: "spool-test",
        key: Some(key.as_bytes()),
        payload: &payload,
        event_name: "spool.test",
        schema_name: "events.SpoolTest",
        event_id: id,
        timestamp_millis: 1_764_000_000_000 + n as i64,
        traceparent: None,
        tracestate: None,
    })
}

/// Reads every record the spool will give now, settling each, and returns their numbers.
fn drain(spool: &Spool, reader: &mut Reader) -> Vec<u64> {
    let mut seen = Vec::new();
    loop {
        match spool.next(reader) {
            Some((record, position)) => {
                assert_eq!(record.topic, "spool-test");
                let n = u64::from_le_bytes(record.payload[..].try_into().unwrap());
                assert_eq!(record.event_id.as_u128(), u128::from(n) + 1);
                assert_eq!(record.timestamp_millis, 1_764_000_000_000 + n as i64);
                assert_eq!(
                    record.key.as_deref(),
                    Some(format!("k{}", n % 7).as_bytes())
                );
                let ticket = spool.hand_over(position);
                spool.settle(ticket);
                seen.push(n);
            }
            None if spool.caught_up(reader) => continue,
            None => return seen,
        }
    }
}

fn segment_files(dir: &Path) -> usize {
    fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "seg")
        })
        .count()
}

#[test]
fn records_come_back_in_order_and_settled_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), SpoolMode::Overflow);
    settings.max_bytes = 1 << 20; // 64 KiB segments: several of them
    let spool = Spool::open(settings).unwrap();
    for n in 0..5000 {
        append(&spool, n).unwrap();
    }
    assert!(spool.takes_new_records());
    assert!(segment_files(dir.path()) > 2);
    let mut reader = Reader::default();
    assert_eq!(drain(&spool, &mut reader), (0..5000).collect::<Vec<_>>());
    assert!(
        !spool.takes_new_records(),
        "a drained overflow spool stops spilling"
    );
    spool.maintain();
    assert_eq!(segment_files(dir.path()), 0);
    assert_eq!(spool.stats().bytes, 0);
    assert!(spool.drained());
    assert_eq!(spool.unsettled(), 0);
}

#[test]
fn a_reopened_spool_sends_what_was_left_from_the_acknowledged_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mode = SpoolMode::WriteAhead(SyncPolicy::Interval(Duration::from_millis(500)));
    {
        let spool = Spool::open(settings(dir.path(), mode)).unwrap();
        for n in 0..100 {
            append(&spool, n).unwrap();
        }
        spool.sync().unwrap();
        let mut reader = Reader::default();
        for _ in 0..40 {
            let (_, position) = spool.next(&mut reader).unwrap();
            let ticket = spool.hand_over(position);
            spool.settle(ticket);
        }
        // Handed over, never reported: in flight when the application died.
        let (_, position) = spool.next(&mut reader).unwrap();
        spool.hand_over(position);
        spool.maintain();
        // Dropped without a shutdown, as a SIGKILL would leave it.
    }
    let spool = Spool::open(settings(dir.path(), mode)).unwrap();
    assert!(spool.takes_new_records());
    let mut reader = Reader::default();
    let (record, position) = spool.next(&mut reader).unwrap();
    assert!(position.replayed);
    assert_eq!(record.payload, 40u64.to_le_bytes());
    spool.settle(spool.hand_over(position));
    assert_eq!(drain(&spool, &mut reader), (41..100).collect::<Vec<_>>());
    assert_eq!(spool.stats().replayed, 60);
    assert_eq!(spool.stats().corrupt, 0);
}

#[test]
fn a_flipped_byte_and_a_torn_tail_cost_only_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut ends = Vec::new();
    {
        let spool = Spool::open(settings(dir.path(), SpoolMode::Overflow)).unwrap();
        for n in 0..10 {
            append(&spool, n).unwrap();
            spool.sync().unwrap();
            ends.push(spool.stats().bytes);
        }
    }
    let path = segment_path(dir.path(), 0);
    let mut bytes = fs::read(&path).unwrap();
    // A byte inside record 3's payload, and the last record cut short.
    bytes[ends[3] as usize - 2] ^= 0x40;
    bytes.truncate(ends[9] as usize - 5);
    fs::write(&path, bytes).unwrap();

    let spool = Spool::open(settings(dir.path(), SpoolMode::Overflow)).unwrap();
    let mut reader = Reader::default();
    assert_eq!(drain(&spool, &mut reader), [0, 1, 2, 4, 5, 6, 7, 8]);
    assert_eq!(spool.stats().corrupt, 2);
    spool.maintain();
    assert_eq!(
        segment_files(dir.path()),
        0,
        "a segment read to its end is deleted"
    );
}

#[test]
fn at_its_bound_the_spool_refuses_records_and_holds_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), SpoolMode::Overflow);
    settings.max_bytes = 10_000;
    let spool = Spool::open(settings).unwrap();
    let accepted = (0..1000).filter(|&n| append(&spool, n).is_ok()).count() as u64;
    assert!(accepted > 0 && accepted < 1000);
    assert!(matches!(append(&spool, 1000), Err(Refused::Full)));
    assert_eq!(spool.stats().spooled, accepted);
    assert!(spool.stats().bytes <= 10_000);
    spool.sync().unwrap();
    let on_disk: u64 = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, spool.stats().bytes);
    let mut reader = Reader::default();
    assert_eq!(drain(&spool, &mut reader).len() as u64, accepted);
}

#[test]
fn a_spool_directory_is_open_in_one_sink_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = Spool::open(settings(dir.path(), SpoolMode::Overflow)).unwrap();
    let second = Spool::open(settings(dir.path(), SpoolMode::Overflow));
    let error = second
        .err()
        .expect("a second spool on the same directory is refused");
    assert!(
        error
            .to_string()
            .contains("another sink has this spool open"),
        "{error}"
    );
    drop(first);
    Spool::open(settings(dir.path(), SpoolMode::Overflow)).expect("free again once closed");
}
