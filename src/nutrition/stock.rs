//! The village or township stock of packs: receipts from the level above (lot and expiry), the
//! lots in stock, and taking packs first-expiry-first-out for a distribution.

use crate::error::Code;
use crate::http::pagination::Page;
use actix_web::{get, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::{
    audit::Event as Audit,
    auth::{roles::CareProvider, Staff},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    state::AppState,
};

/// Sachets taken from one lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LotTaken {
    pub lot: String,
    pub quantity: i64,
}

/// Takes `needed` sachets from the institution's unexpired lots, earliest expiry first. Each lot is
/// decremented with a conditional update, so a balance can never go below zero; if the stock is
/// short the whole distribution is refused.
pub(super) fn take_stock(
    conn: &mut DbConn,
    institution_id: &str,
    needed: i64,
    today: NaiveDate,
) -> Result<Vec<LotTaken>, AppError> {
    let lots: Vec<(String, i32)> = stock_lots::table
        .filter(stock_lots::institution_id.eq(institution_id))
        .filter(stock_lots::expiry.gt(today))
        .filter(stock_lots::balance.gt(0))
        .order((stock_lots::expiry.asc(), stock_lots::lot.asc()))
        .select((stock_lots::lot, stock_lots::balance))
        .load(conn)?;
    let mut remaining = needed;
    let mut taken = Vec::new();
    for (lot, balance) in lots {
        if remaining == 0 {
            break;
        }
        let take = remaining.min(i64::from(balance));
        let n = diesel::update(stock_lots::table.find((institution_id, &lot)))
            .filter(stock_lots::balance.ge(take as i32))
            .set(stock_lots::balance.eq(stock_lots::balance - take as i32))
            .execute(conn)?;
        if n == 1 {
            remaining -= take;
            taken.push(LotTaken {
                lot,
                quantity: take,
            });
        }
    }
    if remaining > 0 {
        return Err(AppError::conflict(
            Code::OutOfStock,
            format!("not enough unexpired packs in stock for {needed} sachets"),
        ));
    }
    Ok(taken)
}

/// Packs received (from the township or the county).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lot": "YYB20261101", "expiry": "2027-10-31", "quantity": 600, "supplier": "城关镇卫生院"}))]
pub struct Receipt {
    #[validate(length(min = 1, max = 40))]
    pub lot: String,
    pub expiry: NaiveDate,
    /// Sachets.
    #[validate(range(min = 1, max = 1_000_000))]
    pub quantity: i64,
    #[validate(length(max = 200))]
    pub supplier: Option<String>,
}

/// A lot in stock.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"lot": "YYB20260601", "expiry": "2027-05-31", "balance": 570, "expiring_soon": false}))]
pub struct LotView {
    pub lot: String,
    pub expiry: NaiveDate,
    pub balance: i64,
    /// Expires within 60 days (or has expired): issue it first, or write it off.
    pub expiring_soon: bool,
}

/// Days before expiry a lot counts as expiring soon (`cfg`).
pub const EXPIRING_SOON_DAYS: i64 = 60;

pub fn stock_of(conn: &mut DbConn, institution_id: &str) -> QueryResult<Vec<LotView>> {
    let rows: Vec<(String, NaiveDate, i32)> = stock_lots::table
        .filter(stock_lots::institution_id.eq(institution_id))
        .order((stock_lots::expiry.asc(), stock_lots::lot.asc()))
        .select((stock_lots::lot, stock_lots::expiry, stock_lots::balance))
        .load(conn)?;
    let today = crate::time::china_today();
    Ok(rows
        .into_iter()
        .map(|(lot, expiry, balance)| LotView {
            expiring_soon: (expiry - today).num_days() <= EXPIRING_SOON_DAYS,
            lot,
            expiry,
            balance: i64::from(balance),
        })
        .collect())
}

/// Record packs received into the caller's institution's stock.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    request_body = Receipt,
    responses(
        (status = 201, description = "The stock by lot", body = Page<LotView>),
        (status = 422, description = "Invalid fields, an expired lot, or a lot number with another expiry", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/stock/receipts")]
pub async fn receive_stock(
    staff: Staff<CareProvider>,
    body: ValidJson<Receipt>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let r = body.0;
    let today = crate::time::china_today();
    if r.expiry <= today {
        return Err(AppError::invalid_field(
            "/expiry",
            "expired",
            "an expired lot is not taken into stock",
        ));
    }
    let staff = staff.principal;
    let lots = db::run_tx(&state.pool, move |conn| {
        credit_lot(
            conn,
            &staff.institution_id,
            &staff.county_code,
            &r.lot,
            r.expiry,
            r.quantity,
        )?;
        diesel::insert_into(stock_movements::table)
            .values((
                stock_movements::id.eq(uuid::Uuid::now_v7().to_string()),
                stock_movements::institution_id.eq(&staff.institution_id),
                stock_movements::county_code.eq(&staff.county_code),
                stock_movements::lot.eq(&r.lot),
                stock_movements::direction.eq("in"),
                stock_movements::quantity.eq(r.quantity as i32),
                stock_movements::reason.eq("receipt"),
                stock_movements::counterparty.eq(&r.supplier),
                stock_movements::moved_on.eq(today),
                stock_movements::recorded_by.eq(&staff.id),
                stock_movements::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Audit::new(&staff, "stock.receive", "stock")
            .resource(&r.lot)
            .detail(serde_json::json!({"quantity": r.quantity}))
            .record(conn, &ctx)?;
        Ok(stock_of(conn, &staff.institution_id)?)
    })
    .await?;
    Ok(HttpResponse::Created().json(Page::whole(lots)))
}

/// Puts `quantity` packs of `lot` (expiring `expiry`) into an institution's stock: a receipt
/// or the receiving end of a transfer. A lot it already holds under another expiry is refused
/// (422 `lot_mismatch` on `/expiry` for a receipt, on `/lot` for a transfer, since a transfer
/// names no expiry), as is a balance one lot cannot hold.
pub(super) fn credit_lot(
    conn: &mut DbConn,
    institution_id: &str,
    county_code: &str,
    lot: &str,
    expiry: NaiveDate,
    quantity: i64,
) -> Result<(), AppError> {
    let existing: Option<(NaiveDate, i32)> = stock_lots::table
        .find((institution_id, lot))
        .select((stock_lots::expiry, stock_lots::balance))
        .first(conn)
        .optional()?;
    match existing {
        Some((_, balance)) if i64::from(balance) + quantity > i64::from(i32::MAX) => {
            Err(AppError::invalid_field(
                "/quantity",
                "range",
                "the lot's balance would exceed what one lot can hold",
            ))
        }
        Some((held, _)) if held != expiry => Err(AppError::invalid_field(
            "/expiry",
            "lot_mismatch",
            format!("lot {lot} is in stock there with expiry {held}, not {expiry}"),
        )),
        Some(_) => {
            diesel::update(stock_lots::table.find((institution_id, lot)))
                .set(stock_lots::balance.eq(stock_lots::balance + quantity as i32))
                .execute(conn)?;
            Ok(())
        }
        None => {
            diesel::insert_into(stock_lots::table)
                .values((
                    stock_lots::institution_id.eq(institution_id),
                    stock_lots::lot.eq(lot),
                    stock_lots::county_code.eq(county_code),
                    stock_lots::expiry.eq(expiry),
                    stock_lots::balance.eq(quantity as i32),
                ))
                .execute(conn)?;
            Ok(())
        }
    }
}

/// The caller's institution's stock by lot, earliest expiry first.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    responses(
        (status = 200, description = "Lots", body = Page<LotView>),
    )
)]
#[get("/stock")]
pub async fn get_stock(
    staff: Staff<CareProvider>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let institution = staff.principal.institution_id.clone();
    let lots = db::run(&state.pool, move |conn| Ok(stock_of(conn, &institution)?)).await?;
    Ok(HttpResponse::Ok().json(Page::whole(lots)))
}
