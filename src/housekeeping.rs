//! Housekeeping: what the server forgets on its own, every hour.
//!
//! - throttle counters older than the login window (`auth::throttle`);
//! - idempotency keys older than 24 hours (`http::idempotency`; a key is also forgotten when it
//!   is used again after that);
//! - sessions, and their refresh tokens, that expired or were revoked more than
//!   [`SESSION_RETENTION_DAYS`] days ago (kept that long so "where am I signed in" and the
//!   audit of a stolen token can still name them).
//!
//! The audit log is never purged here: it is append-only (the database refuses UPDATE and
//! DELETE) and is kept as long as the clinical records it describes (README, "Housekeeping and
//! retention").

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    config::Settings,
    db::{self, schema::*, DbConn, Pool},
};

/// Days an ended session is kept before it is forgotten.
pub const SESSION_RETENTION_DAYS: i64 = 30;
/// How often the server purges.
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// What one purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub throttle_rows: usize,
    pub idempotency_keys: usize,
    pub sessions: usize,
    pub refresh_tokens: usize,
}

/// Removes what has outlived its use, as of `now`.
pub fn purge(conn: &mut DbConn, settings: &Settings, now: NaiveDateTime) -> QueryResult<Purged> {
    let throttle_rows = crate::auth::throttle::purge(conn, &settings.throttle, now)?;
    let keys_before = now - Duration::hours(crate::http::idempotency::RETENTION_HOURS);
    let idempotency_keys = diesel::delete(
        idempotency_keys::table.filter(idempotency_keys::created_at.lt(keys_before)),
    )
    .execute(conn)?;
    let ended_before = now - Duration::days(SESSION_RETENTION_DAYS);
    let ended = || {
        sessions::table
            .filter(
                sessions::expires_at
                    .lt(ended_before)
                    .or(sessions::revoked_at.lt(ended_before)),
            )
            .select(sessions::id)
    };
    // A session's used and expired refresh tokens too (each refresh leaves one behind); a
    // used one is kept the same 30 days to recognise its reuse.
    let refresh_tokens = diesel::delete(
        refresh_tokens::table.filter(
            refresh_tokens::session_id
                .eq_any(ended())
                .or(refresh_tokens::used_at.lt(ended_before))
                .or(refresh_tokens::expires_at.lt(ended_before)),
        ),
    )
    .execute(conn)?;
    let sessions = diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(ended_before)
                .or(sessions::revoked_at.lt(ended_before)),
        ),
    )
    .execute(conn)?;
    Ok(Purged {
        throttle_rows,
        idempotency_keys,
        sessions,
        refresh_tokens,
    })
}

/// Purges every [`INTERVAL`] for as long as the server runs (first run at start-up).
pub async fn run(pool: Pool, settings: Settings) {
    let mut tick = actix_web::rt::time::interval(INTERVAL);
    loop {
        tick.tick().await;
        let s = settings.clone();
        match db::run_tx(&pool, move |conn| {
            Ok(purge(conn, &s, Utc::now().naive_utc())?)
        })
        .await
        {
            Ok(p) if p != Purged::default() => tracing::info!(?p, "housekeeping purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "housekeeping failed; retried in an hour"),
        }
    }
}
