//! Stock beyond receipts: transfers (township → village), adjustments with a reason, and the
//! storage log with its checklist (nutrition-pack.md §8).

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::stock::LotView;
use crate::{
    audit::Event,
    auth::{roles::CareProvider, Staff, StaffPrincipal},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{
        pagination::{Page, PageQuery},
        RequestCtx, ValidJson, ValidQuery,
    },
    state::AppState,
};

/// Alert limits for the store room (`cfg`, nutrition-pack.md §8 [D]).
pub const MAX_TEMPERATURE_C: f64 = 30.0;
pub const MIN_TEMPERATURE_C: f64 = 0.0;
pub const MAX_HUMIDITY_PCT: f64 = 75.0;

pub fn out_of_range(temperature_c: f64, humidity_pct: f64) -> bool {
    !(MIN_TEMPERATURE_C..=MAX_TEMPERATURE_C).contains(&temperature_c)
        || humidity_pct > MAX_HUMIDITY_PCT
}

/// One row of the stock register.
struct Movement<'a> {
    institution: &'a str,
    lot: &'a str,
    direction: &'a str,
    quantity: i64,
    reason: &'a str,
    counterparty: Option<&'a str>,
}

fn record_movement(conn: &mut DbConn, staff: &StaffPrincipal, m: Movement<'_>) -> QueryResult<()> {
    diesel::insert_into(stock_movements::table)
        .values((
            stock_movements::id.eq(uuid::Uuid::now_v7().to_string()),
            stock_movements::institution_id.eq(m.institution),
            stock_movements::county_code.eq(&staff.county_code),
            stock_movements::lot.eq(m.lot),
            stock_movements::direction.eq(m.direction),
            stock_movements::quantity.eq(m.quantity as i32),
            stock_movements::reason.eq(m.reason),
            stock_movements::counterparty.eq(m.counterparty),
            stock_movements::moved_on.eq(crate::time::china_today()),
            stock_movements::recorded_by.eq(&staff.id),
            stock_movements::recorded_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes `quantity` out of one lot of the caller's institution, never below zero.
fn take(
    conn: &mut DbConn,
    institution: &str,
    lot: &str,
    quantity: i64,
) -> Result<NaiveDate, AppError> {
    let expiry: NaiveDate = stock_lots::table
        .find((institution, lot))
        .select(stock_lots::expiry)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::invalid_field("/lot", "not_found", "no such lot in your stock"))?;
    let n = diesel::update(stock_lots::table.find((institution, lot)))
        .filter(stock_lots::balance.ge(quantity as i32))
        .set(stock_lots::balance.eq(stock_lots::balance - quantity as i32))
        .execute(conn)?;
    if n == 0 {
        return Err(AppError::conflict(
            Code::InsufficientStock,
            format!("lot {lot} holds fewer than {quantity} sachets"),
        ));
    }
    Ok(expiry)
}

fn lots(conn: &mut DbConn, institution: &str) -> QueryResult<Vec<LotView>> {
    super::stock::stock_of(conn, institution)
}

/// Packs sent to another institution of the county (township → village).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_institution_id": "0192f0c4-0000-7000-8000-0000000000v1", "lot": "YYB20261101", "quantity": 300}))]
pub struct Transfer {
    #[validate(length(min = 1, max = 64))]
    pub to_institution_id: String,
    #[validate(length(min = 1, max = 40))]
    pub lot: String,
    #[validate(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
}

/// Transfer packs to another institution of the same county; both stock registers record it.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    request_body = Transfer,
    responses(
        (status = 201, description = "The sender's stock after the transfer", body = Page<LotView>),
        (status = 409, description = "Not enough in that lot", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown lot, or an institution outside the county or oneself", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stock/transfers")]
pub async fn transfer_stock(
    staff: Staff<CareProvider>,
    body: ValidJson<Transfer>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let t = body.0;
    let staff = staff.principal;
    if t.to_institution_id == staff.institution_id {
        return Err(AppError::invalid_field(
            "/to_institution_id",
            "same_institution",
            "transfer to another institution",
        ));
    }
    let v = db::run_tx(&state.pool, move |conn| {
        let county: Option<String> = institutions::table
            .find(&t.to_institution_id)
            .select(institutions::county_code)
            .first(conn)
            .optional()?;
        if county.as_deref() != Some(staff.county_code.as_str()) {
            return Err(AppError::invalid_field(
                "/to_institution_id",
                "not_found",
                "no institution with this id in your county",
            ));
        }
        let expiry = take(conn, &staff.institution_id, &t.lot, t.quantity)?;
        super::stock::credit_lot(
            conn,
            &t.to_institution_id,
            &staff.county_code,
            &t.lot,
            expiry,
            t.quantity,
        )
        .map_err(|e| e.at_field("/expiry", "/lot"))?;
        record_movement(
            conn,
            &staff,
            Movement {
                institution: &staff.institution_id,
                lot: &t.lot,
                direction: "out",
                quantity: t.quantity,
                reason: "transfer",
                counterparty: Some(&t.to_institution_id),
            },
        )?;
        record_movement(
            conn,
            &staff,
            Movement {
                institution: &t.to_institution_id,
                lot: &t.lot,
                direction: "in",
                quantity: t.quantity,
                reason: "transfer",
                counterparty: Some(&staff.institution_id),
            },
        )?;
        Event::new(&staff, "stock.transfer", "stock")
            .resource(&t.lot)
            .detail(serde_json::json!({"to": t.to_institution_id, "quantity": t.quantity}))
            .record(conn, &ctx)?;
        Ok(lots(conn, &staff.institution_id)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(Page::whole(v)))
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentReason {
    Damaged,
    Expired,
    Lost,
    CountCorrection,
}

/// Sachets written off.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lot": "YYB20261101", "quantity": 5, "reason": "damaged", "note": "受潮"}))]
pub struct Adjustment {
    #[validate(length(min = 1, max = 40))]
    pub lot: String,
    #[validate(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
    pub reason: AdjustmentReason,
    #[validate(length(max = 500))]
    pub note: Option<String>,
}

/// Write sachets off a lot with a reason (damaged, expired …). The balance never goes negative.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    request_body = Adjustment,
    responses(
        (status = 201, description = "The stock after the adjustment", body = Page<LotView>),
        (status = 409, description = "Not enough in that lot", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown lot or invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stock/adjustments")]
pub async fn adjust_stock(
    staff: Staff<CareProvider>,
    body: ValidJson<Adjustment>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let a = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        take(conn, &staff.institution_id, &a.lot, a.quantity)?;
        let reason = crate::db::stored::to_text(&a.reason);
        // The register keeps why: "damaged", or "damaged: <note>".
        let why = a
            .note
            .as_deref()
            .map_or_else(|| reason.clone(), |n| format!("{reason}: {n}"));
        record_movement(
            conn,
            &staff,
            Movement {
                institution: &staff.institution_id,
                lot: &a.lot,
                direction: "out",
                quantity: a.quantity,
                reason: "adjustment",
                counterparty: Some(&why),
            },
        )?;
        Event::new(&staff, "stock.adjust", "stock")
            .resource(&a.lot)
            .detail(serde_json::json!({"quantity": a.quantity, "reason": reason}))
            .record(conn, &ctx)?;
        Ok(lots(conn, &staff.institution_id)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(Page::whole(v)))
}

/// The storage checklist (§8).
#[derive(Debug, Clone, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    /// A named keeper (专人保管).
    pub keeper_named: bool,
    /// ≥ 30 cm from the wall, ≥ 15 cm above the floor.
    pub off_wall_and_floor: bool,
    /// Never with toxic or hazardous goods or medicines.
    pub no_hazardous_goods: bool,
    /// Rodent and insect protection in place.
    pub pest_control: bool,
}

/// A thermo-hygrometer reading with the checklist.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"checked_at": "2026-11-20T01:30:00Z", "temperature_c": 18.5, "humidity_pct": 62,
    "checklist": {"keeper_named": true, "off_wall_and_floor": true, "no_hazardous_goods": true, "pest_control": true}}))]
pub struct NewCheck {
    pub checked_at: DateTime<Utc>,
    #[validate(range(min = -40.0, max = 60.0))]
    pub temperature_c: f64,
    #[validate(range(min = 0.0, max = 100.0))]
    pub humidity_pct: f64,
    #[validate(nested)]
    pub checklist: Checklist,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::check_view)]
pub struct CheckView {
    pub id: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub checked_at: DateTime<Utc>,
    pub temperature_c: f64,
    pub humidity_pct: f64,
    /// Above 30 °C, below 0 °C, or above 75 % relative humidity.
    pub out_of_range: bool,
    pub checklist: Checklist,
    /// Every checklist item holds.
    pub checklist_ok: bool,
    pub recorded_by: String,
}

/// Record a storage check; out-of-range readings and checklist gaps are flagged.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    request_body = NewCheck,
    responses(
        (status = 201, description = "Recorded", body = CheckView),
        (status = 422, description = "Implausible readings or a time in the future", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stock/storage-checks")]
pub async fn record_storage_check(
    staff: Staff<CareProvider>,
    body: ValidJson<NewCheck>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let c = body.0;
    if c.checked_at > Utc::now() + chrono::Duration::minutes(5)
        || c.checked_at.date_naive() < crate::http::extract::earliest_date()
    {
        return Err(AppError::invalid_field(
            "/checked_at",
            "range",
            "must be between 1900 and now",
        ));
    }
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let id = uuid::Uuid::now_v7().to_string();
        let flagged = out_of_range(c.temperature_c, c.humidity_pct);
        let k = &c.checklist;
        let ok = k.keeper_named && k.off_wall_and_floor && k.no_hazardous_goods && k.pest_control;
        diesel::insert_into(storage_checks::table)
            .values((
                storage_checks::id.eq(&id),
                storage_checks::institution_id.eq(&staff.institution_id),
                storage_checks::county_code.eq(&staff.county_code),
                storage_checks::checked_at.eq(c.checked_at.naive_utc()),
                storage_checks::temperature_c.eq(c.temperature_c),
                storage_checks::humidity_pct.eq(c.humidity_pct),
                storage_checks::out_of_range.eq(flagged),
                storage_checks::checklist
                    .eq(serde_json::to_string(&c.checklist).unwrap_or_default()),
                storage_checks::checklist_ok.eq(ok),
                storage_checks::recorded_by.eq(&staff.id),
                storage_checks::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "stock.storage_check", "stock")
            .resource(&id)
            .record(conn, &ctx)?;
        Ok(CheckView {
            id,
            checked_at: c.checked_at,
            temperature_c: c.temperature_c,
            humidity_pct: c.humidity_pct,
            out_of_range: flagged,
            checklist: c.checklist,
            checklist_ok: ok,
            recorded_by: staff.id.clone(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// The storage log of the caller's institution, newest recorded first, a page at a time.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of checks, newest first", body = Page<CheckView>),
    )
)]
#[get("/stock/storage-checks")]
pub async fn list_storage_checks(
    staff: Staff<CareProvider>,
    query: ValidQuery<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let institution = staff.principal.institution_id.clone();
    let (limit, cursor) = (query.0.limit(), query.0.cursor);
    let page = db::run(&state.pool, move |conn| {
        type Row = (
            String,
            chrono::NaiveDateTime,
            f64,
            f64,
            bool,
            String,
            bool,
            String,
        );
        let mut sql = storage_checks::table
            .filter(storage_checks::institution_id.eq(&institution))
            .into_boxed();
        if let Some(cursor) = cursor {
            sql = sql.filter(storage_checks::id.lt(cursor));
        }
        let rows: Vec<Row> = sql
            .order(storage_checks::id.desc())
            .limit(limit + 1)
            .select((
                storage_checks::id,
                storage_checks::checked_at,
                storage_checks::temperature_c,
                storage_checks::humidity_pct,
                storage_checks::out_of_range,
                storage_checks::checklist,
                storage_checks::checklist_ok,
                storage_checks::recorded_by,
            ))
            .load(conn)?;
        Page::from_rows(rows, limit, |r| r.0.clone()).try_map(
            |(id, at, t, h, flagged, checklist, ok, by)| {
                Ok(CheckView {
                    id,
                    checked_at: at.and_utc(),
                    temperature_c: t,
                    humidity_pct: h,
                    out_of_range: flagged,
                    checklist: crate::db::stored::json_from_db(
                        "storage_checks.checklist",
                        &checklist,
                    )?,
                    checklist_ok: ok,
                    recorded_by: by,
                })
            },
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn storage_limits() {
        assert!(!super::out_of_range(30.0, 75.0));
        assert!(super::out_of_range(30.1, 50.0));
        assert!(super::out_of_range(-0.5, 50.0));
        assert!(super::out_of_range(20.0, 75.1));
    }
}
