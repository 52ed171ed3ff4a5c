//! The nutrition-pack programme through HTTP: consent, distribution with first-expiry-first-out
//! stock that never goes negative, one per month, idempotent retries, the rules' refusals.

use serde_json::{json, Value};

use crate::handbook::days_ago;
use crate::helpers::*;
use crate::nutrition_setup::*;

async fn distribute(
    app: &TestApp,
    token: &str,
    child: &str,
    key: Option<&str>,
    body: Value,
) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let path = format!("/api/v1/children/{child}/nutrition/distributions");
    app.request_with("POST", &path, Some(token), &headers, Some(body))
        .await
}

#[actix_web::test]
async fn a_monthly_distribution_takes_the_earliest_expiry_first_once_a_month() {
    let (app, _) = seeded_app().await;
    let v = app.token("village.a").await;
    let kid = child(&app, 1, 240).await;
    let (later, sooner) = (days_ahead(300), days_ahead(100));
    receive(&app, &v, "B", &later, 40).await; // asserts 201
    let stock = receive(&app, &v, "A", &sooner, 20).await;
    assert_eq!(stock.body["items"][0]["lot"], "A");

    let no_consent = distribute(&app, &v, &kid, None, json!({})).await;
    assert_eq!(no_consent.status, 409);
    assert_eq!(no_consent.body["code"], "no_consent");
    consent(&app, &v, &kid).await;
    let state = app
        .get(&format!("/api/v1/children/{kid}/nutrition"), &v)
        .await;
    assert_eq!(state.body["state"], "enrolled");
    assert_eq!(state.body["may_issue"], true);

    let first = distribute(&app, &v, &kid, Some("k-1"), json!({"remaining_at_home": 0})).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["sachets"], 30);
    assert_eq!(
        first.body["lots"],
        json!([{"lot": "A", "quantity": 20}, {"lot": "B", "quantity": 10}])
    );
    // The same request retried: the first answer, nothing taken twice.
    let retry = distribute(&app, &v, &kid, Some("k-1"), json!({"remaining_at_home": 0})).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body["id"], first.body["id"]);
    // Replayed by the shared rules (issue #14): marked as such, forgotten after 24 hours.
    assert_eq!(retry.header("idempotent-replayed").as_deref(), Some("true"));
    assert!(first.header("idempotent-replayed").is_none());
    let reused = distribute(&app, &v, &kid, Some("k-1"), json!({"remaining_at_home": 3})).await;
    assert_eq!(reused.status, 422);
    {
        use diesel::prelude::*;
        let old = (chrono::Utc::now() - chrono::Duration::hours(25)).naive_utc();
        diesel::update(mch_handbook::db::schema::idempotency_keys::table)
            .set(mch_handbook::db::schema::idempotency_keys::created_at.eq(old))
            .execute(&mut app.conn())
            .unwrap();
    }
    let a_day_later =
        distribute(&app, &v, &kid, Some("k-1"), json!({"remaining_at_home": 0})).await;
    assert_eq!(
        a_day_later.status, 409,
        "the key is forgotten: a new request, refused by the rules"
    );
    assert_eq!(a_day_later.body["code"], "already_issued_this_month");
    // A second distribution this month.
    let again = distribute(&app, &v, &kid, Some("k-2"), json!({})).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "already_issued_this_month");
    let stock = app.get("/api/v1/stock", &v).await;
    assert_eq!(
        stock.body["items"],
        json!([
            {"lot": "A", "expiry": sooner, "balance": 0, "expiring_soon": false},
            {"lot": "B", "expiry": later, "balance": 30, "expiring_soon": false}
        ])
    );
    assert_eq!(app.count("nutrition_events WHERE kind = 'issue'"), 1);
    assert_eq!(
        app.get(&format!("/api/v1/children/{kid}/nutrition"), &v)
            .await
            .body["state"],
        "active"
    );

    let bad = distribute(&app, &v, &kid, None, json!({"remaining_at_home": 100})).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), vec!["/remaining_at_home"]);
}

#[actix_web::test]
async fn concurrent_distributions_for_the_last_packs_never_overdraw_the_stock() {
    let (app, _) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "L1", &days_ahead(200), 90).await;
    let mut kids = Vec::new();
    for seq in 0..6 {
        kids.push(consented_child(&app, &v, 10 + seq, 300).await);
    }
    // Tasks on this single-threaded test runtime: the requests overlap on the server's workers.
    let app = std::rc::Rc::new(app);
    let handles: Vec<_> = kids
        .iter()
        .map(|kid| {
            let (app, v, kid) = (app.clone(), v.clone(), kid.clone());
            actix_web::rt::spawn(
                async move { distribute(&app, &v, &kid, None, json!({})).await.status },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(
        app.get("/api/v1/stock", &v).await.body["items"][0]["balance"],
        0
    );
    assert_eq!(app.count("nutrition_events WHERE kind = 'issue'"), 3);
}

#[actix_web::test]
async fn the_rules_refuse_with_their_reason_and_intake_is_computed() {
    let (app, world) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "L1", &days_ahead(200), 300).await;
    let baby = consented_child(&app, &v, 20, 100).await;
    let young = distribute(&app, &v, &baby, None, json!({})).await;
    assert_eq!(young.status, 409);
    assert_eq!(young.body["code"], "too_young");

    // A child who collected 35 days ago (always an earlier calendar month) with 2 sachets left
    // then, and has 4 left now: 28 eaten in 5 weeks = 5.6 a week (effective).
    let kid = consented_child(&app, &v, 21, 400).await;
    let last = mch_handbook::time::china_today() - chrono::Duration::days(35);
    past_issue(&app, &world.inst_a, &kid, last, 2, false);
    let r = distribute(&app, &v, &kid, None, json!({"remaining_at_home": 4})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["intake_per_week"], 5.6);
    assert_eq!(r.body["effective_intake"], true);

    let gone = consented_child(&app, &v, 22, 300).await;
    event(
        &app,
        &v,
        &gone,
        json!({"kind": "withdraw", "date": days_ago(0)}),
    )
    .await;
    let ended = distribute(&app, &v, &gone, None, json!({})).await;
    assert_eq!(ended.body["code"], "ended");
    let future = event(
        &app,
        &v,
        &gone,
        json!({
            "kind": "consent",
            "date": days_ago(-2),
            "signed_by": "母亲",
            "consent_form": "paper",
        }),
    )
    .await;
    assert_eq!(future.error_fields(), vec!["/date"]);
    // Consent records who gave it and how; without them nothing is written.
    let before = app.count("nutrition_events");
    let anonymous = event(
        &app,
        &v,
        &gone,
        json!({"kind": "consent", "date": days_ago(0)}),
    )
    .await;
    assert_eq!(anonymous.status, 422);
    assert_eq!(
        anonymous.error_fields(),
        vec!["/signed_by", "/consent_form"]
    );
    assert_eq!(app.count("nutrition_events"), before);
}

#[actix_web::test]
async fn a_follow_up_card_computes_z_scores_and_altitude_adjusted_anaemia() {
    let (app, _) = seeded_app().await;
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::regions;
        diesel::update(regions::table.find("990101001000"))
            .set(regions::elevation_m.eq(Some(2300)))
            .execute(&mut app.conn())
            .unwrap();
    }
    let v = app.token("village.a").await;
    // Born 365 days ago (noon in China): the worked check of anaemia-growth.md §2.4.
    let today = mch_handbook::time::china_today();
    let born = (today - chrono::Duration::days(365))
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc()
        .to_rfc3339();
    let kid = child_on(&app, &handbook(&app, 30, None).await, "male", &born).await;

    let bad = follow_up(
        &app,
        &v,
        &kid,
        json!({
            "followed_on": today.to_string(),
            "hb_g_l": 400,
            "weight_kg": 0,
            "counselled": true,
        }),
    )
    .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), vec!["/hb_g_l", "/weight_kg"]);
    let before_birth = follow_up(
        &app,
        &v,
        &kid,
        json!({
            "followed_on": (today - chrono::Duration::days(400)).to_string(),
            "weight_kg": 3.0,
            "counselled": true,
        }),
    )
    .await;
    assert_eq!(before_birth.error_fields(), vec!["/followed_on"]);
    assert_eq!(app.count("nutrition_followups"), 0);

    let first = follow_up(
        &app,
        &v,
        &kid,
        json!({
            "followed_on": (today - chrono::Duration::days(30)).to_string(),
            "hb_g_l": 112,
            "weight_kg": 9.1,
            "length_cm": 73.9,
            "counselled": true,
        }),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(
        first.body["anaemia"]["hb_adjusted"], 104.0,
        "112 at 2300 m is 104"
    );
    assert_eq!(first.body["anaemia"]["who2011"], "mild");
    let card = follow_up(
        &app,
        &v,
        &kid,
        json!({
            "followed_on": today.to_string(),
            "hb_g_l": 118,
            "length_cm": 75.7,
            "measured_lying": true,
            "weight_kg": 9.6,
            "counselled": true,
        }),
    )
    .await;
    assert_eq!(card.status, 201, "{}", card.body);
    let z = &card.body["zscores"];
    for (name, want) in [
        ("lhfa", -0.02),
        ("wfa", -0.04),
        ("wflh", -0.06),
        ("bfa", -0.03),
    ] {
        assert!(
            (z[name].as_f64().unwrap() - want).abs() <= 0.01,
            "{name}: {}",
            z[name]
        );
    }
    assert_eq!(card.body["growth"]["stunted"], false);
    assert_eq!(card.body["anaemia"]["hb_adjusted"], 110.0);
    assert_eq!(card.body["anaemia"]["who2011"], "none");
    let history = app
        .get(&format!("/api/v1/children/{kid}/nutrition/followups"), &v)
        .await;
    assert_eq!(history.body["cards"].as_array().unwrap().len(), 2);
    assert_eq!(history.body["change_hb_adjusted"], 6.0);
}

#[actix_web::test]
async fn transfers_adjustments_and_the_storage_log() {
    let (app, world) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "T1", &days_ahead(30), 100).await;
    let sent = app
        .post(
            "/api/v1/stock/transfers",
            Some(&v),
            json!({"to_institution_id": world.inst_b, "lot": "T1", "quantity": 60}),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["items"][0]["balance"], 40);
    assert_eq!(sent.body["items"][0]["expiring_soon"], true);
    let b = app.token("clinician.b").await;
    assert_eq!(
        app.get("/api/v1/stock", &b).await.body["items"][0]["balance"],
        60,
        "received at B with the same lot and expiry"
    );
    let far = app
        .post(
            "/api/v1/stock/transfers",
            Some(&v),
            json!({"to_institution_id": world.inst_c, "lot": "T1", "quantity": 1}),
        )
        .await;
    assert_eq!(
        far.error_fields(),
        vec!["/to_institution_id"],
        "another county"
    );
    let over = app
        .post(
            "/api/v1/stock/transfers",
            Some(&v),
            json!({"to_institution_id": world.inst_b, "lot": "T1", "quantity": 41}),
        )
        .await;
    assert_eq!(over.status, 409);
    // The receiver holds lot T2 under another expiry: refused as a receipt would be, naming the
    // lot, with no database text and nothing moved (issue #14).
    let (later, mid) = (days_ahead(60), days_ahead(45));
    for (token, expiry) in [(&b, &later), (&v, &mid)] {
        receive(&app, token, "T2", expiry, 10).await;
    }
    let clash = app
        .post(
            "/api/v1/stock/transfers",
            Some(&v),
            json!({"to_institution_id": world.inst_b, "lot": "T2", "quantity": 5}),
        )
        .await;
    assert_eq!(clash.status, 422, "{}", clash.body);
    assert_eq!(clash.error_fields(), vec!["/lot"]);
    assert_eq!(clash.body["errors"][0]["code"], "lot_mismatch");
    assert!(!clash.body.to_string().contains("UNIQUE"));
    for token in [&b, &v] {
        let stock = app.get("/api/v1/stock", token).await;
        let t2 = stock.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["lot"] == "T2")
            .unwrap()
            .clone();
        assert_eq!(t2["balance"], 10);
    }
    let adjusted = app
        .post(
            "/api/v1/stock/adjustments",
            Some(&v),
            json!({"lot": "T1", "quantity": 5, "reason": "damaged", "note": "受潮"}),
        )
        .await;
    assert_eq!(adjusted.body["items"][0]["balance"], 35);
    assert_eq!(
        app.post(
            "/api/v1/stock/adjustments",
            Some(&v),
            json!({"lot": "T1", "quantity": 36, "reason": "expired"})
        )
        .await
        .status,
        409
    );
    assert_eq!(
        app.count("stock_movements"),
        6,
        "receipt, transfer out and in, two receipts of T2, adjustment"
    );

    let ok_list = json!({
        "keeper_named": true,
        "off_wall_and_floor": true,
        "no_hazardous_goods": true,
        "pest_control": true,
    });
    let fine = app
        .post(
            "/api/v1/stock/storage-checks",
            Some(&v),
            json!({
                "checked_at": chrono::Utc::now().to_rfc3339(),
                "temperature_c": 18.5,
                "humidity_pct": 60,
                "checklist": ok_list,
            }),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
    assert_eq!(
        (
            fine.body["out_of_range"].clone(),
            fine.body["checklist_ok"].clone()
        ),
        (json!(false), json!(true))
    );
    let hot = app
        .post(
            "/api/v1/stock/storage-checks",
            Some(&v),
            json!({"checked_at": chrono::Utc::now().to_rfc3339(), "temperature_c": 31.0,
        "humidity_pct": 80,
            "checklist": {"keeper_named": true, "off_wall_and_floor": false,
            "no_hazardous_goods": true, "pest_control": true}}),
        )
        .await;
    assert_eq!(
        (
            hot.body["out_of_range"].clone(),
            hot.body["checklist_ok"].clone()
        ),
        (json!(true), json!(false))
    );
    let bad = app
        .post(
            "/api/v1/stock/storage-checks",
            Some(&v),
            json!({
                "checked_at": chrono::Utc::now().to_rfc3339(),
                "temperature_c": 99,
                "humidity_pct": 120,
                "checklist": ok_list,
            }),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["/humidity_pct", "/temperature_c"]);
    // The log, a page at a time, newest first: the hot check, then the fine one.
    let first = app.get("/api/v1/stock/storage-checks?limit=1", &v).await;
    assert_eq!(first.body["items"][0]["id"], hot.body["id"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let last = app
        .get(
            &format!("/api/v1/stock/storage-checks?limit=1&cursor={cursor}"),
            &v,
        )
        .await;
    assert_eq!(last.body["items"][0]["id"], fine.body["id"]);
    assert!(last.body.get("next_cursor").is_none(), "{}", last.body);
}

/// Issue #14: what a village doctor could not enter. A distribution from last week's paper
/// register, with its date (not in the future, not in a month already reported); a child whose
/// packs wait for a doctor, and the flag cleared again; a legacy record stopped at 24 months.
#[actix_web::test]
async fn a_paper_register_the_clearance_flag_and_legacy_records_go_in_through_the_api() {
    let (app, world) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "P", &days_ahead(300), 90).await;
    let kid = child(&app, 1, 240).await;
    consent_on(&app, &v, &kid, &days_ago(30)).await;

    // Packs handed out a week ago, entered today.
    let future = distribute(&app, &v, &kid, None, json!({"date": days_ago(-1)})).await;
    assert_eq!(future.error_fields(), vec!["/date"]);
    let last_week = distribute(&app, &v, &kid, None, json!({"date": days_ago(7)})).await;
    assert_eq!(last_week.status, 201, "{}", last_week.body);
    assert_eq!(last_week.body["date"], days_ago(7));
    assert_eq!(
        app.count(&format!(
            "nutrition_events WHERE child_id = '{kid}' AND kind = 'issue' AND event_date = '{}'",
            days_ago(7)
        )),
        1
    );
    // A month the village has reported is closed to late entries.
    let reported = mch_handbook::time::china_today() - chrono::Duration::days(60);
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::nutrition_reports as r;
        diesel::insert_into(r::table)
            .values((
                r::id.eq("report-1"),
                r::institution_id.eq(&world.inst_a),
                r::county_code.eq("990101"),
                r::region_code.eq("990101001000"),
                r::level.eq("village"),
                r::month.eq(reported.format("%Y-%m").to_string()),
                r::version.eq(1),
                r::status.eq("submitted"),
                r::figures.eq("{}"),
                r::sources.eq("[]"),
                r::late.eq(false),
                r::submitted_by.eq(&world.staff["village.a"]),
                r::submitted_at.eq(chrono::Utc::now().naive_utc()),
            ))
            .execute(&mut app.conn())
            .unwrap();
    }
    let closed = distribute(&app, &v, &kid, None, json!({"date": reported.to_string()})).await;
    assert_eq!(closed.status, 422, "{}", closed.body);
    assert_eq!(closed.body["errors"][0]["code"], "period_closed");

    // A condition found: packs wait for a doctor; recorded in error: cleared again.
    let other = consented_child(&app, &v, 2, 240).await;
    let flags = |needs: bool, condition: Value| {
        json!({"registered_poor": false, "relocation_site": false,
               "needs_medical_clearance": needs, "condition": condition})
    };
    let odd = put_flags(&app, &v, &other, flags(false, json!("地中海贫血"))).await;
    assert_eq!(odd.error_fields(), vec!["/condition"]);
    let set = put_flags(&app, &v, &other, flags(true, json!("地中海贫血"))).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let waits = distribute(&app, &v, &other, None, json!({})).await;
    assert_eq!(waits.body["code"], "needs_medical_clearance");
    let cleared = put_flags(&app, &v, &other, flags(false, Value::Null)).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let issued = distribute(&app, &v, &other, None, json!({})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(
        app.count("audit_events WHERE action = 'nutrition.flags'"),
        2,
        "set and cleared, each audited"
    );

    // A legacy record: stopped at 24 months under the old rule.
    let old = child(&app, 3, 760).await;
    let born = mch_handbook::time::china_today() - chrono::Duration::days(760);
    let d24 = born + chrono::Months::new(24);
    let legacy = event(
        &app,
        &v,
        &old,
        json!({
            "kind": "legacy_stopped_at_24",
            "date": d24.to_string(),
            "detail": "2019年纸质登记册",
        }),
    )
    .await;
    assert_eq!(legacy.status, 201, "{}", legacy.body);
    assert_eq!(legacy.body["state"], "legacy_stopped_at_24");
}

/// Issue #14: force-majeure periods existed in the rules but had no way in. The county declares
/// one for a township; a child living there is stopped that many days later; withdrawn, the
/// period no longer counts. Other counties neither see nor declare it.
#[actix_web::test]
async fn a_declared_force_majeure_period_pushes_the_stop_date_back() {
    let (app, _) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "F", &days_ahead(300), 30).await;
    let kid = consented_child(&app, &v, 1, 240).await;
    let issued = distribute(&app, &v, &kid, None, json!({})).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    let nutrition_path = format!("/api/v1/children/{kid}/nutrition");
    let before = app.get(&nutrition_path, &v).await.body;
    let stop_due = |e: &Value| {
        chrono::NaiveDate::parse_from_str(e["stop_due"].as_str().unwrap(), "%Y-%m-%d").unwrap()
    };
    let today = mch_handbook::time::china_today();

    let reviewer = app.token("reviewer").await;
    let path = "/api/v1/counties/990101/force-majeure";
    let outside = app
        .post(
            path,
            Some(&reviewer),
            json!({
                "region_code": "990102001000",
                "starts_on": today.to_string(),
                "ends_on": today.to_string(),
                "reason": "x",
            }),
        )
        .await;
    assert_eq!(outside.error_fields(), vec!["/region_code"]);
    // Ten days of closure in the child's township (城关镇), inside the two months.
    let declared = app
        .post(
            path,
            Some(&reviewer),
            json!({
                "region_code": "990101001000",
                "starts_on": (today + chrono::Duration::days(5)).to_string(),
                "ends_on": (today + chrono::Duration::days(14)).to_string(),
                "reason": "疫情封控",
            }),
        )
        .await;
    assert_eq!(declared.status, 201, "{}", declared.body);
    let after = app.get(&nutrition_path, &v).await.body;
    assert_eq!(
        stop_due(&after) - stop_due(&before),
        chrono::Duration::days(10)
    );
    // The village doctor sees the county's periods; another county's reviewer does not.
    assert_eq!(
        app.get(path, &v).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let other = app.token("other.reviewer").await;
    assert_eq!(app.get(path, &other).await.status, 404);
    // Withdrawn: it no longer counts, and it stays listed.
    let id = declared.body["id"].as_str().unwrap();
    let withdrawn = app
        .post(&format!("{path}/{id}/withdraw"), Some(&reviewer), json!({}))
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    assert!(withdrawn.body["withdrawn_at"].is_string());
    assert_eq!(
        stop_due(&app.get(&nutrition_path, &v).await.body),
        stop_due(&before)
    );
    let again = app
        .post(&format!("{path}/{id}/withdraw"), Some(&reviewer), json!({}))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        app.count("audit_events WHERE action LIKE 'county.force_majeure_%'"),
        2
    );
}

/// Review of issue #14: two requests with the same Idempotency-Key at once. The second waits
/// for the first and gets its answer (one distribution), not a 409 `already_issued_this_month`.
#[actix_web::test]
async fn parallel_retries_with_one_key_get_one_distribution_and_one_answer() {
    let (app, _) = seeded_app().await;
    let v = app.token("village.a").await;
    receive(&app, &v, "K", &days_ahead(300), 90).await;
    let kid = consented_child(&app, &v, 1, 240).await;
    let tries = (0..4).map(|_| distribute(&app, &v, &kid, Some("same-key"), json!({})));
    let answers = futures_util::future::join_all(tries).await;
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["id"], answers[0].body["id"]);
    }
    let replayed = answers
        .iter()
        .filter(|a| a.header("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 3);
    assert_eq!(app.count("nutrition_events WHERE kind = 'issue'"), 1);
}

/// Issue #13: a child whose sex is undetermined was measured against the girls' tables. No WHO
/// table applies: its z-scores are left out; its anaemia is still graded.
#[actix_web::test]
async fn a_child_of_undetermined_sex_gets_no_z_scores_from_the_girls_tables() {
    let (app, _) = seeded_app().await;
    let handbook = handbook(&app, 5, None).await;
    let born = (chrono::Utc::now() - chrono::Duration::days(240)).to_rfc3339();
    let mut kids = Vec::new();
    for sex in ["undetermined", "female"] {
        kids.push(child_on(&app, &handbook, sex, &born).await);
    }
    let v = app.token("village.a").await;
    let mut cards = Vec::new();
    for kid in &kids {
        let card = follow_up(
            &app,
            &v,
            kid,
            json!({"followed_on": days_ago(0), "hb_g_l": 100, "length_cm": 68.0,
                   "weight_kg": 7.6, "counselled": true}),
        )
        .await;
        assert_eq!(card.status, 201, "{}", card.body);
        cards.push(card.body);
    }
    assert!(cards[0]["zscores"]["wfa"].is_null(), "{}", cards[0]);
    assert!(cards[0]["zscores"]["lhfa"].is_null());
    assert!(cards[1]["zscores"]["wfa"].is_number(), "{}", cards[1]);
    assert_eq!(
        cards[0]["anaemia"]["hb_adjusted"],
        cards[1]["anaemia"]["hb_adjusted"]
    );
}
