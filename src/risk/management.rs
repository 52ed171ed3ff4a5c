//! The case's management plan: follow-ups with their next due date, consultations with
//! higher-level experts, and the case timeline in one call.

use crate::db::stored;
use crate::error::Code;
use crate::http::pagination::Page;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    case_store::{self, CaseRow},
    engine,
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff,
    },
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{extract::not_future, RequestCtx, ValidJson},
    state::AppState,
};

pub(super) fn open(c: &CaseRow) -> Result<(), AppError> {
    if c.stage == "closed" {
        Err(AppError::conflict(Code::CaseClosed, "the case is closed"))
    } else {
        Ok(())
    }
}

/// A follow-up of the management plan.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"followed_on": "2026-11-20", "findings": "BP 135/85，无不适", "next_due": "2026-11-27"}))]
pub struct NewFollowup {
    #[validate(custom(function = "not_future"))]
    pub followed_on: NaiveDate,
    #[validate(length(min = 1, max = 4000))]
    pub findings: String,
    pub next_due: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01a1f6b7-c0c0-76ca-b4eb-252b0f21ddb6", "case_id": "01a1f1c3-bf60-73d9-a344-5bb31738f7d9",
    "institution_id": "0192f0c4-0000-7000-8000-0000000000a1", "followed_on": "2026-11-20",
    "findings": "BP 118/76，无阴道流血及腹痛，已告知前置胎盘注意事项", "next_due": "2026-11-27",
    "recorded_by": "0192f0c4-0000-7000-8000-000000000001"
}))]
pub struct FollowupView {
    pub id: String,
    pub case_id: String,
    pub institution_id: String,
    pub followed_on: NaiveDate,
    pub findings: String,
    pub next_due: Option<NaiveDate>,
    pub recorded_by: String,
}

/// Record a follow-up; its `next_due` makes the case overdue when it passes without another.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewFollowup,
    responses(
        (status = 201, description = "Recorded", body = FollowupView),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a date in the future, a due date before the follow-up)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/followups")]
pub async fn add_case_followup(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewFollowup>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let f = body.0;
    if f.next_due.is_some_and(|d| d <= f.followed_on) {
        return Err(AppError::invalid_field(
            "/next_due",
            "range",
            "must be after the follow-up",
        ));
    }
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = case_store::load_for_staff(conn, &staff, &id)?;
        open(&c)?;
        let followup_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(case_followups::table)
            .values((
                case_followups::id.eq(&followup_id),
                case_followups::case_id.eq(&id),
                case_followups::county_code.eq(&c.county_code),
                case_followups::institution_id.eq(&staff.institution_id),
                case_followups::followed_on.eq(f.followed_on),
                case_followups::findings.eq(&f.findings),
                case_followups::next_due.eq(f.next_due),
                case_followups::recorded_by.eq(&staff.id),
                case_followups::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "case.followup", "case")
            .resource(&id)
            .county(&c.county_code)
            .record(conn, &ctx)?;
        Ok(FollowupView {
            id: followup_id,
            case_id: id,
            institution_id: staff.institution_id.clone(),
            followed_on: f.followed_on,
            findings: f.findings,
            next_due: f.next_due,
            recorded_by: staff.id.clone(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// What a timeline entry records.
/// (In the order of their names: entries at the same time sort by kind.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    CaseStage,
    Checkup,
    Consultation,
    Followup,
    Grading,
    Notice,
    Referral,
}

/// One entry of a case timeline.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "at": "2026-11-19T03:05:00.000Z", "kind": "grading",
    "id": "01a1f1c3-bf60-76f0-8478-82e36b0d549b", "summary": "orange"
}))]
pub struct TimelineEntry {
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub at: DateTime<Utc>,
    pub kind: TimelineKind,
    pub id: String,
    pub summary: String,
}

/// Everything that happened in a case, oldest first: gradings, stages, checkups, referrals,
/// follow-ups, consultations, notices. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    responses(
        (status = 200, description = "The timeline", body = Page<TimelineEntry>),
    )
)]
#[get("/cases/{id}/timeline")]
pub async fn get_case_timeline(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let list = audit::read(&state.pool, ctx, move |conn| {
        let c = case_store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "case.read_timeline", "case")
            .resource(&id)
            .county(&c.county_code);
        Ok((timeline(conn, &c)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(list)))
}

/// Everything that happened in a case, oldest first (entries at the same time by kind).
pub fn timeline(conn: &mut crate::db::DbConn, c: &CaseRow) -> Result<Vec<TimelineEntry>, AppError> {
    let mut out = Vec::new();
    let entry = |at: NaiveDateTime, kind: TimelineKind, id: &str, summary: String| TimelineEntry {
        at: at.and_utc(),
        kind,
        id: id.into(),
        summary,
    };
    let gradings: Vec<(String, NaiveDateTime, String, bool, Option<String>)> = risk_gradings::table
        .filter(risk_gradings::pregnancy_id.eq(&c.pregnancy_id))
        .select((
            risk_gradings::id,
            risk_gradings::graded_at,
            risk_gradings::decided_base,
            risk_gradings::decided_purple,
            risk_gradings::override_reason,
        ))
        .load(conn)?;
    for (gid, at, base, purple, reason) in gradings {
        let colour = engine::label(
            stored::from_text("risk_gradings.decided_base", &base)?,
            purple,
        );
        out.push(entry(
            at,
            TimelineKind::Grading,
            &gid,
            reason.map_or(colour.clone(), |r| format!("{colour} ({r})")),
        ));
    }
    let stages = [
        ("discovered", Some(c.discovered_at)),
        ("registered", c.registered_at),
        ("reported", c.reported_at),
        ("managed", c.managed_at),
        ("treated", c.treated_at),
        ("closed", c.closed_at),
    ];
    for (stage, at) in stages {
        if let Some(at) = at {
            out.push(entry(at, TimelineKind::CaseStage, &c.id, stage.to_string()));
        }
    }
    let visits: Vec<(String, NaiveDateTime, NaiveDate, i32)> = checkups::table
        .filter(checkups::pregnancy_id.eq(&c.pregnancy_id))
        .select((
            checkups::id,
            checkups::created_at,
            checkups::visit_date,
            checkups::ga_days,
        ))
        .load(conn)?;
    for (cid, at, date, ga) in visits {
        out.push(entry(
            at,
            TimelineKind::Checkup,
            &cid,
            format!(
                "visit {date} at {}",
                crate::pregnancy::dating::GestationalAge(i64::from(ga))
            ),
        ));
    }
    let refs: Vec<(String, NaiveDateTime, String, String)> = referrals::table
        .filter(referrals::handbook_id.eq(&c.handbook_id))
        .select((
            referrals::id,
            referrals::sent_at,
            referrals::status,
            referrals::reason,
        ))
        .load(conn)?;
    for (rid, at, status, reason) in refs {
        out.push(entry(
            at,
            TimelineKind::Referral,
            &rid,
            format!("{reason} ({status})"),
        ));
    }
    let fus: Vec<(String, NaiveDateTime, String)> = case_followups::table
        .filter(case_followups::case_id.eq(&c.id))
        .select((
            case_followups::id,
            case_followups::recorded_at,
            case_followups::findings,
        ))
        .load(conn)?;
    for (fid, at, findings) in fus {
        out.push(entry(at, TimelineKind::Followup, &fid, findings));
    }
    let cons: Vec<(String, NaiveDateTime, String, Option<String>)> = consultations::table
        .filter(consultations::case_id.eq(&c.id))
        .select((
            consultations::id,
            consultations::requested_at,
            consultations::question,
            consultations::answer,
        ))
        .load(conn)?;
    for (kid, at, q, a) in cons {
        out.push(entry(
            at,
            TimelineKind::Consultation,
            &kid,
            a.map_or(q.clone(), |a| format!("{q} → {a}")),
        ));
    }
    let notices: Vec<(String, NaiveDateTime, String, Option<NaiveDateTime>)> = risk_notices::table
        .filter(risk_notices::case_id.eq(&c.id))
        .select((
            risk_notices::id,
            risk_notices::issued_at,
            risk_notices::colour_label,
            risk_notices::acknowledged_at,
        ))
        .load(conn)?;
    for (nid, at, label, ack) in notices {
        out.push(entry(
            at,
            TimelineKind::Notice,
            &nid,
            format!(
                "{label} notice{}",
                if ack.is_some() { ", acknowledged" } else { "" }
            ),
        ));
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.kind.cmp(&b.kind)));
    Ok(out)
}
