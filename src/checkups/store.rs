//! Checkup rows and views, and the flags computed from a visit, its lab results and the record.

use crate::db::stored;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = checkups, treat_none_as_null = true)]
pub struct CheckupRow {
    pub id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub version: i64,
    pub visit_date: NaiveDate,
    pub ga_days: i32,
    pub weight_kg: Option<f64>,
    pub bp_systolic: Option<i32>,
    pub bp_diastolic: Option<i32>,
    pub fundal_height_cm: Option<f64>,
    pub abdominal_circumference_cm: Option<f64>,
    pub fetal_heart_rates: Option<String>,
    pub fetal_presentation: Option<String>,
    pub oedema: Option<String>,
    pub urine_protein: Option<String>,
    pub urine_glucose: Option<String>,
    pub symptoms: Option<String>,
    pub complaints: Option<String>,
    pub advice: Option<String>,
    pub next_appointment: Option<NaiveDate>,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub mother_seen_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable)]
pub struct LabRow {
    pub id: String,
    pub checkup_id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub test: String,
    pub value_num: Option<f64>,
    pub value_text: Option<String>,
    pub unit: Option<String>,
    pub ga_days: i32,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub mother_seen_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable)]
pub struct UltrasoundRow {
    pub id: String,
    pub checkup_id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub ga_days: i32,
    pub fetal_count: Option<i32>,
    pub crl_mm: Option<f64>,
    pub bpd_mm: Option<f64>,
    pub hc_mm: Option<f64>,
    pub ac_mm: Option<f64>,
    pub fl_mm: Option<f64>,
    pub efw_g: Option<f64>,
    pub afi_cm: Option<f64>,
    pub placenta_position: Option<String>,
    pub findings: Option<String>,
    pub recorded_by: String,
    pub recorded_at: NaiveDateTime,
    pub mother_seen_at: Option<NaiveDateTime>,
}

/// One lab result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LabView {
    pub id: String,
    pub test: LabTest,
    pub value: Option<f64>,
    pub result: Option<String>,
    pub unit: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub recorded_at: chrono::DateTime<Utc>,
    /// The mother has opened it.
    pub seen_by_mother: bool,
}

/// One ultrasound report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UltrasoundView {
    pub id: String,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub fetal_count: Option<i32>,
    pub crl_mm: Option<f64>,
    pub bpd_mm: Option<f64>,
    pub hc_mm: Option<f64>,
    pub ac_mm: Option<f64>,
    pub fl_mm: Option<f64>,
    pub efw_g: Option<f64>,
    pub afi_cm: Option<f64>,
    pub placenta_position: Option<String>,
    pub findings: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub recorded_at: chrono::DateTime<Utc>,
    pub seen_by_mother: bool,
}

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

/// A checkup as shown, with its results and flags.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::checkup_view)]
pub struct CheckupView {
    pub id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub institution_id: String,
    /// The recording institution by name (a mother cannot look an id up).
    pub institution_name: String,
    /// Also the ETag.
    pub version: i64,
    pub visit_date: NaiveDate,
    /// Gestational age at the visit, `w+d`.
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub ga_days: i32,
    pub weight_kg: Option<f64>,
    pub bp_systolic: Option<i32>,
    pub bp_diastolic: Option<i32>,
    pub fundal_height_cm: Option<f64>,
    pub abdominal_circumference_cm: Option<f64>,
    pub fetal_heart_rates: Vec<i32>,
    pub fetal_presentation: Option<Presentation>,
    pub oedema: Option<Oedema>,
    pub urine_protein: Option<Dipstick>,
    pub urine_glucose: Option<Dipstick>,
    pub symptoms: Vec<Symptom>,
    pub complaints: Option<String>,
    pub advice: Option<String>,
    pub next_appointment: Option<NaiveDate>,
    pub labs: Vec<LabView>,
    pub ultrasounds: Vec<UltrasoundView>,
    pub flags: CheckupFlags,
    pub recorded_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: chrono::DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: chrono::DateTime<Utc>,
    pub seen_by_mother: bool,
}

pub fn lab_view(l: &LabRow) -> QueryResult<LabView> {
    Ok(LabView {
        id: l.id.clone(),
        test: stored::from_text("lab_results.test", &l.test)?,
        value: l.value_num,
        result: l.value_text.clone(),
        unit: l.unit.clone(),
        recorded_at: l.recorded_at.and_utc(),
        seen_by_mother: l.mother_seen_at.is_some(),
    })
}

pub fn ultrasound_view(u: &UltrasoundRow) -> UltrasoundView {
    UltrasoundView {
        id: u.id.clone(),
        ga: GestationalAge(i64::from(u.ga_days)).to_string(),
        fetal_count: u.fetal_count,
        crl_mm: u.crl_mm,
        bpd_mm: u.bpd_mm,
        hc_mm: u.hc_mm,
        ac_mm: u.ac_mm,
        fl_mm: u.fl_mm,
        efw_g: u.efw_g,
        afi_cm: u.afi_cm,
        placenta_position: u.placenta_position.clone(),
        findings: u.findings.clone(),
        recorded_at: u.recorded_at.and_utc(),
        seen_by_mother: u.mother_seen_at.is_some(),
    }
}

/// What a checkup's flags need from the handbook and the pregnancy it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct RecordFacts {
    pub height_cm: Option<f64>,
    pub pre_pregnancy_weight_kg: Option<f64>,
    pub fetal_count: Option<i32>,
}

impl RecordFacts {
    /// The handbook's height and pre-pregnancy weight, with the pregnancy's fetal count.
    fn load(conn: &mut DbConn, handbook_id: &str, fetal_count: Option<i32>) -> QueryResult<Self> {
        let (height_cm, pre_pregnancy_weight_kg) = handbooks::table
            .find(handbook_id)
            .select((handbooks::height_cm, handbooks::pre_pregnancy_weight_kg))
            .first(conn)?;
        Ok(RecordFacts {
            height_cm,
            pre_pregnancy_weight_kg,
            fetal_count,
        })
    }
}

/// Loads everything a checkup view needs and computes its flags.
pub fn view(conn: &mut DbConn, row: &CheckupRow) -> QueryResult<CheckupView> {
    let fetal_count: Option<i32> = pregnancies::table
        .find(&row.pregnancy_id)
        .select(pregnancies::fetal_count)
        .first(conn)?;
    let facts = RecordFacts::load(conn, &row.handbook_id, fetal_count)?;
    view_with(conn, row, facts)
}

/// [`view`] for a caller that already holds the handbook and pregnancy rows (two queries fewer).
pub fn view_with(
    conn: &mut DbConn,
    row: &CheckupRow,
    facts: RecordFacts,
) -> QueryResult<CheckupView> {
    let labs: Vec<LabRow> = lab_results::table
        .filter(lab_results::checkup_id.eq(&row.id))
        .order(lab_results::id.asc())
        .load(conn)?;
    let scans: Vec<UltrasoundRow> = ultrasounds::table
        .filter(ultrasounds::checkup_id.eq(&row.id))
        .order(ultrasounds::id.asc())
        .load(conn)?;
    view_of(conn, row, facts, labs, scans)
}

/// The view of a checkup just inserted: it has no lab results or scans yet (two queries fewer).
pub fn view_of_new(
    conn: &mut DbConn,
    row: &CheckupRow,
    fetal_count: Option<i32>,
) -> QueryResult<CheckupView> {
    let facts = RecordFacts::load(conn, &row.handbook_id, fetal_count)?;
    view_of(conn, row, facts, Vec::new(), Vec::new())
}

fn view_of(
    conn: &mut DbConn,
    row: &CheckupRow,
    facts: RecordFacts,
    labs: Vec<LabRow>,
    scans: Vec<UltrasoundRow>,
) -> QueryResult<CheckupView> {
    let ga = GestationalAge(i64::from(row.ga_days));
    let ctx = FlagContext {
        facts,
        done: tests_done(conn, &row.pregnancy_id, ga)?,
    };
    let flags = compute_flags(row, &labs, &ctx)?;
    let institution_name = institutions::table
        .find(&row.institution_id)
        .select(institutions::name)
        .first(conn)?;
    Ok(CheckupView {
        id: row.id.clone(),
        pregnancy_id: row.pregnancy_id.clone(),
        handbook_id: row.handbook_id.clone(),
        institution_id: row.institution_id.clone(),
        institution_name,
        version: row.version,
        visit_date: row.visit_date,
        ga: ga.to_string(),
        ga_days: row.ga_days,
        weight_kg: row.weight_kg,
        bp_systolic: row.bp_systolic,
        bp_diastolic: row.bp_diastolic,
        fundal_height_cm: row.fundal_height_cm,
        abdominal_circumference_cm: row.abdominal_circumference_cm,
        fetal_heart_rates: fetal_heart_rates(row)?,
        fetal_presentation: stored::from_text_opt(
            "checkups.fetal_presentation",
            row.fetal_presentation.as_deref(),
        )?,
        oedema: stored::from_text_opt("checkups.oedema", row.oedema.as_deref())?,
        urine_protein: stored::from_text_opt(
            "checkups.urine_protein",
            row.urine_protein.as_deref(),
        )?,
        urine_glucose: stored::from_text_opt(
            "checkups.urine_glucose",
            row.urine_glucose.as_deref(),
        )?,
        symptoms: symptoms(row)
            .iter()
            .map(|s| stored::from_text("checkups.symptoms", s))
            .collect::<QueryResult<_>>()?,
        complaints: row.complaints.clone(),
        advice: row.advice.clone(),
        next_appointment: row.next_appointment,
        labs: labs.iter().map(lab_view).collect::<QueryResult<_>>()?,
        ultrasounds: scans.iter().map(ultrasound_view).collect(),
        flags,
        recorded_by: row.recorded_by.clone(),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        seen_by_mother: row.mother_seen_at.is_some(),
    })
}

/// Presentation of the fetus.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Presentation {
    Cephalic,
    Breech,
    Transverse,
    Oblique,
    Unknown,
}

/// Oedema extent: none, ankle (+), below the knee (++), thigh (+++), generalised (++++).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Oedema {
    None,
    Ankle,
    BelowKnee,
    Thigh,
    Generalised,
}

/// Symptoms asked about at each visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Symptom {
    VaginalBleeding,
    Headache,
    VisualDisturbance,
    ReducedFetalMovement,
    AbdominalPain,
    Nausea,
    Dizziness,
    Palpitations,
    Itching,
    Other,
}
