//! Referral endpoints.

use crate::db::stored;
use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::rules::Status;
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    scope::{self, Grant},
    state::AppState,
};

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Routine,
    Urgent,
    Emergency,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// To a higher-level institution.
    Up,
    /// Back to a lower level (e.g. after delivery).
    Down,
}

/// A new referral.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_institution_id": "0192f0c4-0000-7000-8000-0000000000c1", "reason": "橙色妊娠风险，需三级医院评估",
    "urgency": "urgent", "direction": "up", "clinical_summary": "G1P0 24+3周，BP 150/95，尿蛋白1+"}))]
pub struct NewReferral {
    #[validate(length(min = 1, max = 64))]
    pub to_institution_id: String,
    #[validate(length(max = 64))]
    pub pregnancy_id: Option<String>,
    #[validate(length(min = 1, max = 500))]
    pub reason: String,
    pub urgency: Urgency,
    pub direction: Direction,
    #[validate(length(min = 1, max = 4000))]
    pub clinical_summary: String,
}

#[derive(Debug, Clone, Queryable)]
pub(super) struct Row {
    pub(super) id: String,
    pub(super) handbook_id: String,
    pub(super) pregnancy_id: Option<String>,
    pub(super) county_code: String,
    pub(super) from_institution_id: String,
    pub(super) to_institution_id: String,
    pub(super) reason: String,
    pub(super) urgency: String,
    pub(super) direction: String,
    pub(super) clinical_summary: String,
    pub(super) status: String,
    pub(super) decline_reason: Option<String>,
    pub(super) sent_at: NaiveDateTime,
    pub(super) sent_by: String,
    pub(super) accepted_at: Option<NaiveDateTime>,
    pub(super) accepted_by: Option<String>,
    pub(super) declined_at: Option<NaiveDateTime>,
    pub(super) declined_by: Option<String>,
    pub(super) arrived_at: Option<NaiveDateTime>,
    pub(super) arrived_by: Option<String>,
    pub(super) completed_at: Option<NaiveDateTime>,
    pub(super) completed_by: Option<String>,
    pub(super) updated_at: NaiveDateTime,
}

/// A referral with the time of each step.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::referral_view)]
pub struct ReferralView {
    pub id: String,
    pub handbook_id: String,
    pub pregnancy_id: Option<String>,
    pub from_institution_id: String,
    pub to_institution_id: String,
    pub reason: String,
    pub urgency: Urgency,
    pub direction: Direction,
    /// `null` when withheld: a receiving institution that declined no longer reads it.
    pub clinical_summary: Option<String>,
    pub status: Status,
    pub decline_reason: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub sent_at: DateTime<Utc>,
    pub sent_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub declined_at: Option<DateTime<Utc>>,
    pub declined_by: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub arrived_at: Option<DateTime<Utc>>,
    pub arrived_by: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub completed_at: Option<DateTime<Utc>>,
    pub completed_by: Option<String>,
    pub county_code: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: DateTime<Utc>,
}

fn utc(t: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    t.map(|t| t.and_utc())
}

impl Row {
    /// The referral as `staff` may see it: a receiving institution that declined keeps the
    /// referral's course (it acted on it) but no longer reads the clinical summary, as it no
    /// longer reads her record (issue #14).
    fn view_for(self, staff: &StaffPrincipal) -> QueryResult<ReferralView> {
        let declined_here = self.status == Status::Declined.as_str()
            && self.to_institution_id == staff.institution_id
            && self.from_institution_id != staff.institution_id;
        let mut view = self.view()?;
        if declined_here {
            view.clinical_summary = None;
        }
        Ok(view)
    }

    fn view(self) -> QueryResult<ReferralView> {
        Ok(ReferralView {
            status: stored::from_text("referrals.status", &self.status)?,
            urgency: stored::from_text("referrals.urgency", &self.urgency)?,
            direction: stored::from_text("referrals.direction", &self.direction)?,
            sent_at: self.sent_at.and_utc(),
            accepted_at: utc(self.accepted_at),
            declined_at: utc(self.declined_at),
            arrived_at: utc(self.arrived_at),
            completed_at: utc(self.completed_at),
            updated_at: self.updated_at.and_utc(),
            id: self.id,
            handbook_id: self.handbook_id,
            pregnancy_id: self.pregnancy_id,
            from_institution_id: self.from_institution_id,
            to_institution_id: self.to_institution_id,
            reason: self.reason,
            clinical_summary: Some(self.clinical_summary),
            decline_reason: self.decline_reason,
            sent_by: self.sent_by,
            accepted_by: self.accepted_by,
            declined_by: self.declined_by,
            arrived_by: self.arrived_by,
            completed_by: self.completed_by,
            county_code: self.county_code,
        })
    }
}

/// Refer a woman to another institution. The receiving institution can see her record from now
/// on (ended again if it declines).
///
/// Who: clinicians.
#[utoipa::path(
    tag = "referrals",
    params(("id" = String, Path, description = "Handbook id")),
    request_body = NewReferral,
    responses(
        (status = 201, description = "Sent", body = ReferralView),
        (status = 422, description = "Invalid fields, unknown institution, or referring to oneself", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handbooks/{id}/referrals")]
pub async fn send_referral(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewReferral>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let handbook_id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    if input.to_institution_id == staff.institution_id {
        return Err(AppError::invalid_field(
            "/to_institution_id",
            "same_institution",
            "refer to another institution",
        ));
    }
    let v = db::run_tx(&state.pool, move |conn| {
        let county = scope::staff_scope(conn, &staff, &handbook_id)?;
        let target: Option<bool> = institutions::table
            .find(&input.to_institution_id)
            .select(institutions::disabled)
            .first(conn)
            .optional()?;
        if target != Some(false) {
            return Err(AppError::invalid_field(
                "/to_institution_id",
                "not_found",
                "no active institution has this id",
            ));
        }
        if let Some(p) = &input.pregnancy_id {
            let n: i64 = pregnancies::table
                .filter(pregnancies::id.eq(p))
                .filter(pregnancies::handbook_id.eq(&handbook_id))
                .count()
                .get_result(conn)?;
            if n == 0 {
                return Err(AppError::invalid_field(
                    "/pregnancy_id",
                    "not_found",
                    "not a pregnancy of this handbook",
                ));
            }
        }
        let now = Utc::now().naive_utc();
        let id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(referrals::table)
            .values((
                referrals::id.eq(&id),
                referrals::handbook_id.eq(&handbook_id),
                referrals::pregnancy_id.eq(&input.pregnancy_id),
                referrals::county_code.eq(&county),
                referrals::from_institution_id.eq(&staff.institution_id),
                referrals::to_institution_id.eq(&input.to_institution_id),
                referrals::reason.eq(&input.reason),
                referrals::urgency.eq(stored::to_text(&input.urgency)),
                referrals::direction.eq(stored::to_text(&input.direction)),
                referrals::clinical_summary.eq(&input.clinical_summary),
                referrals::status.eq(Status::Sent.as_str()),
                referrals::sent_at.eq(now),
                referrals::sent_by.eq(&staff.id),
                referrals::updated_at.eq(now),
            ))
            .execute(conn)?;
        scope::grant(
            conn,
            &handbook_id,
            &input.to_institution_id,
            &county,
            Grant::Referral,
            None,
        )?;
        Event::new(&staff, "referral.send", "referral")
            .resource(&id)
            .county(&county)
            .record(conn, &ctx)?;
        Ok(referrals::table.find(&id).first::<Row>(conn)?.view()?)
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// A referral the caller's institution sent or received; otherwise 404.
fn load_for_staff(conn: &mut DbConn, staff: &StaffPrincipal, id: &str) -> Result<Row, AppError> {
    let row: Row = referrals::table.find(id).first(conn)?;
    let involved = row.from_institution_id == staff.institution_id
        || row.to_institution_id == staff.institution_id;
    let county_view = scope::county_reviewer_of(staff, &row.county_code);
    if involved || county_view {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// Read a referral (sending or receiving institution, or the county). Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "referrals",
    params(("id" = String, Path, description = "Referral id")),
    responses(
        (status = 200, description = "The referral", body = ReferralView),
    )
)]
#[get("/referrals/{id}")]
pub async fn get_referral(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let v = audit::read(&state.pool, ctx, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "referral.read", "referral")
            .resource(&id)
            .county(&row.county_code);
        Ok((row.view_for(&staff)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A step by the receiving institution.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "declined", "reason": "产科床位已满，请转市危重孕产妇救治中心"}))]
pub struct Transition {
    /// `accepted`, `declined`, `arrived` or `completed`.
    pub status: Status,
    /// Required when declining.
    #[validate(length(min = 1, max = 1000))]
    pub reason: Option<String>,
}

/// Move a referral on: the receiving institution accepts or declines (with a reason), records the
/// arrival, completes it. Any other step answers 409.
#[utoipa::path(
    tag = "referrals",
    params(("id" = String, Path, description = "Referral id")),
    request_body = Transition,
    responses(
        (status = 200, description = "The referral", body = ReferralView),
        (status = 403, description = "Only the receiving institution's clinicians", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a legal step from the current status", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A decline without a reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/referrals/{id}/status")]
pub async fn update_referral_status(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<Transition>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    if input.status == Status::Declined && input.reason.is_none() {
        return Err(AppError::invalid_field(
            "/reason",
            "required",
            "say why the referral is declined",
        ));
    }
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        if row.to_institution_id != staff.institution_id {
            return Err(AppError::Forbidden);
        }
        let current: Status = stored::from_text("referrals.status", &row.status)?;
        if !current.can_become(input.status) {
            return Err(AppError::conflict(
                Code::IllegalTransition,
                format!(
                    "a {} referral cannot become {}",
                    current.as_str(),
                    input.status.as_str()
                ),
            ));
        }
        record_transition(conn, &id, current, &input, &staff.id)?;
        if !input.status.grants_access() {
            scope::grants::end_referral_grant_unless_shared(
                conn,
                &id,
                &row.handbook_id,
                &row.to_institution_id,
            )?;
        }
        Event::new(&staff, "referral.transition", "referral")
            .resource(&id)
            .county(&row.county_code)
            .detail(serde_json::json!({"status": input.status}))
            .record(conn, &ctx)?;
        Ok(referrals::table
            .find(&id)
            .first::<Row>(conn)?
            .view_for(&staff)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Moves a referral from `current` to the status asked for, stamping who and when; 409 when it
/// changed meanwhile (a parallel transition).
fn record_transition(
    conn: &mut DbConn,
    id: &str,
    current: Status,
    input: &Transition,
    staff_id: &str,
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let by = Some(staff_id.to_string());
    let target = referrals::table
        .find(id)
        .filter(referrals::status.eq(current.as_str()));
    let n = match input.status {
        Status::Accepted => diesel::update(target)
            .set((
                referrals::accepted_at.eq(now),
                referrals::accepted_by.eq(by),
            ))
            .execute(conn)?,
        Status::Declined => diesel::update(target)
            .set((
                referrals::declined_at.eq(now),
                referrals::declined_by.eq(by),
                referrals::decline_reason.eq(&input.reason),
            ))
            .execute(conn)?,
        Status::Arrived => diesel::update(target)
            .set((referrals::arrived_at.eq(now), referrals::arrived_by.eq(by)))
            .execute(conn)?,
        Status::Completed => diesel::update(target)
            .set((
                referrals::completed_at.eq(now),
                referrals::completed_by.eq(by),
            ))
            .execute(conn)?,
        Status::Sent => 0,
    };
    if n == 0 {
        return Err(AppError::conflict(
            Code::IllegalTransition,
            "the referral changed meanwhile; read it again",
        ));
    }
    diesel::update(referrals::table.find(id))
        .set((
            referrals::status.eq(input.status.as_str()),
            referrals::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
