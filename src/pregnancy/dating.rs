//! Gestational age and the expected date of delivery — `shared/domain/maternal/checkups.md` §1.
//!
//! Gestational age (GA) is an integer number of days, shown as completed weeks + days (`24+3`).

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Naegele's rule: EDD = LMP + 280 days (never month arithmetic).
pub const TERM_DAYS: i64 = 280;

/// A gestational age in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GestationalAge(pub i64);

impl GestationalAge {
    pub fn from_weeks_days(weeks: i64, days: i64) -> Self {
        GestationalAge(weeks * 7 + days)
    }

    /// Parses `w+d` (days 0–6).
    pub fn parse(text: &str) -> Option<Self> {
        let (w, d) = text.split_once('+')?;
        let (w, d): (i64, i64) = (w.trim().parse().ok()?, d.trim().parse().ok()?);
        ((0..=45).contains(&w) && (0..=6).contains(&d)).then(|| Self::from_weeks_days(w, d))
    }

    pub fn days(self) -> i64 {
        self.0
    }

    /// Completed weeks.
    pub fn weeks(self) -> i64 {
        self.0.div_euclid(7)
    }

    pub fn trimester(self) -> Trimester {
        match self.0 {
            d if d < 14 * 7 => Trimester::Early,
            d if d < 28 * 7 => Trimester::Middle,
            _ => Trimester::Late,
        }
    }
}

/// Written and read as `w+d` (`24+3`): a request's gestational age is parsed where it arrives,
/// and a malformed one is a 422 with the code `gestational_age` on its field. Fields of this type
/// carry `#[schema(value_type = String, pattern = …)]` ([`GA_PATTERN`]).
impl Serialize for GestationalAge {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for GestationalAge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        GestationalAge::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(crate::error::fields::coded(
                "gestational_age",
                "weeks+days such as 8+3 (weeks 0–45, days 0–6)",
            ))
        })
    }
}

/// The pattern of a gestational age in the OpenAPI document.
pub const GA_PATTERN: &str = r"^[0-9]{1,2}\+[0-6]$";

impl fmt::Display for GestationalAge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.weeks(), self.0.rem_euclid(7))
    }
}

/// Early (< 14+0), middle (14+0 – 27+6), late (≥ 28+0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trimester {
    Early,
    Middle,
    Late,
}

/// GA on `date` for a pregnancy with this EDD (works for any dating source).
pub fn ga_on(edd: NaiveDate, date: NaiveDate) -> GestationalAge {
    GestationalAge(TERM_DAYS - (edd - date).num_days())
}

/// GA on `date` from the LMP.
pub fn ga_from_lmp(lmp: NaiveDate, date: NaiveDate) -> GestationalAge {
    GestationalAge((date - lmp).num_days())
}

pub fn edd_from_lmp(lmp: NaiveDate) -> NaiveDate {
    lmp.checked_add_signed(chrono::Duration::days(TERM_DAYS))
        .unwrap_or(lmp)
}

/// How the EDD was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DatingSource {
    Lmp,
    Ultrasound,
    IvfTransfer,
    Clinician,
}

impl DatingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DatingSource::Lmp => "lmp",
            DatingSource::Ultrasound => "ultrasound",
            DatingSource::IvfTransfer => "ivf_transfer",
            DatingSource::Clinician => "clinician",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Lmp,
            Self::Ultrasound,
            Self::IvfTransfer,
            Self::Clinician,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// The ACOG tolerance adopted in checkups.md §1: ultrasound dating replaces LMP dating when the
/// difference exceeds this many days for the ultrasound GA.
pub fn ultrasound_tolerance_days(ultrasound_ga: GestationalAge) -> i64 {
    match ultrasound_ga.days() {
        d if d < 9 * 7 => 5,
        d if d < 16 * 7 => 7,
        d if d < 22 * 7 => 10,
        d if d < 28 * 7 => 14,
        _ => 21,
    }
}

/// The outcome of comparing a dating scan with the LMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatingDecision {
    pub lmp_ga_on_scan: GestationalAge,
    pub difference_days: i64,
    pub tolerance_days: i64,
    pub source: DatingSource,
    pub edd: NaiveDate,
}

/// Decides between LMP and ultrasound dating for the first qualifying scan (checkups.md §1).
/// Without an LMP, the scan sets the EDD.
pub fn date_by_ultrasound(
    lmp: Option<NaiveDate>,
    scan_date: NaiveDate,
    ultrasound_ga: GestationalAge,
) -> DatingDecision {
    // Checked: callers bound dates to 1900..today, and the arithmetic never panics on any input.
    let by_scan = scan_date
        .checked_add_signed(chrono::Duration::days(TERM_DAYS - ultrasound_ga.days()))
        .unwrap_or(scan_date);
    let tolerance_days = ultrasound_tolerance_days(ultrasound_ga);
    match lmp {
        Some(lmp) => {
            let lmp_ga = ga_from_lmp(lmp, scan_date);
            let difference_days = (lmp_ga.days() - ultrasound_ga.days()).abs();
            let use_scan = difference_days > tolerance_days;
            DatingDecision {
                lmp_ga_on_scan: lmp_ga,
                difference_days,
                tolerance_days,
                source: if use_scan {
                    DatingSource::Ultrasound
                } else {
                    DatingSource::Lmp
                },
                edd: if use_scan { by_scan } else { edd_from_lmp(lmp) },
            }
        }
        None => DatingDecision {
            lmp_ga_on_scan: ultrasound_ga,
            difference_days: 0,
            tolerance_days,
            source: DatingSource::Ultrasound,
            edd: by_scan,
        },
    }
}

/// IVF: EDD = transfer date + 266 − embryo age in days (day-3 embryo +263, day-5 +261).
pub fn edd_from_ivf(transfer: NaiveDate, embryo_age_days: i64) -> NaiveDate {
    transfer
        .checked_add_signed(chrono::Duration::days(266 - embryo_age_days))
        .unwrap_or(transfer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn formats_and_parses_weeks_plus_days() {
        assert_eq!(GestationalAge(96).to_string(), "13+5");
        assert_eq!(GestationalAge::parse("13+5"), Some(GestationalAge(96)));
        assert_eq!(GestationalAge::parse("13+7"), None);
        assert_eq!(GestationalAge::parse("x+1"), None);
    }

    #[test]
    fn trimesters_switch_at_14_and_28_weeks() {
        assert_eq!(
            GestationalAge::parse("13+6").unwrap().trimester(),
            Trimester::Early
        );
        assert_eq!(
            GestationalAge::parse("14+0").unwrap().trimester(),
            Trimester::Middle
        );
        assert_eq!(
            GestationalAge::parse("27+6").unwrap().trimester(),
            Trimester::Middle
        );
        assert_eq!(
            GestationalAge::parse("28+0").unwrap().trimester(),
            Trimester::Late
        );
    }

    #[test]
    fn ga_from_the_edd_equals_ga_from_the_lmp_under_lmp_dating() {
        let lmp = d("2024-01-10");
        let edd = edd_from_lmp(lmp);
        assert_eq!(
            ga_on(edd, d("2024-04-15")),
            ga_from_lmp(lmp, d("2024-04-15"))
        );
    }

    #[test]
    fn ivf_edd_depends_on_embryo_age() {
        assert_eq!(
            edd_from_ivf(d("2024-03-01"), 3),
            d("2024-03-01") + chrono::Duration::days(263)
        );
        assert_eq!(
            edd_from_ivf(d("2024-03-01"), 5),
            d("2024-03-01") + chrono::Duration::days(261)
        );
    }

    #[test]
    fn tolerance_table_boundaries() {
        let t = |s: &str| ultrasound_tolerance_days(GestationalAge::parse(s).unwrap());
        assert_eq!(
            (
                t("8+6"),
                t("9+0"),
                t("15+6"),
                t("16+0"),
                t("21+6"),
                t("22+0"),
                t("27+6"),
                t("28+0")
            ),
            (5, 7, 7, 10, 10, 14, 14, 21)
        );
    }
}
