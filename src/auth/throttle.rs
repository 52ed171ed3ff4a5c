//! Throttling of guesses: wrong passwords, wrong codes, identity documents that do not match.
//!
//! An attempt is *reserved* before it is checked, in the transaction that counts the earlier
//! ones, under a row lock on its keys (the account or caller, and the client address): parallel
//! requests queue on that lock, so with a limit of 5 at most 5 guesses are ever checked in a
//! window, however many arrive at once (issue #14: 24 concurrent wrong passwords were all
//! checked when the count and the failure's record were separate transactions). A reserved
//! attempt is then marked failed, or forgotten when it succeeded; one left `pending` by a
//! crash counts as a failure until the window passes. Past the limit the caller gets the
//! seconds until the oldest counted attempt leaves the window (`Retry-After`). Kept in the
//! database, the count holds across restarts and across several server processes.
//!
//! The rows are operational state, not the record: every failure is also an audit event.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{
    config::ThrottleSettings,
    db::schema::{throttle_attempts, throttle_locks},
    db::DbConn,
};

/// An attempt counted against the limits, not yet known to have failed.
#[derive(Debug)]
#[must_use = "mark the attempt failed or succeeded"]
pub struct Reserved {
    id: String,
}

/// Reserves an attempt of `action` by `label` (and from `addr`), or answers the seconds to wait
/// when the limits are reached. Must run inside a write transaction, which holds the key locks
/// until it ends.
pub fn reserve(
    conn: &mut DbConn,
    action: &str,
    label: &str,
    addr: Option<&str>,
    settings: &ThrottleSettings,
) -> QueryResult<Result<Reserved, u64>> {
    let now = Utc::now().naive_utc();
    let window = chrono::Duration::seconds(settings.window.as_secs() as i64);
    let since = now - window;
    let mut keys = vec![format!("{action}\u{1f}account\u{1f}{label}")];
    if let Some(addr) = addr {
        keys.push(format!("{action}\u{1f}address\u{1f}{addr}"));
    }
    keys.sort();
    for key in &keys {
        // An upsert takes the row's lock on PostgreSQL until the transaction ends; SQLite
        // serialises write transactions anyway. Portable to Citus and YugabyteDB (no advisory
        // locks).
        let upsert = diesel::insert_into(throttle_locks::table)
            .values((
                throttle_locks::key.eq(key),
                throttle_locks::touched_at.eq(now),
            ))
            .on_conflict(throttle_locks::key)
            .do_update()
            .set(throttle_locks::touched_at.eq(now));
        crate::execute_on_backend!(conn, upsert)?;
    }
    let counted = || {
        throttle_attempts::table
            .filter(throttle_attempts::action.eq(action.to_string()))
            .filter(throttle_attempts::started_at.ge(since))
            .order(throttle_attempts::started_at.desc())
            .select(throttle_attempts::started_at)
            .into_boxed()
    };
    let by_label: Vec<NaiveDateTime> = counted()
        .filter(throttle_attempts::label.eq(label.to_string()))
        .limit(settings.max_failures_per_account)
        .load(conn)?;
    let mut oldest_blocking = None;
    if by_label.len() as i64 >= settings.max_failures_per_account {
        oldest_blocking = by_label.last().copied();
    }
    if let Some(addr) = addr {
        let by_addr: Vec<NaiveDateTime> = counted()
            .filter(throttle_attempts::client_addr.eq(addr.to_string()))
            .limit(settings.max_failures_per_address)
            .load(conn)?;
        if by_addr.len() as i64 >= settings.max_failures_per_address {
            oldest_blocking = oldest_blocking.max(by_addr.last().copied());
        }
    }
    if let Some(oldest) = oldest_blocking {
        let free_at = oldest + window;
        return Ok(Err((free_at - now).num_seconds().max(1) as u64));
    }
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(throttle_attempts::table)
        .values((
            throttle_attempts::id.eq(&id),
            throttle_attempts::action.eq(action),
            throttle_attempts::label.eq(label),
            throttle_attempts::client_addr.eq(addr),
            throttle_attempts::started_at.eq(now),
            throttle_attempts::state.eq("pending"),
        ))
        .execute(conn)?;
    Ok(Ok(Reserved { id }))
}

/// The attempt failed: it counts until it leaves the window.
pub fn failed(conn: &mut DbConn, attempt: Reserved) -> QueryResult<()> {
    diesel::update(throttle_attempts::table.find(&attempt.id))
        .set(throttle_attempts::state.eq("failure"))
        .execute(conn)
        .map(drop)
}

/// The attempt succeeded: it no longer counts.
pub fn succeeded(conn: &mut DbConn, attempt: Reserved) -> QueryResult<()> {
    diesel::delete(throttle_attempts::table.find(&attempt.id))
        .execute(conn)
        .map(drop)
}

/// Forgets attempts and locks older than the window, as of `now` (`housekeeping`).
pub fn purge(
    conn: &mut DbConn,
    settings: &ThrottleSettings,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let window = chrono::Duration::seconds(settings.window.as_secs() as i64);
    let before = now - window;
    let attempts =
        diesel::delete(throttle_attempts::table.filter(throttle_attempts::started_at.lt(before)))
            .execute(conn)?;
    let locks = diesel::delete(throttle_locks::table.filter(throttle_locks::touched_at.lt(before)))
        .execute(conn)?;
    Ok(attempts + locks)
}
