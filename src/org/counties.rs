//! Per-county settings: the high-risk reporting deadlines (national defaults unless set).

use actix_web::{get, put, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::{
    audit::Event,
    auth::{roles::AuditReader, Role, Staff, StaffPrincipal},
    db::{self, schema::county_settings},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    risk::case_store,
    state::AppState,
};

/// A county's settings.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"report_hours_red": 12, "report_hours_orange_purple": 48, "baseline_anaemia_pct": 24.5, "baseline_stunting_pct": 9.8}))]
pub struct CountySettings {
    /// Hours to report a red case to the MCH institution (national: 24).
    #[validate(range(min = 1, max = 168))]
    pub report_hours_red: i64,
    /// Hours to report an orange or purple case (national: 72).
    #[validate(range(min = 1, max = 720))]
    pub report_hours_orange_purple: i64,
    /// Nutrition-pack programme baseline survey: anaemia prevalence, % (reports show the change
    /// in percentage points).
    #[validate(range(min = 0.0, max = 100.0))]
    pub baseline_anaemia_pct: Option<f64>,
    /// Baseline stunting prevalence, %.
    #[validate(range(min = 0.0, max = 100.0))]
    pub baseline_stunting_pct: Option<f64>,
}

/// System administrators for any county; county reviewers for their own (others: 404).
fn may_manage(staff: &StaffPrincipal, county: &str) -> Result<(), AppError> {
    if staff.has(Role::SystemAdmin) || staff.county_code == county {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn valid_county(code: &str) -> Result<(), AppError> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// A county's settings (the national defaults when it has set none).
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    responses(
        (status = 200, description = "Settings", body = CountySettings),
        (status = 403, description = "County reviewers and system administrators only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your county", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/counties/{code}/settings")]
pub async fn get_county_settings(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let (d, baseline) = db::run(&state.pool, move |conn| {
        Ok((
            case_store::deadlines(conn, &code)?,
            crate::nutrition::reports::baseline(conn, &code)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(CountySettings {
        report_hours_red: d.red_hours,
        report_hours_orange_purple: d.orange_purple_hours,
        baseline_anaemia_pct: baseline.anaemia_pct,
        baseline_stunting_pct: baseline.stunting_pct,
    }))
}

/// Set a county's reporting deadlines. New cases use them; open cases keep their due time.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    request_body = CountySettings,
    responses(
        (status = 200, description = "Saved", body = CountySettings),
        (status = 403, description = "County reviewers and system administrators only", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not your county", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/counties/{code}/settings")]
pub async fn replace_county_settings(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    body: ValidJson<CountySettings>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let s = body.0;
    let staff = staff.principal;
    let saved = db::run_tx(&state.pool, move |conn| {
        let now = Utc::now().naive_utc();
        let (red, other) = (
            s.report_hours_red as i32,
            s.report_hours_orange_purple as i32,
        );
        let n = diesel::update(county_settings::table.find(&code))
            .set((
                county_settings::report_hours_red.eq(red),
                county_settings::report_hours_orange_purple.eq(other),
                county_settings::baseline_anaemia_pct.eq(s.baseline_anaemia_pct),
                county_settings::baseline_stunting_pct.eq(s.baseline_stunting_pct),
                county_settings::updated_by.eq(&staff.id),
                county_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
        if n == 0 {
            diesel::insert_into(county_settings::table)
                .values((
                    county_settings::county_code.eq(&code),
                    county_settings::report_hours_red.eq(red),
                    county_settings::report_hours_orange_purple.eq(other),
                    county_settings::baseline_anaemia_pct.eq(s.baseline_anaemia_pct),
                    county_settings::baseline_stunting_pct.eq(s.baseline_stunting_pct),
                    county_settings::updated_by.eq(&staff.id),
                    county_settings::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        Event::new(&staff, "county.settings", "county")
            .resource(&code)
            .county(&code)
            .detail(&s)
            .record(conn, &ctx)?;
        Ok(s)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}
