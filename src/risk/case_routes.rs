//! High-risk cases: opened by grading, advanced stage by stage, a delivery institution designated
//! by colour, reminder notices the mother acknowledges, closed with a reason; the county registry.

use crate::db::stored;
use crate::error::Code;
use actix_web::{get, http::header, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::{
    cases::{self, Stage},
    engine::{self, Colour},
};
use crate::{
    audit::{self, Actor, Event},
    auth::{
        principal::Principal,
        roles::{Clinical, RecordReader},
        FamilyCaller, Role, Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    handbook::access::{self, Relation},
    http::{RequestCtx, ValidJson, ValidQuery},
    org::rules::InstitutionLevel,
    pregnancy::{dating, store as pregnancy_store},
    state::AppState,
};

#[derive(Debug, Clone, Queryable)]
pub struct CaseRow {
    pub id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub opened_by_grading_id: String,
    pub current_base: String,
    pub current_purple: bool,
    pub highest_base: String,
    pub stage: String,
    pub case_number: Option<String>,
    pub responsible_clinician_id: Option<String>,
    pub planned_delivery_institution_id: Option<String>,
    pub discovered_at: NaiveDateTime,
    pub report_due_at: NaiveDateTime,
    pub registered_at: Option<NaiveDateTime>,
    pub registered_by: Option<String>,
    pub reported_at: Option<NaiveDateTime>,
    pub reported_by: Option<String>,
    pub managed_at: Option<NaiveDateTime>,
    pub managed_by: Option<String>,
    pub treated_at: Option<NaiveDateTime>,
    pub treated_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    pub flagged_for_review: bool,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// A stage reached: when and by whom.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageMark {
    pub stage: Stage,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

/// A high-risk case (专案).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub case_number: Option<String>,
    pub colour: String,
    pub highest_base_colour: Colour,
    pub stage: Stage,
    /// Every stage reached, in order.
    pub stages: Vec<StageMark>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub report_due_at: DateTime<Utc>,
    /// Not reported by the deadline (still unreported, or reported late).
    pub report_overdue: bool,
    /// The follow-up due date set at the latest follow-up.
    pub next_followup_due: Option<chrono::NaiveDate>,
    /// That date has passed without a newer follow-up.
    pub followup_overdue: bool,
    /// The woman's latest antenatal visit window closed without a checkup.
    pub visit_overdue: bool,
    /// Any of the three above (the case is open).
    pub overdue: bool,
    pub responsible_clinician_id: Option<String>,
    pub planned_delivery_institution_id: Option<String>,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    /// Maternal death or near-miss: for review.
    pub flagged_for_review: bool,
    pub open_notices_unacknowledged: i64,
}

fn view(conn: &mut DbConn, c: CaseRow) -> QueryResult<CaseView> {
    let base: Colour = stored::from_text("risk_cases.current_base", &c.current_base)?;
    let marks = [
        (Stage::Discovered, Some(c.discovered_at), None),
        (Stage::Registered, c.registered_at, c.registered_by.clone()),
        (Stage::Reported, c.reported_at, c.reported_by.clone()),
        (Stage::Managed, c.managed_at, c.managed_by.clone()),
        (Stage::Treated, c.treated_at, c.treated_by.clone()),
        (Stage::Closed, c.closed_at, c.closed_by.clone()),
    ];
    let unacknowledged: i64 = risk_notices::table
        .filter(risk_notices::case_id.eq(&c.id))
        .filter(risk_notices::acknowledged_at.is_null())
        .count()
        .get_result(conn)?;
    let now = Utc::now().naive_utc();
    let open = c.stage != "closed";
    let next_followup_due: Option<chrono::NaiveDate> = case_followups::table
        .filter(case_followups::case_id.eq(&c.id))
        .order((
            case_followups::followed_on.desc(),
            case_followups::id.desc(),
        ))
        .select(case_followups::next_due)
        .first::<Option<chrono::NaiveDate>>(conn)
        .optional()?
        .flatten();
    let followup_overdue =
        open && next_followup_due.is_some_and(|d| d < crate::time::china_today());
    let (edd, status): (chrono::NaiveDate, String) = pregnancies::table
        .find(&c.pregnancy_id)
        .select((pregnancies::edd, pregnancies::status))
        .first(conn)?;
    let visit_overdue = open
        && status == "ongoing"
        && crate::checkups::plan::visit_overdue(conn, &c.pregnancy_id, edd)?;
    let report_overdue = c
        .reported_at
        .map_or(now > c.report_due_at, |r| r > c.report_due_at);
    Ok(CaseView {
        next_followup_due,
        followup_overdue,
        visit_overdue,
        overdue: open && (report_overdue || followup_overdue || visit_overdue),
        stages: marks
            .into_iter()
            .filter_map(|(stage, at, by)| {
                at.map(|at| StageMark {
                    stage,
                    at: at.and_utc(),
                    by,
                })
            })
            .collect(),
        report_overdue: c
            .reported_at
            .map_or(now > c.report_due_at, |r| r > c.report_due_at),
        colour: engine::label(base, c.current_purple),
        highest_base_colour: stored::from_text("risk_cases.highest_base", &c.highest_base)?,
        stage: stored::from_text("risk_cases.stage", &c.stage)?,
        report_due_at: c.report_due_at.and_utc(),
        id: c.id,
        pregnancy_id: c.pregnancy_id,
        handbook_id: c.handbook_id,
        county_code: c.county_code,
        institution_id: c.institution_id,
        case_number: c.case_number,
        responsible_clinician_id: c.responsible_clinician_id,
        planned_delivery_institution_id: c.planned_delivery_institution_id,
        close_reason: c.close_reason,
        close_note: c.close_note,
        flagged_for_review: c.flagged_for_review,
        open_notices_unacknowledged: unacknowledged,
    })
}

/// The county's reporting deadlines, or the national ones.
pub fn deadlines(conn: &mut DbConn, county_code: &str) -> QueryResult<cases::Deadlines> {
    let row: Option<(i32, i32)> = county_settings::table
        .find(county_code)
        .select((
            county_settings::report_hours_red,
            county_settings::report_hours_orange_purple,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.map_or(cases::NATIONAL_DEADLINES, |(red, other)| cases::Deadlines {
            red_hours: i64::from(red),
            orange_purple_hours: i64::from(other),
        }),
    )
}

/// After a grading: orange, red or purple opens the pregnancy's case (once); later gradings,
/// up or down, update its colour; a case stays open until closed.
pub fn on_grading(
    conn: &mut DbConn,
    pregnancy: &crate::pregnancy::store::PregnancyRow,
    grading_id: &str,
    base: Colour,
    purple: bool,
    institution_id: &str,
) -> QueryResult<Option<String>> {
    let now = Utc::now().naive_utc();
    let limits = deadlines(conn, &pregnancy.county_code)?;
    let existing: Option<CaseRow> = risk_cases::table
        .filter(risk_cases::pregnancy_id.eq(&pregnancy.id))
        .first(conn)
        .optional()?;
    match existing {
        None if cases::needs_case(base, purple) => {
            let id = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(risk_cases::table)
                .values((
                    risk_cases::id.eq(&id),
                    risk_cases::pregnancy_id.eq(&pregnancy.id),
                    risk_cases::handbook_id.eq(&pregnancy.handbook_id),
                    risk_cases::county_code.eq(&pregnancy.county_code),
                    risk_cases::institution_id.eq(institution_id),
                    risk_cases::opened_by_grading_id.eq(grading_id),
                    risk_cases::current_base.eq(base.as_str()),
                    risk_cases::current_purple.eq(purple),
                    risk_cases::highest_base.eq(base.as_str()),
                    risk_cases::stage.eq(Stage::Discovered.as_str()),
                    risk_cases::discovered_at.eq(now),
                    risk_cases::report_due_at.eq(cases::report_deadline(base, limits, now)),
                    risk_cases::flagged_for_review.eq(false),
                    risk_cases::version.eq(1),
                    risk_cases::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(id))
        }
        Some(c) if c.stage != "closed" => {
            let highest =
                stored::from_text::<Colour>("risk_cases.highest_base", &c.highest_base)?.max(base);
            // Reaching red before the report is made tightens the deadline to 24 hours.
            let due = if c.reported_at.is_none() {
                c.report_due_at
                    .min(cases::report_deadline(base, limits, now))
            } else {
                c.report_due_at
            };
            diesel::update(risk_cases::table.find(&c.id))
                .set((
                    risk_cases::current_base.eq(base.as_str()),
                    risk_cases::current_purple.eq(purple),
                    risk_cases::highest_base.eq(highest.as_str()),
                    risk_cases::report_due_at.eq(due),
                    risk_cases::version.eq(c.version + 1),
                    risk_cases::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(c.id))
        }
        _ => Ok(None),
    }
}

/// A case the staff member may see; otherwise 404.
pub fn load_for_staff(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<CaseRow, AppError> {
    let c: CaseRow = risk_cases::table.find(id).first(conn)?;
    access::staff_scope(conn, staff, &c.handbook_id)?;
    Ok(c)
}

/// Read a case. Audited.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 403, description = "Role may not read patient records", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in your scope", body = Problem, content_type = "application/problem+json"),
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
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Pregnancy id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 403, description = "Role may not read patient records", body = Problem, content_type = "application/problem+json"),
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
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = Advance,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 403, description = "Only clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not the next stage, the case is closed, or no designation yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/stage")]
pub async fn advance_case_stage(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<Advance>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
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
        // Only if nobody changed the case since it was read (concurrent advances lose with 409).
        let target = risk_cases::table
            .find(&id)
            .filter(risk_cases::version.eq(c.version));
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
                diesel::update(target)
                    .set((
                        risk_cases::registered_at.eq(now),
                        risk_cases::registered_by.eq(by),
                        risk_cases::case_number.eq(number),
                        risk_cases::responsible_clinician_id.eq(responsible),
                    ))
                    .execute(conn)?
            }
            Stage::Reported => diesel::update(target)
                .set((
                    risk_cases::reported_at.eq(now),
                    risk_cases::reported_by.eq(by),
                ))
                .execute(conn)?,
            Stage::Managed => diesel::update(target)
                .set((
                    risk_cases::managed_at.eq(now),
                    risk_cases::managed_by.eq(by),
                ))
                .execute(conn)?,
            Stage::Treated => diesel::update(target)
                .set((
                    risk_cases::treated_at.eq(now),
                    risk_cases::treated_by.eq(by),
                ))
                .execute(conn)?,
            Stage::Discovered | Stage::Closed => 0,
        };
        if changed == 0 {
            return Err(AppError::conflict(
                Code::CaseChanged,
                "the case changed meanwhile; read it again",
            ));
        }
        diesel::update(risk_cases::table.find(&id))
            .set((
                risk_cases::stage.eq(input.stage.as_str()),
                risk_cases::version.eq(c.version + 1),
                risk_cases::updated_at.eq(now),
            ))
            .execute(conn)?;
        Event::new(&staff, "case.advance", "case")
            .resource(&id)
            .county(&c.county_code)
            .detail(serde_json::json!({"stage": input.stage}))
            .record(conn, &ctx)?;
        let c: CaseRow = risk_cases::table.find(&id).first(conn)?;
        Ok(view(conn, c)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
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
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = Designation,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = CaseView),
        (status = 403, description = "Only clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown institution, or its level does not fit the colour", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/designation")]
pub async fn designate_case(
    staff: Staff<Clinical>,
    path: web::Path<String>,
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
            return Err(AppError::conflict(
                Code::CaseChanged,
                "the case changed meanwhile; read it again",
            ));
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
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Delivered,
    #[serde(rename = "postpartum_42_days")]
    Postpartum42Days,
    TransferredOut,
    PregnancyEnded,
    MaternalDeath,
    NearMiss,
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
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = CloseCase,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Closed", body = CaseView),
        (status = 403, description = "Only clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/close")]
pub async fn close_case(
    staff: Staff<Clinical>,
    path: web::Path<String>,
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
            return Err(AppError::conflict(
                Code::CaseChanged,
                "the case changed meanwhile; read it again",
            ));
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
    Ok(HttpResponse::Ok().json(v))
}

/// A reminder notice (温馨提示书).
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: String,
    pub case_id: String,
    pub handbook_id: String,
    pub colour: String,
    pub content: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub issued_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

type NoticeRow = (
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn notice_view(r: NoticeRow) -> NoticeView {
    NoticeView {
        id: r.0,
        case_id: r.1,
        handbook_id: r.2,
        colour: r.3,
        content: r.4,
        issued_at: r.5.and_utc(),
        acknowledged_at: r.6.map(|t| t.and_utc()),
    }
}

const NOTICE_COLUMNS: (
    risk_notices::id,
    risk_notices::case_id,
    risk_notices::handbook_id,
    risk_notices::colour_label,
    risk_notices::content,
    risk_notices::issued_at,
    risk_notices::acknowledged_at,
) = (
    risk_notices::id,
    risk_notices::case_id,
    risk_notices::handbook_id,
    risk_notices::colour_label,
    risk_notices::content,
    risk_notices::issued_at,
    risk_notices::acknowledged_at,
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    /// The text; defaults to the standard reminder for the case's colour.
    #[validate(length(min = 1, max = 4000))]
    pub content: Option<String>,
}

fn standard_notice(base: Colour, purple: bool) -> String {
    let label = engine::label_zh(base, purple);
    let place = match base {
        Colour::Red => "请在危重孕产妇救治中心接受孕期保健和分娩",
        Colour::Orange => "请在三级医院或危重孕产妇救治中心接受孕期保健和分娩",
        _ => "请按医生建议在指定医疗机构接受孕期保健和分娩",
    };
    format!(
        "温馨提示：您的妊娠风险评估为{label}。{place}。\
         如出现阴道流血、腹痛、头痛、视物模糊、胎动减少等情况，请立即就医。"
    )
}

/// Issue a reminder notice to the woman (orange and above, purple). She sees it in the app and
/// acknowledges it.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewNotice,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The notice", body = NoticeView),
        (status = 403, description = "Only clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case in your scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/notices")]
pub async fn issue_case_notice(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewNotice>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        let base: Colour = stored::from_text("risk_cases.current_base", &c.current_base)?;
        let label = engine::label(base, c.current_purple);
        let notice_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(risk_notices::table)
            .values((
                risk_notices::id.eq(&notice_id),
                risk_notices::case_id.eq(&id),
                risk_notices::handbook_id.eq(&c.handbook_id),
                risk_notices::county_code.eq(&c.county_code),
                risk_notices::institution_id.eq(&staff.institution_id),
                risk_notices::colour_label.eq(&label),
                risk_notices::content.eq(input
                    .content
                    .clone()
                    .unwrap_or_else(|| standard_notice(base, c.current_purple))),
                risk_notices::issued_by.eq(&staff.id),
                risk_notices::issued_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "case.notice", "case")
            .resource(&id)
            .county(&c.county_code)
            .record(conn, &ctx)?;
        Ok(notice_view(
            risk_notices::table
                .find(&notice_id)
                .select(NOTICE_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// My reminder notices (and those of handbooks shared with me), newest first.
#[utoipa::path(
    tag = "my handbook",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Notices", body = Vec<NoticeView>),
        (status = 403, description = "Families only", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/notices")]
pub async fn list_my_notices(
    caller: FamilyCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let list = db::run(&state.pool, move |conn| {
        let mine = handbook_members::table
            .filter(handbook_members::family_account_id.eq(caller.0.id.clone()))
            .filter(handbook_members::revoked_at.is_null())
            .select(handbook_members::handbook_id);
        let rows: Vec<NoticeRow> = risk_notices::table
            .filter(risk_notices::handbook_id.eq_any(mine))
            .order(risk_notices::id.desc())
            .select(NOTICE_COLUMNS)
            .load(conn)?;
        Ok(rows.into_iter().map(notice_view).collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Acknowledge a notice (the mother only); the time is kept.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Notice id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Acknowledged", body = NoticeView),
        (status = 403, description = "Only the mother acknowledges", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a notice of mine", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notices/{id}/acknowledge")]
pub async fn acknowledge_notice(
    caller: FamilyCaller,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let v = db::run_tx(&state.pool, move |conn| {
        let (handbook_id, county): (String, String) = risk_notices::table
            .find(&id)
            .select((risk_notices::handbook_id, risk_notices::county_code))
            .first(conn)?;
        if access::family_scope(conn, &caller.0, &handbook_id)? != Relation::Mother {
            return Err(AppError::Forbidden);
        }
        let n = diesel::update(
            risk_notices::table
                .find(&id)
                .filter(risk_notices::acknowledged_at.is_null()),
        )
        .set((
            risk_notices::acknowledged_at.eq(Utc::now().naive_utc()),
            risk_notices::acknowledged_by.eq(&caller.0.id),
        ))
        .execute(conn)?;
        if n > 0 {
            Event::new(
                Actor::from(&Principal::Family(caller.0.clone())),
                "case.notice_acknowledge",
                "notice",
            )
            .resource(&id)
            .county(county)
            .record(conn, &ctx)?;
        }
        Ok(notice_view(
            risk_notices::table
                .find(&id)
                .select(NOTICE_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistryQuery {
    /// Only this base colour (green … red) or `purple`.
    pub colour: Option<Colour>,
    #[validate(length(max = 64))]
    pub institution_id: Option<String>,
    /// Only women living in this township (or village), 12 digits.
    #[validate(length(equal = 12))]
    pub township: Option<String>,
    /// Gestational weeks today, at least / at most.
    #[validate(range(min = 0, max = 45))]
    pub min_weeks: Option<i64>,
    #[validate(range(min = 0, max = 45))]
    pub max_weeks: Option<i64>,
    /// Only overdue cases (report, follow-up or antenatal visit).
    pub overdue: Option<bool>,
    /// Only cases with a notice the woman has not acknowledged.
    pub unacknowledged: Option<bool>,
    /// `csv` for a spreadsheet; JSON otherwise.
    pub format: Option<String>,
}

/// One open case in the county registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryItem {
    pub case: CaseView,
    pub full_name: String,
    pub residence_region_code: String,
    pub ga_today: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registry {
    /// Open cases by colour label (`orange`, `red`, `purple+yellow` …), after filtering.
    pub counts: std::collections::BTreeMap<String, i64>,
    pub items: Vec<RegistryItem>,
}

/// The county's open high-risk cases (county reviewers; clinics see their own), with counts per
/// colour; `format=csv` gives the same list as CSV. Audited.
#[utoipa::path(
    tag = "cases",
    params(RegistryQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Open cases", body = Registry, content_type = "application/json"),
        (status = 403, description = "Role may not read patient records", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/registry/cases")]
pub async fn list_case_registry(
    staff: Staff<RecordReader>,
    query: ValidQuery<RegistryQuery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(AppError::invalid_field(
                "/format",
                "invalid_value",
                "json or csv",
            ))
        }
    };
    let staff = staff.principal;
    let result = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = risk_cases::table
            .inner_join(handbooks::table.on(handbooks::id.eq(risk_cases::handbook_id)))
            .inner_join(pregnancies::table.on(pregnancies::id.eq(risk_cases::pregnancy_id)))
            .filter(risk_cases::stage.ne("closed"))
            .select((
                risk_cases::all_columns,
                handbooks::full_name,
                handbooks::residence_region_code,
                pregnancies::edd,
                pregnancies::status,
            ))
            .into_boxed();
        if staff.has(Role::CountyReviewer) {
            sql = sql.filter(risk_cases::county_code.eq(staff.county_code.clone()));
        } else {
            let granted =
                access::granted_handbooks(staff.institution_id.clone(), Utc::now().naive_utc());
            sql = sql.filter(risk_cases::handbook_id.eq_any(granted));
        }
        match q.colour {
            Some(Colour::Purple) => sql = sql.filter(risk_cases::current_purple.eq(true)),
            Some(c) => sql = sql.filter(risk_cases::current_base.eq(c.as_str())),
            None => {}
        }
        if let Some(inst) = &q.institution_id {
            sql = sql.filter(risk_cases::institution_id.eq(inst.clone()));
        }
        if let Some(t) = &q.township {
            sql = sql.filter(
                handbooks::residence_region_code.like(format!("{}%", t.trim_end_matches('0'))),
            );
        }
        let rows: Vec<(CaseRow, String, String, chrono::NaiveDate, String)> =
            sql.order(risk_cases::id.asc()).limit(5000).load(conn)?;
        let today = crate::time::china_today();
        let mut items = Vec::new();
        for (c, full_name, residence_region_code, edd, status) in rows {
            let ga = (status == "ongoing").then(|| dating::ga_on(edd, today));
            if q.min_weeks
                .is_some_and(|w| ga.is_none_or(|g| g.weeks() < w))
                || q.max_weeks
                    .is_some_and(|w| ga.is_none_or(|g| g.weeks() > w))
            {
                continue;
            }
            let case = view(conn, c)?;
            if q.overdue.is_some_and(|o| o != case.overdue)
                || q.unacknowledged
                    .is_some_and(|u| u != (case.open_notices_unacknowledged > 0))
            {
                continue;
            }
            items.push(RegistryItem {
                case,
                full_name,
                residence_region_code,
                ga_today: ga.map(|g| g.to_string()),
            });
        }
        let mut counts = std::collections::BTreeMap::new();
        for i in &items {
            *counts.entry(i.case.colour.clone()).or_insert(0) += 1;
        }
        let event = Event::new(&staff, "registry.read", "case")
            .detail(serde_json::json!({"returned": items.len()}));
        Ok((Registry { counts, items }, event))
    })
    .await?;
    if csv {
        let mut out = String::from("case_id,case_number,full_name,residence_region_code,colour,stage,ga_today,report_due_at,report_overdue,unacknowledged_notices,institution_id\n");
        // Quoted, and a leading = + - @ neutralised so a spreadsheet never runs a cell as a formula.
        let cell = |s: &str| {
            let safe = if s.starts_with(['=', '+', '-', '@']) {
                format!("'{s}")
            } else {
                s.to_string()
            };
            format!("\"{}\"", safe.replace('"', "\"\""))
        };
        for i in &result.items {
            out.push_str(
                &[
                    cell(&i.case.id),
                    cell(i.case.case_number.as_deref().unwrap_or("")),
                    cell(&i.full_name),
                    cell(&i.residence_region_code),
                    cell(&i.case.colour),
                    cell(i.case.stage.as_str()),
                    cell(i.ga_today.as_deref().unwrap_or("")),
                    cell(&i.case.report_due_at.to_rfc3339()),
                    cell(&i.case.report_overdue.to_string()),
                    cell(&i.case.open_notices_unacknowledged.to_string()),
                    cell(&i.case.institution_id),
                ]
                .join(","),
            );
            out.push('\n');
        }
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .body(out));
    }
    Ok(HttpResponse::Ok().json(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mother reads the notice: the colour is named in Chinese, never as `orange`.
    #[test]
    fn the_standard_notice_names_the_colour_in_chinese() {
        let n = standard_notice(Colour::Orange, false);
        assert!(n.contains("您的妊娠风险评估为橙色（较高风险）。"), "{n}");
        assert!(n.contains("三级医院"));
        let n = standard_notice(Colour::Red, true);
        assert!(n.contains("紫色（传染病）和红色（高风险）"), "{n}");
        let n = standard_notice(Colour::Green, true);
        assert!(n.contains("评估为紫色（传染病）。"), "{n}");
        for (base, purple) in [(Colour::Yellow, false), (Colour::Orange, true)] {
            let n = standard_notice(base, purple);
            assert!(!n.chars().any(|c| c.is_ascii_alphabetic()), "{n}");
        }
    }
}
