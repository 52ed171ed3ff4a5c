//! Gestational weight gain — WS/T 801—2022, as written in `shared/domain/maternal/checkups.md` §4.7
//! (Chinese BMI cut-offs 18.5 / 24.0 / 28.0; singleton pregnancies only).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::pregnancy::dating::GestationalAge;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BmiCategory {
    Underweight,
    Normal,
    Overweight,
    Obese,
}

pub fn bmi(height_cm: f64, weight_kg: f64) -> f64 {
    let m = height_cm / 100.0;
    round2(weight_kg / (m * m))
}

pub fn bmi_category(bmi: f64) -> BmiCategory {
    match bmi {
        b if b < 18.5 => BmiCategory::Underweight,
        b if b < 24.0 => BmiCategory::Normal,
        b if b < 28.0 => BmiCategory::Overweight,
        _ => BmiCategory::Obese,
    }
}

struct Band {
    total: (f64, f64),
    first_trimester: (f64, f64),
    /// Weekly gain in the 2nd/3rd trimester, kg/week (min, max).
    weekly: (f64, f64),
}

fn band(category: BmiCategory) -> Band {
    match category {
        BmiCategory::Underweight => Band {
            total: (11.0, 16.0),
            first_trimester: (0.0, 2.0),
            weekly: (0.37, 0.56),
        },
        BmiCategory::Normal => Band {
            total: (8.0, 14.0),
            first_trimester: (0.0, 2.0),
            weekly: (0.26, 0.48),
        },
        BmiCategory::Overweight => Band {
            total: (7.0, 11.0),
            first_trimester: (0.0, 2.0),
            weekly: (0.22, 0.37),
        },
        BmiCategory::Obese => Band {
            total: (5.0, 9.0),
            first_trimester: (0.0, 2.0),
            weekly: (0.15, 0.30),
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GainStatus {
    Below,
    Within,
    Above,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn status(gain: f64, (lower, upper): (f64, f64)) -> GainStatus {
    if gain < lower {
        GainStatus::Below
    } else if gain > upper {
        GainStatus::Above
    } else {
        GainStatus::Within
    }
}

/// The recommended cumulative range at a GA: before 14+0 the first-trimester band; afterwards
/// lower = x·rate_min, upper = 2.0 + x·rate_max with x = weeks since 14+0 (both rounded to 2 decimals).
pub fn range_at(category: BmiCategory, ga: GestationalAge) -> (f64, f64) {
    let b = band(category);
    if ga.days() < 98 {
        return b.first_trimester;
    }
    let x = (ga.days() - 98) as f64 / 7.0;
    (
        round2(x * b.weekly.0),
        round2(b.first_trimester.1 + x * b.weekly.1),
    )
}

/// `gwg_status_at`: gain so far against the range at this GA.
pub fn status_at(
    pre_pregnancy_bmi: f64,
    ga: GestationalAge,
    gain_kg: f64,
) -> (BmiCategory, (f64, f64), GainStatus) {
    let category = bmi_category(pre_pregnancy_bmi);
    let range = range_at(category, ga);
    (category, range, status(gain_kg, range))
}

/// `gwg_total_status`: total gain at delivery against the total range.
pub fn total_status(
    pre_pregnancy_bmi: f64,
    total_gain_kg: f64,
) -> (BmiCategory, (f64, f64), GainStatus) {
    let category = bmi_category(pre_pregnancy_bmi);
    let range = band(category).total;
    (category, range, status(total_gain_kg, range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bmi_is_weight_over_height_squared() {
        assert_eq!(bmi(160.0, 51.2), 20.0);
        assert_eq!(bmi_category(18.49), BmiCategory::Underweight);
        assert_eq!(bmi_category(28.0), BmiCategory::Obese);
    }

    #[test]
    fn a_weight_loss_in_the_first_trimester_is_below() {
        let (_, _, s) = status_at(21.0, GestationalAge::parse("10+0").unwrap(), -0.5);
        assert_eq!(s, GainStatus::Below);
    }
}
