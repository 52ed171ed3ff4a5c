//! The monthly reporting chain (§10) over HTTP: the draft, submission with the late flag, the
//! list and detail within the caller's scope, and the county's review.

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::compile::{
    baseline, china_instant, compile, level_of, valid_month, Draft, ListQuery, MonthQuery,
    ReportDetail, ReportRow, ReportView, Source,
};
use super::figures::{self as report, Counts, Level};
use crate::scope;
use crate::{
    audit::Event as Audit,
    auth::{
        roles::{ReportAuthor, ReportReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{
        pagination::{Page, DEFAULT_LIMIT},
        RequestCtx, ValidJson, ValidQuery,
    },
    state::AppState,
};

/// The caller's unit's report for a month as it would be submitted now: counts, rates, logic
/// checks, and for a township the villages' parts and who has not reported.
#[utoipa::path(
    tag = "nutrition",
    params(MonthQuery),
    responses(
        (status = 200, description = "The draft", body = Draft),
        (status = 403, description = "Only village clinics and township centres report", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/nutrition/reports/draft")]
pub async fn get_nutrition_report_draft(
    staff: Staff<ReportAuthor>,
    query: ValidQuery<MonthQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let level = level_of(&staff)?;
    let month = query.0.month;
    let d = db::run(&state.pool, move |conn| {
        let c = compile(
            conn,
            &staff.institution_id,
            &staff.institution_name,
            &staff.region_code,
            level,
            &month,
            false,
        )?;
        let (_, last) = report::month_bounds(&month).ok_or(AppError::NotFound)?;
        Ok(Draft {
            level,
            deadline: china_instant(report::deadline(level, last)),
            rates: report::rates(&c.counts, baseline(conn, &staff.county_code)?),
            checks: report::checks(&c.counts),
            month,
            counts: c.counts,
            sources: c.sources,
            missing: c.missing,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Submit a month's report.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"month": "2026-10"}))]
pub struct NewReport {
    #[validate(custom(function = "valid_month"))]
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    /// Required for a new version after the report was returned.
    #[validate(length(min = 1, max = 1000))]
    pub reason: Option<String>,
}

fn load_view(conn: &mut DbConn, id: &str) -> Result<ReportView, AppError> {
    let r: ReportRow = nutrition_reports::table
        .find(id)
        .select((
            nutrition_reports::id,
            nutrition_reports::institution_id,
            nutrition_reports::county_code,
            nutrition_reports::region_code,
            nutrition_reports::level,
            nutrition_reports::month,
            nutrition_reports::version,
            nutrition_reports::status,
            nutrition_reports::figures,
            nutrition_reports::sources,
            nutrition_reports::late,
            nutrition_reports::reason,
            nutrition_reports::submitted_by,
            nutrition_reports::submitted_at,
            nutrition_reports::reviewed_by,
            nutrition_reports::reviewed_at,
            nutrition_reports::review_comment,
        ))
        .first(conn)?;
    let counts: Counts = crate::db::stored::json_from_db("nutrition_reports.figures", &r.8)?;
    let sources: Vec<Source> = crate::db::stored::json_from_db("nutrition_reports.sources", &r.9)?;
    let rates = report::rates(&counts, baseline(conn, &r.2)?);
    Ok(ReportView {
        id: r.0,
        institution_id: r.1,
        level: Level::parse(&r.4)?,
        month: r.5,
        version: r.6,
        status: crate::db::stored::from_text("nutrition_reports.status", &r.7)?,
        late: r.10,
        reason: r.11,
        submitted_by: r.12,
        submitted_at: r.13.and_utc(),
        reviewed_by: r.14,
        reviewed_at: r.15.map(|t| t.and_utc()),
        review_comment: r.16,
        counts,
        rates,
        sources,
    })
}

/// Review, then submit (§10): the month must be over; the counts are frozen as submitted; a report
/// failing a logic check is refused with each check named; a submission after the deadline (end of
/// the 1st for villages, of the 2nd for townships, China time) is marked late. Once submitted a
/// report is locked: a new version is possible only after it was returned, with a reason.
#[utoipa::path(
    tag = "nutrition",
    request_body = NewReport,
    responses(
        (status = 201, description = "Submitted", body = ReportView),
        (status = 403, description = "Only village clinics and township centres report", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already submitted (awaiting review) or approved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Month not over, reason missing for a new version, or logic checks failing (each count named)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/nutrition/reports")]
pub async fn submit_nutrition_report(
    staff: Staff<ReportAuthor>,
    body: ValidJson<NewReport>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let level = level_of(&staff)?;
    let input = body.0;
    let (_, last) = report::month_bounds(&input.month).ok_or(AppError::NotFound)?;
    let now = Utc::now();
    if crate::time::china_date(now) <= last {
        return Err(AppError::invalid_field(
            "/month",
            "month_not_over",
            "a month is reported once it is over",
        ));
    }
    let view = db::run_tx(&state.pool, move |conn| {
        let previous: Option<(i32, String)> = nutrition_reports::table
            .filter(nutrition_reports::institution_id.eq(&staff.institution_id))
            .filter(nutrition_reports::month.eq(&input.month))
            .order(nutrition_reports::version.desc())
            .select((nutrition_reports::version, nutrition_reports::status))
            .first(conn)
            .optional()?;
        match previous.as_ref().map(|p| p.1.as_str()) {
            Some("submitted") => {
                return Err(AppError::conflict(
                    Code::AlreadySubmitted,
                    "this month's report awaits review; it can be resubmitted if it is returned",
                ))
            }
            Some("approved") => {
                return Err(AppError::conflict(
                    Code::ReportApproved,
                    "this month's report is approved; later corrections show as a difference",
                ))
            }
            Some(_) if input.reason.is_none() => {
                return Err(AppError::invalid_field(
                    "/reason",
                    "required",
                    "say why the returned report is submitted again",
                ))
            }
            _ => {}
        }
        let c = compile(
            conn,
            &staff.institution_id,
            &staff.institution_name,
            &staff.region_code,
            level,
            &input.month,
            false,
        )?;
        let failures = report::checks(&c.counts);
        if !failures.is_empty() {
            return Err(AppError::Validation(
                failures
                    .into_iter()
                    .map(|f| FieldError::new(format!("/counts{}", f.field), f.code, f.message))
                    .collect(),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let late = report::is_late(
            level,
            last,
            now.with_timezone(&crate::time::cst()).naive_local(),
        );
        let version = previous.map_or(1, |p| p.0 + 1);
        diesel::insert_into(nutrition_reports::table)
            .values((
                nutrition_reports::id.eq(&id),
                nutrition_reports::institution_id.eq(&staff.institution_id),
                nutrition_reports::county_code.eq(&staff.county_code),
                nutrition_reports::region_code.eq(&staff.region_code),
                nutrition_reports::level.eq(level.as_str()),
                nutrition_reports::month.eq(&input.month),
                nutrition_reports::version.eq(version),
                nutrition_reports::status.eq("submitted"),
                nutrition_reports::figures.eq(serde_json::to_string(&c.counts)
                    .map_err(|e| AppError::internal(e.to_string()))?),
                nutrition_reports::sources.eq(serde_json::to_string(&c.sources)
                    .map_err(|e| AppError::internal(e.to_string()))?),
                nutrition_reports::late.eq(late),
                nutrition_reports::reason.eq(&input.reason),
                nutrition_reports::submitted_by.eq(&staff.id),
                nutrition_reports::submitted_at.eq(now.naive_utc()),
            ))
            .execute(conn)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => AppError::conflict(Code::AlreadySubmitted, "this report was just submitted"),
                e => e.into(),
            })?;
        Audit::new(&staff, "nutrition.report_submit", "nutrition_report")
            .resource(&id)
            .detail(serde_json::json!({"month": input.month, "version": version, "late": late}))
            .record(conn, &ctx)?;
        load_view(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Reports the caller may see, newest submitted first, a page at a time: its institution's, its
/// township's villages' for a township centre, the county's for a county reviewer.
///
/// Who: report authors (clinicians, village doctors, institution administrators) and county reviewers.
#[utoipa::path(
    tag = "nutrition",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of reports, newest first", body = Page<ReportView>),
    )
)]
#[get("/nutrition/reports")]
pub async fn list_nutrition_reports(
    staff: Staff<ReportReader>,
    query: ValidQuery<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let q = query.0;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    let page = db::run(&state.pool, move |conn| {
        let mut sql = nutrition_reports::table
            .filter(nutrition_reports::county_code.eq(&staff.county_code))
            .select(nutrition_reports::id)
            .into_boxed();
        if let Some(m) = &q.month {
            sql = sql.filter(nutrition_reports::month.eq(m));
        }
        sql = scope::reports::readable(
            &staff,
            sql,
            nutrition_reports::institution_id,
            nutrition_reports::region_code,
        );
        if let Some(cursor) = q.cursor {
            sql = sql.filter(nutrition_reports::id.lt(cursor));
        }
        let ids: Vec<String> = sql
            .order(nutrition_reports::id.desc())
            .limit(limit + 1)
            .load(conn)?;
        Page::from_rows(ids, limit, String::clone).try_map(|id| load_view(conn, &id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `(institution, region, county, level)` of a report the caller may read; 404 otherwise.
fn report_in_scope(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<(String, String, String, Level), AppError> {
    let (inst, region, county, level): (String, String, String, String) = nutrition_reports::table
        .find(id)
        .select((
            nutrition_reports::institution_id,
            nutrition_reports::region_code,
            nutrition_reports::county_code,
            nutrition_reports::level,
        ))
        .first(conn)?;
    if !scope::reports::may_read(staff, &inst, &region, &county) {
        return Err(AppError::NotFound);
    }
    Ok((inst, region, county, Level::parse(&level)?))
}

/// A report as submitted, with the counts the records give now and the difference.
///
/// Who: report authors (clinicians, village doctors, institution administrators) and county reviewers.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Report id")),
    responses(
        (status = 200, description = "The frozen report, the current counts and what changed", body = ReportDetail),
    )
)]
#[get("/nutrition/reports/{id}")]
pub async fn get_nutrition_report(
    staff: Staff<ReportReader>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let id = path.into_inner();
    let detail = db::run(&state.pool, move |conn| {
        let (inst, region, _, level) = report_in_scope(conn, &staff, &id)?;
        let report = load_view(conn, &id)?;
        let name: String = institutions::table
            .find(&inst)
            .select(institutions::name)
            .first(conn)?;
        let now = compile(conn, &inst, &name, &region, level, &report.month, true)?;
        Ok(ReportDetail {
            difference: report::difference(&report.counts, &now.counts),
            current: now.counts,
            report,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ReviewDecision)]
pub enum Decision {
    Approve,
    Return,
}

/// A reviewer's decision.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "return", "comment": "东湖村卫生室的有效服用率与随访卡不符，请核实"}))]
pub struct Review {
    pub decision: Decision,
    /// Required when returning.
    #[validate(length(min = 1, max = 2000))]
    pub comment: Option<String>,
}

/// Approve a submitted report (it stays frozen) or return it with comments (the unit may then
/// submit a new version). Township reports are reviewed by the county; village reports by their
/// township centre or the county.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Report id")),
    request_body = Review,
    responses(
        (status = 200, description = "Reviewed", body = ReportView),
        (status = 403, description = "Not a reviewer of this report", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already reviewed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A return without a comment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/nutrition/reports/{id}/review")]
pub async fn review_nutrition_report(
    staff: Staff<ReportReader>,
    path: web::Path<String>,
    body: ValidJson<Review>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let id = path.into_inner();
    let r = body.0;
    if r.decision == Decision::Return && r.comment.is_none() {
        return Err(AppError::invalid_field(
            "/comment",
            "required",
            "say what to correct when returning a report",
        ));
    }
    let view = db::run_tx(&state.pool, move |conn| {
        let (_, region, county, level) = report_in_scope(conn, &staff, &id)?;
        let may_review = match level {
            Level::Township => scope::reports::may_review_township(&staff, &county),
            Level::Village => scope::reports::may_review_village(&staff, &region, &county),
        };
        if !may_review {
            return Err(AppError::Forbidden);
        }
        let status = match r.decision {
            Decision::Approve => "approved",
            Decision::Return => "returned",
        };
        let n = diesel::update(
            nutrition_reports::table
                .find(&id)
                .filter(nutrition_reports::status.eq("submitted")),
        )
        .set((
            nutrition_reports::status.eq(status),
            nutrition_reports::reviewed_by.eq(&staff.id),
            nutrition_reports::reviewed_at.eq(Utc::now().naive_utc()),
            nutrition_reports::review_comment.eq(&r.comment),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(
                Code::AlreadyReviewed,
                "only a submitted report awaiting review can be reviewed",
            ));
        }
        Audit::new(&staff, "nutrition.report_review", "nutrition_report")
            .resource(&id)
            .county(&county)
            .detail(serde_json::json!({"decision": status}))
            .record(conn, &ctx)?;
        load_view(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
