//! Case rules (risk-grading.md §4–5): stages in order, reporting deadlines, where a woman of each
//! colour must deliver. Plain functions.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::engine::Colour;
use crate::org::rules::InstitutionLevel;

/// 发现 → 登记 → 报告 → 管理 → 救治 → 结案.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Discovered,
    Registered,
    Reported,
    Managed,
    Treated,
    Closed,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Discovered => "discovered",
            Stage::Registered => "registered",
            Stage::Reported => "reported",
            Stage::Managed => "managed",
            Stage::Treated => "treated",
            Stage::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Discovered,
            Self::Registered,
            Self::Reported,
            Self::Managed,
            Self::Treated,
            Self::Closed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// States advance one at a time; `closed` is reached by closing, from any open state.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Discovered => Some(Stage::Registered),
            Stage::Registered => Some(Stage::Reported),
            Stage::Reported => Some(Stage::Managed),
            Stage::Managed => Some(Stage::Treated),
            Stage::Treated | Stage::Closed => None,
        }
    }
}

/// Whether a grading opens (or keeps) a case: orange, red, or purple.
pub fn needs_case(base: Colour, purple: bool) -> bool {
    purple || base >= Colour::Orange
}

/// Reporting deadlines in hours; a county may set its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deadlines {
    pub red_hours: i64,
    /// Orange and purple.
    pub orange_purple_hours: i64,
}

/// Report to the local MCH institution: red within 24 hours, orange and purple within 3 days
/// (risk-grading.md §4, [verify] figures as written there; purple takes the 3-day deadline [decision]).
pub const NATIONAL_DEADLINES: Deadlines = Deadlines {
    red_hours: 24,
    orange_purple_hours: 72,
};

pub fn report_deadline(base: Colour, deadlines: Deadlines, from: NaiveDateTime) -> NaiveDateTime {
    if base == Colour::Red {
        from + Duration::hours(deadlines.red_hours)
    } else {
        from + Duration::hours(deadlines.orange_purple_hours)
    }
}

/// The delivery institution must match the colour: red at a critical-care centre; orange at a
/// tertiary hospital or critical-care centre; yellow at a secondary or higher institution.
pub fn check_designation(base: Colour, level: InstitutionLevel) -> Result<(), &'static str> {
    use InstitutionLevel::*;
    match base {
        Colour::Red if level != CriticalCareCentre => {
            Err("a red case must deliver at a designated critical-care centre")
        }
        Colour::Orange if !matches!(level, CityHospital | CriticalCareCentre) => {
            Err("an orange case must deliver at a tertiary hospital or a critical-care centre")
        }
        Colour::Yellow if matches!(level, VillageClinic | TownshipCentre) => {
            Err("a yellow case must deliver at a secondary or higher institution")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_advance_one_at_a_time() {
        assert_eq!(Stage::Discovered.next(), Some(Stage::Registered));
        assert_eq!(Stage::Managed.next(), Some(Stage::Treated));
        assert_eq!(Stage::Treated.next(), None);
    }

    #[test]
    fn deadlines_by_colour() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap();
        assert_eq!(
            report_deadline(Colour::Red, NATIONAL_DEADLINES, t),
            t + Duration::hours(24)
        );
        assert_eq!(
            report_deadline(Colour::Orange, NATIONAL_DEADLINES, t),
            t + Duration::days(3)
        );
        assert_eq!(
            report_deadline(Colour::Green, NATIONAL_DEADLINES, t),
            t + Duration::days(3),
            "purple alone"
        );
        let strict = Deadlines {
            red_hours: 12,
            orange_purple_hours: 48,
        };
        assert_eq!(
            report_deadline(Colour::Red, strict, t),
            t + Duration::hours(12)
        );
    }

    #[test]
    fn designation_follows_the_colour() {
        use InstitutionLevel::*;
        assert!(check_designation(Colour::Red, CityHospital).is_err());
        assert!(check_designation(Colour::Red, CriticalCareCentre).is_ok());
        assert!(check_designation(Colour::Orange, CountyHospital).is_err());
        assert!(check_designation(Colour::Orange, CityHospital).is_ok());
        assert!(check_designation(Colour::Yellow, TownshipCentre).is_err());
        assert!(check_designation(Colour::Green, TownshipCentre).is_ok());
        assert!(
            needs_case(Colour::Green, true)
                && needs_case(Colour::Orange, false)
                && !needs_case(Colour::Yellow, false)
        );
    }
}
