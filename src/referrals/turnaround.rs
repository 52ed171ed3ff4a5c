//! Referral turnaround: per receiving institution, how fast referrals were accepted and closed
//! (the county's view, or one's own as the receiving clinic).

use crate::http::pagination::Page;
use actix_web::{get, web, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::routes::Row;
use super::rules::{self};
use crate::{
    auth::{roles::RecordReader, Role, Staff},
    db::{self, schema::*},
    error::AppError,
    http::ValidQuery,
    state::AppState,
};

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TurnaroundQuery {
    /// `YYYY-MM` (China Standard Time), by the month the referral was sent.
    #[validate(length(equal = 7))]
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
}

/// Turnaround of the referrals one institution received in a month.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "institution_id": "0192f0c4-0000-7000-8000-0000000000c1", "month": "2026-10", "received": 14,
    "accepted": 12, "declined": 1, "arrived": 10, "median_hours_to_accept": 3.5,
    "median_hours_to_arrive": 26.0
}))]
pub struct Turnaround {
    pub institution_id: String,
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    pub received: i64,
    pub accepted: i64,
    pub declined: i64,
    pub arrived: i64,
    /// Median hours from sent to accepted, and to arrived.
    pub median_hours_to_accept: Option<f64>,
    pub median_hours_to_arrive: Option<f64>,
}

/// Referral turnaround per receiving institution and month: the caller's institution, or every
/// institution of the county for a county reviewer.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "referrals",
    params(TurnaroundQuery),
    responses(
        (status = 200, description = "Figures per receiving institution", body = Page<Turnaround>),
    )
)]
#[get("/referrals/turnaround")]
pub async fn get_referral_turnaround(
    staff: Staff<RecordReader>,
    query: ValidQuery<TurnaroundQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let month = query.0.month;
    let start = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| AppError::invalid_field("/month", "invalid_value", "YYYY-MM"))?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(start);
    // Months are China Standard Time: 00:00 CST is 16:00 UTC the day before.
    let offset = chrono::Duration::hours(8);
    let (from, to) = (
        start.and_hms_opt(0, 0, 0).unwrap_or_default() - offset,
        end.and_hms_opt(0, 0, 0).unwrap_or_default() - offset,
    );
    let staff = staff.principal;
    let figures = db::run(&state.pool, move |conn| {
        let mut sql = referrals::table
            .filter(referrals::sent_at.ge(from))
            .filter(referrals::sent_at.lt(to))
            .into_boxed();
        if staff.has(Role::CountyReviewer) {
            sql = sql.filter(referrals::county_code.eq(staff.county_code.clone()));
        } else {
            sql = sql.filter(referrals::to_institution_id.eq(staff.institution_id.clone()));
        }
        let rows: Vec<Row> = sql.order(referrals::id.asc()).load(conn)?;
        let mut by_institution: std::collections::BTreeMap<String, Vec<Row>> =
            std::collections::BTreeMap::new();
        for r in rows {
            by_institution
                .entry(r.to_institution_id.clone())
                .or_default()
                .push(r);
        }
        let hours = |a: NaiveDateTime, b: NaiveDateTime| (b - a).num_seconds() as f64 / 3600.0;
        Ok(by_institution
            .into_iter()
            .map(|(institution_id, rows)| Turnaround {
                month: month.clone(),
                received: rows.len() as i64,
                accepted: rows.iter().filter(|r| r.accepted_at.is_some()).count() as i64,
                declined: rows.iter().filter(|r| r.declined_at.is_some()).count() as i64,
                arrived: rows.iter().filter(|r| r.arrived_at.is_some()).count() as i64,
                median_hours_to_accept: rules::median(
                    rows.iter()
                        .filter_map(|r| r.accepted_at.map(|t| hours(r.sent_at, t)))
                        .collect(),
                ),
                median_hours_to_arrive: rules::median(
                    rows.iter()
                        .filter_map(|r| r.arrived_at.map(|t| hours(r.sent_at, t)))
                        .collect(),
                ),
                institution_id,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(figures)))
}
