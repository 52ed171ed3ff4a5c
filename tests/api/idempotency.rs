//! `Idempotency-Key` on signed-in POSTs: a retry gets the first answer, not a second record; the
//! same key with another request is 422; a failed request releases its key; keys are per caller.

use serde_json::{json, Value};

use crate::handbook::{days_ago, new_handbook, registered_pregnancy};
use crate::helpers::*;

async fn post_with_key(app: &TestApp, path: &str, token: &str, key: &str, body: Value) -> Reply {
    let mut res = app
        .client
        .post(format!("{}{path}", app.address))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Idempotency-Key", key))
        .send_json(&body)
        .await
        .unwrap();
    let bytes = res.body().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

#[actix_web::test]
async fn a_retried_checkup_is_recorded_once() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let path = format!("/api/v1/pregnancies/{pregnancy}/checkups");
    let visit = json!({"visit_date": days_ago(0), "bp_systolic": 118, "bp_diastolic": 76});

    let first = post_with_key(&app, &path, &a, "visit-0001", visit.clone()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = post_with_key(&app, &path, &a, "visit-0001", visit.clone()).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body, "the first answer, again");
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.count("checkups"), 1);

    // The same key with another body is refused and writes nothing.
    let other = json!({"visit_date": days_ago(0), "bp_systolic": 150, "bp_diastolic": 95});
    let reused = post_with_key(&app, &path, &a, "visit-0001", other.clone()).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");
    assert_eq!(app.count("checkups"), 1);

    // Keys belong to their caller: another clinician's same key is a new request.
    let c = app.token("clinician.c").await;
    let theirs = post_with_key(
        &app,
        "/api/v1/handbooks",
        &c,
        "visit-0001",
        new_handbook(9, "孙丽"),
    )
    .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert_eq!(theirs.header("idempotent-replayed"), None);

    // A refused request releases its key: corrected and sent again with it, it is recorded.
    let bad = json!({"visit_date": days_ago(0), "bp_systolic": 400, "bp_diastolic": 76});
    let refused = post_with_key(&app, &path, &a, "visit-0002", bad).await;
    assert_eq!(refused.status, 422);
    let fixed = json!({"visit_date": days_ago(0), "bp_systolic": 128, "bp_diastolic": 80});
    let accepted = post_with_key(&app, &path, &a, "visit-0002", fixed).await;
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    assert_eq!(app.count("checkups"), 2);

    // A malformed key is a 400, and nothing is written.
    let long = "k".repeat(129);
    let malformed = post_with_key(&app, &path, &a, &long, visit).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(app.count("checkups"), 2);
}

#[actix_web::test]
async fn a_retried_registration_returns_the_same_handbook() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let first = post_with_key(
        &app,
        "/api/v1/handbooks",
        &a,
        "reg-1",
        new_handbook(7, "赵敏"),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = post_with_key(
        &app,
        "/api/v1/handbooks",
        &a,
        "reg-1",
        new_handbook(7, "赵敏"),
    )
    .await;
    assert_eq!((retry.status, &retry.body["id"]), (201, &first.body["id"]));
    assert_eq!(app.count("handbooks"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'handbook.create'"),
        1
    );
}
