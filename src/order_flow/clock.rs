//! The simulated clock. A run is one Friday evening of orders, with the `invalid_token`
//! incident in the middle of it, and then the 28 days after it, in which users come back
//! to order again (or do not).
//!
//! Times are real instants in UTC, so the payloads carry them as a service would and the
//! warehouse stores them as timestamps; the views read them back as minute and date labels
//! (`2026-03-06 19:05`, `2026-03-06`), which sort in time order and which the shipped SQL
//! writes the same way on PostgreSQL and SQLite.

use std::time::{Duration, SystemTime};

use time::{Date, Month, OffsetDateTime, Time};

/// How long the evening of orders lasts.
pub const EVENING_MINUTES: u32 = 240;

/// The minute of the evening the `invalid_token` bug ships (19:00).
pub const INCIDENT_STARTS: u32 = 60;

/// The minute of the evening the fix ships (21:00): two hours later.
pub const INCIDENT_ENDS: u32 = 180;

/// The bug spreads as saved-card tokens are refreshed: its failure chance climbs to its
/// peak over this many minutes, so a mild and a severe phase both exist to alert on.
pub const INCIDENT_RAMP_MINUTES: u32 = 50;

/// How long after the evening users are followed, and the window of the reorder rate.
pub const REORDER_DAYS: u64 = 28;

/// The first instant of the evening: Friday 2026-03-06, 18:00 UTC.
pub fn evening_starts() -> SystemTime {
    let date = Date::from_calendar_date(2026, Month::March, 6).expect("a real date");
    let time = Time::from_hms(18, 0, 0).expect("a real time");
    date.with_time(time).assume_utc().into()
}

/// The instant of minute `minute` of the evening, plus `seconds` into it.
pub fn at_evening_minute(minute: u32, seconds: u64) -> SystemTime {
    evening_starts() + Duration::from_secs(u64::from(minute) * 60 + seconds)
}

/// Which minute of the evening `at` falls in, if it falls in the evening.
pub fn evening_minute(at: SystemTime) -> Option<u32> {
    let since = at.duration_since(evening_starts()).ok()?.as_secs() / 60;
    u32::try_from(since)
        .ok()
        .filter(|minute| *minute < EVENING_MINUTES)
}

/// `YYYY-MM-DD HH:MM` in UTC: the minute `at` falls in.
pub fn minute_label(at: SystemTime) -> String {
    let t = OffsetDateTime::from(at);
    format!("{} {:02}:{:02}", date_label(at), t.hour(), t.minute())
}

/// `YYYY-MM-DD` in UTC: the day `at` falls in.
pub fn date_label(at: SystemTime) -> String {
    let t = OffsetDateTime::from(at);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The label of minute `minute` of the evening.
pub fn evening_minute_label(minute: u32) -> String {
    minute_label(at_evening_minute(minute, 0))
}

/// Whether minute `minute` of the evening is inside the incident.
pub fn in_incident(minute: u32) -> bool {
    (INCIDENT_STARTS..INCIDENT_ENDS).contains(&minute)
}

/// The chance that the provider rejects a stale saved-card token at minute `minute` of
/// the evening (`None`: after the evening, when the fix has long shipped).
pub fn invalid_token_chance(minute: Option<u32>) -> f64 {
    match minute {
        Some(m) if in_incident(m) => {
            let into = f64::from(m - INCIDENT_STARTS + 1);
            0.9 * (into / f64::from(INCIDENT_RAMP_MINUTES)).min(1.0)
        }
        _ => 0.0,
    }
}

/// The last day a reorder counts: the 28th day after the evening. Every user of the run
/// placed their first order in it on the evening, so this is a 28-day reorder window for
/// each of them, written as a date the shipped SQL compares the same way on both databases.
pub fn reorder_cutoff_date() -> String {
    date_label(evening_starts() + Duration::from_secs(REORDER_DAYS * 86_400))
}

/// The labels the shipped incident queries take: the evening's first minute and the minute
/// after its last, and the incident's first minute and the minute the fix shipped.
pub fn incident_query_bounds() -> [String; 4] {
    [0, EVENING_MINUTES, INCIDENT_STARTS, INCIDENT_ENDS].map(evening_minute_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_utc_minutes_and_days() {
        assert_eq!(minute_label(evening_starts()), "2026-03-06 18:00");
        assert_eq!(evening_minute_label(65), "2026-03-06 19:05");
        assert_eq!(
            minute_label(at_evening_minute(EVENING_MINUTES, 0) + Duration::from_secs(86_400 * 3)),
            "2026-03-09 22:00"
        );
        assert_eq!(date_label(at_evening_minute(359, 59)), "2026-03-06");
        assert_eq!(date_label(at_evening_minute(360, 0)), "2026-03-07");
        assert_eq!(reorder_cutoff_date(), "2026-04-03");
    }

    #[test]
    fn evening_minutes_start_at_18_00_and_end_at_22_00() {
        assert_eq!(evening_minute(evening_starts()), Some(0));
        assert_eq!(evening_minute(at_evening_minute(239, 59)), Some(239));
        assert_eq!(evening_minute(at_evening_minute(240, 0)), None);
        assert_eq!(
            evening_minute(evening_starts() - Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn the_bug_climbs_to_its_peak_and_stops_at_the_fix() {
        assert_eq!(invalid_token_chance(Some(INCIDENT_STARTS - 1)), 0.0);
        let first = invalid_token_chance(Some(INCIDENT_STARTS));
        assert!(first > 0.0 && first < 0.1, "{first}");
        assert_eq!(
            invalid_token_chance(Some(INCIDENT_STARTS + INCIDENT_RAMP_MINUTES)),
            0.9
        );
        assert_eq!(invalid_token_chance(Some(INCIDENT_ENDS - 1)), 0.9);
        assert_eq!(invalid_token_chance(Some(INCIDENT_ENDS)), 0.0);
        assert_eq!(invalid_token_chance(None), 0.0);
    }
}
