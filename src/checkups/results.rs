//! Results that arrive after the visit: laboratory results and ultrasound scans, added to a
//! recorded checkup (the mother sees them at once, unread until she opens them).

use crate::db::stored;
use actix_web::{post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::routes::{load_for_staff, require_own, respond};
use super::{
    labs::{Kind, LabTest},
    store::{self, CheckupView},
};
use crate::{
    audit::Event,
    auth::{roles::Clinical, Staff},
    db::{self, schema::*},
    error::{AppError, FieldError, Problem},
    http::{RequestCtx, ValidJson},
    state::AppState,
};

/// One result: `value` for numeric tests, `result` for the others.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabInput {
    pub test: LabTest,
    pub value: Option<f64>,
    #[validate(length(min = 1, max = 20))]
    pub result: Option<String>,
}

/// Results reported by the laboratory (often the same afternoon).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"results": [{"test": "hb", "value": 102}, {"test": "ogtt_0h", "value": 4.6},
    {"test": "ogtt_1h", "value": 10.2}, {"test": "ogtt_2h", "value": 7.9}, {"test": "hbsag", "result": "negative"}]}))]
pub struct LabResults {
    #[validate(length(min = 1, max = 40), nested)]
    pub results: Vec<LabInput>,
}

fn check_labs(input: &LabResults) -> Result<(), AppError> {
    let mut errors = Vec::new();
    for (i, r) in input.results.iter().enumerate() {
        match (r.test.kind(), r.value, &r.result) {
            (Kind::Numeric { min, max, unit }, Some(v), None) => {
                if !(min..=max).contains(&v) || !v.is_finite() {
                    errors.push(FieldError::new(
                        format!("/results/{i}/value"),
                        "range",
                        format!("must be between {min} and {max} {unit}"),
                    ));
                }
            }
            (Kind::Numeric { .. }, _, _) => {
                errors.push(FieldError::new(
                    format!("/results/{i}/value"),
                    "required",
                    "a numeric value (and no `result`) is required",
                ));
            }
            (Kind::Choice(choices), None, Some(text)) => {
                if !choices.contains(&text.as_str()) {
                    errors.push(FieldError::new(
                        format!("/results/{i}/result"),
                        "choice",
                        format!("one of {}", choices.join(", ")),
                    ));
                }
            }
            (Kind::Choice(choices), _, _) => {
                errors.push(FieldError::new(
                    format!("/results/{i}/result"),
                    "required",
                    format!("one of {} (and no `value`)", choices.join(", ")),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Attach lab results to a visit. The mother sees them as soon as they are saved (unread until
/// she opens them); the visit's flags include them.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Checkup id")),
    request_body = LabResults,
    responses(
        (status = 201, description = "The checkup with its results and flags", body = CheckupView, headers(("ETag" = String))),
        (status = 403, description = "Only the recording institution's clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown test, or a value outside the plausible range (each named)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/checkups/{id}/labs")]
pub async fn add_checkup_labs(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<LabResults>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    check_labs(&input)?;
    let staff = staff.principal;
    let view = db::run_tx(&state.pool, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        require_own(&staff, &row)?;
        let now = Utc::now().naive_utc();
        for r in &input.results {
            let unit = match r.test.kind() {
                Kind::Numeric { unit, .. } => Some(unit.to_string()),
                Kind::Choice(_) => None,
            };
            diesel::insert_into(lab_results::table)
                .values((
                    lab_results::id.eq(uuid::Uuid::now_v7().to_string()),
                    lab_results::checkup_id.eq(&row.id),
                    lab_results::pregnancy_id.eq(&row.pregnancy_id),
                    lab_results::handbook_id.eq(&row.handbook_id),
                    lab_results::county_code.eq(&row.county_code),
                    lab_results::institution_id.eq(&staff.institution_id),
                    lab_results::test.eq(r.test.as_str()),
                    lab_results::value_num.eq(r.value),
                    lab_results::value_text.eq(&r.result),
                    lab_results::unit.eq(unit),
                    lab_results::ga_days.eq(row.ga_days),
                    lab_results::recorded_by.eq(&staff.id),
                    lab_results::recorded_at.eq(now),
                ))
                .execute(conn)?;
        }
        Event::new(&staff, "checkup.add_labs", "checkup")
            .resource(&id)
            .county(&row.county_code)
            .detail(serde_json::json!({"results": input.results.len()}))
            .record(conn, &ctx)?;
        crate::risk::record::refresh_regrading_flag(conn, &row.pregnancy_id)?;
        Ok(store::view(conn, &row)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Created(), view))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlacentaPosition {
    Anterior,
    Posterior,
    Fundal,
    Lateral,
    LowLying,
    Previa,
}

/// An ultrasound report for the visit (biometry in mm, EFW in g, AFI in cm).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"fetal_count": 1, "bpd_mm": 60.0, "hc_mm": 222.0, "ac_mm": 198.0, "fl_mm": 44.0,
    "efw_g": 690.0, "afi_cm": 14.0, "placenta_position": "posterior"}))]
pub struct UltrasoundInput {
    #[validate(range(min = 0, max = 6))]
    pub fetal_count: Option<i32>,
    #[validate(range(min = 1.0, max = 120.0))]
    pub crl_mm: Option<f64>,
    #[validate(range(min = 10.0, max = 120.0))]
    pub bpd_mm: Option<f64>,
    #[validate(range(min = 50.0, max = 400.0))]
    pub hc_mm: Option<f64>,
    #[validate(range(min = 40.0, max = 450.0))]
    pub ac_mm: Option<f64>,
    #[validate(range(min = 5.0, max = 90.0))]
    pub fl_mm: Option<f64>,
    #[validate(range(min = 50.0, max = 6500.0))]
    pub efw_g: Option<f64>,
    #[validate(range(min = 0.0, max = 50.0))]
    pub afi_cm: Option<f64>,
    pub placenta_position: Option<PlacentaPosition>,
    #[validate(length(max = 2000))]
    pub findings: Option<String>,
}

/// Attach an ultrasound report to a visit.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Checkup id")),
    request_body = UltrasoundInput,
    responses(
        (status = 201, description = "The checkup with the report", body = CheckupView, headers(("ETag" = String))),
        (status = 403, description = "Only the recording institution's clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Implausible measurements", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/checkups/{id}/ultrasounds")]
pub async fn add_checkup_ultrasound(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<UltrasoundInput>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let u = body.0;
    let staff = staff.principal;
    let view = db::run_tx(&state.pool, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        require_own(&staff, &row)?;
        let scan_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(ultrasounds::table)
            .values((
                ultrasounds::id.eq(&scan_id),
                ultrasounds::checkup_id.eq(&row.id),
                ultrasounds::pregnancy_id.eq(&row.pregnancy_id),
                ultrasounds::handbook_id.eq(&row.handbook_id),
                ultrasounds::county_code.eq(&row.county_code),
                ultrasounds::institution_id.eq(&staff.institution_id),
                ultrasounds::ga_days.eq(row.ga_days),
                ultrasounds::fetal_count.eq(u.fetal_count),
                ultrasounds::crl_mm.eq(u.crl_mm),
                ultrasounds::bpd_mm.eq(u.bpd_mm),
                ultrasounds::hc_mm.eq(u.hc_mm),
                ultrasounds::ac_mm.eq(u.ac_mm),
                ultrasounds::fl_mm.eq(u.fl_mm),
                ultrasounds::efw_g.eq(u.efw_g),
                ultrasounds::afi_cm.eq(u.afi_cm),
                ultrasounds::placenta_position
                    .eq(u.placenta_position.as_ref().map(stored::to_text)),
                ultrasounds::findings.eq(&u.findings),
                ultrasounds::recorded_by.eq(&staff.id),
                ultrasounds::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "checkup.add_ultrasound", "checkup")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        crate::risk::record::refresh_regrading_flag(conn, &row.pregnancy_id)?;
        Ok(store::view(conn, &row)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Created(), view))
}
