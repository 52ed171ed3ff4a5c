//! `/api/v1/auth/*` and `/api/v1/me`: staff login, WeChat login, refresh, logout, who am I.

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    password,
    principal::{find_staff, AnyCaller, Principal},
    roles::Role,
    sessions::{self, Rotation},
    throttle,
    tokens::SubjectKind,
};
use crate::{
    audit::{Actor, Event, Outcome},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{
        pagination::{Page, PageQuery},
        RequestCtx, ValidJson, ValidQuery,
    },
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

fn tokens(
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

fn subject(p: &Principal) -> (SubjectKind, String) {
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

/// The institution a staff member belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionRef {
    pub id: String,
    pub name: String,
    pub level: String,
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
                level: s.institution_level,
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
