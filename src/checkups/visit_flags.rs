//! A recorded visit's flags: the rules of `flags.rs`, `weight_gain.rs` and `schedule.rs` applied to
//! its row, its lab results and the tests done so far in the pregnancy.

use crate::db::stored;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::{CheckupRow, LabRow, RecordFacts};
use super::{
    flags::{self, AnaemiaBand, BpFlag, Dipstick, FastingGlucoseAdvice, FhrFlag},
    labs::LabTest,
    schedule::{self, ExpectedTest, MissingTest},
    weight_gain::{self, BmiCategory, GainStatus},
};
use crate::{
    db::{schema::*, DbConn},
    pregnancy::dating::GestationalAge,
};

/// Weight gain against the WS/T 801—2022 band for the pre-pregnancy BMI.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeightGainFlag {
    pub gain_kg: f64,
    pub bmi_category: BmiCategory,
    /// Recommended cumulative gain at this gestational age, kg.
    pub range_kg: [f64; 2],
    pub status: GainStatus,
}

/// Flags computed from the visit (checkups.md §4): values, not text.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CheckupFlags {
    pub blood_pressure: Option<BpFlag>,
    pub proteinuria: Option<bool>,
    pub suspected_preeclampsia: bool,
    /// From a 75 g OGTT on this visit.
    pub gdm: Option<bool>,
    /// Fasting glucose ≥ 7.0 mmol/L.
    pub pregestational_diabetes: Option<bool>,
    /// Fasting glucose at 24–28 weeks without an OGTT.
    pub fasting_glucose_advice: Option<FastingGlucoseAdvice>,
    pub anaemia: Option<AnaemiaBand>,
    /// One per fetus, in the order recorded.
    pub fetal_heart: Vec<FhrFlag>,
    pub fundal_height_discrepancy: Option<bool>,
    /// Singleton pregnancies with pre-pregnancy height and weight only.
    pub weight_gain: Option<WeightGainFlag>,
    /// A symptom (bleeding, headache, visual disturbance, reduced movements, oedema beyond the
    /// ankles) that calls for re-assessing the risk colour.
    pub needs_risk_reassessment: bool,
    /// Mandatory tests of the visit plan still missing at this gestational age.
    pub missing_tests: Vec<MissingTest>,
}

/// What the flags are computed from besides the visit itself.
pub struct FlagContext {
    pub facts: RecordFacts,
    /// Every test done in this pregnancy up to this visit, with its gestational age.
    pub done: Vec<(ExpectedTest, GestationalAge)>,
}

/// The stored comma list of rates; a value that is not a number is a corrupt record, not a
/// rate silently dropped.
pub fn fetal_heart_rates(row: &CheckupRow) -> QueryResult<Vec<i32>> {
    row.fetal_heart_rates
        .as_deref()
        .map_or(Ok(Vec::new()), |s| {
            s.split(',')
                .map(|v| {
                    v.trim().parse().map_err(|_| {
                        diesel::result::Error::DeserializationError(
                            format!("checkups.fetal_heart_rates {s:?} is not a list of rates")
                                .into(),
                        )
                    })
                })
                .collect()
        })
}

pub fn symptoms(row: &CheckupRow) -> Vec<String> {
    row.symptoms.as_deref().map_or(Vec::new(), |s| {
        s.split(',')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    })
}

pub fn compute_flags(
    row: &CheckupRow,
    labs: &[LabRow],
    ctx: &FlagContext,
) -> QueryResult<CheckupFlags> {
    let ga = GestationalAge(i64::from(row.ga_days));
    let lab = |test: LabTest| {
        labs.iter()
            .rev()
            .find(|l| l.test == test.as_str())
            .and_then(|l| l.value_num)
    };
    let bp = match (row.bp_systolic, row.bp_diastolic) {
        (Some(s), Some(d)) => Some(flags::bp_flag(s, d)),
        _ => None,
    };
    let dipstick = row.urine_protein.as_deref().and_then(Dipstick::parse);
    let protein_24h = lab(LabTest::UrineProtein24h);
    let upcr = lab(LabTest::Upcr);
    let proteinuria = (dipstick.is_some() || protein_24h.is_some() || upcr.is_some())
        .then(|| flags::proteinuria(dipstick, protein_24h, upcr));
    let ogtt = (
        lab(LabTest::Ogtt0h),
        lab(LabTest::Ogtt1h),
        lab(LabTest::Ogtt2h),
    );
    let has_ogtt = ogtt.0.is_some() || ogtt.1.is_some() || ogtt.2.is_some();
    let fasting = lab(LabTest::FastingGlucose);
    let in_ogtt_window = (24 * 7..=28 * 7 + 6).contains(&ga.days());
    let weight_gain = match (
        row.weight_kg,
        ctx.facts.height_cm,
        ctx.facts.pre_pregnancy_weight_kg,
        ctx.facts.fetal_count.unwrap_or(1),
    ) {
        (Some(now), Some(h), Some(before), 1) => {
            let gain = ((now - before) * 10.0).round() / 10.0;
            let (bmi_category, range, status) =
                weight_gain::status_at(weight_gain::bmi(h, before), ga, gain);
            Some(WeightGainFlag {
                gain_kg: gain,
                bmi_category,
                range_kg: [range.0, range.1],
                status,
            })
        }
        _ => None,
    };
    const ALARMING: [&str; 5] = [
        "vaginal_bleeding",
        "headache",
        "visual_disturbance",
        "reduced_fetal_movement",
        "abdominal_pain",
    ];
    let oedema_beyond_ankles = row
        .oedema
        .as_deref()
        .is_some_and(|o| o != "none" && o != "ankle");
    Ok(CheckupFlags {
        blood_pressure: bp,
        proteinuria,
        suspected_preeclampsia: match (bp, proteinuria) {
            (Some(bp), Some(p)) => flags::suspected_preeclampsia(bp, p, ga),
            _ => false,
        },
        gdm: has_ogtt.then(|| flags::ogtt_gdm(ogtt.0, ogtt.1, ogtt.2)),
        pregestational_diabetes: fasting.or(ogtt.0).map(flags::pregestational_diabetes),
        fasting_glucose_advice: match fasting {
            Some(f) if in_ogtt_window && !has_ogtt => Some(flags::fasting_glucose_advice(f)),
            _ => None,
        },
        anaemia: lab(LabTest::Hb).map(flags::anaemia_band),
        fetal_heart: fetal_heart_rates(row)?
            .into_iter()
            .map(flags::fhr_flag)
            .collect(),
        fundal_height_discrepancy: row
            .fundal_height_cm
            .map(|f| flags::fundal_height_discrepancy(f, ga)),
        weight_gain,
        needs_risk_reassessment: oedema_beyond_ankles
            || symptoms(row).iter().any(|s| ALARMING.contains(&s.as_str())),
        missing_tests: schedule::missing_tests(ga, &ctx.done),
    })
}

/// Tests done in a pregnancy up to a gestational age (lab results, urine dipsticks, scans).
pub fn tests_done(
    conn: &mut DbConn,
    pregnancy_id: &str,
    up_to: GestationalAge,
) -> QueryResult<Vec<(ExpectedTest, GestationalAge)>> {
    let limit = up_to.days() as i32;
    let mut done = Vec::new();
    let labs: Vec<(String, i32)> = lab_results::table
        .filter(lab_results::pregnancy_id.eq(pregnancy_id))
        .filter(lab_results::ga_days.le(limit))
        .select((lab_results::test, lab_results::ga_days))
        .load(conn)?;
    for (test, ga) in labs {
        let test: LabTest = stored::from_text("lab_results.test", &test)?;
        if let Some(expected) = test.expected() {
            done.push((expected, GestationalAge(i64::from(ga))));
        }
    }
    let urine: Vec<i32> = checkups::table
        .filter(checkups::pregnancy_id.eq(pregnancy_id))
        .filter(checkups::ga_days.le(limit))
        .filter(checkups::urine_protein.is_not_null())
        .select(checkups::ga_days)
        .load(conn)?;
    done.extend(
        urine
            .into_iter()
            .map(|ga| (ExpectedTest::UrineRoutine, GestationalAge(i64::from(ga)))),
    );
    let scans: Vec<i32> = ultrasounds::table
        .filter(ultrasounds::pregnancy_id.eq(pregnancy_id))
        .filter(ultrasounds::ga_days.le(limit))
        .select(ultrasounds::ga_days)
        .load(conn)?;
    for ga in scans {
        // A scan stands for whichever planned scan's window it falls in.
        for kind in [
            ExpectedTest::EarlyUltrasound,
            ExpectedTest::AnomalyUltrasound,
            ExpectedTest::GrowthUltrasound,
            ExpectedTest::LateUltrasound,
        ] {
            done.push((kind, GestationalAge(i64::from(ga))));
        }
    }
    Ok(done)
}
