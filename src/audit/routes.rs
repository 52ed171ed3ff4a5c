//! `GET /api/v1/audit-events`: read-only; nothing in the API edits or deletes an event.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::scope::accounts::StaffScope;
use crate::{
    auth::{roles::AuditReader, Staff},
    db::{self, schema::audit_events},
    error::AppError,
    http::{Page, ValidQuery},
    state::AppState,
};

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f0c4-7b1a-7c3e-9a51-3f1c2b4d5e6f", "occurred_at": "2026-11-23T09:30:00Z",
    "actor_kind": "staff", "actor_id": "0192f0c4-0000-7000-8000-000000000001", "actor_label": "dr.wang",
    "actor_roles": "clinician", "action": "staff.read", "resource_type": "staff",
    "resource_id": "0192f0c4-0000-7000-8000-000000000002", "outcome": "success",
    "request_id": "0192f0c4-7b1a-7c3e-9a51-000000000000", "client_addr": "10.0.0.8",
    "county_code": "990101", "detail": null
}))]
pub struct AuditEvent {
    pub id: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub occurred_at: DateTime<Utc>,
    /// `staff`, `family`, `anonymous` or `system`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    /// Username of staff, or the name tried in a failed login.
    pub actor_label: Option<String>,
    pub actor_roles: Option<String>,
    /// e.g. `auth.login`, `staff.create`, `staff.read`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
    pub county_code: Option<String>,
    /// JSON text with a short structured note.
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events by this account id.
    #[validate(length(max = 64))]
    pub actor_id: Option<String>,
    /// Only events on this resource type (`staff`, `institution`, `session` …).
    #[validate(length(max = 64))]
    pub resource_type: Option<String>,
    /// Only events on this resource id.
    #[validate(length(max = 64))]
    pub resource_id: Option<String>,
    /// Only this action, e.g. `auth.login`.
    #[validate(length(max = 64))]
    pub action: Option<String>,
    /// Events at or after this instant (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Events before this instant (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// 1 to 100, default 50.
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    #[validate(length(max = 64))]
    pub cursor: Option<String>,
}

/// List audit events, newest first.
///
/// `system_admin` sees every event; `county_reviewer` sees the events of its county.
///
/// Who: county reviewers and system administrators.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of events, newest first", body = Page<AuditEvent>),
    )
)]
#[get("/audit-events")]
pub async fn list_audit_events(
    staff: Staff<AuditReader>,
    query: ValidQuery<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let scope = StaffScope::of(&staff);
    let limit = q.limit.unwrap_or(50);
    let page = db::run(&state.pool, move |conn| {
        let mut sql = audit_events::table.into_boxed();
        if let StaffScope::County(county) = &scope {
            sql = sql.filter(audit_events::county_code.eq(county.clone()));
        }
        if let Some(v) = q.actor_id {
            sql = sql.filter(audit_events::actor_id.eq(v));
        }
        if let Some(v) = q.resource_type {
            sql = sql.filter(audit_events::resource_type.eq(v));
        }
        if let Some(v) = q.resource_id {
            sql = sql.filter(audit_events::resource_id.eq(v));
        }
        if let Some(v) = q.action {
            sql = sql.filter(audit_events::action.eq(v));
        }
        if let Some(v) = q.from {
            sql = sql.filter(audit_events::occurred_at.ge(v.naive_utc()));
        }
        if let Some(v) = q.to {
            sql = sql.filter(audit_events::occurred_at.lt(v.naive_utc()));
        }
        if let Some(cursor) = q.cursor {
            sql = sql.filter(audit_events::id.lt(cursor));
        }
        let rows = sql
            .order(audit_events::id.desc())
            .limit(limit + 1)
            .load::<AuditRow>(conn)?;
        Ok(Page::from_rows(rows, limit, |r| r.id.clone()).map(AuditRow::into_event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Queryable)]
struct AuditRow {
    id: String,
    occurred_at: chrono::NaiveDateTime,
    actor_kind: String,
    actor_id: Option<String>,
    actor_label: Option<String>,
    actor_roles: Option<String>,
    action: String,
    resource_type: String,
    resource_id: Option<String>,
    outcome: String,
    request_id: Option<String>,
    client_addr: Option<String>,
    county_code: Option<String>,
    detail: Option<String>,
}

impl AuditRow {
    fn into_event(self) -> AuditEvent {
        AuditEvent {
            id: self.id,
            occurred_at: self.occurred_at.and_utc(),
            actor_kind: self.actor_kind,
            actor_id: self.actor_id,
            actor_label: self.actor_label,
            actor_roles: self.actor_roles,
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            outcome: self.outcome,
            request_id: self.request_id,
            client_addr: self.client_addr,
            county_code: self.county_code,
            detail: self.detail,
        }
    }
}
