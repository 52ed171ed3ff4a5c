//! WHO z-scores (anaemia-growth.md §2): age in completed days, recumbent length to 730 days and
//! standing height from 731 (±0.7 cm when measured the other way), the LMS formula with WHO's
//! restricted tails for the weight-based indicators, classification and implausible values.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::who::{self, pick, Lms, Sex};

/// `z = ((X/M)^L − 1)/(L·S)`, or `ln(X/M)/S` when L = 0.
pub fn lms_z(x: f64, lms: Lms) -> f64 {
    if lms.l.abs() < 1e-12 {
        (x / lms.m).ln() / lms.s
    } else {
        ((x / lms.m).powf(lms.l) - 1.0) / (lms.l * lms.s)
    }
}

fn sd(lms: Lms, k: f64) -> f64 {
    if lms.l.abs() < 1e-12 {
        lms.m * (lms.s * k).exp()
    } else {
        lms.m * (1.0 + lms.l * lms.s * k).powf(1.0 / lms.l)
    }
}

/// The weight-based indicators: beyond ±3 the distance is counted in units of the 2–3 SD gap.
pub fn restricted_z(x: f64, lms: Lms) -> f64 {
    let z = lms_z(x, lms);
    if z > 3.0 {
        let (sd2, sd3) = (sd(lms, 2.0), sd(lms, 3.0));
        3.0 + (x - sd3) / (sd3 - sd2)
    } else if z < -3.0 {
        let (sd2, sd3) = (sd(lms, -2.0), sd(lms, -3.0));
        -3.0 + (x - sd3) / (sd2 - sd3)
    } else {
        z
    }
}

/// The last day on which recumbent length is expected.
pub const LAST_LENGTH_DAY: i64 = 730;

/// Length or height as the standard expects it at this age.
pub fn adjusted_length(age_days: i64, measured_cm: f64, measured_lying: bool) -> f64 {
    match (age_days <= LAST_LENGTH_DAY, measured_lying) {
        (true, false) => measured_cm + 0.7,
        (false, true) => measured_cm - 0.7,
        _ => measured_cm,
    }
}

/// The four indicators for one measurement; `None` where the input or the table does not allow it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct ZScores {
    /// Length/height-for-age.
    pub lhfa: Option<f64>,
    /// Weight-for-age.
    pub wfa: Option<f64>,
    /// Weight-for-length (≤ 730 days) or weight-for-height.
    pub wflh: Option<f64>,
    /// BMI-for-age.
    pub bfa: Option<f64>,
}

pub fn zscores(
    sex: Sex,
    age_days: i64,
    length: Option<(f64, bool)>,
    weight_kg: Option<f64>,
) -> ZScores {
    let t = who::tables();
    let adj = length.map(|(cm, lying)| adjusted_length(age_days, cm, lying));
    let lhfa = adj.and_then(|l| pick(&t.lhfa, sex).at(age_days).map(|lms| lms_z(l, lms)));
    let wfa = weight_kg.and_then(|w| {
        pick(&t.wfa, sex)
            .at(age_days)
            .map(|lms| restricted_z(w, lms))
    });
    let wflh = match (adj, weight_kg) {
        (Some(l), Some(w)) => {
            let index = (l * 10.0).round() as i64;
            let table = if age_days <= LAST_LENGTH_DAY {
                pick(&t.wfl, sex)
            } else {
                pick(&t.wfh, sex)
            };
            table.at(index).map(|lms| restricted_z(w, lms))
        }
        _ => None,
    };
    let bfa = match (adj, weight_kg) {
        (Some(l), Some(w)) => pick(&t.bfa, sex)
            .at(age_days)
            .map(|lms| restricted_z(w / (l / 100.0).powi(2), lms)),
        _ => None,
    };
    ZScores {
        lhfa,
        wfa,
        wflh,
        bfa,
    }
}

/// Nutritional status from the z-scores (strictly below −2 / −3; classify unrounded values).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GrowthClass {
    pub stunted: bool,
    pub severely_stunted: bool,
    pub underweight: bool,
    pub severely_underweight: bool,
    pub wasted: bool,
    pub severely_wasted: bool,
    /// WLZ/WHZ > +2.
    pub overweight: bool,
    /// WLZ/WHZ > +3.
    pub obese: bool,
    /// Biologically implausible values, not classified: the indicators that are implausible.
    pub implausible: Vec<String>,
}

/// WHO flags: LAZ outside ±6, WAZ below −6 or above +5, WLZ/WHZ and BAZ outside ±5.
pub fn classify(z: &ZScores) -> GrowthClass {
    let mut c = GrowthClass::default();
    let plausible = |v: Option<f64>, low: f64, high: f64, name: &str, c: &mut GrowthClass| match v {
        Some(z) if z < low || z > high => {
            c.implausible.push(name.to_string());
            None
        }
        other => other,
    };
    let lhfa = plausible(z.lhfa, -6.0, 6.0, "lhfa", &mut c);
    let wfa = plausible(z.wfa, -6.0, 5.0, "wfa", &mut c);
    let wflh = plausible(z.wflh, -5.0, 5.0, "wflh", &mut c);
    let _ = plausible(z.bfa, -5.0, 5.0, "bfa", &mut c);
    if let Some(v) = lhfa {
        c.stunted = v < -2.0;
        c.severely_stunted = v < -3.0;
    }
    if let Some(v) = wfa {
        c.underweight = v < -2.0;
        c.severely_underweight = v < -3.0;
    }
    if let Some(v) = wflh {
        c.wasted = v < -2.0;
        c.severely_wasted = v < -3.0;
        c.overweight = v > 2.0;
        c.obese = v > 3.0;
    }
    c
}

/// Round half away from zero to 2 decimals, for presentation only.
pub fn round2(z: f64) -> f64 {
    (z * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: &str = include_str!("../../tests/fixtures/domain/child/zscore-examples.csv");

    fn close(got: Option<f64>, want: f64, what: &str) {
        let got = got.unwrap_or_else(|| panic!("{what}: no z-score"));
        assert!(
            (got - want).abs() <= 0.01 + 1e-9,
            "{what}: got {got:.4}, want {want}"
        );
    }

    #[test]
    fn the_worked_check_of_the_specification() {
        let z = zscores(Sex::Male, 365, Some((75.7, true)), Some(9.6));
        close(z.lhfa, -0.02, "LAZ");
        close(z.wfa, -0.04, "WAZ");
        close(z.wflh, -0.06, "WLZ");
        close(z.bfa, -0.03, "BAZ");
    }

    #[test]
    fn every_row_of_zscore_examples_within_0_01() {
        let mut rows = 0;
        for line in EXAMPLES.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let c: Vec<&str> = line.split(',').collect();
            let sex = if c[1] == "M" { Sex::Male } else { Sex::Female };
            let age: i64 = c[2].parse().unwrap();
            let lying = c[3] == "L";
            let length: f64 = c[4].parse().unwrap();
            let weight: f64 = c[5].parse().unwrap();
            let z = zscores(sex, age, Some((length, lying)), Some(weight));
            let want = |i: usize| c[i].parse::<f64>().unwrap();
            close(z.lhfa, want(6), &format!("row {} lhfa", c[0]));
            close(z.wfa, want(7), &format!("row {} wfa", c[0]));
            close(z.wflh, want(8), &format!("row {} wflh", c[0]));
            close(z.bfa, want(9), &format!("row {} bfa", c[0]));
            rows += 1;
        }
        assert_eq!(rows, 20);
    }

    #[test]
    fn position_switches_at_731_days() {
        assert_eq!(adjusted_length(730, 80.0, false), 80.7);
        assert_eq!(adjusted_length(730, 80.0, true), 80.0);
        assert_eq!(adjusted_length(731, 80.0, true), 79.3);
        assert_eq!(adjusted_length(731, 80.0, false), 80.0);
    }

    #[test]
    fn classification_boundaries_are_strict_and_implausible_values_are_flagged() {
        let c = classify(&ZScores {
            lhfa: Some(-2.0),
            ..Default::default()
        });
        assert!(!c.stunted, "−2.00 is not stunted");
        let c = classify(&ZScores {
            lhfa: Some(-3.01),
            ..Default::default()
        });
        assert!(c.stunted && c.severely_stunted);
        let c = classify(&ZScores {
            wflh: Some(2.4),
            ..Default::default()
        });
        assert!(c.overweight && !c.obese);
        let c = classify(&ZScores {
            wfa: Some(5.2),
            lhfa: Some(-6.5),
            ..Default::default()
        });
        assert_eq!(c.implausible, vec!["lhfa", "wfa"]);
        assert!(!c.stunted && !c.underweight);
    }

    #[test]
    fn outside_the_tables_there_is_no_z_score() {
        let z = zscores(Sex::Female, 2000, Some((100.0, false)), Some(15.0));
        assert_eq!((z.lhfa, z.wfa, z.bfa), (None, None, None));
        let z = zscores(Sex::Female, 100, Some((40.0, true)), Some(2.0));
        assert!(z.wflh.is_none(), "wfl starts at 45 cm");
    }
}
