//! A month's packs handed to a child's family: the rules' verdict, the earliest-expiry lot first,
//! one distribution a month, idempotent on retry, never more than the stock.

use crate::error::Code;
use actix_web::{post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::routes::evaluate;
use super::rules::{self};
use super::stock::{take_stock, LotTaken};
use crate::{
    audit::Event as Audit,
    auth::{roles::CareProvider, Staff},
    db::{schema::*, DbConn},
    error::{AppError, Problem},
    http::{extract::not_future, idempotency::Keyed, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

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
    let staff = staff.principal;
    let today = crate::time::china_today();
    keyed
        .write(
            &state.pool,
            actix_web::http::StatusCode::CREATED,
            move |conn| {
                let result = distribute(conn, &staff, &id, &input, today)?;
                Audit::new(&staff, "nutrition.distribute", "child")
                    .resource(&id)
                    .county(&result.county_code)
                    .detail(serde_json::json!({"sachets": result.distribution.sachets}))
                    .record(conn, &ctx)?;
                Ok(result.distribution)
            },
        )
        .await
}

/// A distribution as recorded, with the county it was recorded in (for the audit).
struct Recorded {
    distribution: Distribution,
    county_code: String,
}

/// Records one distribution in the caller's transaction: the programme rules' verdict on
/// `today` (or the date given), the packs taken from the earliest-expiring lots, the event and
/// its stock movements, and the intake since the previous collection.
fn distribute(
    conn: &mut crate::db::DbConn,
    staff: &crate::auth::StaffPrincipal,
    child_id: &str,
    input: &NewDistribution,
    today: NaiveDate,
) -> Result<Recorded, AppError> {
    let child = scope::child(conn, staff, child_id)?;
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
    let before = evaluate(conn, child_id, birth, today)?;
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
            nutrition_events::child_id.eq(child_id),
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
                stock_movements::counterparty.eq(child_id),
                stock_movements::ref_id.eq(&event_id),
                stock_movements::moved_on.eq(today),
                stock_movements::recorded_by.eq(&staff.id),
                stock_movements::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
    }
    let intake = match input.remaining_at_home {
        Some(now_remaining) => previous_collection(conn, child_id, &event_id, today)?.and_then(
            |(date, sachets, remaining)| {
                rules::weekly_intake(remaining, sachets, now_remaining, (today - date).num_days())
            },
        ),
        None => None,
    };
    let distribution = Distribution {
        id: event_id,
        child_id: child_id.to_string(),
        date: today,
        sachets: before.sachets,
        lots,
        intake_per_week: intake.map(|i| i.0),
        effective_intake: intake.map(|i| i.1),
    };
    Ok(Recorded {
        distribution,
        county_code: county,
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
pub(super) fn period_open(
    conn: &mut DbConn,
    institution_id: &str,
    on: NaiveDate,
) -> Result<(), AppError> {
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
