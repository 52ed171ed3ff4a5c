//! Regions: create (system admin), list and read (any staff). Reference data, not personal data.

use crate::error::Code;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::rules::{RegionCode, RegionLevel};
use crate::{
    audit::{Actor, Event},
    auth::{roles::SystemAdmin, Staff},
    db::{self, schema::regions, DbConn},
    error::{AppError, Problem},
    http::{Page, RequestCtx, ValidJson, ValidQuery},
    state::AppState,
};

fn valid_region_code(code: &str) -> Result<(), ValidationError> {
    RegionCode::parse(code).map(|_| ()).map_err(|e| {
        let mut error = ValidationError::new("region_code");
        error.message = Some(e.to_string().into());
        error
    })
}

/// A region code given as a filter (`field` is its name), parsed at the edge: 422 naming the
/// field when it is not a valid code.
pub fn region_filter(field: &str, code: Option<&str>) -> Result<Option<RegionCode>, AppError> {
    code.map(|code| {
        RegionCode::parse(code).map_err(|e| {
            AppError::invalid_field(&format!("/{field}"), "region_code", e.to_string())
        })
    })
    .transpose()
}

/// A new region. Its level, parent and county are derived from the code; the parent must exist.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "990101001001", "name": "东湖村", "elevation_m": 1250}))]
pub struct NewRegion {
    /// 12-digit statistical division code.
    #[validate(custom(function = "valid_region_code"))]
    pub code: String,
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Elevation in metres (used for the altitude adjustment of haemoglobin).
    #[validate(range(min = -500, max = 9000))]
    pub elevation_m: Option<i32>,
}

/// A region.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "990101001001", "name": "东湖村", "level": "village",
    "parent_code": "990101001000", "county_code": "990101", "elevation_m": 1250,
    "created_at": "2026-11-23T08:00:00Z"}))]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
    pub county_code: String,
    pub elevation_m: Option<i32>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: DateTime<Utc>,
}

type RegionRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i32>,
    chrono::NaiveDateTime,
);

const COLUMNS: (
    regions::code,
    regions::name,
    regions::level,
    regions::parent_code,
    regions::county_code,
    regions::elevation_m,
    regions::created_at,
) = (
    regions::code,
    regions::name,
    regions::level,
    regions::parent_code,
    regions::county_code,
    regions::elevation_m,
    regions::created_at,
);

fn view(row: RegionRow) -> diesel::QueryResult<RegionView> {
    let (code, name, _level, parent_code, county_code, elevation_m, created_at) = row;
    let level = RegionCode::parse(&code).map(|c| c.level()).map_err(|_| {
        diesel::result::Error::DeserializationError(
            format!("regions.code {code:?} is not a region code").into(),
        )
    })?;
    Ok(RegionView {
        code,
        name,
        level,
        parent_code,
        county_code,
        elevation_m,
        created_at: created_at.and_utc(),
    })
}

/// Creates a region after checking that its parent exists (shared by the API, CLI and demo).
pub fn create(conn: &mut DbConn, input: &NewRegion) -> Result<RegionView, AppError> {
    if input.name.trim().is_empty() {
        return Err(AppError::invalid_field(
            "/name",
            "length",
            "a name is required",
        ));
    }
    let code = RegionCode::parse(&input.code)
        .map_err(|e| AppError::invalid_field("/code", "region_code", e.to_string()))?;
    let parent = code.parent();
    if let Some(parent) = &parent {
        let exists: i64 = regions::table
            .filter(regions::code.eq(parent))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(AppError::invalid_field(
                "/code",
                "parent_missing",
                format!("the enclosing region {parent} does not exist; create it first"),
            ));
        }
    }
    let taken: i64 = regions::table
        .filter(regions::code.eq(code.as_str()))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::conflict(
            Code::RegionExists,
            format!("region {} already exists", code.as_str()),
        ));
    }
    diesel::insert_into(regions::table)
        .values((
            regions::code.eq(code.as_str()),
            regions::name.eq(input.name.trim()),
            regions::level.eq(code.level().as_str()),
            regions::parent_code.eq(&parent),
            regions::county_code.eq(code.county_code()),
            regions::elevation_m.eq(input.elevation_m),
            regions::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(view(
        regions::table
            .find(code.as_str())
            .select(COLUMNS)
            .first(conn)?,
    )?)
}

/// Create a region.
///
/// Who: system administrators.
#[utoipa::path(
    tag = "regions",
    request_body = NewRegion,
    responses(
        (status = 201, description = "Created", body = RegionView),
        (status = 409, description = "The code exists already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the parent region is missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/regions")]
pub async fn create_region(
    staff: Staff<SystemAdmin>,
    body: ValidJson<NewRegion>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::from(&*staff);
    let region = db::run_tx(&state.pool, move |conn| {
        let region = create(conn, &body.0)?;
        Event::new(actor, "region.create", "region")
            .resource(&region.code)
            .county(&region.county_code)
            .record(conn, &ctx)?;
        Ok(region)
    })
    .await?;
    Ok(HttpResponse::Created().json(region))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegionQuery {
    /// Only the direct children of this region.
    #[validate(length(equal = 12))]
    pub parent: Option<String>,
    /// Only regions of this level.
    pub level: Option<RegionLevel>,
    /// Only regions in this county (6 digits).
    #[validate(length(equal = 6))]
    pub county: Option<String>,
    /// 1 to 100, default 50.
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[validate(length(max = 12))]
    pub cursor: Option<String>,
}

/// List regions, ordered by code.
///
/// Who: any staff member.
#[utoipa::path(
    tag = "regions",
    params(RegionQuery),
    responses(
        (status = 200, description = "A page of regions", body = Page<RegionView>),
    )
)]
#[get("/regions")]
pub async fn list_regions(
    _staff: Staff,
    query: ValidQuery<RegionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let limit = q.limit.unwrap_or(50);
    let page = db::run(&state.pool, move |conn| {
        let mut sql = regions::table.select(COLUMNS).into_boxed();
        if let Some(parent) = q.parent {
            sql = sql.filter(regions::parent_code.eq(parent));
        }
        if let Some(level) = q.level {
            sql = sql.filter(regions::level.eq(level.as_str()));
        }
        if let Some(county) = q.county {
            sql = sql.filter(regions::county_code.eq(county));
        }
        if let Some(cursor) = q.cursor {
            sql = sql.filter(regions::code.gt(cursor));
        }
        let rows: Vec<RegionRow> = sql.order(regions::code.asc()).limit(limit + 1).load(conn)?;
        Ok(Page::from_rows(rows, limit, |r| r.0.clone()).try_map(view)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Read one region.
///
/// Who: any staff member.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "12-digit region code", example = "990101001001")),
    responses(
        (status = 200, description = "The region", body = RegionView),
    )
)]
#[get("/regions/{code}")]
pub async fn get_region(
    _staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let region = db::run(&state.pool, move |conn| {
        Ok(view(
            regions::table.find(&code).select(COLUMNS).first(conn)?,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(region))
}

/// What may change in a region: its name and elevation (the code is its identity).
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "东湖村", "elevation_m": 1380}))]
pub struct RegionChanges {
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// Metres; `null` when unknown. The altitude adjustment of haemoglobin follows it from the
    /// next follow-up card on (cards already recorded keep the value they were computed with).
    #[validate(range(min = -500, max = 9000))]
    pub elevation_m: Option<i32>,
}

/// Correct a region's name or elevation: send only what changes (a JSON merge patch). System
/// administrators, and county reviewers for their own county. Audited with the old values.
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "regions",
    params(("code" = String, Path, description = "12-digit region code", example = "990101001001")),
    request_body = RegionChanges,
    responses(
        (status = 200, description = "The region as it now is", body = RegionView),
        (status = 422, description = "Invalid values, or a field that cannot change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/regions/{code}")]
pub async fn amend_region(
    staff: Staff<crate::auth::roles::AuditReader>,
    path: web::Path<String>,
    body: ValidJson<crate::http::versioning::MergePatch>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = path.into_inner();
    let staff = staff.principal;
    let region = db::run_tx(&state.pool, move |conn| {
        let old = view(regions::table.find(&code).select(COLUMNS).first(conn)?)?;
        if !staff.has(crate::auth::Role::SystemAdmin) && staff.county_code != old.county_code {
            return Err(AppError::NotFound);
        }
        let current = RegionChanges {
            name: old.name.clone(),
            elevation_m: old.elevation_m,
        };
        let changed = body.0.apply_to(&current)?;
        if changed.name.trim().is_empty() {
            return Err(AppError::invalid_field(
                "/name",
                "length",
                "a name is required",
            ));
        }
        diesel::update(regions::table.find(&code))
            .set((
                regions::name.eq(changed.name.trim()),
                regions::elevation_m.eq(changed.elevation_m),
            ))
            .execute(conn)?;
        Event::new(&staff, "region.update", "region")
            .resource(&code)
            .county(&old.county_code)
            .detail(serde_json::json!({"before": current, "after": changed}))
            .record(conn, &ctx)?;
        Ok(view(
            regions::table.find(&code).select(COLUMNS).first(conn)?,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(region))
}
