//! Who the mother shares her handbook with: she sees the family accounts that joined it with her
//! family codes, and withdraws a share when she wants to. Access ends at once: every request of a
//! family member checks the link ([`scope::family_scope`]).

use actix_web::{delete, get, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::pagination::Page;
use crate::scope;
use crate::{
    audit::{Actor, Event},
    auth::{principal::Principal, FamilyCaller},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::RequestCtx,
    state::AppState,
};

/// A family account that can read my handbook.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"account_id": "01a21600-5b1c-7cc2-9d1e-3f5a6b7c8d9e",
    "joined_at": "2026-11-20T08:30:00Z", "last_login_at": "2026-11-26T07:12:00Z"}))]
pub struct Member {
    /// The family account; name it to withdraw the share.
    pub account_id: String,
    /// When it joined with my family code.
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub joined_at: DateTime<Utc>,
    /// When it last signed in (to tell accounts apart).
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub last_login_at: DateTime<Utc>,
}

/// The family members who can read my handbook, oldest first. Mothers only: a family member has
/// no handbook of their own here (404).
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    responses(
        (status = 200, description = "Family members with access", body = Page<Member>),
        (status = 404, description = "No handbook of my own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/handbook/members")]
pub async fn list_my_handbook_members(
    caller: FamilyCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let rows = db::run(&state.pool, move |conn| {
        let handbook = scope::own_handbook(conn, &caller.0)?;
        Ok(handbook_members::table
            .inner_join(
                family_accounts::table
                    .on(family_accounts::id.eq(handbook_members::family_account_id)),
            )
            .filter(handbook_members::handbook_id.eq(&handbook))
            .filter(handbook_members::relation.eq("family"))
            .filter(handbook_members::revoked_at.is_null())
            .order(handbook_members::created_at.asc())
            .select((
                handbook_members::family_account_id,
                handbook_members::created_at,
                family_accounts::last_login_at,
            ))
            .load::<(String, NaiveDateTime, NaiveDateTime)>(conn)?)
    })
    .await?;
    let members: Vec<Member> = rows
        .into_iter()
        .map(|(account_id, joined, login)| Member {
            account_id,
            joined_at: joined.and_utc(),
            last_login_at: login.and_utc(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::whole(members)))
}

/// Withdraw a family member's access to my handbook. It ends at once; the member can join again
/// only with a new code from me. Audited.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "The family account (`account_id` of the member list)")),
    responses(
        (status = 204, description = "Access withdrawn"),
        (status = 404, description = "No handbook of my own, or this account has no access to it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/handbook/members/{id}")]
pub async fn remove_my_handbook_member(
    caller: FamilyCaller,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let account = path.into_inner();
    db::run_tx(&state.pool, move |conn| {
        let own = scope::own_handbook_ref(conn, &caller.0)?;
        let ended = diesel::update(
            handbook_members::table
                .filter(handbook_members::handbook_id.eq(&own.id))
                .filter(handbook_members::family_account_id.eq(&account))
                .filter(handbook_members::relation.eq("family"))
                .filter(handbook_members::revoked_at.is_null()),
        )
        .set(handbook_members::revoked_at.eq(Utc::now().naive_utc()))
        .execute(conn)?;
        if ended == 0 {
            return Err(AppError::NotFound);
        }
        Event::new(
            Actor::from(&Principal::Family(caller.0.clone())),
            "handbook.unshare",
            "handbook",
        )
        .resource(&own.id)
        .county(&own.county_code)
        .detail(serde_json::json!({ "account": account }))
        .record(conn, &ctx)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
