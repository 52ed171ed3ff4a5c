//! Checkup flags — `shared/domain/maternal/checkups.md` §4. Each is a pure function of recorded
//! values; a flag informs, it does not grade risk by itself.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::pregnancy::dating::GestationalAge;

/// §4.1, per reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BpFlag {
    Normal,
    Hypertensive,
    Severe,
}

pub fn bp_flag(systolic: i32, diastolic: i32) -> BpFlag {
    if systolic >= 160 || diastolic >= 110 {
        BpFlag::Severe
    } else if systolic >= 140 || diastolic >= 90 {
        BpFlag::Hypertensive
    } else {
        BpFlag::Normal
    }
}

/// Dipstick result for urine protein or glucose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Dipstick {
    #[serde(rename = "negative")]
    Negative,
    #[serde(rename = "trace")]
    Trace,
    #[serde(rename = "1+")]
    Plus1,
    #[serde(rename = "2+")]
    Plus2,
    #[serde(rename = "3+")]
    Plus3,
    #[serde(rename = "4+")]
    Plus4,
}

impl Dipstick {
    pub fn as_str(self) -> &'static str {
        match self {
            Dipstick::Negative => "negative",
            Dipstick::Trace => "trace",
            Dipstick::Plus1 => "1+",
            Dipstick::Plus2 => "2+",
            Dipstick::Plus3 => "3+",
            Dipstick::Plus4 => "4+",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Negative,
            Self::Trace,
            Self::Plus1,
            Self::Plus2,
            Self::Plus3,
            Self::Plus4,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// §4.2: dipstick ≥ 1+, or 24-hour protein ≥ 0.3 g, or protein/creatinine ratio ≥ 0.3.
pub fn proteinuria(
    dipstick: Option<Dipstick>,
    protein_24h_g: Option<f64>,
    pcr: Option<f64>,
) -> bool {
    dipstick.is_some_and(|d| d >= Dipstick::Plus1)
        || protein_24h_g.is_some_and(|g| g >= 0.3)
        || pcr.is_some_and(|r| r >= 0.3)
}

/// §4.2: raised BP with proteinuria at ≥ 20 weeks.
pub fn suspected_preeclampsia(bp: BpFlag, proteinuria: bool, ga: GestationalAge) -> bool {
    bp != BpFlag::Normal && proteinuria && ga.days() >= 20 * 7
}

/// §4.1: hypertension first found before 20 weeks is chronic, from 20 weeks gestational.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HypertensionOnset {
    Chronic,
    Gestational,
}

pub fn hypertension_onset(ga_first_found: GestationalAge) -> HypertensionOnset {
    if ga_first_found.days() < 20 * 7 {
        HypertensionOnset::Chronic
    } else {
        HypertensionOnset::Gestational
    }
}

/// §4.3: 75 g OGTT — GDM when any value reaches its threshold (5.1 / 10.0 / 8.5 mmol/L).
pub fn ogtt_gdm(fasting: Option<f64>, one_hour: Option<f64>, two_hour: Option<f64>) -> bool {
    fasting.is_some_and(|v| v >= 5.1)
        || one_hour.is_some_and(|v| v >= 10.0)
        || two_hour.is_some_and(|v| v >= 8.5)
}

/// §4.3: fasting plasma glucose ≥ 7.0 mmol/L at any time means pre-existing diabetes.
pub fn pregestational_diabetes(fasting: f64) -> bool {
    fasting >= 7.0
}

/// §4.3: fasting glucose at 24–28 weeks where no OGTT is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FastingGlucoseAdvice {
    /// ≥ 7.0: pre-existing diabetes.
    Pregestational,
    /// 5.1 – 6.99: GDM.
    Gdm,
    /// 4.4 – 5.09: do an OGTT.
    NeedsOgtt,
    /// < 4.4: no OGTT needed for now.
    NoOgttNeeded,
}

pub fn fasting_glucose_advice(fasting: f64) -> FastingGlucoseAdvice {
    if pregestational_diabetes(fasting) {
        FastingGlucoseAdvice::Pregestational
    } else if fasting >= 5.1 {
        FastingGlucoseAdvice::Gdm
    } else if fasting >= 4.4 {
        FastingGlucoseAdvice::NeedsOgtt
    } else {
        FastingGlucoseAdvice::NoOgttNeeded
    }
}

/// §4.4 bands, g/L, half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnaemiaBand {
    None,
    Mild,
    Moderate,
    Severe,
    ExtremelySevere,
}

pub fn anaemia_band(hb_g_l: f64) -> AnaemiaBand {
    match hb_g_l {
        hb if hb >= 110.0 => AnaemiaBand::None,
        hb if hb >= 100.0 => AnaemiaBand::Mild,
        hb if hb >= 70.0 => AnaemiaBand::Moderate,
        hb if hb >= 40.0 => AnaemiaBand::Severe,
        _ => AnaemiaBand::ExtremelySevere,
    }
}

/// §4.5: 110–160 bpm inclusive is normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FhrFlag {
    Bradycardia,
    Normal,
    Tachycardia,
}

pub fn fhr_flag(bpm: i32) -> FhrFlag {
    match bpm {
        b if b < 110 => FhrFlag::Bradycardia,
        b if b > 160 => FhrFlag::Tachycardia,
        _ => FhrFlag::Normal,
    }
}

/// §4.6: between 20+0 and 36+6, |fundal height − completed weeks| > 3 cm.
pub fn fundal_height_discrepancy(fundal_height_cm: f64, ga: GestationalAge) -> bool {
    (20 * 7..=36 * 7 + 6).contains(&ga.days()) && (fundal_height_cm - ga.weeks() as f64).abs() > 3.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proteinuria_by_any_measure() {
        assert!(!proteinuria(Some(Dipstick::Trace), None, None));
        assert!(proteinuria(Some(Dipstick::Plus1), None, None));
        assert!(proteinuria(None, Some(0.3), None));
        assert!(proteinuria(None, None, Some(0.31)));
        assert!(!proteinuria(None, Some(0.29), Some(0.2)));
    }

    #[test]
    fn preeclampsia_needs_20_weeks_raised_bp_and_protein() {
        let ga20 = GestationalAge::parse("20+0").unwrap();
        let ga19 = GestationalAge::parse("19+6").unwrap();
        assert!(suspected_preeclampsia(BpFlag::Hypertensive, true, ga20));
        assert!(!suspected_preeclampsia(BpFlag::Hypertensive, true, ga19));
        assert!(!suspected_preeclampsia(BpFlag::Normal, true, ga20));
        assert_eq!(hypertension_onset(ga19), HypertensionOnset::Chronic);
        assert_eq!(hypertension_onset(ga20), HypertensionOnset::Gestational);
    }

    #[test]
    fn fasting_glucose_thresholds() {
        assert_eq!(
            fasting_glucose_advice(7.0),
            FastingGlucoseAdvice::Pregestational
        );
        assert_eq!(fasting_glucose_advice(5.1), FastingGlucoseAdvice::Gdm);
        assert_eq!(
            fasting_glucose_advice(5.09),
            FastingGlucoseAdvice::NeedsOgtt
        );
        assert_eq!(fasting_glucose_advice(4.4), FastingGlucoseAdvice::NeedsOgtt);
        assert_eq!(
            fasting_glucose_advice(4.39),
            FastingGlucoseAdvice::NoOgttNeeded
        );
    }

    #[test]
    fn fundal_height_window_and_margin() {
        let ga = |s| GestationalAge::parse(s).unwrap();
        assert!(
            !fundal_height_discrepancy(29.0, ga("26+3")),
            "exactly 3 cm is not a discrepancy"
        );
        assert!(
            fundal_height_discrepancy(30.0, ga("26+6")),
            "4 cm above 26 completed weeks"
        );
        assert!(fundal_height_discrepancy(21.0, ga("25+0")));
        assert!(!fundal_height_discrepancy(22.0, ga("25+0")));
        assert!(
            !fundal_height_discrepancy(10.0, ga("19+6")),
            "before 20 weeks no flag"
        );
        assert!(
            !fundal_height_discrepancy(10.0, ga("37+0")),
            "from 37 weeks no flag"
        );
    }
}
