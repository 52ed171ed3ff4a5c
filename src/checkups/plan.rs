//! The visit plan of a pregnancy and the clinic's antenatal work list.

use actix_web::{get, web, HttpResponse};
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::schedule::{self, VisitStatus};
use crate::{
    audit::{self, Event},
    auth::{roles::RecordReader, Staff},
    db::{schema::*, DbConn},
    error::AppError,
    http::{Page, RequestCtx, ValidQuery},
    pregnancy::{
        dating::{self, GestationalAge, TERM_DAYS},
        store::{self as pregnancy_store, PregnancyRow},
    },
    state::AppState,
};

/// One visit of the recommended plan (2018 guideline, checkups.md §2).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "number": 4, "ga_from": "25+0", "ga_to": "28+6", "date_from": "2026-11-23",
    "date_to": "2026-12-20", "status": "due"
}))]
pub struct ScheduledVisit {
    pub number: u8,
    /// Window in gestational age, `w+d`, inclusive.
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga_from: String,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga_to: String,
    /// The same window in calendar dates (from the current EDD).
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub status: VisitStatus,
}

fn date_at(edd: NaiveDate, ga: GestationalAge) -> NaiveDate {
    edd - Duration::days(TERM_DAYS - ga.days())
}

pub fn schedule_of(
    conn: &mut DbConn,
    pregnancy: &PregnancyRow,
) -> QueryResult<Vec<ScheduledVisit>> {
    let gas: Vec<i32> = checkups::table
        .filter(checkups::pregnancy_id.eq(&pregnancy.id))
        .select(checkups::ga_days)
        .load(conn)?;
    Ok(plan_view(pregnancy.edd, &gas, crate::time::china_today()))
}

fn plan_view(edd: NaiveDate, checkup_gas: &[i32], today: NaiveDate) -> Vec<ScheduledVisit> {
    let gas: Vec<GestationalAge> = checkup_gas
        .iter()
        .map(|g| GestationalAge(i64::from(*g)))
        .collect();
    schedule::visit_statuses(&gas, dating::ga_on(edd, today))
        .into_iter()
        .map(|(v, status)| ScheduledVisit {
            number: v.number,
            ga_from: v.from.to_string(),
            ga_to: v.to.to_string(),
            date_from: date_at(edd, v.from),
            date_to: date_at(edd, v.to),
            status,
        })
        .collect()
}

/// The visit she is overdue for: the latest window that has closed passed without a checkup,
/// and she has not been seen since it closed. A woman seen after a missed window (today, say)
/// is not overdue for it: what she needs next is the next visit (issue #14: she stayed overdue
/// until the next window opened).
fn overdue_visit(
    plan: &[ScheduledVisit],
    last_visit: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<&ScheduledVisit> {
    plan.iter()
        .rev()
        .find(|v| v.date_to < today)
        .filter(|v| v.status == VisitStatus::Missed)
        .filter(|v| last_visit.is_none_or(|seen| seen <= v.date_to))
}

/// Whether she is overdue for a visit ([`overdue_visit`]).
pub fn visit_overdue(conn: &mut DbConn, pregnancy_id: &str, edd: NaiveDate) -> QueryResult<bool> {
    let visits: Vec<(i32, NaiveDate)> = checkups::table
        .filter(checkups::pregnancy_id.eq(pregnancy_id))
        .select((checkups::ga_days, checkups::visit_date))
        .load(conn)?;
    let today = crate::time::china_today();
    let gas: Vec<i32> = visits.iter().map(|v| v.0).collect();
    let plan = plan_view(edd, &gas, today);
    let last_visit = visits.iter().map(|v| v.1).max();
    Ok(overdue_visit(&plan, last_visit, today).is_some())
}

/// The recommended visit plan of a pregnancy, each visit done, due, missed or upcoming.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "The plan", body = Page<ScheduledVisit>),
    )
)]
#[get("/pregnancies/{id}/schedule")]
pub async fn get_visit_plan(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let plan = audit::read(&state.pool, ctx, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "pregnancy.read_schedule", "pregnancy")
            .resource(&id)
            .county(&pregnancy.county_code);
        Ok((schedule_of(conn, &pregnancy)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(plan)))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkStatus {
    /// A visit window is open now or opens within 7 days, and no checkup yet.
    DueThisWeek,
    /// The latest closed window passed without a checkup.
    Overdue,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorklistQuery {
    /// Only women living in this region (a township or village code; 12 digits).
    #[validate(length(equal = 12))]
    pub region: Option<String>,
    /// Only `due_this_week` or only `overdue`.
    pub status: Option<WorkStatus>,
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    #[validate(length(max = 64))]
    pub cursor: Option<String>,
}

/// A woman on the antenatal work list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::work_item)]
pub struct WorkItem {
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub residence_region_code: String,
    pub edd: NaiveDate,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga_today: String,
    pub status: WorkStatus,
    /// The visit that is due or was missed.
    pub visit: ScheduledVisit,
    pub last_visit_date: Option<NaiveDate>,
}

/// Pregnancies whose visits the antenatal work list reads per query; it stops once its page is
/// full, so the visits read are those of the pregnancies the page looks at, not the county's.
const WORKLIST_CHUNK: usize = 200;

/// The clinic's antenatal work list: women whose visit is due this week or overdue. A clinic sees
/// the women it cares for; a county reviewer the county. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "pregnancies",
    params(WorklistQuery),
    responses(
        (status = 200, description = "Due and overdue, ordered by pregnancy", body = Page<WorkItem>),
    )
)]
#[get("/worklist/antenatal")]
pub async fn get_antenatal_worklist(
    staff: Staff<RecordReader>,
    query: ValidQuery<WorklistQuery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let region = crate::org::regions::region_filter("region", q.region.as_deref())?;
    let staff = staff.principal;
    let limit = q.limit.unwrap_or(50);
    // The visits of 200 pregnancies at a time until the page is full.
    let page = audit::read(&state.pool, ctx, move |conn| {
        let today = crate::time::china_today();
        let week_end = today + Duration::days(6);
        let mut items = Vec::new();
        let mut sql = pregnancies::table
            .inner_join(handbooks::table)
            .filter(pregnancies::status.eq("ongoing"))
            .select((
                pregnancies::id,
                pregnancies::handbook_id,
                pregnancies::edd,
                handbooks::full_name,
                handbooks::phone,
                handbooks::residence_region_code,
            ))
            .into_boxed();
        sql = crate::scope::Listing::of(&staff).apply(
            sql,
            pregnancies::handbook_id,
            pregnancies::county_code,
        );
        if let Some(region) = &region {
            sql = sql.filter(handbooks::residence_region_code.like(region.like_pattern()));
        }
        if let Some(cursor) = &q.cursor {
            sql = sql.filter(pregnancies::id.gt(cursor.clone()));
        }
        type Row = (String, String, NaiveDate, String, Option<String>, String);
        let all: Vec<Row> = sql.order(pregnancies::id.asc()).load(conn)?;
        let mut all = all.into_iter().peekable();
        'chunks: while all.peek().is_some() {
            let rows: Vec<Row> = all.by_ref().take(WORKLIST_CHUNK).collect();
            let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
            let mut visits: std::collections::HashMap<String, Vec<(i32, NaiveDate)>> =
                std::collections::HashMap::new();
            let loaded: Vec<(String, i32, NaiveDate)> = checkups::table
                .filter(checkups::pregnancy_id.eq_any(&ids))
                .select((
                    checkups::pregnancy_id,
                    checkups::ga_days,
                    checkups::visit_date,
                ))
                .load(conn)?;
            for (pregnancy_id, ga, date) in loaded {
                visits.entry(pregnancy_id).or_default().push((ga, date));
            }
            for (pregnancy_id, handbook_id, edd, full_name, phone, residence_region_code) in rows {
                let mine = visits.get(&pregnancy_id).map_or(&[][..], Vec::as_slice);
                let gas: Vec<i32> = mine.iter().map(|v| v.0).collect();
                let plan = plan_view(edd, &gas, today);
                let due = plan.iter().find(|v| {
                    v.status != VisitStatus::Done && v.date_to >= today && v.date_from <= week_end
                });
                let last_visit = mine.iter().map(|v| v.1).max();
                let overdue = overdue_visit(&plan, last_visit, today);
                let (status, visit) = match (due, overdue) {
                    (_, Some(v)) => (WorkStatus::Overdue, v.clone()),
                    (Some(v), None) => (WorkStatus::DueThisWeek, v.clone()),
                    (None, None) => continue,
                };
                if q.status.is_some_and(|s| s != status) {
                    continue;
                }
                items.push(WorkItem {
                    pregnancy_id,
                    handbook_id,
                    full_name,
                    phone,
                    residence_region_code,
                    edd,
                    ga_today: dating::ga_on(edd, today).to_string(),
                    status,
                    visit,
                    last_visit_date: last_visit,
                });
                if items.len() as i64 > limit {
                    break 'chunks;
                }
            }
        }
        let page = Page::from_rows(items, limit, |i| i.pregnancy_id.clone());
        let event = Event::new(&staff, "worklist.read", "pregnancy")
            .detail(serde_json::json!({ "returned": page.items.len() }));
        Ok((page, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
