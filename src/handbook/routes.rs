//! Staff endpoints of the handbook: find, read, correct, identity, codes (registration (建档)
//! is in `registration.rs`).

use crate::http::versioning::{version_views, VersionView};
use actix_web::{get, http::header, patch, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::{
    codes::{self, Purpose},
    identity::{self, IdType},
    profile::{self, HandbookView, ProfileChanges},
    store,
};
use crate::scope::{self, Grant};
use crate::{
    audit::{self, Actor, Event, Outcome},
    auth::{
        roles::{CareProvider, Clinical, RecordReader},
        throttle, Staff,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{etag, IfMatch, Page, RequestCtx, ValidJson, ValidQuery},
    state::AppState,
};

pub(super) fn with_etag(
    mut response: actix_web::HttpResponseBuilder,
    view: &HandbookView,
) -> HttpResponse {
    response
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HandbookQuery {
    /// With `id_number`: find by identity document (exact).
    pub id_type: Option<IdType>,
    #[validate(length(min = 1, max = 32))]
    pub id_number: Option<String>,
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    #[validate(length(max = 64))]
    pub cursor: Option<String>,
}

/// List the handbooks the caller may see (its institution's, or its county's for a county
/// reviewer), optionally the one with a given identity document. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "handbooks",
    params(HandbookQuery),
    responses(
        (status = 200, description = "A page of handbooks", body = Page<HandbookView>),
    )
)]
#[get("/handbooks")]
pub async fn list_handbooks(
    staff: Staff<RecordReader>,
    query: ValidQuery<HandbookQuery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let index = match (&q.id_type, &q.id_number) {
        (Some(t), Some(n)) => Some(
            identity::normalise(*t, n)
                .map(|n| state.cipher.blind_index(t.as_str(), &n))
                .map_err(|e| AppError::invalid_field("/id_number", "id_number", e.to_string()))?,
        ),
        (None, None) => None,
        _ => {
            return Err(AppError::invalid_field(
                "/id_number",
                "required",
                "give id_type and id_number together",
            ))
        }
    };
    let staff = staff.principal;
    let limit = q.limit.unwrap_or(50);
    let page = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = handbooks::table.into_boxed();
        sql = crate::scope::Listing::of(&staff).apply(sql, handbooks::id, handbooks::county_code);
        if let Some(index) = index {
            sql = sql.filter(
                handbooks::id_blind_index
                    .eq(index.clone())
                    .or(handbooks::pending_identity_index.eq(index)),
            );
        }
        if let Some(cursor) = q.cursor {
            sql = sql.filter(handbooks::id.gt(cursor));
        }
        let rows: Vec<profile::HandbookRow> =
            sql.order(handbooks::id.asc()).limit(limit + 1).load(conn)?;
        let page = Page::from_rows(rows, limit, |r| r.id.clone()).try_map(|r| r.view())?;
        let event = Event::new(&staff, "handbook.list", "handbook")
            .detail(serde_json::json!({"returned": page.items.len()}));
        Ok((page, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Read a handbook's profile (identity number masked). Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "handbooks",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "The profile", body = HandbookView, headers(("ETag" = String))),
    )
)]
#[get("/handbooks/{id}")]
pub async fn get_handbook(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let row = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::staff_scope(conn, &staff, &id)?;
        let event = Event::new(&staff, "handbook.read", "handbook")
            .resource(&id)
            .county(county);
        Ok((store::load(conn, &id)?, event))
    })
    .await?;
    Ok(with_etag(HttpResponse::Ok(), &row.view()?))
}

/// The full identity document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id_type": "resident_id", "id_number": "11010519491231002X"}))]
pub struct IdentityView {
    pub id_type: IdType,
    pub id_number: String,
}

/// Read the full identity number (decrypted). Clinicians only; every read is audited.
#[utoipa::path(
    tag = "handbooks",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "The identity document", body = IdentityView),
        (status = 403, description = "Only clinicians see full identity numbers", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/handbooks/{id}/identity")]
pub async fn read_handbook_identity(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let row = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::staff_scope(conn, &staff, &id)?;
        let event = Event::new(&staff, "handbook.read_identity", "handbook")
            .resource(&id)
            .county(county);
        Ok((store::load(conn, &id)?, event))
    })
    .await?;
    let number = state
        .cipher
        .decrypt(&row.id_number_enc)
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(IdentityView {
        id_type: crate::db::stored::from_text("handbooks.id_type", &row.id_type)?,
        id_number: number,
    }))
}

/// Correct a profile. Name the version you read in `If-Match`; the old version is kept.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "handbooks",
    params(("id" = String, Path, description = "Handbook id"), ("If-Match" = String, Header, description = "ETag of the version being replaced, e.g. \"v3\"")),
    request_body = ProfileChanges,
    responses(
        (status = 200, description = "The new version", body = HandbookView, headers(("ETag" = String))),
    )
)]
#[patch("/handbooks/{id}")]
pub async fn amend_handbook(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<ProfileChanges>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let row = db::run_tx(&state.pool, move |conn| {
        scope::staff_scope(conn, &staff, &id)?;
        let row = store::load(conn, &id)?;
        if_match.check(row.version)?;
        let row = store::amend(conn, row, body.0, &staff.id)?;
        Event::new(&staff, "handbook.amend", "handbook")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        Ok(row)
    })
    .await?;
    Ok(with_etag(HttpResponse::Ok(), &row.view()?))
}

/// The correction history of a profile, oldest first. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "handbooks",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "Earlier versions", body = Page<VersionView>),
    )
)]
#[get("/handbooks/{id}/versions")]
pub async fn list_handbook_versions(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let rows = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::staff_scope(conn, &staff, &id)?;
        let event = Event::new(&staff, "handbook.read_versions", "handbook")
            .resource(&id)
            .county(county);
        let rows = handbook_versions::table
            .filter(handbook_versions::handbook_id.eq(&id))
            .order(handbook_versions::version.asc())
            .select((
                handbook_versions::version,
                handbook_versions::changed_by,
                handbook_versions::changed_at,
                handbook_versions::reason,
                handbook_versions::snapshot,
            ))
            .load::<(i64, String, chrono::NaiveDateTime, Option<String>, String)>(conn)?;
        Ok((rows, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(version_views(rows)?)))
}

/// A one-time code and when it stops working.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"code": "K7PQ3MZD", "expires_at": "2026-11-23T10:30:00Z"}))]
pub struct CodeView {
    /// Show it once (e.g. as a QR code); it works a single time.
    pub code: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub expires_at: chrono::DateTime<Utc>,
}

/// Issue a binding code: the mother enters it in the mini-program to link her WeChat account to
/// this handbook. Valid for 2 hours, once.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "handbooks",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 201, description = "The code", body = CodeView),
    )
)]
#[post("/handbooks/{id}/binding-codes")]
pub async fn create_binding_code(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let (code, expires_at) = db::run_tx(&state.pool, move |conn| {
        let county = scope::staff_scope(conn, &staff, &id)?;
        let issued = codes::issue(conn, Purpose::Bind, &id, &county, &staff.id)?;
        Event::new(&staff, "handbook.binding_code", "handbook")
            .resource(&id)
            .county(county)
            .record(conn, &ctx)?;
        Ok(issued)
    })
    .await?;
    Ok(HttpResponse::Created().json(CodeView {
        code,
        expires_at: expires_at.and_utc(),
    }))
}

/// A code someone gave the caller.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "K7PQ3MZD"}))]
pub struct CodeRequest {
    #[validate(length(min = 1, max = 32))]
    pub code: String,
}

/// Uses a code once; a wrong code is audited as a failure and throttled like a password.
pub fn redeem_code(
    conn: &mut DbConn,
    state: &AppState,
    ctx: &RequestCtx,
    actor: Actor,
    purpose: Purpose,
    code: &str,
) -> Result<Result<(String, String), AppError>, AppError> {
    let label = actor.id.clone().unwrap_or_default();
    let attempt = match throttle::reserve(
        conn,
        "code.redeem",
        &label,
        ctx.client_addr.as_deref(),
        &state.settings.throttle,
    )? {
        Ok(attempt) => attempt,
        Err(wait) => {
            return Ok(Err(AppError::TooManyRequests {
                retry_after_secs: wait,
            }))
        }
    };
    match codes::redeem(conn, purpose, code, &label)? {
        Some(found) => {
            throttle::succeeded(conn, attempt)?;
            Ok(Ok(found))
        }
        None => {
            throttle::failed(conn, attempt)?;
            let mut failure =
                Event::new(actor, "code.redeem", "access_code").outcome(Outcome::Failure);
            failure = failure.detail(serde_json::json!({"label": label}));
            failure.record_with_label(conn, ctx, &label)?;
            Ok(Err(AppError::invalid_field(
                "/code",
                "code_invalid",
                "the code is wrong, used or expired",
            )))
        }
    }
}

/// Use a mother's share code: this institution may then see her handbook (e.g. she is visiting
/// from another county). Codes work once, for 30 minutes.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "handbooks",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "The handbook now in your scope", body = HandbookView, headers(("ETag" = String))),
        (status = 422, description = "Wrong, used or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handbooks/shared")]
pub async fn redeem_share_code(
    staff: Staff<CareProvider>,
    body: ValidJson<CodeRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let st = state.clone();
    let outcome = db::run_tx(&state.pool, move |conn| {
        let (handbook_id, county) = match redeem_code(
            conn,
            &st,
            &ctx,
            Actor::from(&staff),
            Purpose::ShareClinic,
            &body.0.code,
        )? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        scope::grant(
            conn,
            &handbook_id,
            &staff.institution_id,
            &county,
            Grant::ShareCode,
            None,
        )?;
        Event::new(&staff, "handbook.share_code_used", "handbook")
            .resource(&handbook_id)
            .county(&county)
            .record(conn, &ctx)?;
        Ok(Ok(store::load(conn, &handbook_id)?))
    })
    .await?;
    let row = outcome?;
    Ok(with_etag(HttpResponse::Ok(), &row.view()?))
}
