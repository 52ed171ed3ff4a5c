//! Checkup endpoints: record a visit, attach lab results and ultrasounds, correct with history.

use crate::db::stored;
use crate::error::Code;
use crate::http::pagination::Page;
use actix_web::{get, http::header, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::{
    flags::Dipstick,
    store::{self, CheckupRow, CheckupView, Oedema, Presentation, Symptom},
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{etag, RequestCtx, ValidJson},
    pregnancy::{dating, store as pregnancy_store},
    scope::{self, Grant},
    state::AppState,
};

fn heart_rates(rates: &[i32]) -> Result<(), ValidationError> {
    if rates.len() <= 6 && rates.iter().all(|r| (50..=240).contains(r)) {
        Ok(())
    } else {
        let mut e = ValidationError::new("range");
        e.message = Some("up to 6 rates, each 50 to 240 beats per minute".into());
        Err(e)
    }
}

/// The values of a visit (产检). Every field but the date is optional: record what was measured.
#[derive(Debug, Clone, Deserialize, Serialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "visit_date": "2026-11-20", "weight_kg": 58.5, "bp_systolic": 118, "bp_diastolic": 76,
    "fundal_height_cm": 24.0, "abdominal_circumference_cm": 88.0, "fetal_heart_rates": [142],
    "fetal_presentation": "cephalic", "oedema": "none", "urine_protein": "negative", "urine_glucose": "negative",
    "symptoms": [], "complaints": "偶有腰酸", "advice": "注意休息，均衡饮食", "next_appointment": "2026-12-18"
}))]
pub struct CheckupInput {
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub visit_date: NaiveDate,
    #[validate(range(min = 30.0, max = 250.0))]
    pub weight_kg: Option<f64>,
    /// mmHg.
    #[validate(range(min = 60, max = 260))]
    pub bp_systolic: Option<i32>,
    /// mmHg.
    #[validate(range(min = 30, max = 160))]
    pub bp_diastolic: Option<i32>,
    #[validate(range(min = 5.0, max = 50.0))]
    pub fundal_height_cm: Option<f64>,
    #[validate(range(min = 50.0, max = 160.0))]
    pub abdominal_circumference_cm: Option<f64>,
    /// One rate per fetus, beats per minute.
    #[serde(default)]
    #[validate(custom(function = "heart_rates"))]
    pub fetal_heart_rates: Vec<i32>,
    pub fetal_presentation: Option<Presentation>,
    pub oedema: Option<Oedema>,
    pub urine_protein: Option<Dipstick>,
    pub urine_glucose: Option<Dipstick>,
    #[serde(default)]
    #[validate(length(max = 10))]
    pub symptoms: Vec<Symptom>,
    #[validate(length(max = 1000))]
    pub complaints: Option<String>,
    #[validate(length(max = 2000))]
    pub advice: Option<String>,
    pub next_appointment: Option<NaiveDate>,
    /// Why a recorded visit is corrected: required when amending.
    #[validate(length(min = 1, max = 500))]
    pub reason: Option<String>,
}

impl CheckupInput {
    /// The values as recorded: what a correction starts from.
    pub(super) fn recorded(view: &CheckupView) -> CheckupInput {
        CheckupInput {
            visit_date: view.visit_date,
            weight_kg: view.weight_kg,
            bp_systolic: view.bp_systolic,
            bp_diastolic: view.bp_diastolic,
            fundal_height_cm: view.fundal_height_cm,
            abdominal_circumference_cm: view.abdominal_circumference_cm,
            fetal_heart_rates: view.fetal_heart_rates.clone(),
            fetal_presentation: view.fetal_presentation,
            oedema: view.oedema,
            urine_protein: view.urine_protein,
            urine_glucose: view.urine_glucose,
            symptoms: view.symptoms.clone(),
            complaints: view.complaints.clone(),
            advice: view.advice.clone(),
            next_appointment: view.next_appointment,
            reason: None,
        }
    }
}

/// Checks across fields and against the pregnancy; returns the gestational age at the visit.
pub(super) fn check(input: &CheckupInput, edd: NaiveDate) -> Result<i32, AppError> {
    let mut errors = Vec::new();
    let today = crate::time::china_today();
    if input.visit_date > today {
        errors.push(FieldError::new(
            "/visit_date",
            "future",
            "cannot be in the future",
        ));
    }
    let ga = dating::ga_on(edd, input.visit_date);
    if !(0..=44 * 7).contains(&ga.days()) {
        errors.push(FieldError::new(
            "/visit_date",
            "range",
            format!("gives a gestational age of {ga}; expected 0+0 to 44+0"),
        ));
    }
    match (input.bp_systolic, input.bp_diastolic) {
        (Some(s), Some(d)) if s <= d => {
            errors.push(FieldError::new(
                "/bp_diastolic",
                "range",
                "must be lower than the systolic pressure",
            ));
        }
        (Some(_), None) => errors.push(FieldError::new(
            "/bp_diastolic",
            "required",
            "give both pressures",
        )),
        (None, Some(_)) => errors.push(FieldError::new(
            "/bp_systolic",
            "required",
            "give both pressures",
        )),
        _ => {}
    }
    if input
        .next_appointment
        .is_some_and(|n| n <= input.visit_date)
    {
        errors.push(FieldError::new(
            "/next_appointment",
            "range",
            "must be after the visit",
        ));
    }
    if errors.is_empty() {
        Ok(ga.days() as i32)
    } else {
        Err(AppError::Validation(errors))
    }
}

pub(super) fn apply(row: &mut CheckupRow, input: &CheckupInput, ga_days: i32) {
    row.visit_date = input.visit_date;
    row.ga_days = ga_days;
    row.weight_kg = input.weight_kg;
    row.bp_systolic = input.bp_systolic;
    row.bp_diastolic = input.bp_diastolic;
    row.fundal_height_cm = input.fundal_height_cm;
    row.abdominal_circumference_cm = input.abdominal_circumference_cm;
    row.fetal_heart_rates = (!input.fetal_heart_rates.is_empty()).then(|| {
        input
            .fetal_heart_rates
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    });
    row.fetal_presentation = input.fetal_presentation.as_ref().map(stored::to_text);
    row.oedema = input.oedema.as_ref().map(stored::to_text);
    row.urine_protein = input.urine_protein.map(|d| d.as_str().to_string());
    row.urine_glucose = input.urine_glucose.map(|d| d.as_str().to_string());
    row.symptoms = (!input.symptoms.is_empty()).then(|| {
        input
            .symptoms
            .iter()
            .map(stored::to_text)
            .collect::<Vec<_>>()
            .join(",")
    });
    row.complaints = input.complaints.clone();
    row.advice = input.advice.clone();
    row.next_appointment = input.next_appointment;
}

pub(super) fn respond(
    builder: &mut actix_web::HttpResponseBuilder,
    view: CheckupView,
) -> HttpResponse {
    builder
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// Record a checkup for an ongoing pregnancy. The answer carries the computed flags.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Pregnancy id")),
    request_body = CheckupInput,
    responses(
        (status = 201, description = "Recorded, with flags", body = CheckupView, headers(("ETag" = String))),
        (status = 409, description = "The pregnancy is not ongoing", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or implausible values (each field named)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pregnancies/{id}/checkups")]
pub async fn record_checkup(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<CheckupInput>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let pregnancy_id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let view = db::run_tx(&state.pool, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &pregnancy_id)?;
        if pregnancy.status != "ongoing" {
            return Err(AppError::conflict(
                Code::PregnancyNotOngoing,
                "checkups are recorded for ongoing pregnancies",
            ));
        }
        let ga_days = check(&input, pregnancy.edd)?;
        let now = Utc::now().naive_utc();
        let mut row = CheckupRow {
            id: uuid::Uuid::now_v7().to_string(),
            pregnancy_id: pregnancy.id.clone(),
            handbook_id: pregnancy.handbook_id.clone(),
            county_code: pregnancy.county_code.clone(),
            institution_id: staff.institution_id.clone(),
            version: 1,
            visit_date: input.visit_date,
            ga_days,
            weight_kg: None,
            bp_systolic: None,
            bp_diastolic: None,
            fundal_height_cm: None,
            abdominal_circumference_cm: None,
            fetal_heart_rates: None,
            fetal_presentation: None,
            oedema: None,
            urine_protein: None,
            urine_glucose: None,
            symptoms: None,
            complaints: None,
            advice: None,
            next_appointment: None,
            recorded_by: staff.id.clone(),
            created_at: now,
            updated_at: now,
            mother_seen_at: None,
        };
        apply(&mut row, &input, ga_days);
        diesel::insert_into(checkups::table)
            .values(&row)
            .execute(conn)?;
        scope::grant(
            conn,
            &row.handbook_id,
            &staff.institution_id,
            &row.county_code,
            Grant::Checkup,
            None,
        )?;
        Event::new(&staff, "checkup.create", "checkup")
            .resource(&row.id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        crate::risk::record::refresh_regrading_flag(conn, &row.pregnancy_id)?;
        Ok(store::view_of_new(conn, &row, pregnancy.fetal_count)?)
    })
    .await?;
    let location = format!("/api/v1/checkups/{}", view.id);
    Ok(respond(
        HttpResponse::Created().insert_header((header::LOCATION, location)),
        view,
    ))
}

/// The checkups of a pregnancy, by visit date. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "Checkups with flags", body = Page<CheckupView>),
    )
)]
#[get("/pregnancies/{id}/checkups")]
pub async fn list_checkups(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let pregnancy_id = path.into_inner();
    let staff = staff.principal;
    let views = audit::read(&state.pool, ctx, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &pregnancy_id)?;
        let event = Event::new(&staff, "checkup.list", "pregnancy")
            .resource(&pregnancy_id)
            .county(&pregnancy.county_code);
        let rows: Vec<CheckupRow> = checkups::table
            .filter(checkups::pregnancy_id.eq(&pregnancy_id))
            .order((checkups::visit_date.asc(), checkups::id.asc()))
            .load(conn)?;
        let views = rows
            .iter()
            .map(|r| store::view(conn, r))
            .collect::<QueryResult<Vec<_>>>()?;
        Ok((views, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(views)))
}

/// A checkup in the caller's scope; 404 otherwise.
pub(super) fn load_for_staff(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<CheckupRow, AppError> {
    let row: CheckupRow = checkups::table.find(id).first(conn)?;
    scope::staff_scope(conn, staff, &row.handbook_id)?;
    Ok(row)
}

/// Only the institution that recorded a visit corrects it or adds results to it.
pub(super) fn require_own(staff: &StaffPrincipal, row: &CheckupRow) -> Result<(), AppError> {
    if row.institution_id == staff.institution_id {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Read a checkup with its results and flags. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Checkup id")),
    responses(
        (status = 200, description = "The checkup", body = CheckupView, headers(("ETag" = String))),
    )
)]
#[get("/checkups/{id}")]
pub async fn get_checkup(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let view = audit::read(&state.pool, ctx, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "checkup.read", "checkup")
            .resource(&id)
            .county(&row.county_code);
        Ok((store::view(conn, &row)?, event))
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), view))
}
