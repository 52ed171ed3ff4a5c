//! Time: instants are stored in UTC; calendar dates and "which month" are China Standard Time
//! (UTC+8 all year — China has no daylight saving time, so a fixed offset is exact).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// China Standard Time, UTC+08:00.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The calendar date in China at an instant.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&cst()).date_naive()
}

/// Today in China.
pub fn china_today() -> NaiveDate {
    china_date(Utc::now())
}

/// The reporting month (`YYYY-MM`) an instant belongs to, in China.
pub fn china_month(at: DateTime<Utc>) -> String {
    let d = china_date(at);
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Serializes an instant as RFC 3339 in UTC with milliseconds (`2026-11-23T08:00:00.123Z`): the
/// precision every JavaScript engine parses alike (the database keeps microseconds or more).
pub fn rfc3339_ms<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// [`rfc3339_ms`] for an optional instant (`null` when absent).
pub fn rfc3339_ms_opt<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339_ms(at, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_with_milliseconds() {
        #[derive(serde::Serialize)]
        struct T {
            #[serde(serialize_with = "rfc3339_ms")]
            at: DateTime<Utc>,
            #[serde(serialize_with = "rfc3339_ms_opt")]
            maybe: Option<DateTime<Utc>>,
            #[serde(serialize_with = "rfc3339_ms_opt")]
            none: Option<DateTime<Utc>>,
        }
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:30:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let whole = DateTime::parse_from_rfc3339("2026-11-30T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let json = serde_json::to_string(&T {
            at,
            maybe: Some(whole),
            none: None,
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"at":"2026-11-30T16:30:00.123Z","maybe":"2026-11-30T16:30:00.000Z","none":null}"#
        );
    }

    #[test]
    fn late_evening_utc_is_already_tomorrow_and_next_month_in_china() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            china_date(at),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert_eq!(china_month(at), "2026-12");
        let before = DateTime::parse_from_rfc3339("2026-11-30T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_month(before), "2026-11");
    }
}
