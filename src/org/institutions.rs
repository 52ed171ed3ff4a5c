//! Institutions: create and disable (system admin), list and read (any staff).

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::rules::{InstitutionLevel, RegionCode};
use crate::{
    audit::{Actor, Event},
    auth::{roles::SystemAdmin, sessions, tokens::SubjectKind, Staff},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{Page, RequestCtx, ValidJson, ValidQuery},
    state::AppState,
};

/// A new institution.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "城关镇卫生院", "level": "township_centre", "region_code": "990101001000"}))]
pub struct NewInstitution {
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    pub level: InstitutionLevel,
    /// Where it is: a region of the level its kind allows (see `InstitutionLevel`).
    #[validate(length(equal = 12))]
    pub region_code: String,
}

/// An institution.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4-0000-7000-8000-0000000000a1", "name": "城关镇卫生院",
    "level": "township_centre", "region_code": "990101001000", "county_code": "990101",
    "disabled": false, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z"}))]
pub struct InstitutionView {
    pub id: String,
    pub name: String,
    pub level: InstitutionLevel,
    pub region_code: String,
    pub county_code: String,
    pub disabled: bool,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable)]
struct Row {
    id: String,
    name: String,
    level: String,
    region_code: String,
    county_code: String,
    disabled: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl Row {
    fn view(self) -> diesel::QueryResult<InstitutionView> {
        let level = crate::db::stored::from_text("institutions.level", &self.level)?;
        Ok(InstitutionView {
            id: self.id,
            name: self.name,
            level,
            region_code: self.region_code,
            county_code: self.county_code,
            disabled: self.disabled,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

fn find(conn: &mut DbConn, id: &str) -> Result<InstitutionView, AppError> {
    Ok(institutions::table.find(id).first::<Row>(conn)?.view()?)
}

/// Creates an institution after checking that its region exists and fits its level.
pub fn create(conn: &mut DbConn, input: &NewInstitution) -> Result<InstitutionView, AppError> {
    let code = RegionCode::parse(&input.region_code)
        .map_err(|e| AppError::invalid_field("/region_code", "region_code", e.to_string()))?;
    let exists: i64 = regions::table
        .filter(regions::code.eq(code.as_str()))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(AppError::invalid_field(
            "/region_code",
            "not_found",
            "no region has this code",
        ));
    }
    if !input.level.allowed_region_levels().contains(&code.level()) {
        return Err(AppError::invalid_field(
            "/region_code",
            "level_mismatch",
            format!(
                "a {} cannot be registered at a {} region",
                input.level.as_str(),
                code.level().as_str()
            ),
        ));
    }
    let now = Utc::now().naive_utc();
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(institutions::table)
        .values((
            institutions::id.eq(&id),
            institutions::name.eq(input.name.trim()),
            institutions::level.eq(input.level.as_str()),
            institutions::region_code.eq(code.as_str()),
            institutions::county_code.eq(code.county_code()),
            institutions::disabled.eq(false),
            institutions::created_at.eq(now),
            institutions::updated_at.eq(now),
        ))
        .execute(conn)?;
    if input.level == InstitutionLevel::VillageClinic {
        crate::scope::grant_residents(conn, &id, code.as_str())?;
    }
    find(conn, &id)
}

/// Create an institution.
///
/// Who: system administrators.
#[utoipa::path(
    tag = "institutions",
    request_body = NewInstitution,
    responses(
        (status = 201, description = "Created", body = InstitutionView),
        (status = 422, description = "Invalid fields, unknown region, or a region of the wrong level", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/institutions")]
pub async fn create_institution(
    staff: Staff<SystemAdmin>,
    body: ValidJson<NewInstitution>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let actor = Actor::from(&*staff);
    let institution = db::run_tx(&state.pool, move |conn| {
        let institution = create(conn, &body.0)?;
        Event::new(actor, "institution.create", "institution")
            .resource(&institution.id)
            .county(&institution.county_code)
            .record(conn, &ctx)?;
        Ok(institution)
    })
    .await?;
    Ok(HttpResponse::Created().json(institution))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// Only institutions in this county (6 digits).
    #[validate(length(equal = 6))]
    pub county: Option<String>,
    /// Only institutions within this region (12 digits; includes the regions below it).
    #[validate(length(equal = 12))]
    pub within: Option<String>,
    pub level: Option<InstitutionLevel>,
    /// Include disabled institutions (default false).
    pub include_disabled: Option<bool>,
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    #[validate(length(max = 64))]
    pub cursor: Option<String>,
}

/// List institutions.
///
/// Who: any staff member.
#[utoipa::path(
    tag = "institutions",
    params(InstitutionQuery),
    responses(
        (status = 200, description = "A page of institutions", body = Page<InstitutionView>),
    )
)]
#[get("/institutions")]
pub async fn list_institutions(
    _staff: Staff,
    query: ValidQuery<InstitutionQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let within = super::regions::region_filter("within", q.within.as_deref())?;
    let limit = q.limit.unwrap_or(50);
    let page = db::run(&state.pool, move |conn| {
        let mut sql = institutions::table.into_boxed();
        if let Some(county) = q.county {
            sql = sql.filter(institutions::county_code.eq(county));
        }
        if let Some(region) = within {
            sql = sql.filter(institutions::region_code.like(region.like_pattern()));
        }
        if let Some(level) = q.level {
            sql = sql.filter(institutions::level.eq(level.as_str()));
        }
        if !q.include_disabled.unwrap_or(false) {
            sql = sql.filter(institutions::disabled.eq(false));
        }
        if let Some(cursor) = q.cursor {
            sql = sql.filter(institutions::id.gt(cursor));
        }
        let rows: Vec<Row> = sql
            .order(institutions::id.asc())
            .limit(limit + 1)
            .load(conn)?;
        Ok(Page::from_rows(rows, limit, |r| r.id.clone()).try_map(Row::view)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Read one institution.
///
/// Who: any staff member.
#[utoipa::path(
    tag = "institutions",
    params(("id" = String, Path, description = "Institution id")),
    responses(
        (status = 200, description = "The institution", body = InstitutionView),
    )
)]
#[get("/institutions/{id}")]
pub async fn get_institution(
    _staff: Staff,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let institution = db::run(&state.pool, move |conn| find(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(institution))
}

/// Disable an institution: its staff can no longer sign in and their sessions end.
///
/// Who: system administrators.
#[utoipa::path(
    tag = "institutions",
    params(("id" = String, Path, description = "Institution id")),
    responses(
        (status = 200, description = "Disabled", body = InstitutionView),
        (status = 409, description = "It is the caller's own institution", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/institutions/{id}/disable")]
pub async fn disable_institution(
    staff: Staff<SystemAdmin>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    if id == staff.institution_id {
        return Err(AppError::conflict(
            Code::CannotDisableOwnInstitution,
            "you cannot disable your own institution",
        ));
    }
    let actor = Actor::from(&*staff);
    let institution = db::run_tx(&state.pool, move |conn| {
        let before = find(conn, &id)?;
        diesel::update(institutions::table.find(&id))
            .set((
                institutions::disabled.eq(true),
                institutions::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        let members: Vec<String> = staff_accounts::table
            .filter(staff_accounts::institution_id.eq(&id))
            .select(staff_accounts::id)
            .load(conn)?;
        for member in &members {
            sessions::revoke_all(conn, SubjectKind::Staff, member, "institution_disabled")?;
        }
        // A disabled village clinic no longer serves its village's children.
        crate::scope::end_residence_grants(conn, &id)?;
        Event::new(actor, "institution.disable", "institution")
            .resource(&id)
            .county(&before.county_code)
            .record(conn, &ctx)?;
        find(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(institution))
}

/// How many institutions exist (the demo loader refuses a non-empty database).
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    institutions::table.count().get_result(conn)
}
