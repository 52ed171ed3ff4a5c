//! What the nutrition tests set up before they check anything: a handbook and its children,
//! stock received into a clinic, the programme's events (consent first) and flags, follow-up
//! cards, and an issue of an earlier month written as the distribution endpoint writes it.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use mch_handbook::{
    db::schema::{nutrition_events, stock_movements},
    time::china_today,
};
use serde_json::{json, Value};

use crate::handbook::{days_ago, new_handbook};
use crate::helpers::*;

/// The day `n` days after today (China time), as YYYY-MM-DD: an expiry date.
pub fn days_ahead(n: i64) -> String {
    (china_today() + Duration::days(n)).to_string()
}

/// Mother `seq`'s handbook, registered by clinician A; she lives in the township of institution
/// A (990101001000) unless `residence` names another region. Its id.
pub async fn handbook(app: &TestApp, seq: u32, residence: Option<&str>) -> String {
    let a = app.token("clinician.a").await;
    let mut body = new_handbook(seq, &format!("母亲{seq}"));
    if let Some(region) = residence {
        body["residence_region_code"] = json!(region);
    }
    let hb = app.post("/api/v1/handbooks", Some(&a), body).await;
    assert_eq!(hb.status, 201, "{}", hb.body);
    hb.body["id"].as_str().unwrap().to_string()
}

/// A child of `sex`, born at `born_at` (RFC 3339), on `handbook`, registered by clinician A.
/// Its id.
pub async fn child_on(app: &TestApp, handbook: &str, sex: &str, born_at: &str) -> String {
    let a = app.token("clinician.a").await;
    let c = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/children"),
            Some(&a),
            json!({"sex": sex, "born_at": born_at}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    c.body["id"].as_str().unwrap().to_string()
}

/// A girl `age_days` old on mother `seq`'s handbook, in institution A's township (village.a
/// shares institution A).
pub async fn child(app: &TestApp, seq: u32, age_days: i64) -> String {
    let handbook = handbook(app, seq, None).await;
    let born = (Utc::now() - Duration::days(age_days)).to_rfc3339();
    child_on(app, &handbook, "female", &born).await
}

/// A girl born on `birth` (noon, China time) to mother `seq`, living in `residence`.
pub async fn child_born(app: &TestApp, seq: u32, residence: &str, birth: NaiveDate) -> String {
    let handbook = handbook(app, seq, Some(residence)).await;
    child_on(app, &handbook, "female", &format!("{birth}T12:00:00+08:00")).await
}

/// A girl `age_days` old whose mother consented yesterday: in the programme.
pub async fn consented_child(app: &TestApp, token: &str, seq: u32, age_days: i64) -> String {
    let kid = child(app, seq, age_days).await;
    consent(app, token, &kid).await;
    kid
}

/// A programme event (`{"kind": …}` and its fields) recorded for a child; the answer.
pub async fn event(app: &TestApp, token: &str, child: &str, body: Value) -> Reply {
    app.post(
        &format!("/api/v1/children/{child}/nutrition/events"),
        Some(token),
        body,
    )
    .await
}

/// The mother's consent on paper, given on `date`: the child enters the programme.
pub async fn consent_on(app: &TestApp, token: &str, child: &str, date: &str) {
    let body = json!({
        "kind": "consent",
        "date": date,
        "signed_by": "王芳（母亲）",
        "consent_form": "paper",
        "detail": "同意书存档",
    });
    let r = event(app, token, child, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// The mother's consent, given yesterday.
pub async fn consent(app: &TestApp, token: &str, child: &str) {
    consent_on(app, token, child, &days_ago(1)).await;
}

/// The child's programme flags replaced (`PUT …/nutrition/flags`); the answer.
pub async fn put_flags(app: &TestApp, token: &str, child: &str, flags: Value) -> Reply {
    let path = format!("/api/v1/children/{child}/nutrition/flags");
    app.request("PUT", &path, Some(token), Some(flags)).await
}

/// A follow-up card recorded for a child; the answer.
pub async fn follow_up(app: &TestApp, token: &str, child: &str, card: Value) -> Reply {
    app.post(
        &format!("/api/v1/children/{child}/nutrition/followups"),
        Some(token),
        card,
    )
    .await
}

/// `quantity` sachets of `lot`, expiring on `expiry`, received into the caller's clinic; the
/// answer (the clinic's stock).
pub async fn receive(app: &TestApp, token: &str, lot: &str, expiry: &str, quantity: i64) -> Reply {
    let r = app
        .post(
            "/api/v1/stock/receipts",
            Some(token),
            json!({"lot": lot, "expiry": expiry, "quantity": quantity}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r
}

/// An issue of 30 sachets by `clinic` (county 990101) on an earlier `date` (the API only issues
/// today), `remaining` left at home then: the event and, `with_stock`, the stock leaving lot L0,
/// as the distribution endpoint writes them.
pub fn past_issue(
    app: &TestApp,
    clinic: &str,
    child: &str,
    date: NaiveDate,
    remaining: i64,
    with_stock: bool,
) {
    let mut conn = app.conn();
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(nutrition_events::table)
        .values((
            nutrition_events::id.eq(&id),
            nutrition_events::child_id.eq(child),
            nutrition_events::county_code.eq("990101"),
            nutrition_events::institution_id.eq(clinic),
            nutrition_events::kind.eq("issue"),
            nutrition_events::event_date.eq(date),
            nutrition_events::issue_month.eq(date.format("%Y-%m").to_string()),
            nutrition_events::sachets.eq(30),
            nutrition_events::detail.eq(json!({"remaining_at_home": remaining}).to_string()),
            nutrition_events::recorded_by.eq("test"),
            nutrition_events::recorded_at.eq(Utc::now().naive_utc()),
        ))
        .execute(&mut conn)
        .unwrap();
    if with_stock {
        diesel::insert_into(stock_movements::table)
            .values((
                stock_movements::id.eq(uuid::Uuid::now_v7().to_string()),
                stock_movements::institution_id.eq(clinic),
                stock_movements::county_code.eq("990101"),
                stock_movements::lot.eq("L0"),
                stock_movements::direction.eq("out"),
                stock_movements::quantity.eq(30),
                stock_movements::reason.eq("issue"),
                stock_movements::counterparty.eq(child),
                stock_movements::ref_id.eq(&id),
                stock_movements::moved_on.eq(date),
                stock_movements::recorded_by.eq("test"),
                stock_movements::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(&mut conn)
            .unwrap();
    }
}
