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

#[cfg(test)]
mod tests {
    use super::*;

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
