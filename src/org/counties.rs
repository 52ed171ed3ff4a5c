//! Per-county settings: the high-risk reporting deadlines (national defaults unless set).

use actix_web::{get, patch, post, put, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::http::pagination::Page;
use crate::{
    audit::Event,
    auth::{roles::AuditReader, Role, Staff, StaffPrincipal},
    db::{self, schema::county_settings},
    error::{AppError, Problem},
    http::{versioning::MergePatch, RequestCtx, ValidJson},
    nutrition::force_majeure::{self, NewPeriod, Period},
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
    /// in percentage points); `null` when there was none. Required in a `PUT` (which replaces
    /// every setting): to change some, use `PATCH`.
    #[validate(range(min = 0.0, max = 100.0))]
    #[schema(required = true)]
    pub baseline_anaemia_pct: Option<f64>,
    /// Baseline stunting prevalence, %; `null` when there was none.
    #[validate(range(min = 0.0, max = 100.0))]
    #[schema(required = true)]
    pub baseline_stunting_pct: Option<f64>,
}

/// Every field of [`CountySettings`], each required in a `PUT`.
const SETTINGS: [&str; 4] = [
    "report_hours_red",
    "report_hours_orange_purple",
    "baseline_anaemia_pct",
    "baseline_stunting_pct",
];

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
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    responses(
        (status = 200, description = "Settings", body = CountySettings),
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
    let settings = db::run(&state.pool, move |conn| current(conn, &code)).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// The settings in force (national defaults for what the county has not set).
fn current(conn: &mut db::DbConn, code: &str) -> Result<CountySettings, AppError> {
    let d = case_store::deadlines(conn, code)?;
    let baseline = crate::nutrition::reports::baseline(conn, code)?;
    Ok(CountySettings {
        report_hours_red: d.red_hours,
        report_hours_orange_purple: d.orange_purple_hours,
        baseline_anaemia_pct: baseline.anaemia_pct,
        baseline_stunting_pct: baseline.stunting_pct,
    })
}

/// Replace a county's settings: every one is named (`null` for a baseline there is none of).
/// New cases use the deadlines; open cases keep their due time.
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    request_body = CountySettings,
    responses(
        (status = 200, description = "Saved", body = CountySettings),
    )
)]
#[put("/counties/{code}/settings")]
pub async fn replace_county_settings(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    body: ValidJson<MergePatch>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    // A replacement names every setting (`null` for a baseline there is none of): one left
    // out is refused, not cleared (issue #14).
    let missing: Vec<crate::error::FieldError> = SETTINGS
        .iter()
        .filter(|f| !body.0 .0.contains_key(**f))
        .map(|f| {
            crate::error::FieldError::new(
                format!("/{f}"),
                "required",
                "a replacement names every setting; use PATCH to change some",
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(AppError::Validation(missing));
    }
    let s: CountySettings = crate::http::extract::parse_json(
        &serde_json::to_vec(&body.0 .0).map_err(|e| AppError::internal(e.to_string()))?,
    )?;
    let staff = staff.principal;
    let saved = db::run_tx(&state.pool, move |conn| save(conn, &code, s, &staff, &ctx)).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Change some of a county's settings: only the fields sent (a JSON merge patch; `null` clears
/// a baseline). The others keep their values (issue #14: a body of only the baselines was
/// refused, and a partial one cleared the rest).
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    request_body(content = Object, description = "Any of the fields of CountySettings", example = json!({"baseline_anaemia_pct": 24.5})),
    responses(
        (status = 200, description = "Saved: every setting now in force", body = CountySettings),
        (status = 422, description = "Out of range, or an unknown field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/counties/{code}/settings")]
pub async fn amend_county_settings(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    body: ValidJson<MergePatch>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let patch = body.0;
    let staff = staff.principal;
    let saved = db::run_tx(&state.pool, move |conn| {
        let changed = patch.apply_to(&current(conn, &code)?)?;
        save(conn, &code, changed, &staff, &ctx)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Writes every setting of `code` and audits it.
fn save(
    conn: &mut db::DbConn,
    code: &str,
    s: CountySettings,
    staff: &StaffPrincipal,
    ctx: &RequestCtx,
) -> Result<CountySettings, AppError> {
    let now = Utc::now().naive_utc();
    let (red, other) = (
        s.report_hours_red as i32,
        s.report_hours_orange_purple as i32,
    );
    let n = diesel::update(county_settings::table.find(code))
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
                county_settings::county_code.eq(code),
                county_settings::report_hours_red.eq(red),
                county_settings::report_hours_orange_purple.eq(other),
                county_settings::baseline_anaemia_pct.eq(s.baseline_anaemia_pct),
                county_settings::baseline_stunting_pct.eq(s.baseline_stunting_pct),
                county_settings::updated_by.eq(&staff.id),
                county_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Event::new(staff, "county.settings", "county")
        .resource(code)
        .county(code)
        .detail(&s)
        .record(conn, ctx)?;
    Ok(s)
}

/// The county's force-majeure periods (nutrition packs: days that do not count towards a stop),
/// withdrawn ones too. Any staff member of the county.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    responses(
        (status = 200, description = "Periods, earliest first", body = Page<Period>),
    )
)]
#[get("/counties/{code}/force-majeure")]
pub async fn list_force_majeure_periods(
    staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let periods = db::run(&state.pool, move |conn| {
        Ok(force_majeure::of_county(conn, &code)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(periods)))
}

/// Declare a force-majeure period (an epidemic closure, a flood) for the county or one of its
/// townships or villages: not collecting packs in those days does not count towards a stop
/// (nutrition-pack.md S1). Audited.
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "6-digit county code")),
    request_body = NewPeriod,
    responses(
        (status = 201, description = "Declared", body = Period),
        (status = 422, description = "A region outside the county, or the end before the start", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/counties/{code}/force-majeure")]
pub async fn declare_force_majeure(
    staff: Staff<AuditReader>,
    path: web::Path<String>,
    body: ValidJson<NewPeriod>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let input = body.0;
    let staff = staff.principal;
    let period = db::run_tx(&state.pool, move |conn| {
        let period = force_majeure::declare(conn, &code, &input, &staff.id)?;
        Event::new(&staff, "county.force_majeure_declare", "force_majeure")
            .resource(&period.id)
            .county(&code)
            .detail(&period)
            .record(conn, &ctx)?;
        Ok(period)
    })
    .await?;
    Ok(HttpResponse::Created().json(period))
}

/// Withdraw a period declared in error: it no longer counts; it stays listed, withdrawn.
/// Audited.
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(
        ("code" = String, Path, description = "6-digit county code"),
        ("id" = String, Path, description = "Period id"),
    ),
    responses(
        (status = 200, description = "Withdrawn", body = Period),
        (status = 409, description = "Already withdrawn", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/counties/{code}/force-majeure/{id}/withdraw")]
pub async fn withdraw_force_majeure(
    staff: Staff<AuditReader>,
    path: web::Path<(String, String)>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (code, id) = path.into_inner();
    valid_county(&code)?;
    may_manage(&staff, &code)?;
    let staff = staff.principal;
    let period = db::run_tx(&state.pool, move |conn| {
        let period = force_majeure::withdraw(conn, &code, &id, &staff.id)?;
        Event::new(&staff, "county.force_majeure_withdraw", "force_majeure")
            .resource(&period.id)
            .county(&code)
            .record(conn, &ctx)?;
        Ok(period)
    })
    .await?;
    Ok(HttpResponse::Ok().json(period))
}
