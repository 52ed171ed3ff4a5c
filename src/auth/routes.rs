//! `/api/v1/auth/*` and `/api/v1/me`: staff login, WeChat login, refresh, logout, who am I.

use actix_web::{post, web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    password,
    principal::{find_staff, AnyCaller, Principal},
    sessions::{self, Rotation},
    throttle,
    tokens::SubjectKind,
};
use crate::{
    audit::{Actor, Event, Outcome},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    state::AppState,
};

/// Tokens for a new or refreshed session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIuLi4ifQ.sig",
    "token_type": "Bearer", "expires_in": 900,
    "refresh_token": "mchr_3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex",
    "refresh_expires_in": 2592000
}))]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single-use: exchange at `/api/v1/auth/refresh` for a new pair. Reusing one revokes the session.
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    /// For WeChat login: whether this login created the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_created: Option<bool>,
}

pub(super) fn tokens(
    state: &AppState,
    kind: SubjectKind,
    subject: &str,
    session: &str,
    refresh_token: String,
) -> Result<TokenResponse, AppError> {
    Ok(TokenResponse {
        access_token: state.tokens.issue_access(kind, subject, session)?,
        token_type: "Bearer".into(),
        expires_in: state.tokens.access_ttl.as_secs(),
        refresh_token,
        refresh_expires_in: state.tokens.refresh_ttl.as_secs(),
        account_created: None,
    })
}

/// Staff credentials.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "dr.wang", "password": "correct horse battery"}))]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 64))]
    pub username: String,
    #[validate(length(min = 1, max = 128))]
    pub password: String,
}

struct Candidate {
    id: String,
    password_hash: String,
    county_code: String,
}

/// Staff login with username and password.
///
/// Repeated failures for one username or from one address are throttled (429 with `Retry-After`).
/// Every success and failure is audited.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong username or password, or account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login_staff(
    body: ValidJson<LoginRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let LoginRequest { username, password } = body.0;
    let (user, c, st) = (username.clone(), ctx.clone(), state.clone());
    // Reserves the attempt (throttle::reserve) or writes the audit row of a throttled one: a
    // write transaction (db::run_tx), which commits and then answers 429 (the inner `Err`).
    let reserved = db::run_tx(&state.pool, move |conn| {
        let attempt = match throttle::reserve(
            conn,
            "auth.login",
            &user,
            c.client_addr.as_deref(),
            &st.settings.throttle,
        )? {
            Ok(attempt) => attempt,
            Err(wait) => {
                Event::new(Actor::anonymous(Some(user)), "auth.login", "session")
                    .outcome(Outcome::Denied)
                    .detail(serde_json::json!({"reason": "throttled"}))
                    .record(conn, &c)?;
                return Ok(Err(AppError::TooManyRequests {
                    retry_after_secs: wait,
                }));
            }
        };
        let candidate = staff_accounts::table
            .filter(staff_accounts::username.eq(&user))
            .filter(staff_accounts::disabled.eq(false))
            .select((
                staff_accounts::id,
                staff_accounts::password_hash,
                staff_accounts::county_code,
            ))
            .first::<(String, String, String)>(conn)
            .optional()?
            .map(|(id, password_hash, county_code)| Candidate {
                id,
                password_hash,
                county_code,
            });
        Ok(Ok((attempt, candidate)))
    })
    .await??;
    let (attempt, candidate) = reserved;

    // argon2 runs on the blocking pool without holding a database connection.
    let verified = web::block(move || match candidate {
        Some(c) if password::verify(&c.password_hash, &password) => Some(c),
        Some(_) => None,
        None => {
            password::burn_time(&password);
            None
        }
    })
    .await
    .map_err(|e| AppError::internal(format!("password check: {e}")))?;

    let st = state.clone();
    // A write transaction: on SQLite queued to the database's writer (db::run_tx).
    let result = db::run_tx(&state.pool, move |conn| {
        let staff = match &verified {
            Some(c) => find_staff(conn, &c.id, "")?,
            None => None,
        };
        let Some(staff) = staff else {
            throttle::failed(conn, attempt)?;
            let mut event = Event::new(Actor::anonymous(Some(username)), "auth.login", "session")
                .outcome(Outcome::Failure);
            if let Some(c) = &verified {
                // Right password, but the account's institution is disabled.
                event = event.county(c.county_code.clone());
            }
            event.record(conn, &ctx)?;
            return Ok(None);
        };
        throttle::succeeded(conn, attempt)?;
        let (session, refresh_token) = sessions::open(
            conn,
            SubjectKind::Staff,
            &staff.id,
            st.settings.refresh_token_ttl,
            &ctx,
        )?;
        Event::new(&staff, "auth.login", "session")
            .resource(&session)
            .record(conn, &ctx)?;
        Ok(Some((staff.id, session, refresh_token)))
    })
    .await?;
    match result {
        Some((staff_id, session, refresh_token)) => Ok(HttpResponse::Ok().json(tokens(
            &state,
            SubjectKind::Staff,
            &staff_id,
            &session,
            refresh_token,
        )?)),
        None => Err(AppError::InvalidCredentials),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "mchr_3q2-7wEXAMPLEexampleEXAMPLEexampleEXAMPLEex"}))]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 256))]
    pub refresh_token: String,
}

/// Exchange a refresh token for a new token pair.
///
/// Each refresh token works once. Presenting one that was already used revokes the whole session:
/// every token of it stops working (the thief's and the owner's alike).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh_session(
    body: ValidJson<RefreshRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.refresh_token;
    let st = state.clone();
    let rotation = db::run_tx(&state.pool, move |conn| {
        let rotation = sessions::rotate(conn, &token, st.settings.refresh_token_ttl)?;
        if let Rotation::Rotated {
            kind,
            subject_id,
            session_id,
            ..
        } = &rotation
        {
            // The account must still be enabled.
            let enabled = match kind {
                SubjectKind::Staff => find_staff(conn, subject_id, session_id)?.is_some(),
                SubjectKind::Family => {
                    family_accounts::table
                        .find(subject_id)
                        .select(family_accounts::disabled)
                        .first::<bool>(conn)
                        .optional()?
                        == Some(false)
                }
            };
            if !enabled {
                sessions::revoke(conn, session_id, "account_disabled")?;
                return Ok(Rotation::Invalid);
            }
        }
        if let Rotation::ReuseDetected {
            kind,
            subject_id,
            session_id,
        } = &rotation
        {
            Event::new(
                Actor::subject(*kind, subject_id, None),
                "auth.refresh_reuse",
                "session",
            )
            .resource(session_id)
            .outcome(Outcome::Denied)
            .record(conn, &ctx)?;
        }
        Ok(rotation)
    })
    .await?;
    match rotation {
        Rotation::Rotated {
            kind,
            subject_id,
            session_id,
            refresh_token,
        } => Ok(HttpResponse::Ok().json(tokens(
            &state,
            kind,
            &subject_id,
            &session_id,
            refresh_token,
        )?)),
        Rotation::ReuseDetected { .. } | Rotation::Invalid => Err(AppError::InvalidRefreshToken),
    }
}

pub(super) fn subject(p: &Principal) -> (SubjectKind, String) {
    match p {
        Principal::Staff(s) => (SubjectKind::Staff, s.id.clone()),
        Principal::Family(f) => (SubjectKind::Family, f.id.clone()),
    }
}

/// End the current session: its access and refresh tokens stop working at once.
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 204, description = "Signed out"),
    )
)]
#[post("/auth/logout")]
pub async fn logout_session(
    caller: AnyCaller,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let principal = caller.0;
    db::run_tx(&state.pool, move |conn| {
        sessions::revoke(conn, principal.session_id(), "logout")?;
        Event::new(&principal, "auth.logout", "session")
            .resource(principal.session_id())
            .record(conn, &ctx)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
