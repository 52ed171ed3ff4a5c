//! Nutrition-pack endpoints: the child's programme state, consent and other events, monthly
//! distribution taking stock first-expiry-first-out (idempotent on retry), and village stock.

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::rules::{self, Evaluation, Event, EventKind};
use super::stock::{take_stock, LotTaken};
use crate::{
    audit::{self, Event as Audit},
    auth::{
        roles::{CareProvider, RecordReader},
        Staff,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{extract::not_future, idempotency::Keyed, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

fn history(conn: &mut DbConn, child_id: &str) -> QueryResult<Vec<Event>> {
    let rows: Vec<(String, NaiveDate, Option<i32>, Option<bool>)> = nutrition_events::table
        .filter(nutrition_events::child_id.eq(child_id))
        .order((
            nutrition_events::event_date.asc(),
            nutrition_events::id.asc(),
        ))
        .select((
            nutrition_events::kind,
            nutrition_events::event_date,
            nutrition_events::sachets,
            nutrition_events::suitable,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, date, sachets, suitable)| {
            event_kind(&kind, sachets, suitable).map(|kind| Event { date, kind })
        })
        .collect()
}

/// A stored event's kind, as the rules know it; an unknown kind, an issue without its
/// sachets or a clearance without its decision is a corrupt record, not a silent default.
pub fn event_kind(
    kind: &str,
    sachets: Option<i32>,
    suitable: Option<bool>,
) -> QueryResult<EventKind> {
    let corrupt = |what: &str| {
        diesel::result::Error::DeserializationError(
            format!("nutrition_events: {what} for kind {kind:?}").into(),
        )
    };
    Ok(match kind {
        "consent" => EventKind::Consent,
        "medical_clearance" => EventKind::MedicalClearance {
            suitable: suitable.ok_or_else(|| corrupt("no decision"))?,
        },
        "issue" => EventKind::Issue {
            sachets: i64::from(sachets.ok_or_else(|| corrupt("no sachets"))?),
        },
        "withdraw" => EventKind::Withdraw,
        "moved_out" => EventKind::MovedOut,
        "died" => EventKind::Died,
        "legacy_stopped_at_24" => EventKind::LegacyStoppedAt24,
        _ => return Err(corrupt("an unknown kind")),
    })
}

fn evaluate(
    conn: &mut DbConn,
    child_id: &str,
    birth: NaiveDate,
    today: NaiveDate,
) -> QueryResult<Evaluation> {
    let needs: bool = nutrition_flags::table
        .find(child_id)
        .select(nutrition_flags::needs_medical_clearance)
        .first(conn)
        .optional()?
        .unwrap_or(false);
    Ok(rules::evaluate(
        birth,
        needs,
        &history(conn, child_id)?,
        today,
        &super::force_majeure::context_for_child(conn, child_id)?,
    ))
}

/// Where a child stands in the programme today (China Standard Time). Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    responses(
        (status = 200, description = "State, age, stop count, whether a pack may be issued today", body = Evaluation),
    )
)]
#[get("/children/{id}/nutrition")]
pub async fn get_child_nutrition(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let e = audit::read(&state.pool, ctx, move |conn| {
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        let event = Audit::new(&staff, "nutrition.read", "child")
            .resource(&id)
            .county(county);
        Ok((
            evaluate(conn, &id, birth, crate::time::china_today())?,
            event,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(e))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordedKind {
    /// Informed consent signed by the carer (知情同意书).
    Consent,
    /// A doctor's decision for a child with a special condition (e.g. thalassaemia).
    MedicalClearance,
    Withdraw,
    MovedOut,
    Died,
    /// From a paper register: the child stopped at 24 months under the old 6–24-month rule
    /// (nutrition-pack.md E5). It may re-enter to 36 months if it was under 30 months on
    /// 2020-04-01, and is refused `legacy_reentry_not_allowed` otherwise.
    #[serde(rename = "legacy_stopped_at_24")]
    LegacyStoppedAt24,
}

/// A dated programme event.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "consent", "date": "2026-11-20", "signed_by": "王芳（母亲）", "consent_form": "paper", "detail": "知情同意书存档"}))]
pub struct NewEvent {
    pub kind: RecordedKind,
    #[validate(custom(function = "not_future"))]
    pub date: NaiveDate,
    /// For `medical_clearance`: whether the pack is suitable.
    pub suitable: Option<bool>,
    /// Who signed and how, the doctor's note …
    #[validate(length(max = 1000))]
    pub detail: Option<String>,
    /// With `medical_clearance`: the child has a condition that needs clearance before packs.
    #[validate(length(max = 100))]
    pub condition: Option<String>,
    /// With `consent` (required): who gave it — the carer's name and relation to the child.
    #[validate(length(min = 1, max = 100))]
    pub signed_by: Option<String>,
    /// With `consent` (required): how it was given.
    pub consent_form: Option<ConsentForm>,
}

/// How the carer gave informed consent.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentForm {
    /// Signed paper form (知情同意书), kept at the clinic.
    Paper,
    /// Signed on a device.
    Electronic,
    /// Thumbprint on the paper form, read aloud to the carer.
    Thumbprint,
}

/// Record consent, a medical clearance, a withdrawal, a move or a death. Returns the new state.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    request_body = NewEvent,
    responses(
        (status = 201, description = "Recorded; the state after it", body = Evaluation),
        (status = 422, description = "Invalid fields (a future date, a clearance without its decision, a date before birth)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/nutrition/events")]
pub async fn record_nutrition_event(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewEvent>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let mut missing = Vec::new();
    if input.kind == RecordedKind::MedicalClearance && input.suitable.is_none() {
        missing.push(("/suitable", "the doctor's decision is required"));
    }
    if input.kind == RecordedKind::Consent {
        if input.signed_by.is_none() {
            missing.push(("/signed_by", "who gave consent is required"));
        }
        if input.consent_form.is_none() {
            missing.push(("/consent_form", "how consent was given is required"));
        }
    }
    if !missing.is_empty() {
        return Err(AppError::Validation(
            missing
                .into_iter()
                .map(|(f, m)| crate::error::FieldError::new(f, "required", m))
                .collect(),
        ));
    }
    // Consent is kept as a structured record: who, how, and the note.
    let detail = if input.kind == RecordedKind::Consent {
        Some(
            serde_json::json!({
                "signed_by": input.signed_by,
                "consent_form": input.consent_form,
                "note": input.detail,
            })
            .to_string(),
        )
    } else {
        input.detail.clone()
    };
    let staff = staff.principal;
    let e = db::run_tx(&state.pool, move |conn| {
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        period_open(conn, &staff.institution_id, input.date)?;
        if input.date < birth {
            return Err(AppError::invalid_field(
                "/date",
                "before_birth",
                "is before the child's birth",
            ));
        }
        let kind = crate::db::stored::to_text(&input.kind);
        diesel::insert_into(nutrition_events::table)
            .values((
                nutrition_events::id.eq(uuid::Uuid::now_v7().to_string()),
                nutrition_events::child_id.eq(&id),
                nutrition_events::county_code.eq(&county),
                nutrition_events::institution_id.eq(&staff.institution_id),
                nutrition_events::kind.eq(&kind),
                nutrition_events::event_date.eq(input.date),
                nutrition_events::suitable.eq(input.suitable),
                nutrition_events::detail.eq(&detail),
                nutrition_events::recorded_by.eq(&staff.id),
                nutrition_events::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        if input.kind == RecordedKind::MedicalClearance || input.condition.is_some() {
            let now = Utc::now().naive_utc();
            let upsert = diesel::insert_into(nutrition_flags::table)
                .values((
                    nutrition_flags::child_id.eq(&id),
                    nutrition_flags::county_code.eq(&county),
                    nutrition_flags::needs_medical_clearance.eq(true),
                    nutrition_flags::condition.eq(&input.condition),
                    nutrition_flags::registered_poor.eq(false),
                    nutrition_flags::relocation_site.eq(false),
                    nutrition_flags::updated_at.eq(now),
                ))
                .on_conflict(nutrition_flags::child_id)
                .do_update()
                .set((
                    nutrition_flags::needs_medical_clearance.eq(true),
                    nutrition_flags::condition.eq(&input.condition),
                    nutrition_flags::updated_at.eq(now),
                ));
            crate::execute_on_backend!(conn, upsert)?;
        }
        Audit::new(&staff, "nutrition.event", "child")
            .resource(&id)
            .county(&county)
            .detail(serde_json::json!({"kind": kind}))
            .record(conn, &ctx)?;
        Ok(evaluate(conn, &id, birth, crate::time::china_today())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(e))
}

/// A monthly distribution.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"remaining_at_home": 2, "date": "2026-11-24"}))]
pub struct NewDistribution {
    /// Sachets the carer reports left at home from the last collection (for the intake figures).
    #[validate(range(min = 0, max = 60))]
    pub remaining_at_home: Option<i64>,
    /// When the packs were handed out, for a paper register entered later (default: today,
    /// China Standard Time). Not in the future, not before the child's birth, and not in a month
    /// for which this institution has submitted its report (422 `period_closed` on `/date`).
    /// The programme rules are applied as on that day.
    #[validate(custom(function = "not_future"))]
    pub date: Option<NaiveDate>,
}

/// A distribution as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "01a1f6c5-7c60-71a6-a48e-9cda94e3bf91",
    "child_id": "019bc42c-5b80-724e-8789-e8708a6a63ec", "date": "2026-11-24", "sachets": 30,
    "lots": [{"lot": "YYB20260601", "quantity": 30}], "intake_per_week": 5.8,
    "effective_intake": true
}))]
pub struct Distribution {
    pub id: String,
    pub child_id: String,
    pub date: NaiveDate,
    pub sachets: i64,
    /// First expiry first out.
    pub lots: Vec<LotTaken>,
    /// Average sachets a week since the previous collection, when the carer reported what was left.
    pub intake_per_week: Option<f64>,
    /// ≥ 4 sachets a week.
    pub effective_intake: Option<bool>,
}

/// Issue this month's packs: one distribution per child per calendar month, only while the child
/// may receive packs (the rule's refusal code otherwise), taking stock from the village's lots first
/// expiry first — never below zero, even under concurrent requests. A retry with the same
/// `Idempotency-Key` returns the first answer.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(
        ("id" = String, Path, description = "Child id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat it on a retry to get the first answer instead of a duplicate"),
    ),
    request_body = NewDistribution,
    responses(
        (status = 201, description = "Issued", body = Distribution),
        (status = 409, description = "Refused by the programme rules (code = the rule: already_issued_this_month, resume_over_30 …) or out of stock", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/nutrition/distributions")]
pub async fn record_nutrition_distribution(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewDistribution>,
    keyed: Keyed,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let key = keyed.0;
    let retry_key = key.clone();
    let staff = staff.principal;
    let today = crate::time::china_today();
    let outcome = db::run_tx(&state.pool, move |conn| {
        // The middleware answered an earlier request with this key; one that committed while
        // this one waited for the writer is answered the same way.
        if let Some(key) = &key {
            if let Some(earlier) = key.earlier(conn)? {
                return Ok(Err(earlier));
            }
            key.claim(conn)?;
        }
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        let today = input.date.unwrap_or(today);
        if today < birth {
            return Err(AppError::invalid_field(
                "/date",
                "before_birth",
                "is before the child's birth",
            ));
        }
        period_open(conn, &staff.institution_id, today)?;
        let before = evaluate(conn, &id, birth, today)?;
        if let Some(refusal) = before.refusal {
            let code = crate::db::stored::to_text(&refusal);
            return Err(AppError::Conflict {
                code: refusal_code(refusal),
                detail: format!("the programme rules refuse a pack on {today}: {code}"),
            });
        }
        let lots = take_stock(conn, &staff.institution_id, before.sachets, today)?;
        let event_id = uuid::Uuid::now_v7().to_string();
        let inserted = diesel::insert_into(nutrition_events::table)
            .values((
                nutrition_events::id.eq(&event_id),
                nutrition_events::child_id.eq(&id),
                nutrition_events::county_code.eq(&county),
                nutrition_events::institution_id.eq(&staff.institution_id),
                nutrition_events::kind.eq("issue"),
                nutrition_events::event_date.eq(today),
                nutrition_events::issue_month.eq(format!("{}", today.format("%Y-%m"))),
                nutrition_events::sachets.eq(before.sachets as i32),
                nutrition_events::detail.eq(input
                    .remaining_at_home
                    .map(|r| serde_json::json!({"remaining_at_home": r}).to_string())),
                nutrition_events::recorded_by.eq(&staff.id),
                nutrition_events::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn);
        match inserted {
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => {
                return Err(AppError::conflict(
                    Code::AlreadyIssuedThisMonth,
                    "a distribution for this month was just recorded",
                ));
            }
            other => {
                other?;
            }
        }
        for l in &lots {
            diesel::insert_into(stock_movements::table)
                .values((
                    stock_movements::id.eq(uuid::Uuid::now_v7().to_string()),
                    stock_movements::institution_id.eq(&staff.institution_id),
                    stock_movements::county_code.eq(&county),
                    stock_movements::lot.eq(&l.lot),
                    stock_movements::direction.eq("out"),
                    stock_movements::quantity.eq(l.quantity as i32),
                    stock_movements::reason.eq("issue"),
                    stock_movements::counterparty.eq(&id),
                    stock_movements::ref_id.eq(&event_id),
                    stock_movements::moved_on.eq(today),
                    stock_movements::recorded_by.eq(&staff.id),
                    stock_movements::recorded_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
        }
        let intake = match input.remaining_at_home {
            Some(now_remaining) => previous_collection(conn, &id, &event_id, today)?.and_then(
                |(date, sachets, remaining)| {
                    rules::weekly_intake(
                        remaining,
                        sachets,
                        now_remaining,
                        (today - date).num_days(),
                    )
                },
            ),
            None => None,
        };
        let result = Distribution {
            id: event_id,
            child_id: id.clone(),
            date: today,
            sachets: before.sachets,
            lots,
            intake_per_week: intake.map(|i| i.0),
            effective_intake: intake.map(|i| i.1),
        };
        if let Some(key) = &key {
            key.store(conn, actix_web::http::StatusCode::CREATED, &result)?;
        }
        Audit::new(&staff, "nutrition.distribute", "child")
            .resource(&id)
            .county(&county)
            .detail(serde_json::json!({"sachets": result.sachets}))
            .record(conn, &ctx)?;
        Ok(Ok(result))
    })
    .await;
    // A parallel request with the same key held it: once it has committed, its answer is
    // this one's too.
    let outcome = match (outcome, retry_key) {
        (
            Err(AppError::Conflict {
                code: Code::IdempotencyKeyInProgress,
                detail,
            }),
            Some(key),
        ) => match db::run_tx(&state.pool, move |conn| key.earlier(conn)).await? {
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
        Ok(result) => HttpResponse::Created().json(result),
        Err((status, response)) => crate::http::idempotency::replay(status, response),
    })
}

/// The problem code of a refusal: the refusal's own name (§5), as the child's nutrition page
/// shows it (issue #14: `ended` there was `enrolment_ended` here).
fn refusal_code(r: rules::Refusal) -> Code {
    use rules::Refusal::*;
    match r {
        Ended => Code::Ended,
        NotEligible => Code::NotEligible,
        TooYoung => Code::TooYoung,
        AgedOut => Code::AgedOut,
        NoConsent => Code::NoConsent,
        NeedsMedicalClearance => Code::NeedsMedicalClearance,
        AlreadyIssuedThisMonth => Code::AlreadyIssuedThisMonth,
        LegacyReentryNotAllowed => Code::LegacyReentryNotAllowed,
        FirstEntryOver30 => Code::FirstEntryOver30,
        ResumeOver30 => Code::ResumeOver30,
    }
}

/// A distribution dated `on` may be recorded only while the institution has not reported that
/// month or a later one (a report returned for correction reopens it): a submitted report's
/// figures must not change under it (issue #14).
fn period_open(conn: &mut DbConn, institution_id: &str, on: NaiveDate) -> Result<(), AppError> {
    let month = on.format("%Y-%m").to_string();
    let reported: Option<String> = nutrition_reports::table
        .filter(nutrition_reports::institution_id.eq(institution_id))
        .filter(nutrition_reports::month.ge(&month))
        .filter(nutrition_reports::status.ne("returned"))
        .order(nutrition_reports::month.desc())
        .select(nutrition_reports::month)
        .first(conn)
        .optional()?;
    match reported {
        Some(last) => Err(AppError::invalid_field(
            "/date",
            "period_closed",
            format!("the report for {last} is submitted; {month} can no longer change"),
        )),
        None => Ok(()),
    }
}

/// The collection before `current`, with what the carer had left then: `(date, sachets, remaining)`.
fn previous_collection(
    conn: &mut DbConn,
    child_id: &str,
    current: &str,
    on: NaiveDate,
) -> QueryResult<Option<(NaiveDate, i64, i64)>> {
    let prev: Option<(NaiveDate, Option<i32>, Option<String>)> = nutrition_events::table
        .filter(nutrition_events::child_id.eq(child_id))
        .filter(nutrition_events::kind.eq("issue"))
        .filter(nutrition_events::id.ne(current))
        .filter(nutrition_events::event_date.le(on))
        .order((
            nutrition_events::event_date.desc(),
            nutrition_events::id.desc(),
        ))
        .select((
            nutrition_events::event_date,
            nutrition_events::sachets,
            nutrition_events::detail,
        ))
        .first(conn)
        .optional()?;
    prev.map(|(date, sachets, detail)| {
        let detail: Option<serde_json::Value> = detail
            .map(|d| crate::db::stored::json_from_db("nutrition_events.detail", &d))
            .transpose()?;
        let remaining = detail
            .and_then(|v| v["remaining_at_home"].as_i64())
            .unwrap_or(0);
        Ok((date, i64::from(sachets.unwrap_or(0)), remaining))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_has_one_name_on_the_page_and_in_the_problem() {
        use rules::Refusal::*;
        for r in [
            Ended,
            NotEligible,
            TooYoung,
            AgedOut,
            NoConsent,
            NeedsMedicalClearance,
            AlreadyIssuedThisMonth,
            LegacyReentryNotAllowed,
            FirstEntryOver30,
            ResumeOver30,
        ] {
            assert_eq!(refusal_code(r).as_str(), crate::db::stored::to_text(&r));
        }
    }
}
