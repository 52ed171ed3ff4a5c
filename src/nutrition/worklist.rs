//! The village doctor's work list (who is due a pack, a follow-up, about to be stopped or to age
//! out, in the §6 order with what today's stock covers) and the priority-group flags behind it.

use actix_web::{get, put, web, HttpResponse};
use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    plan::{self, Candidate, Tier},
    roster::{self, RosterChild, Scope},
    rules::{self, add_months, State},
    stock::stock_of,
};
use crate::{
    audit::{self, Event as Audit},
    auth::{roles::CareProvider, Staff},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    scope,
    state::AppState,
};

/// A child's standing flags in the programme: the priority groups for a shortage (§6) and
/// whether packs wait for a doctor's clearance (a special condition, e.g. thalassaemia). The
/// whole record is sent: a flag not sent is refused, not silently cleared.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NutritionFlags, example = json!({"registered_poor": true, "relocation_site": false, "needs_medical_clearance": false, "condition": null}))]
pub struct Flags {
    /// 建档立卡 registered poor household.
    pub registered_poor: bool,
    /// Lives at a 易地扶贫搬迁 relocation site.
    pub relocation_site: bool,
    /// Packs wait for a doctor's clearance (`medical_clearance` event). Set it when a condition
    /// is found; clear it when it was recorded in error (issue #14: it could be set only as a
    /// side effect of an event, and never cleared).
    pub needs_medical_clearance: bool,
    /// The condition, with `needs_medical_clearance`.
    #[validate(length(min = 1, max = 100))]
    pub condition: Option<String>,
}

/// Set the child's flags: priority groups (which order the list when stock is short) and the
/// medical-clearance flag, set or cleared. Audited with the flags before and after.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    request_body = Flags,
    responses(
        (status = 200, description = "Saved", body = Flags),
        (status = 422, description = "Invalid fields (a condition without the flag)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/children/{id}/nutrition/flags")]
pub async fn set_nutrition_flags(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<Flags>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let flags = body.0;
    if flags.condition.is_some() && !flags.needs_medical_clearance {
        return Err(AppError::invalid_field(
            "/condition",
            "requires_flag",
            "a condition is recorded with needs_medical_clearance: true",
        ));
    }
    let staff = staff.principal;
    let saved = db::run_tx(&state.pool, move |conn| {
        let (handbook_id, county): (String, String) = children::table
            .find(&id)
            .select((children::handbook_id, children::county_code))
            .first(conn)?;
        scope::child_scope(conn, &staff, &handbook_id)?;
        let before: Option<(bool, Option<String>)> = nutrition_flags::table
            .find(&id)
            .select((
                nutrition_flags::needs_medical_clearance,
                nutrition_flags::condition,
            ))
            .first(conn)
            .optional()?;
        let now = Utc::now().naive_utc();
        let upsert = diesel::insert_into(nutrition_flags::table)
            .values((
                nutrition_flags::child_id.eq(&id),
                nutrition_flags::county_code.eq(&county),
                nutrition_flags::needs_medical_clearance.eq(flags.needs_medical_clearance),
                nutrition_flags::condition.eq(&flags.condition),
                nutrition_flags::registered_poor.eq(flags.registered_poor),
                nutrition_flags::relocation_site.eq(flags.relocation_site),
                nutrition_flags::updated_at.eq(now),
            ))
            .on_conflict(nutrition_flags::child_id)
            .do_update()
            .set((
                nutrition_flags::needs_medical_clearance.eq(flags.needs_medical_clearance),
                nutrition_flags::condition.eq(&flags.condition),
                nutrition_flags::registered_poor.eq(flags.registered_poor),
                nutrition_flags::relocation_site.eq(flags.relocation_site),
                nutrition_flags::updated_at.eq(now),
            ));
        crate::execute_on_backend!(conn, upsert)?;
        Audit::new(&staff, "nutrition.flags", "child")
            .resource(&id)
            .county(&county)
            .detail(serde_json::json!({
                "after": &flags,
                "medical_clearance_before": before.as_ref().map(|b| b.0),
                "condition_before": before.and_then(|b| b.1),
            }))
            .record(conn, &ctx)?;
        Ok(flags)
    })
    .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// One child on the work list.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NutritionWorkItem)]
pub struct WorkItem {
    pub child_id: String,
    pub child_name: Option<String>,
    pub mother_name: String,
    pub birth_date: NaiveDate,
    pub age_months: i64,
    pub state: State,
    pub tier: Tier,
    /// This month's pack may be issued today.
    pub pack_due: bool,
    /// Due, and more than a month since the last collection.
    pub pack_overdue: bool,
    /// Sachets to issue today (0 when not due).
    pub sachets: i64,
    /// With today's stock, served in the §6 order (whole monthly quantities).
    pub covered_by_stock: bool,
    /// The day the child becomes stopped if nothing is collected before (active children).
    pub stop_due: Option<NaiveDate>,
    /// `stop_due` within 14 days.
    pub stop_soon: bool,
    /// The 36-month date (the programme ends then).
    pub ages_out_on: NaiveDate,
    /// Ages out within 14 days.
    pub ages_out_soon: bool,
    pub last_followup: Option<NaiveDate>,
    pub next_followup: Option<NaiveDate>,
    pub followup_overdue: bool,
    /// Why the next follow-up is brought forward: `poor_compliance` (< 4 sachets a week),
    /// `anaemia` (moderate or severe).
    pub extra_followup: Vec<String>,
    /// Average sachets a week between the last two counts.
    pub intake_per_week: Option<f64>,
}

/// The work list with the stock it was planned against.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::work_list)]
pub struct WorkList {
    pub date: NaiveDate,
    /// Unexpired sachets in stock.
    pub stock: i64,
    /// Sachets this month's due packs need.
    pub needed: i64,
    /// §6 priority order: everyone due a pack first, then the rest.
    pub children: Vec<WorkItem>,
}

fn item(c: &RosterChild, today: NaiveDate) -> WorkItem {
    let f = &c.facts;
    let e = rules::evaluate(
        f.birth,
        f.needs_medical_clearance,
        &f.events,
        today,
        &f.context,
    );
    let intake = plan::intake(&f.contacts, &f.issues(), today);
    let mut extra = Vec::new();
    if intake.is_some_and(|(_, effective)| !effective) {
        extra.push("poor_compliance".to_string());
    }
    if c.anaemia_moderate_or_worse {
        extra.push("anaemia".to_string());
    }
    let followed = plan::followed(e.state);
    let next = followed.then(|| plan::next_followup(c.last_followup, !extra.is_empty(), today));
    let ages_out_on = add_months(f.birth, 36);
    WorkItem {
        child_id: c.id.clone(),
        child_name: c.name.clone(),
        mother_name: c.mother.clone(),
        birth_date: f.birth,
        age_months: e.age_months,
        state: e.state,
        tier: plan::tier(c.registered_poor, c.relocation_site, e.age_months),
        pack_due: e.may_issue,
        pack_overdue: e.may_issue && c.last_issue.is_some_and(|d| add_months(d, 1) < today),
        sachets: e.sachets,
        covered_by_stock: false,
        stop_due: e.stop_due,
        stop_soon: e
            .stop_due
            .is_some_and(|d| d - today <= Duration::days(plan::WARN_DAYS)),
        ages_out_on,
        ages_out_soon: followed && ages_out_on - today <= Duration::days(plan::WARN_DAYS),
        last_followup: c.last_followup,
        next_followup: next,
        followup_overdue: next.is_some_and(|d| d < today),
        extra_followup: extra,
        intake_per_week: intake.map(|i| i.0),
    }
}

/// The caller's institution's children of programme age (5–37 months, so those about to start
/// and to age out show too): who is due a pack and whether today's stock covers them in the
/// shortage order (§6), follow-ups due and overdue (sooner for poor compliance or anaemia), stops
/// and age-outs coming. Audited as one read.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    responses(
        (status = 200, description = "The work list", body = WorkList),
    )
)]
#[get("/nutrition/worklist")]
pub async fn get_nutrition_worklist(
    staff: Staff<CareProvider>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let today = crate::time::china_today();
    let list = audit::read(&state.pool, ctx, move |conn| {
        let born_from = today
            .checked_sub_months(chrono::Months::new(37))
            .unwrap_or(today);
        let born_to = today
            .checked_sub_months(chrono::Months::new(5))
            .unwrap_or(today);
        let roster = roster::load(
            conn,
            &staff.institution_id,
            born_from,
            born_to,
            Scope::Visible,
        )?;
        let stock: i64 = stock_of(conn, &staff.institution_id)?
            .iter()
            .filter(|l| l.expiry > today)
            .map(|l| l.balance)
            .sum();
        let event = Audit::new(&staff, "nutrition.worklist", "institution")
            .resource(&staff.institution_id)
            .detail(serde_json::json!({"children": roster.len()}));
        let mut items: Vec<WorkItem> = roster.iter().map(|c| item(c, today)).collect();
        let mut due: Vec<Candidate> = items
            .iter()
            .filter(|i| i.pack_due)
            .map(|i| Candidate {
                child_id: i.child_id.clone(),
                birth: i.birth_date,
                tier: i.tier,
                active: i.state == State::Active,
                sachets: i.sachets,
            })
            .collect();
        plan::priority_order(&mut due);
        let covered = plan::allocate(&due, stock);
        let rank = |id: &str| due.iter().position(|c| c.child_id == id);
        for i in &mut items {
            if let Some(p) = rank(&i.child_id) {
                i.covered_by_stock = covered[p];
            }
        }
        items.sort_by_key(|i| {
            (
                rank(&i.child_id).unwrap_or(usize::MAX),
                !i.followup_overdue,
                i.next_followup,
                i.child_id.clone(),
            )
        });
        let list = WorkList {
            date: today,
            stock,
            needed: due.iter().map(|c| c.sachets).sum(),
            children: items,
        };
        Ok((list, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}
