//! Nutrition-pack endpoints: the child's programme state, consent and other events, monthly
//! distribution taking stock first-expiry-first-out (idempotent on retry), and village stock.

use actix_web::{get, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::distributions::period_open;
use super::rules::{self, Evaluation, Event, EventKind};
use crate::{
    audit::{self, Event as Audit},
    auth::{
        roles::{CareProvider, RecordReader},
        Staff,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{extract::not_future, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

fn history(conn: &mut DbConn, child_id: &str) -> QueryResult<Vec<Event>> {
    let rows: Vec<(String, NaiveDate, Option<i32>, Option<bool>)> = nutrition_events::table
        .filter(nutrition_events::child_id.eq(child_id))
        .order((
            nutrition_events::event_date.asc(),
            nutrition_events::id.asc(),
        ))
        .select((
            nutrition_events::kind,
            nutrition_events::event_date,
            nutrition_events::sachets,
            nutrition_events::suitable,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, date, sachets, suitable)| {
            event_kind(&kind, sachets, suitable).map(|kind| Event { date, kind })
        })
        .collect()
}

/// A stored event's kind, as the rules know it; an unknown kind, an issue without its
/// sachets or a clearance without its decision is a corrupt record, not a silent default.
pub fn event_kind(
    kind: &str,
    sachets: Option<i32>,
    suitable: Option<bool>,
) -> QueryResult<EventKind> {
    let corrupt = |what: &str| {
        diesel::result::Error::DeserializationError(
            format!("nutrition_events: {what} for kind {kind:?}").into(),
        )
    };
    Ok(match kind {
        "consent" => EventKind::Consent,
        "medical_clearance" => EventKind::MedicalClearance {
            suitable: suitable.ok_or_else(|| corrupt("no decision"))?,
        },
        "issue" => EventKind::Issue {
            sachets: i64::from(sachets.ok_or_else(|| corrupt("no sachets"))?),
        },
        "withdraw" => EventKind::Withdraw,
        "moved_out" => EventKind::MovedOut,
        "died" => EventKind::Died,
        "legacy_stopped_at_24" => EventKind::LegacyStoppedAt24,
        _ => return Err(corrupt("an unknown kind")),
    })
}

pub(super) fn evaluate(
    conn: &mut DbConn,
    child_id: &str,
    birth: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Evaluation> {
    let needs: bool = nutrition_flags::table
        .find(child_id)
        .select(nutrition_flags::needs_medical_clearance)
        .first(conn)
        .optional()?
        .unwrap_or(false);
    Ok(rules::evaluate(
        birth,
        needs,
        &history(conn, child_id)?,
        today,
        &super::force_majeure::context_for_child(conn, child_id)?,
    ))
}

/// Where a child stands in the programme today (China Standard Time). Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    responses(
        (status = 200, description = "State, age, stop count, whether a pack may be issued today", body = Evaluation),
    )
)]
#[get("/children/{id}/nutrition")]
pub async fn get_child_nutrition(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let e = audit::read(&state.pool, ctx, move |conn| {
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        let event = Audit::new(&staff, "nutrition.read", "child")
            .resource(&id)
            .county(county);
        Ok((
            evaluate(conn, &id, birth, crate::time::china_today())?,
            event,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(e))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordedKind {
    /// Informed consent signed by the carer (知情同意书).
    Consent,
    /// A doctor's decision for a child with a special condition (e.g. thalassaemia).
    MedicalClearance,
    Withdraw,
    MovedOut,
    Died,
    /// From a paper register: the child stopped at 24 months under the old 6–24-month rule
    /// (nutrition-pack.md E5). It may re-enter to 36 months if it was under 30 months on
    /// 2020-04-01, and is refused `legacy_reentry_not_allowed` otherwise.
    #[serde(rename = "legacy_stopped_at_24")]
    LegacyStoppedAt24,
}

/// A dated programme event.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "consent", "date": "2026-11-20", "signed_by": "王芳（母亲）", "consent_form": "paper", "detail": "知情同意书存档"}))]
pub struct NewEvent {
    pub kind: RecordedKind,
    #[validate(custom(function = "not_future"))]
    pub date: NaiveDate,
    /// For `medical_clearance`: whether the pack is suitable.
    pub suitable: Option<bool>,
    /// Who signed and how, the doctor's note …
    #[validate(length(max = 1000))]
    pub detail: Option<String>,
    /// With `medical_clearance`: the child has a condition that needs clearance before packs.
    #[validate(length(max = 100))]
    pub condition: Option<String>,
    /// With `consent` (required): who gave it — the carer's name and relation to the child.
    #[validate(length(min = 1, max = 100))]
    pub signed_by: Option<String>,
    /// With `consent` (required): how it was given.
    pub consent_form: Option<ConsentForm>,
}

/// How the carer gave informed consent.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentForm {
    /// Signed paper form (知情同意书), kept at the clinic.
    Paper,
    /// Signed on a device.
    Electronic,
    /// Thumbprint on the paper form, read aloud to the carer.
    Thumbprint,
}

/// Record consent, a medical clearance, a withdrawal, a move or a death. Returns the new state.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    request_body = NewEvent,
    responses(
        (status = 201, description = "Recorded; the state after it", body = Evaluation),
        (status = 422, description = "Invalid fields (a future date, a clearance without its decision, a date before birth)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/nutrition/events")]
pub async fn record_nutrition_event(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewEvent>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let mut missing = Vec::new();
    if input.kind == RecordedKind::MedicalClearance && input.suitable.is_none() {
        missing.push(("/suitable", "the doctor's decision is required"));
    }
    if input.kind == RecordedKind::Consent {
        if input.signed_by.is_none() {
            missing.push(("/signed_by", "who gave consent is required"));
        }
        if input.consent_form.is_none() {
            missing.push(("/consent_form", "how consent was given is required"));
        }
    }
    if !missing.is_empty() {
        return Err(AppError::Validation(
            missing
                .into_iter()
                .map(|(f, m)| crate::error::FieldError::new(f, "required", m))
                .collect(),
        ));
    }
    // Consent is kept as a structured record: who, how, and the note.
    let detail = if input.kind == RecordedKind::Consent {
        Some(
            serde_json::json!({
                "signed_by": input.signed_by,
                "consent_form": input.consent_form,
                "note": input.detail,
            })
            .to_string(),
        )
    } else {
        input.detail.clone()
    };
    let staff = staff.principal;
    let e = db::run_tx(&state.pool, move |conn| {
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        period_open(conn, &staff.institution_id, input.date)?;
        if input.date < birth {
            return Err(AppError::invalid_field(
                "/date",
                "before_birth",
                "is before the child's birth",
            ));
        }
        let kind = crate::db::stored::to_text(&input.kind);
        diesel::insert_into(nutrition_events::table)
            .values((
                nutrition_events::id.eq(uuid::Uuid::now_v7().to_string()),
                nutrition_events::child_id.eq(&id),
                nutrition_events::county_code.eq(&county),
                nutrition_events::institution_id.eq(&staff.institution_id),
                nutrition_events::kind.eq(&kind),
                nutrition_events::event_date.eq(input.date),
                nutrition_events::suitable.eq(input.suitable),
                nutrition_events::detail.eq(&detail),
                nutrition_events::recorded_by.eq(&staff.id),
                nutrition_events::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        if input.kind == RecordedKind::MedicalClearance || input.condition.is_some() {
            let now = Utc::now().naive_utc();
            let upsert = diesel::insert_into(nutrition_flags::table)
                .values((
                    nutrition_flags::child_id.eq(&id),
                    nutrition_flags::county_code.eq(&county),
                    nutrition_flags::needs_medical_clearance.eq(true),
                    nutrition_flags::condition.eq(&input.condition),
                    nutrition_flags::registered_poor.eq(false),
                    nutrition_flags::relocation_site.eq(false),
                    nutrition_flags::updated_at.eq(now),
                ))
                .on_conflict(nutrition_flags::child_id)
                .do_update()
                .set((
                    nutrition_flags::needs_medical_clearance.eq(true),
                    nutrition_flags::condition.eq(&input.condition),
                    nutrition_flags::updated_at.eq(now),
                ));
            crate::execute_on_backend!(conn, upsert)?;
        }
        Audit::new(&staff, "nutrition.event", "child")
            .resource(&id)
            .county(&county)
            .detail(serde_json::json!({"kind": kind}))
            .record(conn, &ctx)?;
        Ok(evaluate(conn, &id, birth, crate::time::china_today())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(e))
}
