//! `Idempotency-Key` for every signed-in POST: a retry of a request that succeeded gets the
//! original answer (`Idempotent-Replayed: true`) instead of a second record; the same key with
//! another request is 422; a retry while the first is still running is 409. Keys are kept per
//! caller for 24 hours.
//!
//! The key is claimed (a pending row) before the handler runs and the answer stored after it. A
//! failed request releases the key so it can be retried. A crash between the handler's commit and
//! storing the answer leaves the key pending: a retry then answers 409 `idempotency_key_in_progress`
//! instead of writing twice. A route whose answer must commit with its write (the distribution
//! of nutrition packs) keeps the same rules — the same hash, 24 hours, 422 on another request,
//! `Idempotent-Replayed` on a replay — but stores its answer inside its own transaction with
//! [`RouteKey`] (issue #14: its keys never expired and replays lacked the header).

use crate::error::Code;
use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{header, Method, StatusCode},
    middleware::Next,
    web, Error, HttpMessage, HttpResponse, ResponseError,
};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::{
    auth::principal::Principal,
    db::{self, schema::idempotency_keys},
    error::AppError,
    state::AppState,
};

pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;
/// Marks a pending claim (no answer yet).
const PENDING: i32 = 0;

/// Paths whose handler keeps its own keys atomically with the write.
fn handled_by_route(path: &str) -> bool {
    path.ends_with("/nutrition/distributions")
}

/// A well-formed key: 1–128 visible ASCII characters.
pub fn parse_key(value: &header::HeaderValue) -> Result<String, AppError> {
    let key = value
        .to_str()
        .map_err(|_| AppError::BadRequest("Idempotency-Key must be ASCII text".into()))?;
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::BadRequest(
            "Idempotency-Key must be 1 to 128 visible ASCII characters".into(),
        ));
    }
    Ok(key.to_string())
}

enum Claim {
    Claimed,
    Replay(i32, String),
}

/// The answer stored for `key` (after forgetting it if older than [`RETENTION_HOURS`]): `None`
/// when there is none; 422 when the key came with another request; 409 while it is pending.
fn lookup(
    conn: &mut crate::db::DbConn,
    caller: &str,
    key: &str,
    hash: &str,
) -> Result<Option<(i32, String)>, AppError> {
    let stale = Utc::now().naive_utc() - Duration::hours(RETENTION_HOURS);
    diesel::delete(
        idempotency_keys::table
            .find((caller, key))
            .filter(idempotency_keys::created_at.lt(stale)),
    )
    .execute(conn)?;
    let stored: Option<(String, i32, String)> = idempotency_keys::table
        .find((caller, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .optional()?;
    match stored {
        Some((h, _, _)) if h != hash => Err(AppError::invalid_field(
            "/",
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request",
        )),
        Some((_, PENDING, _)) => Err(AppError::conflict(
            Code::IdempotencyKeyInProgress,
            "a request with this Idempotency-Key has not finished; retry later",
        )),
        Some((_, status, response)) => Ok(Some((status, response))),
        None => Ok(None),
    }
}

fn insert(
    conn: &mut crate::db::DbConn,
    caller: &str,
    key: &str,
    hash: &str,
    status: i32,
    response: &str,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::caller_id.eq(caller),
            idempotency_keys::idem_key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::status.eq(status),
            idempotency_keys::response.eq(response),
            idempotency_keys::created_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(drop)
}

fn claim(
    state: &AppState,
    caller: String,
    key: String,
    hash: String,
) -> impl std::future::Future<Output = Result<Claim, AppError>> {
    let pool = state.pool.clone();
    async move {
        db::run_tx(&pool, move |conn| {
            match lookup(conn, &caller, &key, &hash)? {
                Some((status, response)) => Ok(Claim::Replay(status, response)),
                None => {
                    insert(conn, &caller, &key, &hash, PENDING, "")?;
                    Ok(Claim::Claimed)
                }
            }
        })
        .await
    }
}

/// The `Idempotency-Key` of a request to a route that stores its answer in its own
/// transaction ([`handled_by_route`]); the middleware has already answered a replay.
#[derive(Debug, Clone)]
pub struct RouteKey {
    caller: String,
    key: String,
    hash: String,
}

impl RouteKey {
    /// An answer stored meanwhile by a parallel request with the same key (checked again in
    /// the route's transaction).
    /// Answer it with [`replay`].
    pub fn earlier(&self, conn: &mut crate::db::DbConn) -> Result<Option<(i32, String)>, AppError> {
        lookup(conn, &self.caller, &self.key, &self.hash)
    }

    /// Claims the key at the start of the route's transaction (a pending row). A parallel
    /// request with the same key waits on that row and then gets 409
    /// `idempotency_key_in_progress`, which the route answers with [`RouteKey::earlier`] once the
    /// first has committed.
    pub fn claim(&self, conn: &mut crate::db::DbConn) -> Result<(), AppError> {
        use diesel::result::{DatabaseErrorKind, Error};
        match insert(conn, &self.caller, &self.key, &self.hash, PENDING, "") {
            Ok(()) => Ok(()),
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                Err(AppError::conflict(
                    Code::IdempotencyKeyInProgress,
                    "a request with this Idempotency-Key has not finished; retry later",
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Stores the answer, in the transaction of the write it answers (the row [`claim`]ed).
    ///
    /// [`claim`]: RouteKey::claim
    pub fn store(
        &self,
        conn: &mut crate::db::DbConn,
        status: StatusCode,
        body: &impl serde::Serialize,
    ) -> Result<(), AppError> {
        let response =
            serde_json::to_string(body).map_err(|e| AppError::internal(e.to_string()))?;
        diesel::update(idempotency_keys::table.find((&self.caller, &self.key)))
            .set((
                idempotency_keys::status.eq(i32::from(status.as_u16())),
                idempotency_keys::response.eq(response),
            ))
            .execute(conn)?;
        Ok(())
    }
}

impl Keyed {
    /// Runs `write` in a write transaction keyed by the request's `Idempotency-Key` (when it came
    /// with one): an answer stored meanwhile by a parallel request is replayed; otherwise the key
    /// is claimed, `write` runs, and its answer is stored with `status` in the same transaction.
    /// A parallel request that still held the key when this one started is waited for once: its
    /// committed answer is this one's too.
    pub async fn write<T, F>(
        self,
        pool: &crate::db::Pool,
        status: StatusCode,
        write: F,
    ) -> Result<HttpResponse, AppError>
    where
        T: serde::Serialize + Send + 'static,
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, AppError> + Send + 'static,
    {
        let key = self.0;
        let retry_key = key.clone();
        let outcome = crate::db::run_tx(pool, move |conn| {
            if let Some(key) = &key {
                if let Some(earlier) = key.earlier(conn)? {
                    return Ok(Err(earlier));
                }
                key.claim(conn)?;
            }
            let result = write(conn)?;
            if let Some(key) = &key {
                key.store(conn, status, &result)?;
            }
            Ok(Ok(result))
        })
        .await;
        let outcome = match (outcome, retry_key) {
            (
                Err(AppError::Conflict {
                    code: Code::IdempotencyKeyInProgress,
                    detail,
                }),
                Some(key),
            ) => match crate::db::run_tx(pool, move |conn| key.earlier(conn)).await? {
                Some(earlier) => Err(earlier),
                None => {
                    return Err(AppError::Conflict {
                        code: Code::IdempotencyKeyInProgress,
                        detail,
                    })
                }
            },
            (outcome, _) => outcome?,
        };
        Ok(match outcome {
            Ok(result) => HttpResponse::build(status).json(result),
            Err((status, response)) => replay(status, response),
        })
    }
}

/// Extracts the request's [`RouteKey`], if it came with one.
pub struct Keyed(pub Option<RouteKey>);

impl actix_web::FromRequest for Keyed {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(Keyed(req.extensions().get::<RouteKey>().cloned())))
    }
}

async fn finish(state: &AppState, caller: String, key: String, outcome: Option<(i32, String)>) {
    let result = db::run_tx(&state.pool, move |conn| {
        let row = idempotency_keys::table.find((&caller, &key));
        match outcome {
            Some((status, response)) => diesel::update(row)
                .set((
                    idempotency_keys::status.eq(status),
                    idempotency_keys::response.eq(response),
                ))
                .execute(conn)?,
            None => diesel::delete(row).execute(conn)?,
        };
        Ok(())
    })
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not store the idempotent answer");
    }
}

/// The stored answer, marked `Idempotent-Replayed: true`.
pub fn replay(status: i32, response: String) -> HttpResponse {
    let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
    let mut r = HttpResponse::build(status);
    r.insert_header(("Idempotent-Replayed", "true"));
    if response.is_empty() {
        r.finish()
    } else {
        r.content_type("application/json").body(response)
    }
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let header_value = req.headers().get(HEADER).cloned();
    let (Some(value), true) = (header_value, req.method() == Method::POST) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let key = match parse_key(&value) {
        Ok(k) => k,
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    // The caller, as `resolve_caller` (the middleware around this one) authenticated it. Without
    // one the handler answers 401 anyway.
    let caller = req.extensions().get::<Principal>().map(|p| match p {
        Principal::Staff(s) => format!("staff:{}", s.id),
        Principal::Family(f) => format!("family:{}", f.id),
    });
    let Some(caller) = caller else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let bytes = match req.extract::<web::Bytes>().await {
        Ok(b) => b,
        Err(_) => {
            let limit = state.settings.max_body_bytes;
            return Ok(req
                .error_response(AppError::PayloadTooLarge(limit))
                .map_into_boxed_body());
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(req.method().as_str());
    hasher.update(b"\n");
    hasher.update(req.uri().to_string());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let hash = hex::encode(hasher.finalize());
    if handled_by_route(req.path()) {
        let found = {
            let (caller, key, hash) = (caller.clone(), key.clone(), hash.clone());
            db::run_tx(&state.pool, move |conn| lookup(conn, &caller, &key, &hash)).await
        };
        return match found {
            Err(e) => Ok(req.error_response(e).map_into_boxed_body()),
            Ok(Some((status, response))) => {
                let (http_req, _) = req.into_parts();
                Ok(ServiceResponse::new(http_req, replay(status, response)))
            }
            Ok(None) => {
                req.extensions_mut().insert(RouteKey { caller, key, hash });
                req.set_payload(bytes.into());
                next.call(req)
                    .await
                    .map(ServiceResponse::map_into_boxed_body)
            }
        };
    }
    match claim(&state, caller.clone(), key.clone(), hash).await {
        Err(e) => return Ok(req.error_response(e).map_into_boxed_body()),
        Ok(Claim::Replay(status, response)) => {
            let (http_req, _) = req.into_parts();
            return Ok(ServiceResponse::new(http_req, replay(status, response)));
        }
        Ok(Claim::Claimed) => {}
    }
    req.set_payload(bytes.into());
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            finish(&state, caller, key, None).await;
            return Err(e);
        }
    };
    let status = res.status();
    if !status.is_success() {
        finish(&state, caller, key, None).await;
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let (head, body) = response.into_parts();
    let bytes = match body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            finish(&state, caller, key, None).await;
            return Ok(ServiceResponse::new(
                http_req,
                AppError::internal("response body unreadable").error_response(),
            ));
        }
    };
    finish(
        &state,
        caller,
        key,
        Some((
            i32::from(status.as_u16()),
            String::from_utf8_lossy(&bytes).into_owned(),
        )),
    )
    .await;
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(BoxBody::new(bytes)),
    ))
}
