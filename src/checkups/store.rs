//! Checkup rows and views, and the flags computed from a visit, its lab results and the record.

use crate::db::stored;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::visit_flags::{
    compute_flags, fetal_heart_rates, symptoms, tests_done, CheckupFlags, FlagContext,
};
use super::{flags::Dipstick, labs::LabTest};
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
