//! Login throttling, counted from the audit log itself: failed logins for one account, or from
//! one client address, within the window. Past the limit further attempts answer 429 with
//! `Retry-After` (the time until the oldest counted failure leaves the window). Counting from the
//! database keeps the limit across restarts and across several server processes.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::{config::ThrottleSettings, db::schema::audit_events, db::DbConn};

/// Seconds the caller must wait, or `None` when the attempt may proceed.
pub fn retry_after(
    conn: &mut DbConn,
    action: &str,
    label: &str,
    addr: Option<&str>,
    settings: &ThrottleSettings,
) -> QueryResult<Option<u64>> {
    let window = chrono::Duration::seconds(settings.window.as_secs() as i64);
    let since = Utc::now().naive_utc() - window;
    let base = || {
        audit_events::table
            .filter(audit_events::action.eq(action.to_string()))
            .filter(audit_events::outcome.eq("failure"))
            .filter(audit_events::occurred_at.ge(since))
            .into_boxed()
    };
    let mut oldest_blocking: Option<NaiveDateTime> = None;
    let by_label: Vec<NaiveDateTime> = base()
        .filter(audit_events::actor_label.eq(label.to_string()))
        .order(audit_events::occurred_at.desc())
        .limit(settings.max_failures_per_account)
        .select(audit_events::occurred_at)
        .load(conn)?;
    if by_label.len() as i64 >= settings.max_failures_per_account {
        oldest_blocking = by_label.last().copied();
    }
    if let Some(addr) = addr {
        let by_addr: Vec<NaiveDateTime> = base()
            .filter(audit_events::client_addr.eq(addr.to_string()))
            .order(audit_events::occurred_at.desc())
            .limit(settings.max_failures_per_address)
            .select(audit_events::occurred_at)
            .load(conn)?;
        if by_addr.len() as i64 >= settings.max_failures_per_address {
            let t = by_addr.last().copied();
            oldest_blocking = oldest_blocking.max(t);
        }
    }
    Ok(oldest_blocking.map(|oldest| {
        let free_at = oldest + window;
        (free_at - Utc::now().naive_utc()).num_seconds().max(1) as u64
    }))
}
