//! The monthly reporting chain (§10): a village clinic's report computed from its records, the
//! township's aggregate of its villages with the logic checks, submission with the late flag, the
//! county's review, and the frozen snapshot compared with the records as they are now.

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::{
    report::{self, Baseline, CheckFailure, Counts, Difference, Level, Rates},
    roster::{self, Scope},
};
use crate::{
    audit::Event as Audit,
    auth::{
        roles::{AuditReader, ReportAuthor, ReportReader},
        Role, Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{RequestCtx, ValidJson, ValidQuery},
    state::AppState,
};

fn valid_month(m: &str) -> Result<(), ValidationError> {
    report::month_bounds(m)
        .map(|_| ())
        .ok_or_else(|| ValidationError::new("month").with_message("a month as YYYY-MM".into()))
}

/// `?month=YYYY-MM`
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// The reporting month, `YYYY-MM` (China time).
    #[validate(custom(function = "valid_month"))]
    pub month: String,
}

/// `?month=YYYY-MM` (optional)
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this month, `YYYY-MM`.
    #[validate(custom(function = "valid_month"))]
    pub month: Option<String>,
}

/// What one part of an aggregate contributed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Source {
    pub institution_id: String,
    pub institution_name: String,
    /// The village report used (absent for the township's own children, or a village that has
    /// not reported).
    pub report_id: Option<String>,
    pub version: Option<i32>,
    pub counts: Counts,
}

/// The report the caller's unit would submit now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Draft {
    pub level: Level,
    pub month: String,
    /// Submissions at or after this instant are marked late (end of the 1st / 2nd, China time).
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub deadline: DateTime<Utc>,
    pub counts: Counts,
    pub rates: Rates,
    /// Logic checks that fail (a report with failures cannot be submitted).
    pub checks: Vec<CheckFailure>,
    /// A township's parts: each village's latest report and its own children.
    pub sources: Vec<Source>,
    /// Village clinics of the township without a report for the month.
    pub missing: Vec<String>,
}

/// A submitted report (a frozen snapshot).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: String,
    pub institution_id: String,
    pub level: Level,
    pub month: String,
    pub version: i32,
    /// `submitted`, `returned` (with the reviewer's comment) or `approved`.
    pub status: String,
    pub late: bool,
    /// Why a new version was submitted.
    pub reason: Option<String>,
    pub submitted_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub submitted_at: DateTime<Utc>,
    pub reviewed_by: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
    pub counts: Counts,
    pub rates: Rates,
    pub sources: Vec<Source>,
}

/// A report with the records as they are now: any count that changed since it was frozen.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDetail {
    #[serde(flatten)]
    pub report: ReportView,
    pub current: Counts,
    /// Reported vs now, for every count that differs (the report itself never changes).
    pub difference: Vec<Difference>,
}

type ReportRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i32,
    String,
    String,
    String,
    bool,
    Option<String>,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

/// A China-time wall clock reading as an instant.
fn china_instant(local: NaiveDateTime) -> DateTime<Utc> {
    (local - chrono::Duration::hours(8)).and_utc()
}

fn level_of(staff: &StaffPrincipal) -> Result<Level, AppError> {
    match staff.institution_level.as_str() {
        "village_clinic" => Ok(Level::Village),
        "township_centre" => Ok(Level::Township),
        _ => Err(AppError::Forbidden),
    }
}

/// The county's baseline survey prevalence (none set: both absent).
pub fn baseline(conn: &mut DbConn, county: &str) -> QueryResult<Baseline> {
    let row: Option<(Option<f64>, Option<f64>)> = county_settings::table
        .find(county)
        .select((
            county_settings::baseline_anaemia_pct,
            county_settings::baseline_stunting_pct,
        ))
        .first(conn)
        .optional()?;
    Ok(row
        .map(|(a, s)| Baseline {
            anaemia_pct: a,
            stunting_pct: s,
        })
        .unwrap_or_default())
}

/// A unit's own children counted from the records for the month.
fn live_counts(
    conn: &mut DbConn,
    institution_id: &str,
    scope: Scope,
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Counts> {
    let born_from = first
        .checked_sub_months(chrono::Months::new(36))
        .unwrap_or(first);
    let born_to = last
        .checked_sub_months(chrono::Months::new(6))
        .unwrap_or(last);
    let mut total = Counts::default();
    for c in roster::load(conn, institution_id, born_from, born_to, scope)? {
        total += &report::child_counts(&c.facts, first, last, today);
    }
    total.stock_out_sachets = roster::stock_out(conn, institution_id, first, last)?;
    Ok(total)
}

/// The village clinics within a township's region.
fn villages_of(conn: &mut DbConn, township_region: &str) -> QueryResult<Vec<(String, String)>> {
    let prefix = township_region.get(..9).unwrap_or(township_region);
    institutions::table
        .filter(institutions::level.eq("village_clinic"))
        .filter(institutions::disabled.eq(false))
        .filter(institutions::region_code.like(format!("{prefix}%")))
        .order(institutions::region_code.asc())
        .select((institutions::id, institutions::name))
        .load(conn)
}

/// The latest report of an institution for a month that was not returned.
struct Standing {
    id: String,
    version: i32,
    status: String,
    late: bool,
    counts: Counts,
}

fn latest_standing(
    conn: &mut DbConn,
    institution_id: &str,
    month: &str,
) -> Result<Option<Standing>, AppError> {
    let row: Option<(String, i32, String, bool, String)> = nutrition_reports::table
        .filter(nutrition_reports::institution_id.eq(institution_id))
        .filter(nutrition_reports::month.eq(month))
        .filter(nutrition_reports::status.ne("returned"))
        .order(nutrition_reports::version.desc())
        .select((
            nutrition_reports::id,
            nutrition_reports::version,
            nutrition_reports::status,
            nutrition_reports::late,
            nutrition_reports::figures,
        ))
        .first(conn)
        .optional()?;
    row.map(|(id, version, status, late, figures)| {
        let counts =
            serde_json::from_str(&figures).map_err(|e| AppError::internal(e.to_string()))?;
        Ok(Standing {
            id,
            version,
            status,
            late,
            counts,
        })
    })
    .transpose()
}

struct Compiled {
    counts: Counts,
    sources: Vec<Source>,
    missing: Vec<String>,
}

/// What a unit reports for the month. A township adds its villages' latest reports (or, with
/// `live`, their records as they are now) and its own children not served by a village clinic.
fn compile(
    conn: &mut DbConn,
    institution_id: &str,
    institution_name: &str,
    region: &str,
    level: Level,
    month: &str,
    live: bool,
) -> Result<Compiled, AppError> {
    let (first, last) = report::month_bounds(month).ok_or(AppError::NotFound)?;
    let today = crate::time::china_today();
    if level == Level::Village {
        return Ok(Compiled {
            counts: live_counts(
                conn,
                institution_id,
                Scope::VillageResidents,
                first,
                last,
                today,
            )?,
            sources: Vec::new(),
            missing: Vec::new(),
        });
    }
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    for (village, name) in villages_of(conn, region)? {
        if live {
            sources.push(Source {
                counts: live_counts(conn, &village, Scope::VillageResidents, first, last, today)?,
                institution_id: village,
                institution_name: name,
                report_id: None,
                version: None,
            });
            continue;
        }
        match latest_standing(conn, &village, month)? {
            Some(r) => sources.push(Source {
                institution_id: village,
                institution_name: name,
                report_id: Some(r.id),
                version: Some(r.version),
                counts: r.counts,
            }),
            None => missing.push(name),
        }
    }
    sources.push(Source {
        institution_id: institution_id.to_string(),
        institution_name: institution_name.to_string(),
        report_id: None,
        version: None,
        counts: live_counts(
            conn,
            institution_id,
            Scope::TownshipResidents(region.get(..9).unwrap_or(region)),
            first,
            last,
            today,
        )?,
    });
    let mut counts = Counts::default();
    for s in &sources {
        counts += &s.counts;
    }
    Ok(Compiled {
        counts,
        sources,
        missing,
    })
}

/// The caller's unit's report for a month as it would be submitted now: counts, rates, logic
/// checks, and for a township the villages' parts and who has not reported.
#[utoipa::path(
    tag = "nutrition",
    params(MonthQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The draft", body = Draft),
        (status = 403, description = "Only village clinics and township centres report", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a month", body = Problem, content_type = "application/problem+json"),
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
    let counts: Counts =
        serde_json::from_str(&r.8).map_err(|e| AppError::internal(e.to_string()))?;
    let sources: Vec<Source> =
        serde_json::from_str(&r.9).map_err(|e| AppError::internal(e.to_string()))?;
    let rates = report::rates(&counts, baseline(conn, &r.2)?);
    Ok(ReportView {
        id: r.0,
        institution_id: r.1,
        level: Level::parse(&r.4)?,
        month: r.5,
        version: r.6,
        status: r.7,
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
    security(("bearer" = [])),
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

/// May `staff` read the report of an institution at `region` in `county`? Its own unit; a
/// township centre the reports of its villages; a county reviewer its county's.
fn may_read(staff: &StaffPrincipal, institution_id: &str, region: &str, county: &str) -> bool {
    staff.institution_id == institution_id
        || (staff.has(Role::CountyReviewer) && staff.county_code == county)
        || (staff.institution_level == "township_centre"
            && region.get(..9) == staff.region_code.get(..9))
}

/// May `staff` review it? Village reports: the township centre's heads and clinicians, or the
/// county; township reports: the county's reviewers.
fn may_review(staff: &StaffPrincipal, level: Level, region: &str, county: &str) -> bool {
    let county_reviewer = staff.has(Role::CountyReviewer) && staff.county_code == county;
    match level {
        Level::Township => county_reviewer,
        Level::Village => {
            county_reviewer
                || (staff.institution_level == "township_centre"
                    && (staff.has(Role::InstitutionAdmin) || staff.has(Role::Clinician))
                    && region.get(..9) == staff.region_code.get(..9))
        }
    }
}

/// Reports the caller may see, newest first (at most 500).
#[utoipa::path(
    tag = "nutrition",
    params(ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reports", body = Vec<ReportView>),
        (status = 403, description = "Role may not read reports", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a month", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/nutrition/reports")]
pub async fn list_nutrition_reports(
    staff: Staff<ReportReader>,
    query: ValidQuery<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let month = query.0.month;
    let reports = db::run(&state.pool, move |conn| {
        let mut q = nutrition_reports::table
            .filter(nutrition_reports::county_code.eq(&staff.county_code))
            .select((
                nutrition_reports::id,
                nutrition_reports::institution_id,
                nutrition_reports::region_code,
            ))
            .order((
                nutrition_reports::month.desc(),
                nutrition_reports::submitted_at.desc(),
            ))
            .limit(500)
            .into_boxed();
        if let Some(m) = &month {
            q = q.filter(nutrition_reports::month.eq(m));
        }
        if !staff.has(Role::CountyReviewer) {
            let prefix = staff.region_code.get(..9).unwrap_or("").to_string();
            q = q.filter(
                nutrition_reports::institution_id
                    .eq(staff.institution_id.clone())
                    .or(nutrition_reports::region_code.like(format!("{prefix}%"))),
            );
        }
        let rows: Vec<(String, String, String)> = q.load(conn)?;
        rows.into_iter()
            .filter(|(_, inst, region)| may_read(&staff, inst, region, &staff.county_code))
            .map(|(id, _, _)| load_view(conn, &id))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    Ok(HttpResponse::Ok().json(reports))
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
    if !may_read(staff, &inst, &region, &county) {
        return Err(AppError::NotFound);
    }
    Ok((inst, region, county, Level::parse(&level)?))
}

/// A report as submitted, with the counts the records give now and the difference.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Report id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The frozen report, the current counts and what changed", body = ReportDetail),
        (status = 403, description = "Role may not read reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in your scope", body = Problem, content_type = "application/problem+json"),
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
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Reviewed", body = ReportView),
        (status = 403, description = "Not a reviewer of this report", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in your scope", body = Problem, content_type = "application/problem+json"),
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
        if !may_review(&staff, level, &region, &county) {
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

/// One township's figures in the county's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct TownshipKpi {
    pub institution_id: String,
    pub institution_name: String,
    /// The township's latest report (not returned), if any.
    pub report_id: Option<String>,
    pub status: Option<String>,
    pub late: Option<bool>,
    pub counts: Option<Counts>,
    pub rates: Option<Rates>,
}

/// The county's month: each township's reported figures and the county total of what was reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountyKpis {
    pub county_code: String,
    pub month: String,
    pub baseline: Baseline,
    pub townships: Vec<TownshipKpi>,
    /// Sum over the townships that reported.
    pub counts: Counts,
    pub rates: Rates,
}

/// KPIs for a county and month from the townships' reports (distribution, effective intake and
/// counselling rates; anaemia and stunting prevalence against the county's baseline).
#[utoipa::path(
    tag = "nutrition",
    params(
        ("code" = String, Path, description = "6-digit county code"),
        MonthQuery,
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "KPIs", body = CountyKpis),
        (status = 403, description = "County reviewers and system administrators only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your county", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a month", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/counties/{code}/nutrition/kpis")]
pub async fn get_county_nutrition_kpis(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    query: ValidQuery<MonthQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let staff = staff.principal;
    if !(staff.has(Role::SystemAdmin) || staff.county_code == code) {
        return Err(AppError::NotFound);
    }
    let month = query.0.month;
    let kpis = db::run(&state.pool, move |conn| {
        let base = baseline(conn, &code)?;
        let townships: Vec<(String, String)> = institutions::table
            .filter(institutions::county_code.eq(&code))
            .filter(institutions::level.eq("township_centre"))
            .filter(institutions::disabled.eq(false))
            .order(institutions::region_code.asc())
            .select((institutions::id, institutions::name))
            .load(conn)?;
        let mut total = Counts::default();
        let mut rows = Vec::new();
        for (id, name) in townships {
            let latest = latest_standing(conn, &id, &month)?;
            if let Some(r) = &latest {
                total += &r.counts;
            }
            rows.push(TownshipKpi {
                institution_id: id,
                institution_name: name,
                report_id: latest.as_ref().map(|r| r.id.clone()),
                status: latest.as_ref().map(|r| r.status.clone()),
                late: latest.as_ref().map(|r| r.late),
                rates: latest.as_ref().map(|r| report::rates(&r.counts, base)),
                counts: latest.map(|r| r.counts),
            });
        }
        Ok(CountyKpis {
            rates: report::rates(&total, base),
            county_code: code,
            month,
            baseline: base,
            townships: rows,
            counts: total,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(kpis))
}
