//! How a pregnancy ends: a delivery (which creates the children's records) or another outcome.

use crate::error::Code;
use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::routes::{respond, MAX_GA_DAYS};
use super::{
    dating::{self},
    store::{self, PregnancyRow, PregnancyStatus, PregnancyView},
};
use crate::{
    audit::Event,
    auth::{roles::Clinical, Staff, StaffPrincipal},
    db::{self, schema::*, stored, DbConn},
    error::{AppError, Problem},
    http::{IfMatch, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Miscarriage,
    Termination,
    Ectopic,
    Molar,
    Stillbirth,
    MaternalDeath,
    LostToFollowUp,
    Other,
}

/// A pregnancy that ended without a live delivery recorded here.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "miscarriage", "ended_on": "2026-10-02"}))]
pub struct EndPregnancy {
    pub reason: EndReason,
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub ended_on: NaiveDate,
    #[validate(length(max = 500))]
    pub note: Option<String>,
}

/// End a pregnancy (miscarriage, termination, ectopic …).
///
/// Who: clinicians.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id"), ("If-Match" = String, Header, description = "ETag being replaced")),
    request_body = EndPregnancy,
    responses(
        (status = 200, description = "Ended", body = PregnancyView, headers(("ETag" = String))),
        (status = 409, description = "Not ongoing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pregnancies/{id}/end")]
pub async fn end_pregnancy(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<EndPregnancy>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let input = body.0;
    if input.ended_on > crate::time::china_today() {
        return Err(AppError::invalid_field(
            "/ended_on",
            "future",
            "cannot be in the future",
        ));
    }
    let row = db::run_tx(&state.pool, move |conn| {
        let old = store::load_for_staff(conn, &staff, &id)?;
        if_match.check(old.version)?;
        if old.status != "ongoing" {
            return Err(AppError::conflict(
                Code::PregnancyNotOngoing,
                "the pregnancy has already ended",
            ));
        }
        if input.ended_on < old.registration_date - chrono::Duration::days(MAX_GA_DAYS) {
            return Err(AppError::invalid_field(
                "/ended_on",
                "range",
                "before the pregnancy began",
            ));
        }
        let mut row = old.clone();
        row.status = stored::to_text(&PregnancyStatus::Ended);
        row.end_reason = Some(stored::to_text(&input.reason));
        row.ended_on = Some(input.ended_on);
        let row = store::save_version(conn, &old, row, &staff.id, input.note)?;
        Event::new(&staff, "pregnancy.end", "pregnancy")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        Ok(row.view(conn)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), row))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    Vaginal,
    Assisted,
    Caesarean,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Undetermined,
}

/// A baby born in this delivery.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Newborn {
    pub sex: Sex,
    #[validate(length(min = 1, max = 50))]
    pub name: Option<String>,
    #[validate(range(min = 300, max = 7000))]
    pub birth_weight_g: Option<i32>,
    #[validate(range(min = 20.0, max = 65.0))]
    pub birth_length_cm: Option<f64>,
}

/// The delivery record; it creates the child records.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"delivered_at": "2026-11-20T06:40:00Z", "mode": "vaginal", "blood_loss_ml": 250,
    "maternal_outcome": "good", "newborns": [{"sex": "female", "birth_weight_g": 3200, "birth_length_cm": 50.0}]}))]
pub struct Delivery {
    pub delivered_at: DateTime<Utc>,
    pub mode: DeliveryMode,
    /// Defaults to the caller's institution.
    #[validate(length(max = 64))]
    pub institution_id: Option<String>,
    #[validate(range(min = 0, max = 10000))]
    pub blood_loss_ml: Option<i32>,
    #[validate(length(max = 500))]
    pub maternal_outcome: Option<String>,
    #[validate(length(min = 1, max = 6), nested)]
    pub newborns: Vec<Newborn>,
}

/// Record the delivery: the pregnancy becomes `delivered` and a child record is created for each
/// newborn, linked to the mother's handbook.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id"), ("If-Match" = String, Header, description = "ETag being replaced")),
    request_body = Delivery,
    responses(
        (status = 200, description = "Delivered", body = PregnancyView, headers(("ETag" = String))),
        (status = 409, description = "Not ongoing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pregnancies/{id}/delivery")]
pub async fn record_delivery(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<Delivery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let input = body.0;
    if input.delivered_at > Utc::now()
        || input.delivered_at.date_naive() < crate::http::extract::earliest_date()
    {
        return Err(AppError::invalid_field(
            "/delivered_at",
            "range",
            "must be between 1900 and now",
        ));
    }
    let row = db::run_tx(&state.pool, move |conn| {
        let old = store::load_for_staff(conn, &staff, &id)?;
        if_match.check(old.version)?;
        if old.status != "ongoing" {
            return Err(AppError::conflict(
                Code::PregnancyNotOngoing,
                "the pregnancy has already ended",
            ));
        }
        let born_on = crate::time::china_date(input.delivered_at);
        let ga = dating::ga_on(old.edd, born_on);
        if !(20 * 7..=MAX_GA_DAYS).contains(&ga.days()) {
            return Err(AppError::invalid_field(
                "/delivered_at",
                "range",
                format!("gives a gestational age of {ga}; expected 20+0 to 44+0"),
            ));
        }
        let institution = input
            .institution_id
            .clone()
            .unwrap_or_else(|| staff.institution_id.clone());
        let exists: i64 = institutions::table
            .find(&institution)
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(AppError::invalid_field(
                "/institution_id",
                "not_found",
                "no institution has this id",
            ));
        }
        let mut row = old.clone();
        row.status = stored::to_text(&PregnancyStatus::Delivered);
        row.delivered_at = Some(input.delivered_at.naive_utc());
        row.delivery_ga_days = Some(ga.days() as i32);
        row.delivery_mode = Some(stored::to_text(&input.mode));
        row.delivery_institution_id = Some(institution.clone());
        row.blood_loss_ml = input.blood_loss_ml;
        row.maternal_outcome = input.maternal_outcome.clone();
        let row =
            store::save_version(conn, &old, row, &staff.id, Some("delivery recorded".into()))?;
        add_newborns(
            conn,
            &staff,
            &row,
            &input,
            ga.days() as i32,
            &institution,
            &ctx,
        )?;
        // The village clinic of the family's village now serves the newborns (nutrition packs).
        scope::sync_residence(conn, &row.handbook_id)?;
        Event::new(&staff, "pregnancy.deliver", "pregnancy")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        Ok(row.view(conn)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), row))
}

/// A child record for each newborn of the delivery, on the mother's handbook (audited).
fn add_newborns(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    row: &PregnancyRow,
    input: &Delivery,
    ga_days: i32,
    institution: &str,
    ctx: &RequestCtx,
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    for baby in &input.newborns {
        let child_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(children::table)
            .values((
                children::id.eq(&child_id),
                children::handbook_id.eq(&row.handbook_id),
                children::pregnancy_id.eq(&row.id),
                children::county_code.eq(&row.county_code),
                children::name.eq(&baby.name),
                children::sex.eq(stored::to_text(&baby.sex)),
                children::born_at.eq(input.delivered_at.naive_utc()),
                children::birth_weight_g.eq(baby.birth_weight_g),
                children::birth_length_cm.eq(baby.birth_length_cm),
                children::ga_at_birth_days.eq(ga_days),
                children::birth_institution_id.eq(institution),
                children::created_by.eq(&staff.id),
                children::created_at.eq(now),
                children::updated_at.eq(now),
            ))
            .execute(conn)?;
        Event::new(staff, "child.create", "child")
            .resource(&child_id)
            .county(&row.county_code)
            .record(conn, ctx)?;
    }
    Ok(())
}
