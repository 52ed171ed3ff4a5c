//! The county's programme indicators (§9) against its baseline survey, per township.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::compile::ReportStatus;
use super::compile::{baseline, latest_standing, MonthQuery};
use super::figures::{self as report, Baseline, Counts, Rates};
use crate::{
    auth::{roles::AuditReader, Role, Staff},
    db::{self, schema::*},
    error::AppError,
    http::ValidQuery,
    state::AppState,
};

/// One township's figures in the county's month.
#[derive(Debug, Serialize, ToSchema)]
pub struct TownshipKpi {
    pub institution_id: String,
    pub institution_name: String,
    /// The township's latest report (not returned), if any.
    pub report_id: Option<String>,
    pub status: Option<ReportStatus>,
    pub late: Option<bool>,
    pub counts: Option<Counts>,
    pub rates: Option<Rates>,
}

/// The county's month: each township's reported figures and the county total of what was reported.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::county_kpis)]
pub struct CountyKpis {
    pub county_code: String,
    #[schema(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    pub month: String,
    pub baseline: Baseline,
    pub townships: Vec<TownshipKpi>,
    /// Sum over the townships that reported.
    pub counts: Counts,
    pub rates: Rates,
}

/// KPIs for a county and month from the townships' reports (distribution, effective intake and
/// counselling rates; anaemia and stunting prevalence against the county's baseline).
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "nutrition",
    params(
        ("code" = String, Path, description = "6-digit county code"),
        MonthQuery,
    ),
    responses(
        (status = 200, description = "KPIs", body = CountyKpis),
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
                status: latest
                    .as_ref()
                    .map(|r| crate::db::stored::from_text("nutrition_reports.status", &r.status))
                    .transpose()?,
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
