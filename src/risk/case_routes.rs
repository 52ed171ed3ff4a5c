//! High-risk cases: read, advanced stage by stage, a delivery institution designated by colour,
//! closed with a reason.

use crate::db::stored;
use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::case_store::{load_for_staff, view, CaseRow, CaseView, CloseReason};
use super::{
    cases::{self, Stage},
    engine::Colour,
};
use crate::http::{etag, IfMatch};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    org::rules::InstitutionLevel,
    pregnancy::store as pregnancy_store,
    state::AppState,
};

/// Read a case. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The case", body = CaseView),
    )
)]
#[get("/cases/{id}")]
pub async fn get_case(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let v = audit::read(&state.pool, ctx, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "case.read", "case")
            .resource(&id)
            .county(&c.county_code);
        Ok((view(conn, c)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The case of a pregnancy, if one was opened. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 404, description = "No case, or no such pregnancy in your scope", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pregnancies/{id}/case")]
pub async fn get_pregnancy_case(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let v = audit::read(&state.pool, ctx, move |conn| {
        let p = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let c: CaseRow = risk_cases::table
            .filter(risk_cases::pregnancy_id.eq(&id))
            .first(conn)?;
        let event = Event::new(&staff, "case.read", "case")
            .resource(&c.id)
            .county(&p.county_code);
        Ok((view(conn, c)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Advance a case to its next stage.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stage": "registered", "case_number": "HR-2026-0012"}))]
pub struct Advance {
    pub stage: Stage,
    /// High-risk register number (when registering).
    #[validate(length(min = 1, max = 40))]
    pub case_number: Option<String>,
    /// The clinician responsible (when registering); defaults to the caller.
    #[validate(length(max = 64))]
    pub responsible_clinician_id: Option<String>,
}

/// Move a case to the next stage (registered → reported → managed → treated). Skipping a stage
/// or going back answers 409; `managed` needs the delivery institution designated.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "ETag of the case as read")),
    request_body = Advance,
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 409, description = "Not the next stage, the case is closed, or no designation yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/stage")]
pub async fn advance_case_stage(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<Advance>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        if_match.check(c.version)?;
        advance(conn, &staff, &c, &input)?;
        Event::new(&staff, "case.advance", "case")
            .resource(&id)
            .county(&c.county_code)
            .detail(serde_json::json!({"stage": input.stage}))
            .record(conn, &ctx)?;
        let c: CaseRow = risk_cases::table.find(&id).first(conn)?;
        Ok(view(conn, c)?)
    })
    .await?;
    Ok(respond(v))
}

/// Moves a case to its next stage in one guarded UPDATE (the stage's own columns, the stage,
/// the version): 409 for a stage out of order or a case managed before its delivery institution
/// is designated, 412 if anyone changed the case since it was read.
fn advance(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    c: &CaseRow,
    input: &Advance,
) -> Result<(), AppError> {
    let current: Stage = stored::from_text("risk_cases.stage", &c.stage)?;
    if current.next() != Some(input.stage) {
        return Err(AppError::conflict(
            Code::IllegalTransition,
            format!(
                "a {} case moves to {} next, not {}",
                current.as_str(),
                current.next().map_or("nothing (close it)", Stage::as_str),
                input.stage.as_str()
            ),
        ));
    }
    if input.stage == Stage::Managed && c.planned_delivery_institution_id.is_none() {
        return Err(AppError::conflict(
            Code::DesignationRequired,
            "designate the delivery institution before managing the case",
        ));
    }
    let now = Utc::now().naive_utc();
    let by = Some(staff.id.clone());
    // One guarded UPDATE: the stage's own columns, the stage, the version. It changes
    // nothing if anyone changed the case since it was read (412, as for every record).
    let target = risk_cases::table
        .find(&c.id)
        .filter(risk_cases::version.eq(c.version));
    let moved = (
        risk_cases::stage.eq(input.stage.as_str()),
        risk_cases::version.eq(c.version + 1),
        risk_cases::updated_at.eq(now),
    );
    let changed = match input.stage {
        Stage::Registered => {
            let number = input
                .case_number
                .clone()
                .unwrap_or_else(|| format!("HR-{}-{}", c.county_code, &c.id[..8]));
            let responsible = input
                .responsible_clinician_id
                .clone()
                .unwrap_or_else(|| staff.id.clone());
            let active: i64 = staff_accounts::table
                .filter(staff_accounts::id.eq(&responsible))
                .filter(staff_accounts::disabled.eq(false))
                .count()
                .get_result(conn)?;
            if active == 0 {
                return Err(AppError::invalid_field(
                    "/responsible_clinician_id",
                    "not_found",
                    "no active staff account has this id",
                ));
            }
            diesel::update(target)
                .set((
                    moved,
                    risk_cases::registered_at.eq(now),
                    risk_cases::registered_by.eq(by),
                    risk_cases::case_number.eq(number),
                    risk_cases::responsible_clinician_id.eq(responsible),
                ))
                .execute(conn)?
        }
        Stage::Reported => diesel::update(target)
            .set((
                moved,
                risk_cases::reported_at.eq(now),
                risk_cases::reported_by.eq(by),
            ))
            .execute(conn)?,
        Stage::Managed => diesel::update(target)
            .set((
                moved,
                risk_cases::managed_at.eq(now),
                risk_cases::managed_by.eq(by),
            ))
            .execute(conn)?,
        Stage::Treated => diesel::update(target)
            .set((
                moved,
                risk_cases::treated_at.eq(now),
                risk_cases::treated_by.eq(by),
            ))
            .execute(conn)?,
        Stage::Discovered | Stage::Closed => 0,
    };
    if changed == 0 {
        return Err(current_version(conn, &c.id));
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"institution_id": "0192f0c4-0000-7000-8000-0000000000c1"}))]
pub struct Designation {
    #[validate(length(min = 1, max = 64))]
    pub institution_id: String,
}

/// Designate where she is to deliver. Orange and above: a tertiary hospital or critical-care
/// centre; red: a critical-care centre; a lower level is refused with the rule.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "ETag of the case as read")),
    request_body = Designation,
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown institution, or its level does not fit the colour", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/designation")]
pub async fn designate_case(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<Designation>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let target = body.0.institution_id;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        if c.stage == "closed" {
            return Err(AppError::conflict(Code::CaseClosed, "the case is closed"));
        }
        if_match.check(c.version)?;
        let level: Option<String> = institutions::table
            .find(&target)
            .select(institutions::level)
            .first(conn)
            .optional()?;
        let level: InstitutionLevel =
            stored::from_text_opt("institutions.level", level.as_deref())?.ok_or_else(|| {
                AppError::invalid_field(
                    "/institution_id",
                    "not_found",
                    "no institution has this id",
                )
            })?;
        let base: Colour = stored::from_text("risk_cases.current_base", &c.current_base)?;
        cases::check_designation(base, level).map_err(|rule| {
            AppError::invalid_field("/institution_id", "designation_level", rule)
        })?;
        let changed = diesel::update(
            risk_cases::table
                .find(&id)
                .filter(risk_cases::version.eq(c.version)),
        )
        .set((
            risk_cases::planned_delivery_institution_id.eq(&target),
            risk_cases::version.eq(c.version + 1),
            risk_cases::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(current_version(conn, &id));
        }
        Event::new(&staff, "case.designate", "case")
            .resource(&id)
            .county(&c.county_code)
            .detail(serde_json::json!({"institution_id": target}))
            .record(conn, &ctx)?;
        let c: CaseRow = risk_cases::table.find(&id).first(conn)?;
        Ok(view(conn, c)?)
    })
    .await?;
    Ok(respond(v))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "postpartum_42_days", "note": "母婴平安"}))]
pub struct CloseCase {
    pub reason: CloseReason,
    #[validate(length(max = 2000))]
    pub note: Option<String>,
}

/// Close a case with its reason. A maternal death or near-miss is flagged for review.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id"), ("If-Match" = String, Header, description = "ETag of the case as read")),
    request_body = CloseCase,
    responses(
        (status = 200, description = "Closed", body = CaseView),
        (status = 409, description = "Already closed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/close")]
pub async fn close_case(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<CloseCase>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        if c.stage == "closed" {
            return Err(AppError::conflict(
                Code::CaseClosed,
                "the case is already closed",
            ));
        }
        if_match.check(c.version)?;
        let now = Utc::now().naive_utc();
        let reason = crate::db::stored::to_text(&input.reason);
        let changed = diesel::update(
            risk_cases::table
                .find(&id)
                .filter(risk_cases::version.eq(c.version)),
        )
        .set((
            risk_cases::stage.eq("closed"),
            risk_cases::closed_at.eq(now),
            risk_cases::closed_by.eq(&staff.id),
            risk_cases::close_reason.eq(&reason),
            risk_cases::close_note.eq(&input.note),
            risk_cases::flagged_for_review.eq(matches!(
                input.reason,
                CloseReason::MaternalDeath | CloseReason::NearMiss
            )),
            risk_cases::version.eq(c.version + 1),
            risk_cases::updated_at.eq(now),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(current_version(conn, &id));
        }
        Event::new(&staff, "case.close", "case")
            .resource(&id)
            .county(&c.county_code)
            .detail(serde_json::json!({"reason": reason}))
            .record(conn, &ctx)?;
        let c: CaseRow = risk_cases::table.find(&id).first(conn)?;
        Ok(view(conn, c)?)
    })
    .await?;
    Ok(respond(v))
}

/// A changed case with its version as the ETag. (A read answers without it: fields such as
/// `report_overdue` move with time and follow-ups without a new version, so a GET's ETag is the
/// digest of what it shows, and `If-Match` names `"v<version>"` from the body.)
fn respond(view: CaseView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag(view.version)))
        .json(view)
}

/// 412 naming the version the case has now (it moved on after it was read).
fn current_version(conn: &mut DbConn, id: &str) -> AppError {
    match risk_cases::table
        .find(id)
        .select(risk_cases::version)
        .first::<i64>(conn)
    {
        Ok(current_version) => AppError::PreconditionFailed { current_version },
        Err(e) => e.into(),
    }
}
