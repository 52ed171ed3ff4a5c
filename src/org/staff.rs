//! Staff accounts: create, list, read, disable — each within the caller's scope.
//!
//! `system_admin` manages everyone; `institution_admin` manages its own institution and may grant
//! only `clinician`, `village_doctor` and `institution_admin`; `county_reviewer` may read the staff
//! of its county. A staff account outside the caller's scope answers 404. Reads are audited.

use crate::error::Code;
use std::collections::BTreeSet;

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use crate::scope::accounts::StaffScope;
use crate::{
    audit::{self, Actor, Event},
    auth::{
        password,
        roles::{Role, StaffManager, StaffReader},
        sessions,
        tokens::SubjectKind,
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{Page, RequestCtx, ValidJson, ValidQuery},
    state::AppState,
};

fn valid_username(name: &str) -> Result<(), ValidationError> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        let mut e = ValidationError::new("username");
        e.message = Some("3 to 64 of lowercase letters, digits, '.', '_' and '-'".into());
        Err(e)
    }
}

fn valid_phone(phone: &str) -> Result<(), ValidationError> {
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    if (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        Ok(())
    } else {
        let mut e = ValidationError::new("phone");
        e.message = Some("digits, optionally with '+' and '-', 5 to 20 long".into());
        Err(e)
    }
}

fn distinct_roles(roles: &[Role]) -> Result<(), ValidationError> {
    if roles.iter().collect::<BTreeSet<_>>().len() == roles.len() {
        Ok(())
    } else {
        let mut e = ValidationError::new("duplicate");
        e.message = Some("a role is listed twice".into());
        Err(e)
    }
}

/// A new staff account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "dr.wang", "password": "correct horse battery", "full_name": "王医生",
    "phone": "13800000000", "institution_id": "0192f0c4-0000-7000-8000-0000000000a1", "roles": ["clinician"]}))]
pub struct NewStaff {
    #[validate(custom(function = "valid_username"))]
    pub username: String,
    /// 10 to 128 characters.
    #[validate(length(min = 10, max = 128))]
    pub password: String,
    #[validate(length(min = 1, max = 100))]
    pub full_name: String,
    #[validate(custom(function = "valid_phone"))]
    pub phone: Option<String>,
    #[validate(length(min = 1, max = 64))]
    pub institution_id: String,
    #[validate(length(min = 1, max = 5), custom(function = "distinct_roles"))]
    pub roles: Vec<Role>,
}

/// A staff account (never its password).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": "0192f0c4-0000-7000-8000-000000000001", "username": "dr.wang", "full_name": "王医生",
    "phone": "13800000000", "institution_id": "0192f0c4-0000-7000-8000-0000000000a1", "county_code": "990101",
    "roles": ["clinician"], "disabled": false, "created_at": "2026-11-23T08:00:00Z", "updated_at": "2026-11-23T08:00:00Z"}))]
pub struct StaffView {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub phone: Option<String>,
    pub institution_id: String,
    pub county_code: String,
    pub roles: Vec<Role>,
    pub disabled: bool,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Queryable)]
struct Row {
    id: String,
    username: String,
    full_name: String,
    phone: Option<String>,
    institution_id: String,
    county_code: String,
    disabled: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

const COLUMNS: (
    staff_accounts::id,
    staff_accounts::username,
    staff_accounts::full_name,
    staff_accounts::phone,
    staff_accounts::institution_id,
    staff_accounts::county_code,
    staff_accounts::disabled,
    staff_accounts::created_at,
    staff_accounts::updated_at,
) = (
    staff_accounts::id,
    staff_accounts::username,
    staff_accounts::full_name,
    staff_accounts::phone,
    staff_accounts::institution_id,
    staff_accounts::county_code,
    staff_accounts::disabled,
    staff_accounts::created_at,
    staff_accounts::updated_at,
);

/// Attaches roles to rows with one query for the whole page.
fn with_roles(conn: &mut DbConn, rows: Vec<Row>) -> QueryResult<Vec<StaffView>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let pairs: Vec<(String, String)> = staff_roles::table
        .filter(staff_roles::staff_id.eq_any(&ids))
        .select((staff_roles::staff_id, staff_roles::role))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut roles: Vec<Role> = pairs
                .iter()
                .filter(|(id, _)| *id == r.id)
                .filter_map(|(_, role)| Role::parse(role))
                .collect();
            roles.sort();
            StaffView {
                id: r.id,
                username: r.username,
                full_name: r.full_name,
                phone: r.phone,
                institution_id: r.institution_id,
                county_code: r.county_code,
                roles,
                disabled: r.disabled,
                created_at: r.created_at.and_utc(),
                updated_at: r.updated_at.and_utc(),
            }
        })
        .collect())
}

/// One staff account within `scope`, or 404.
fn find_in_scope(conn: &mut DbConn, id: &str, scope: &StaffScope) -> Result<StaffView, AppError> {
    let row: Row = staff_accounts::table.find(id).select(COLUMNS).first(conn)?;
    if !scope.covers(&row.county_code, &row.institution_id) {
        return Err(AppError::NotFound);
    }
    Ok(with_roles(conn, vec![row])?.remove(0))
}

/// Creates a staff account with an already-hashed password (shared by the API, CLI and demo).
pub fn create(
    conn: &mut DbConn,
    input: &NewStaff,
    password_hash: &str,
) -> Result<StaffView, AppError> {
    let county: Option<(String, bool)> = institutions::table
        .find(&input.institution_id)
        .select((institutions::county_code, institutions::disabled))
        .first(conn)
        .optional()?;
    let county_code = match county {
        Some((county, false)) => county,
        Some((_, true)) => {
            return Err(AppError::invalid_field(
                "/institution_id",
                "disabled",
                "the institution is disabled",
            ))
        }
        None => {
            return Err(AppError::invalid_field(
                "/institution_id",
                "not_found",
                "no institution has this id",
            ))
        }
    };
    let taken: i64 = staff_accounts::table
        .filter(staff_accounts::username.eq(&input.username))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(AppError::conflict(
            Code::UsernameTaken,
            format!("the username {} is taken", input.username),
        ));
    }
    let now = Utc::now().naive_utc();
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(staff_accounts::table)
        .values((
            staff_accounts::id.eq(&id),
            staff_accounts::username.eq(&input.username),
            staff_accounts::password_hash.eq(password_hash),
            staff_accounts::full_name.eq(input.full_name.trim()),
            staff_accounts::phone.eq(&input.phone),
            staff_accounts::institution_id.eq(&input.institution_id),
            staff_accounts::county_code.eq(&county_code),
            staff_accounts::disabled.eq(false),
            staff_accounts::created_at.eq(now),
            staff_accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    for role in &input.roles {
        diesel::insert_into(staff_roles::table)
            .values((
                staff_roles::staff_id.eq(&id),
                staff_roles::role.eq(role.as_str()),
            ))
            .execute(conn)?;
    }
    find_in_scope(conn, &id, &StaffScope::Everything)
}

/// What an institution admin (without `system_admin`) may do: only its own institution, and only
/// the institution-level roles.
fn check_grant(caller: &StaffPrincipal, input: &NewStaff) -> Result<(), AppError> {
    if caller.has(Role::SystemAdmin) {
        return Ok(());
    }
    let grantable = [Role::Clinician, Role::VillageDoctor, Role::InstitutionAdmin];
    if input.institution_id != caller.institution_id
        || input.roles.iter().any(|r| !grantable.contains(r))
    {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Create a staff account.
#[utoipa::path(
    tag = "staff",
    request_body = NewStaff,
    responses(
        (status = 201, description = "Created", body = StaffView),
        (status = 403, description = "Role may not manage staff, or may not grant these roles or this institution", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown institution", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff")]
pub async fn create_staff(
    staff: Staff<StaffManager>,
    body: ValidJson<NewStaff>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    check_grant(&staff, &input)?;
    let plain = input.password.clone();
    let hash = web::block(move || password::hash(&plain))
        .await
        .map_err(|e| AppError::internal(format!("hashing: {e}")))?
        .map_err(|e| AppError::internal(format!("hashing: {e}")))?;
    let actor = Actor::from(&*staff);
    let created = db::run_tx(&state.pool, move |conn| {
        let created = create(conn, &input, &hash)?;
        Event::new(actor, "staff.create", "staff")
            .resource(&created.id)
            .county(&created.county_code)
            .detail(serde_json::json!({
                "roles": created.roles,
                "institution_id": created.institution_id,
            }))
            .record(conn, &ctx)?;
        Ok(created)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StaffQuery {
    /// Only staff of this institution.
    #[validate(length(max = 64))]
    pub institution_id: Option<String>,
    /// Only staff holding this role.
    pub role: Option<Role>,
    /// Include disabled accounts (default false).
    pub include_disabled: Option<bool>,
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    #[validate(length(max = 64))]
    pub cursor: Option<String>,
}

/// List staff accounts in the caller's scope. The read is audited.
///
/// Who: system and institution administrators, county reviewers.
#[utoipa::path(
    tag = "staff",
    params(StaffQuery),
    responses(
        (status = 200, description = "A page of staff accounts", body = Page<StaffView>),
    )
)]
#[get("/staff")]
pub async fn list_staff(
    staff: Staff<StaffReader>,
    query: ValidQuery<StaffQuery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let scope = StaffScope::of(&staff);
    let actor = Actor::from(&*staff);
    let limit = q.limit.unwrap_or(50);
    let page = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = staff_accounts::table.select(COLUMNS).into_boxed();
        match &scope {
            StaffScope::Everything => {}
            StaffScope::County(county) => {
                sql = sql.filter(staff_accounts::county_code.eq(county.clone()))
            }
            StaffScope::Institution(id) => {
                sql = sql.filter(staff_accounts::institution_id.eq(id.clone()))
            }
        }
        if let Some(institution) = &q.institution_id {
            sql = sql.filter(staff_accounts::institution_id.eq(institution.clone()));
        }
        if let Some(role) = q.role {
            let holders = staff_roles::table
                .filter(staff_roles::role.eq(role.as_str()))
                .select(staff_roles::staff_id);
            sql = sql.filter(staff_accounts::id.eq_any(holders));
        }
        if !q.include_disabled.unwrap_or(false) {
            sql = sql.filter(staff_accounts::disabled.eq(false));
        }
        if let Some(cursor) = &q.cursor {
            sql = sql.filter(staff_accounts::id.gt(cursor.clone()));
        }
        let rows: Vec<Row> = sql
            .order(staff_accounts::id.asc())
            .limit(limit + 1)
            .load(conn)?;
        let page = Page::from_rows(rows, limit, |r| r.id.clone());
        let items = with_roles(conn, page.items)?;
        let event = Event::new(actor, "staff.list", "staff").detail(
            serde_json::json!({"returned": items.len(), "institution_id": q.institution_id}),
        );
        let page = Page {
            items,
            next_cursor: page.next_cursor,
        };
        Ok((page, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Read one staff account. The read is audited.
///
/// Who: system and institution administrators, county reviewers.
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path, description = "Staff account id")),
    responses(
        (status = 200, description = "The account", body = StaffView),
    )
)]
#[get("/staff/{id}")]
pub async fn get_staff(
    staff: Staff<StaffReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let scope = StaffScope::of(&staff);
    let actor = Actor::from(&*staff);
    let found = audit::read(&state.pool, ctx, move |conn| {
        let found = find_in_scope(conn, &id, &scope)?;
        let event = Event::new(actor, "staff.read", "staff")
            .resource(&id)
            .county(&found.county_code);
        Ok((found, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Disable a staff account: it can no longer sign in and its sessions end at once.
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path, description = "Staff account id")),
    responses(
        (status = 200, description = "Disabled", body = StaffView),
        (status = 403, description = "Role may not manage staff", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You cannot disable yourself", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/staff/{id}/disable")]
pub async fn disable_staff(
    staff: Staff<StaffManager>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let scope = StaffScope::of(&staff);
    let is_self = id == staff.id;
    let actor = Actor::from(&*staff);
    let updated = db::run_tx(&state.pool, move |conn| {
        let before = find_in_scope(conn, &id, &scope)?;
        if is_self {
            return Err(AppError::conflict(
                Code::CannotDisableSelf,
                "you cannot disable your own account",
            ));
        }
        diesel::update(staff_accounts::table.find(&id))
            .set((
                staff_accounts::disabled.eq(true),
                staff_accounts::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        let ended = sessions::revoke_all(conn, SubjectKind::Staff, &id, "account_disabled")?;
        Event::new(actor, "staff.disable", "staff")
            .resource(&id)
            .county(&before.county_code)
            .detail(serde_json::json!({"sessions_ended": ended}))
            .record(conn, &ctx)?;
        find_in_scope(conn, &id, &StaffScope::Everything)
    })
    .await?;
    Ok(HttpResponse::Ok().json(updated))
}
