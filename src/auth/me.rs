//! Who I am (`GET /me`) and my sessions: list them, end one (a lost phone).

use actix_web::{delete, get, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::routes::subject;
use super::{
    principal::{AnyCaller, Principal},
    roles::Role,
    sessions::{self},
};
use crate::{
    audit::Event,
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{
        pagination::{Page, PageQuery},
        RequestCtx, ValidQuery,
    },
    state::AppState,
};

/// The institution a staff member belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionRef {
    pub id: String,
    pub name: String,
    pub level: crate::org::rules::InstitutionLevel,
    pub region_code: String,
    pub county_code: String,
}

/// The signed-in account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(example = json!({
    "kind": "staff", "id": "0192f0c4-0000-7000-8000-000000000001", "username": "dr.wang",
    "full_name": "王医生", "roles": ["clinician"],
    "institution": {"id": "0192f0c4-0000-7000-8000-0000000000a1", "name": "城关镇卫生院",
        "level": "township_centre", "region_code": "990101001000", "county_code": "990101"}
}))]
pub enum Me {
    /// A staff account.
    Staff {
        id: String,
        username: String,
        full_name: String,
        roles: Vec<Role>,
        institution: InstitutionRef,
    },
    /// A mother or family member (WeChat).
    Family {
        id: String,
        created_at: DateTime<Utc>,
    },
}

/// Who am I.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The signed-in account", body = Me),
    )
)]
#[get("/me")]
pub async fn get_me(
    caller: AnyCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let me = match caller.0 {
        Principal::Staff(s) => Me::Staff {
            id: s.id,
            username: s.username,
            full_name: s.full_name,
            roles: s.roles,
            institution: InstitutionRef {
                id: s.institution_id,
                name: s.institution_name,
                level: crate::db::stored::from_text("institutions.level", &s.institution_level)?,
                region_code: s.region_code,
                county_code: s.county_code,
            },
        },
        Principal::Family(f) => {
            let id = f.id.clone();
            let created = db::run(&state.pool, move |conn| {
                Ok(family_accounts::table
                    .find(&id)
                    .select(family_accounts::created_at)
                    .first::<chrono::NaiveDateTime>(conn)?)
            })
            .await?;
            Me::Family {
                id: f.id,
                created_at: created.and_utc(),
            }
        }
    };
    Ok(HttpResponse::Ok().json(me))
}

/// A signed-in device.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01a1f64b-b880-70cb-8e26-3464f9ebdacc", "current": true,
    "created_at": "2026-11-20T00:12:00.000Z", "last_refreshed_at": "2026-11-24T01:05:00.000Z",
    "expires_at": "2026-12-24T01:05:00.000Z",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.50 miniProgram",
    "client_addr": "10.0.0.8"
}))]
pub struct SessionView {
    pub id: String,
    /// Whether this is the session making the request.
    pub current: bool,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub last_refreshed_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

/// List my live sessions (devices), newest first.
#[utoipa::path(
    tag = "auth",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of live sessions, newest first", body = Page<SessionView>),
    )
)]
#[get("/me/sessions")]
pub async fn list_my_sessions(
    caller: AnyCaller,
    query: ValidQuery<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (kind, id) = subject(&caller.0);
    let current = caller.0.session_id().to_string();
    let (limit, cursor) = (query.0.limit(), query.0.cursor);
    let rows = db::run(&state.pool, move |conn| {
        Ok(sessions::live_sessions(conn, kind, &id, limit, cursor)?)
    })
    .await?;
    let page = Page::from_rows(rows, limit, |r| r.id.clone()).map(|r| SessionView {
        current: r.id == current,
        id: r.id,
        created_at: r.created_at.and_utc(),
        last_refreshed_at: r.last_refreshed_at.and_utc(),
        expires_at: r.expires_at.and_utc(),
        user_agent: r.user_agent,
        client_addr: r.client_addr,
    });
    Ok(HttpResponse::Ok().json(page))
}

/// Sign out one of my sessions (e.g. a lost phone). Another account's session answers 404.
#[utoipa::path(
    tag = "auth",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session revoked"),
        (status = 404, description = "No such session of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/sessions/{id}")]
pub async fn revoke_my_session(
    caller: AnyCaller,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let session_id = path.into_inner();
    let principal = caller.0;
    db::run_tx(&state.pool, move |conn| {
        let (kind, id) = subject(&principal);
        if !sessions::owned_by(conn, &session_id, kind, &id)? {
            return Err(AppError::NotFound);
        }
        sessions::revoke(conn, &session_id, "revoked_by_owner")?;
        Event::new(&principal, "auth.session_revoke", "session")
            .resource(&session_id)
            .record(conn, &ctx)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
