//! A family signs in with WeChat: the mini-program's `wx.login` code is exchanged for the
//! openid, and the family account is found or created.

use actix_web::{post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::routes::{tokens, TokenResponse};
use super::{
    sessions::{self},
    tokens::SubjectKind,
};
use crate::{
    audit::{Actor, Event, Outcome},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    state::AppState,
};

/// A `wx.login` code from the mini-program.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "0a1B2c3D4e5F6g"}))]
pub struct WechatLoginRequest {
    #[validate(length(min = 1, max = 128))]
    pub code: String,
}

/// Mother or family member login through WeChat.
///
/// Exchanges the `wx.login` code at WeChat, creates the account on first login and returns
/// tokens. With no WeChat credentials configured this answers 503, except in demo mode, where
/// codes `demo-<name>` (e.g. `demo-mother-1`) are accepted without WeChat.
#[utoipa::path(
    tag = "auth",
    request_body = WechatLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "WeChat rejected the code (invalid, used or expired)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "WeChat unreachable or busy, or WeChat login not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/wechat")]
pub async fn login_wechat(
    body: ValidJson<WechatLoginRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let code = body.0.code;
    let st = state.clone();
    let identity = web::block(move || st.wechat.exchange(&code))
        .await
        .map_err(|e| AppError::internal(format!("wechat call: {e}")))?;
    let identity = match identity {
        Ok(identity) => identity,
        Err(e) => {
            let failure = Event::new(Actor::anonymous(None), "auth.wechat", "session")
                .outcome(Outcome::Failure)
                .detail(serde_json::json!({"reason": e.code().as_str()}));
            db::run_tx(&state.pool, move |conn| Ok(failure.record(conn, &ctx)?)).await?;
            return Err(e);
        }
    };
    let st = state.clone();
    let (account, created, session, refresh_token) = db::run_tx(&state.pool, move |conn| {
        let now = Utc::now().naive_utc();
        let existing = family_accounts::table
            .filter(family_accounts::wechat_openid.eq(&identity.openid))
            .select((family_accounts::id, family_accounts::disabled))
            .first::<(String, bool)>(conn)
            .optional()?;
        let (account, created) = match existing {
            Some((_, true)) => return Err(AppError::WechatCodeInvalid),
            Some((id, false)) => {
                diesel::update(family_accounts::table.find(&id))
                    .set(family_accounts::last_login_at.eq(now))
                    .execute(conn)?;
                (id, false)
            }
            None => (
                create_family_account(conn, &identity.openid, identity.unionid.as_deref())?,
                true,
            ),
        };
        let (session, refresh_token) = sessions::open(
            conn,
            SubjectKind::Family,
            &account,
            st.settings.refresh_token_ttl,
            &ctx,
        )?;
        Event::new(
            Actor::subject(SubjectKind::Family, &account, None),
            "auth.wechat",
            "session",
        )
        .resource(&session)
        .detail(serde_json::json!({"account_created": created}))
        .record(conn, &ctx)?;
        Ok((account, created, session, refresh_token))
    })
    .await?;
    let mut response = tokens(
        &state,
        SubjectKind::Family,
        &account,
        &session,
        refresh_token,
    )?;
    response.account_created = Some(created);
    Ok(HttpResponse::Ok().json(response))
}

/// Creates a family account for a WeChat identity (also used by the demo loader).
pub fn create_family_account(
    conn: &mut DbConn,
    openid: &str,
    unionid: Option<&str>,
) -> Result<String, AppError> {
    let now = Utc::now().naive_utc();
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(family_accounts::table)
        .values((
            family_accounts::id.eq(&id),
            family_accounts::wechat_openid.eq(openid),
            family_accounts::wechat_unionid.eq(unionid),
            family_accounts::disabled.eq(false),
            family_accounts::created_at.eq(now),
            family_accounts::last_login_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}
