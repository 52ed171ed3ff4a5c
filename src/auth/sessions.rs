//! Sessions and refresh-token rotation.
//!
//! A login opens a session; each refresh token belongs to one session and may be used once. Using
//! it yields a new one; presenting an already-used token means it was stolen or replayed, and the
//! whole session (the token family) is revoked.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::tokens::{hash_refresh_token, new_refresh_token, SubjectKind};
use crate::{
    db::{schema::*, DbConn},
    error::AppError,
    http::RequestCtx,
};

fn expiry(ttl: std::time::Duration) -> NaiveDateTime {
    Utc::now().naive_utc() + chrono::Duration::seconds(ttl.as_secs() as i64)
}

/// Opens a session and returns `(session id, refresh token)`.
pub fn open(
    conn: &mut DbConn,
    kind: SubjectKind,
    subject_id: &str,
    refresh_ttl: std::time::Duration,
    ctx: &RequestCtx,
) -> QueryResult<(String, String)> {
    let now = Utc::now().naive_utc();
    let session_id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&session_id),
            sessions::subject_kind.eq(kind.as_str()),
            sessions::subject_id.eq(subject_id),
            sessions::created_at.eq(now),
            sessions::last_refreshed_at.eq(now),
            sessions::expires_at.eq(expiry(refresh_ttl)),
            sessions::user_agent.eq(&ctx.user_agent),
            sessions::client_addr.eq(&ctx.client_addr),
        ))
        .execute(conn)?;
    let token = issue_refresh(conn, &session_id, refresh_ttl)?;
    Ok((session_id, token))
}

fn issue_refresh(
    conn: &mut DbConn,
    session_id: &str,
    ttl: std::time::Duration,
) -> QueryResult<String> {
    let token = new_refresh_token();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash_refresh_token(&token)),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::issued_at.eq(Utc::now().naive_utc()),
            refresh_tokens::expires_at.eq(expiry(ttl)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Rotation {
    /// A fresh refresh token for the same session.
    Rotated {
        kind: SubjectKind,
        subject_id: String,
        session_id: String,
        refresh_token: String,
    },
    /// The token had been used before: the session is now revoked.
    ReuseDetected {
        kind: SubjectKind,
        subject_id: String,
        session_id: String,
    },
    /// Unknown, expired, or its session is revoked or expired.
    Invalid,
}

/// Uses a refresh token once. Run inside a write transaction; the caller records the audit event
/// and commits even for `ReuseDetected`, so the revocation sticks.
pub fn rotate(
    conn: &mut DbConn,
    token: &str,
    ttl: std::time::Duration,
) -> Result<Rotation, AppError> {
    let now = Utc::now().naive_utc();
    let hash = hash_refresh_token(token);
    let found = refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(&hash))
        .select((
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
            sessions::id,
            sessions::subject_kind,
            sessions::subject_id,
            sessions::revoked_at,
            sessions::expires_at,
        ))
        .first::<(
            NaiveDateTime,
            Option<NaiveDateTime>,
            String,
            String,
            String,
            Option<NaiveDateTime>,
            NaiveDateTime,
        )>(conn)
        .optional()?;
    let Some((token_expires, used_at, session_id, kind, subject_id, revoked_at, session_expires)) =
        found
    else {
        return Ok(Rotation::Invalid);
    };
    let kind = match kind.as_str() {
        "staff" => SubjectKind::Staff,
        "family" => SubjectKind::Family,
        other => {
            return Err(AppError::from(diesel::result::Error::DeserializationError(
                format!("sessions.subject_kind {other:?} is neither staff nor family").into(),
            )))
        }
    };
    if revoked_at.is_some() || session_expires <= now || token_expires <= now {
        return Ok(Rotation::Invalid);
    }
    // Claim the token: only one presenter can flip used_at from NULL, even under concurrency.
    let claimed = if used_at.is_none() {
        diesel::update(refresh_tokens::table)
            .filter(refresh_tokens::token_hash.eq(&hash))
            .filter(refresh_tokens::used_at.is_null())
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)?
    } else {
        0
    };
    if claimed == 0 {
        revoke(conn, &session_id, "refresh_token_reuse")?;
        return Ok(Rotation::ReuseDetected {
            kind,
            subject_id,
            session_id,
        });
    }
    diesel::update(sessions::table.find(&session_id))
        .set((
            sessions::last_refreshed_at.eq(now),
            sessions::expires_at.eq(expiry(ttl)),
        ))
        .execute(conn)?;
    let refresh_token = issue_refresh(conn, &session_id, ttl)?;
    Ok(Rotation::Rotated {
        kind,
        subject_id,
        session_id,
        refresh_token,
    })
}

/// Revokes one session (logout, reuse, account disabled). Returns whether it was live.
pub fn revoke(conn: &mut DbConn, session_id: &str, reason: &str) -> QueryResult<bool> {
    let n = diesel::update(sessions::table.find(session_id))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(Utc::now().naive_utc()),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(n > 0)
}

/// Revokes every live session of an account.
pub fn revoke_all(
    conn: &mut DbConn,
    kind: SubjectKind,
    subject_id: &str,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(sessions::table)
        .filter(sessions::subject_kind.eq(kind.as_str()))
        .filter(sessions::subject_id.eq(subject_id))
        .filter(sessions::revoked_at.is_null())
        .set((
            sessions::revoked_at.eq(Utc::now().naive_utc()),
            sessions::revoked_reason.eq(reason),
        ))
        .execute(conn)
}

/// A live session, as its owner sees it.
#[derive(Debug, Queryable)]
pub struct SessionRow {
    pub id: String,
    pub created_at: NaiveDateTime,
    pub last_refreshed_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub user_agent: Option<String>,
    pub client_addr: Option<String>,
}

/// One page of a subject's live sessions, newest first: `limit + 1` rows after `cursor` (see
/// [`crate::http::pagination::Page::from_rows`]).
pub fn live_sessions(
    conn: &mut DbConn,
    kind: SubjectKind,
    subject_id: &str,
    limit: i64,
    cursor: Option<String>,
) -> QueryResult<Vec<SessionRow>> {
    let mut sql = sessions::table
        .filter(sessions::subject_kind.eq(kind.as_str()))
        .filter(sessions::subject_id.eq(subject_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(Utc::now().naive_utc()))
        .into_boxed();
    if let Some(cursor) = cursor {
        sql = sql.filter(sessions::id.lt(cursor));
    }
    sql.order(sessions::id.desc())
        .limit(limit + 1)
        .select((
            sessions::id,
            sessions::created_at,
            sessions::last_refreshed_at,
            sessions::expires_at,
            sessions::user_agent,
            sessions::client_addr,
        ))
        .load(conn)
}

/// Whether `session_id` is a session of this account (for revoking one's own sessions only).
pub fn owned_by(
    conn: &mut DbConn,
    session_id: &str,
    kind: SubjectKind,
    subject_id: &str,
) -> QueryResult<bool> {
    let n: i64 = sessions::table
        .filter(sessions::id.eq(session_id))
        .filter(sessions::subject_kind.eq(kind.as_str()))
        .filter(sessions::subject_id.eq(subject_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
