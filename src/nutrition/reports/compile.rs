//! A monthly report computed from the records: a village clinic's counts, a township's aggregate
//! of its villages, the county baseline, and the latest standing of each report.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::{
    super::roster::{self, Scope},
    figures::{self as report, Baseline, CheckFailure, Counts, Difference, Level, Rates},
};
use crate::{
    auth::StaffPrincipal,
    db::{schema::*, DbConn},
    error::AppError,
};

pub(super) fn valid_month(m: &str) -> Result<(), ValidationError> {
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
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
}

/// Where a submitted report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Submitted,
    /// Returned with the reviewer's comment: the unit submits a new version.
    Returned,
    Approved,
}

/// `?month=YYYY-MM` (optional), and a page.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this month, `YYYY-MM`.
    #[validate(custom(function = "valid_month"))]
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: Option<String>,
    /// Items per page, 1 to 100 (default 50).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// Opaque cursor from the previous page's `next_cursor`.
    #[validate(length(max = 128))]
    pub cursor: Option<String>,
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
#[schema(example = crate::openapi::examples::draft)]
pub struct Draft {
    pub level: Level,
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
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
#[schema(example = crate::openapi::examples::report_view)]
pub struct ReportView {
    pub id: String,
    pub institution_id: String,
    pub level: Level,
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    pub version: i32,
    pub status: ReportStatus,
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
#[schema(example = crate::openapi::examples::report_detail)]
pub struct ReportDetail {
    #[serde(flatten)]
    pub report: ReportView,
    pub current: Counts,
    /// Reported vs now, for every count that differs (the report itself never changes).
    pub difference: Vec<Difference>,
}

pub(super) type ReportRow = (
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
pub(super) fn china_instant(local: NaiveDateTime) -> DateTime<Utc> {
    (local - chrono::Duration::hours(8)).and_utc()
}

pub(super) fn level_of(staff: &StaffPrincipal) -> Result<Level, AppError> {
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
pub(super) fn live_counts(
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
pub(super) fn villages_of(
    conn: &mut DbConn,
    township_region: &str,
) -> QueryResult<Vec<(String, String)>> {
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
pub(super) struct Standing {
    pub(super) id: String,
    pub(super) version: i32,
    pub(super) status: String,
    pub(super) late: bool,
    pub(super) counts: Counts,
}

pub(super) fn latest_standing(
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

pub(super) struct Compiled {
    pub(super) counts: Counts,
    pub(super) sources: Vec<Source>,
    pub(super) missing: Vec<String>,
}

/// What a unit reports for the month. A township adds its villages' latest reports (or, with
/// `live`, their records as they are now) and its own children not served by a village clinic.
pub(super) fn compile(
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
