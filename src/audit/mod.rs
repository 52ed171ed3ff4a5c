//! The append-only audit log: every write, every staff read of personal data, every login.
//!
//! Entries are written in the same transaction as the change they describe, so a change and its
//! audit row commit or vanish together. The tables' triggers refuse UPDATE and DELETE.

pub mod routes;

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;

use crate::{
    auth::{principal::Principal, tokens::SubjectKind},
    db::{self, schema::audit_events, DbConn, Pool},
    error::AppError,
    http::RequestCtx,
};

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
    /// What identifies an actor that has no account id yet (e.g. the username of a failed login).
    pub label: Option<String>,
    pub roles: Option<String>,
    pub county_code: Option<String>,
}

impl Actor {
    pub fn anonymous(label: Option<String>) -> Self {
        Actor {
            kind: "anonymous",
            id: None,
            label,
            roles: None,
            county_code: None,
        }
    }

    pub fn system() -> Self {
        Actor {
            kind: "system",
            id: None,
            label: Some("command line".into()),
            roles: None,
            county_code: None,
        }
    }

    pub fn subject(kind: SubjectKind, id: &str, label: Option<String>) -> Self {
        Actor {
            kind: kind.as_str(),
            id: Some(id.to_string()),
            label,
            roles: None,
            county_code: None,
        }
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        match p {
            Principal::Staff(s) => Actor {
                kind: "staff",
                id: Some(s.id.clone()),
                label: Some(s.username.clone()),
                roles: Some(s.roles_label()),
                county_code: Some(s.county_code.clone()),
            },
            Principal::Family(f) => Actor {
                kind: "family",
                id: Some(f.id.clone()),
                label: None,
                roles: None,
                county_code: None,
            },
        }
    }
}

impl From<&crate::auth::StaffPrincipal> for Actor {
    fn from(s: &crate::auth::StaffPrincipal) -> Self {
        Actor::from(&Principal::Staff(s.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One audit entry, built fluently: `Event::new(actor, "staff.create", "staff").resource(id)…`.
#[derive(Debug, Clone)]
pub struct Event {
    actor: Actor,
    action: &'static str,
    resource_type: &'static str,
    resource_id: Option<String>,
    outcome: Outcome,
    county_code: Option<String>,
    detail: Option<String>,
}

impl Event {
    pub fn new(actor: impl Into<Actor>, action: &'static str, resource_type: &'static str) -> Self {
        let actor = actor.into();
        let county_code = actor.county_code.clone();
        Event {
            actor,
            action,
            resource_type,
            resource_id: None,
            outcome: Outcome::Success,
            county_code,
            detail: None,
        }
    }

    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The county the touched record belongs to (who may read this entry); defaults to the actor's.
    pub fn county(mut self, county_code: impl Into<String>) -> Self {
        self.county_code = Some(county_code.into());
        self
    }

    /// A small structured note; never a secret, never a full identity number.
    pub fn detail(mut self, detail: impl Serialize) -> Self {
        self.detail = serde_json::to_string(&detail).ok();
        self
    }

    /// Records with `label` as the actor label (what throttling counts failures by).
    pub fn record_with_label(
        mut self,
        conn: &mut DbConn,
        ctx: &RequestCtx,
        label: &str,
    ) -> QueryResult<()> {
        self.actor.label = Some(label.to_string());
        self.record(conn, ctx)
    }

    pub fn record(self, conn: &mut DbConn, ctx: &RequestCtx) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(uuid::Uuid::now_v7().to_string()),
                audit_events::occurred_at.eq(Utc::now().naive_utc()),
                audit_events::actor_kind.eq(self.actor.kind),
                audit_events::actor_id.eq(self.actor.id),
                audit_events::actor_label.eq(self.actor.label),
                audit_events::actor_roles.eq(self.actor.roles),
                audit_events::action.eq(self.action),
                audit_events::resource_type.eq(self.resource_type),
                audit_events::resource_id.eq(self.resource_id),
                audit_events::outcome.eq(self.outcome.as_str()),
                audit_events::request_id.eq(&ctx.request_id),
                audit_events::client_addr.eq(&ctx.client_addr),
                audit_events::county_code.eq(self.county_code),
                audit_events::detail.eq(self.detail),
            ))
            .execute(conn)
            .map(|_| ())
    }
}

/// An audited read of personal data: `read` runs on a pooled connection — not inside a write
/// transaction, which on SQLite would hold up every write behind it on the database's one writer
/// — and returns the answer with the event that records it. The event is written (a write
/// transaction of its own) before the answer is given: no audit row, no answer. A read that fails
/// (out of scope, say) records nothing, as before.
pub async fn read<T, F>(pool: &Pool, ctx: RequestCtx, read: F) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<(T, Event), AppError> + Send + 'static,
    T: Send + 'static,
{
    let (answer, event) = db::run(pool, read).await?;
    db::run_tx(pool, move |conn| Ok(event.record(conn, &ctx)?)).await?;
    Ok(answer)
}

/// Records every refusal of a signed-in caller — 404 for a record that is not theirs (or does
/// not exist: the two are answered alike on purpose) and 403 for an operation their role may
/// not do — as a `denied` audit event `access.refused` naming the route, so a county auditor
/// sees who probes (issue #14: a refused out-of-scope attempt left no trace). Count them per
/// caller with `GET /api/v1/audit-events?action=access.refused`. A 404 of a record that simply
/// does not exist is recorded too (the two are one answer on purpose). Anonymous refusals are
/// not recorded (nothing to attribute them to; the address is in the access log). At most
/// [`REFUSALS_RECORDED`] a caller in [`REFUSAL_WINDOW_MINUTES`]. A failure to record is logged,
/// not answered.
pub async fn record_refusals(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let res = next.call(req).await?;
    // A 404 counts when the address names a record (`/handbooks/{id}`); `GET /me/handbook`
    // before a mother has one is not a probe.
    let names_a_record = !res.request().match_info().is_empty();
    let refused = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(AppError::Forbidden | AppError::Refused { .. }) => true,
        Some(AppError::NotFound) => names_a_record,
        _ => false,
    };
    if !refused {
        return Ok(res);
    }
    let request = res.request();
    let (Some(principal), Some(ctx), Some(state)) = (
        request.extensions().get::<Principal>().cloned(),
        request.extensions().get::<RequestCtx>().cloned(),
        request
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .cloned(),
    ) else {
        return Ok(res);
    };
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "(no route)".into());
    let event = Event::new(&principal, "access.refused", "route")
        .outcome(Outcome::Denied)
        .detail(serde_json::json!({
            "method": request.method().as_str(),
            "route": route,
            "path": request.path(),
            "status": res.status().as_u16(),
        }));
    // At most REFUSALS_RECORDED per caller in REFUSAL_WINDOW_MINUTES: enough to see a probe, not
    // a lever to flood the log and the writer. Written after answering (the caller does not wait
    // for it).
    let caller = Actor::from(&principal).id.unwrap_or_default();
    let cap = crate::config::ThrottleSettings {
        max_failures_per_account: REFUSALS_RECORDED,
        max_failures_per_address: i64::MAX,
        window: std::time::Duration::from_secs(60 * REFUSAL_WINDOW_MINUTES as u64),
    };
    actix_web::rt::spawn(async move {
        // Counted like a throttle (atomic on both backends): past the cap nothing is written
        // to the log.
        let written = db::run_tx(&state.pool, move |conn| {
            if let Ok(slot) =
                crate::auth::throttle::reserve(conn, "access.refused", &caller, None, &cap)?
            {
                crate::auth::throttle::failed(conn, slot)?;
                event.record(conn, &ctx)?;
            }
            Ok(())
        });
        if let Err(e) = written.await {
            tracing::warn!(error = %e, "could not record a refused access");
        }
    });
    Ok(res)
}

/// Refusals recorded per caller within [`REFUSAL_WINDOW_MINUTES`].
pub const REFUSALS_RECORDED: i64 = 20;
/// The window of [`REFUSALS_RECORDED`].
pub const REFUSAL_WINDOW_MINUTES: i64 = 10;
