//! Anaemia in children (anaemia-growth.md §1): the WHO 2011 altitude adjustment, the WHO 2011
//! grades by age and the Chinese 2012 grading, on the adjusted value rounded to one decimal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// g/L subtracted from the measured Hb for the highest threshold at or below the altitude.
pub fn altitude_adjustment(altitude_m: f64) -> f64 {
    const TABLE: [(f64, f64); 8] = [
        (4500.0, 45.0),
        (4000.0, 35.0),
        (3500.0, 27.0),
        (3000.0, 19.0),
        (2500.0, 13.0),
        (2000.0, 8.0),
        (1500.0, 5.0),
        (1000.0, 2.0),
    ];
    TABLE
        .iter()
        .find(|(threshold, _)| altitude_m >= *threshold)
        .map_or(0.0, |(_, adj)| *adj)
}

/// The Hb compared with the cut-offs: measured minus the altitude adjustment, to one decimal.
pub fn adjusted_hb(hb_g_l: f64, altitude_m: f64) -> f64 {
    ((hb_g_l - altitude_adjustment(altitude_m)) * 10.0).round() / 10.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnaemiaGrade {
    None,
    Mild,
    Moderate,
    Severe,
}

/// WHO 2011: 6–59 months ≥110 / 100–109 / 70–99 / <70; 5–11 years ≥115 / 110–114 / 80–109 / <80.
/// `None` below 6 months (no WHO 2011 cut-off).
pub fn who2011_grade(hb_adj: f64, age_months: i64) -> Option<AnaemiaGrade> {
    let (normal, mild, moderate) = match age_months {
        6..=59 => (110.0, 100.0, 70.0),
        60..=143 => (115.0, 110.0, 80.0),
        _ => return None,
    };
    Some(grade(hb_adj, normal, mild, moderate))
}

/// China 2012 (6 months – 6 years): <110 anaemia; mild 90–109, moderate 60–89, severe <60.
pub fn china_grade(hb_adj: f64) -> AnaemiaGrade {
    grade(hb_adj, 110.0, 90.0, 60.0)
}

fn grade(hb: f64, normal: f64, mild: f64, moderate: f64) -> AnaemiaGrade {
    if hb >= normal {
        AnaemiaGrade::None
    } else if hb >= mild {
        AnaemiaGrade::Mild
    } else if hb >= moderate {
        AnaemiaGrade::Moderate
    } else {
        AnaemiaGrade::Severe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnaemiaGrade::*;

    #[test]
    fn the_examples_of_the_specification() {
        // Hb 118 at 2300 m → row 2000 → 110 → not anaemic; Hb 108 at 999 m → mild.
        assert_eq!(adjusted_hb(118.0, 2300.0), 110.0);
        assert_eq!(who2011_grade(adjusted_hb(118.0, 2300.0), 24), Some(None));
        assert_eq!(who2011_grade(adjusted_hb(108.0, 999.0), 24), Some(Mild));
        // §3 table.
        assert_eq!(
            (
                who2011_grade(adjusted_hb(109.0, 800.0), 18),
                china_grade(adjusted_hb(109.0, 800.0))
            ),
            (Some(Mild), Mild)
        );
        assert_eq!(
            (
                who2011_grade(adjusted_hb(95.0, 300.0), 10),
                china_grade(95.0)
            ),
            (Some(Moderate), Mild)
        );
        assert_eq!(
            (who2011_grade(adjusted_hb(88.0, 0.0), 30), china_grade(88.0)),
            (Some(Moderate), Moderate)
        );
        assert_eq!(adjusted_hb(112.0, 1600.0), 107.0);
        assert_eq!(who2011_grade(107.0, 20), Some(Mild));
    }

    #[test]
    fn a_lower_bound_belongs_to_the_milder_class() {
        assert_eq!(who2011_grade(110.0, 12), Some(None));
        assert_eq!(who2011_grade(100.0, 12), Some(Mild));
        assert_eq!(who2011_grade(99.9, 12), Some(Moderate));
        assert_eq!(who2011_grade(69.9, 12), Some(Severe));
        assert_eq!(
            who2011_grade(120.0, 3),
            Option::None,
            "no cut-off under 6 months"
        );
        assert_eq!(altitude_adjustment(999.0), 0.0);
        assert_eq!(altitude_adjustment(4600.0), 45.0);
    }
}
