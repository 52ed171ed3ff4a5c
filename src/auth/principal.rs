//! The authenticated caller, as extractor types: a handler's signature says who may call it.
//!
//! * [`AnyCaller`]: any signed-in account.
//! * [`Staff<R>`]: staff holding one of the roles in the set `R` (403 otherwise).
//! * [`FamilyCaller`]: a mother or family member signed in through WeChat (403 for staff).
//!
//! A missing, invalid or expired token, a revoked session and a disabled account are all 401.
//! Roles and account state are read from the database on every request, so disabling an account
//! or revoking a session takes effect at once, not when the access token expires.
//!
//! The caller is resolved by the [`resolve_caller`] middleware before the handler's arguments are
//! extracted, so these extractors answer at once: a caller without the role gets 403 before the
//! body, the query or `If-Match` are looked at (actix polls argument extractors together, and an
//! authentication still waiting on the database would let a body error answer first).

use std::{future::Future, marker::PhantomData, ops::Deref, pin::Pin};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use chrono::Utc;
use diesel::prelude::*;

use super::{
    roles::{AnyStaff, Role, RoleSet},
    tokens::{Claims, SubjectKind},
};
use crate::{
    db::{self, schema::*, DbConn},
    error::AppError,
    state::AppState,
};

#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub institution_id: String,
    pub institution_name: String,
    pub institution_level: String,
    pub region_code: String,
    pub county_code: String,
    pub roles: Vec<Role>,
    pub session_id: String,
}

impl StaffPrincipal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn roles_label(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[derive(Debug, Clone)]
pub struct FamilyPrincipal {
    pub id: String,
    pub session_id: String,
}

#[derive(Debug, Clone)]
pub enum Principal {
    Staff(StaffPrincipal),
    Family(FamilyPrincipal),
}

impl Principal {
    pub fn session_id(&self) -> &str {
        match self {
            Principal::Staff(s) => &s.session_id,
            Principal::Family(f) => &f.session_id,
        }
    }
}

/// Loads the principal for verified claims: the session must be live and the account enabled.
/// For a family account the session check is a sub-query of the account's query (one round
/// trip: the mother's pages are the busiest).
pub fn load_principal(conn: &mut DbConn, claims: &Claims) -> Result<Principal, AppError> {
    let now = Utc::now().naive_utc();
    let live_session = diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(&claims.sid))
            .filter(sessions::subject_kind.eq(claims.kind.as_str()))
            .filter(sessions::subject_id.eq(&claims.sub))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    );
    match claims.kind {
        SubjectKind::Staff => {
            let live: bool = diesel::select(live_session).get_result(conn)?;
            if !live {
                return Err(AppError::InvalidToken);
            }
            load_staff(conn, &claims.sub, &claims.sid).map(Principal::Staff)
        }
        SubjectKind::Family => {
            let enabled = family_accounts::table
                .find(&claims.sub)
                .filter(family_accounts::disabled.eq(false))
                .filter(live_session)
                .select(family_accounts::id)
                .first::<String>(conn)
                .optional()?;
            match enabled {
                Some(_) => Ok(Principal::Family(FamilyPrincipal {
                    id: claims.sub.clone(),
                    session_id: claims.sid.clone(),
                })),
                None => Err(AppError::InvalidToken),
            }
        }
    }
}

/// An enabled staff account of an enabled institution, with its roles.
pub fn load_staff(
    conn: &mut DbConn,
    staff_id: &str,
    session_id: &str,
) -> Result<StaffPrincipal, AppError> {
    find_staff(conn, staff_id, session_id)?.ok_or(AppError::InvalidToken)
}

/// The staff member if the account and its institution are enabled, `None` if not; a database
/// failure or an unknown stored role is an error, never "not found" (issue #14: a failing
/// database counted as a wrong password and throttled the user).
pub fn find_staff(
    conn: &mut DbConn,
    staff_id: &str,
    session_id: &str,
) -> Result<Option<StaffPrincipal>, AppError> {
    let Some(row) = staff_accounts::table
        .inner_join(institutions::table)
        .filter(staff_accounts::id.eq(staff_id))
        .filter(staff_accounts::disabled.eq(false))
        .filter(institutions::disabled.eq(false))
        .select((
            staff_accounts::username,
            staff_accounts::full_name,
            institutions::id,
            institutions::name,
            institutions::level,
            institutions::region_code,
            institutions::county_code,
        ))
        .first::<(String, String, String, String, String, String, String)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let mut roles: Vec<Role> = staff_roles::table
        .filter(staff_roles::staff_id.eq(staff_id))
        .select(staff_roles::role)
        .load::<String>(conn)?
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| AppError::internal(format!("unknown stored role {r:?}")))
        })
        .collect::<Result<_, _>>()?;
    roles.sort();
    let (
        username,
        full_name,
        institution_id,
        institution_name,
        institution_level,
        region_code,
        county_code,
    ) = row;
    Ok(Some(StaffPrincipal {
        id: staff_id.to_string(),
        username,
        full_name,
        institution_id,
        institution_name,
        institution_level,
        region_code,
        county_code,
        roles,
        session_id: session_id.to_string(),
    }))
}

fn bearer(req: &HttpRequest) -> Result<String, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AppError::Unauthenticated)?
        .to_str()
        .map_err(|_| AppError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::InvalidToken);
    }
    Ok(token.trim().to_string())
}

/// Why [`resolve_caller`] could not authenticate the request (kept for the extractors).
#[derive(Debug, Clone)]
enum AuthFailure {
    Unauthenticated,
    InvalidToken,
    Unavailable,
    Internal(String),
}

impl From<&AppError> for AuthFailure {
    fn from(e: &AppError) -> Self {
        match e {
            AppError::Unauthenticated => AuthFailure::Unauthenticated,
            AppError::InvalidToken => AuthFailure::InvalidToken,
            AppError::DatabaseUnavailable => AuthFailure::Unavailable,
            other => AuthFailure::Internal(other.to_string()),
        }
    }
}

impl From<AuthFailure> for AppError {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::Unauthenticated => AppError::Unauthenticated,
            AuthFailure::InvalidToken => AppError::InvalidToken,
            AuthFailure::Unavailable => AppError::DatabaseUnavailable,
            AuthFailure::Internal(m) => AppError::Internal(m),
        }
    }
}

/// Middleware: resolves the bearer token (if any) to its principal, or the reason it failed,
/// before the handler runs.
pub async fn resolve_caller(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        if let Err(e) = authenticate(req.request().clone()).await {
            req.extensions_mut().insert(AuthFailure::from(&e));
        }
    }
    next.call(req).await
}

async fn authenticate(req: HttpRequest) -> Result<Principal, AppError> {
    if let Some(principal) = req.extensions().get::<Principal>() {
        return Ok(principal.clone());
    }
    if let Some(failure) = req.extensions().get::<AuthFailure>() {
        return Err(failure.clone().into());
    }
    let token = bearer(&req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("app state missing"))?
        .clone();
    let claims = state.tokens.verify_access(&token)?;
    let principal = db::read_now(&state.pool, move |conn| load_principal(conn, &claims)).await?;
    req.extensions_mut().insert(principal.clone());
    Ok(principal)
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// Any signed-in account.
pub struct AnyCaller(pub Principal);

impl FromRequest for AnyCaller {
    type Error = AppError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await.map(AnyCaller) })
    }
}

/// Staff holding one of the roles of `R`.
pub struct Staff<R: RoleSet = AnyStaff> {
    pub principal: StaffPrincipal,
    _roles: PhantomData<R>,
}

impl<R: RoleSet> Deref for Staff<R> {
    type Target = StaffPrincipal;
    fn deref(&self) -> &StaffPrincipal {
        &self.principal
    }
}

impl<R: RoleSet + 'static> FromRequest for Staff<R> {
    type Error = AppError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await? {
                Principal::Staff(s) if s.roles.iter().any(|r| R::ROLES.contains(r)) => Ok(Staff {
                    principal: s,
                    _roles: PhantomData,
                }),
                _ => Err(AppError::Forbidden),
            }
        })
    }
}

/// A mother or family member, signed in through WeChat.
pub struct FamilyCaller(pub FamilyPrincipal);

impl FromRequest for FamilyCaller {
    type Error = AppError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match authenticate(req).await? {
                Principal::Family(f) => Ok(FamilyCaller(f)),
                Principal::Staff(_) => Err(AppError::Forbidden),
            }
        })
    }
}
