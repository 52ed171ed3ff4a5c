//! Pregnancies and checkups through HTTP: dating, flags, lab results the mother sees at once,
//! amendments with history, and refusals.

use serde_json::{json, Value};

use crate::handbook::{days_ago, demo_app, new_handbook, registered_pregnancy};
use crate::helpers::*;

async fn patch_if_match(
    app: &TestApp,
    path: &str,
    token: &str,
    etag: Option<&str>,
    body: Value,
) -> Reply {
    send_if_match(app, "PATCH", path, token, etag, body).await
}

async fn put_if_match(
    app: &TestApp,
    path: &str,
    token: &str,
    etag: Option<&str>,
    body: Value,
) -> Reply {
    send_if_match(app, "PUT", path, token, etag, body).await
}

async fn send_if_match(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    etag: Option<&str>,
    body: Value,
) -> Reply {
    let headers: Vec<(&str, &str)> = etag.map(|tag| ("If-Match", tag)).into_iter().collect();
    app.request_with(method, path, Some(token), &headers, Some(body))
        .await
}

fn today() -> String {
    days_ago(0)
}

#[actix_web::test]
async fn a_saved_checkup_returns_the_domain_flags() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    // 20+0 weeks today (LMP 140 days ago); pre-pregnancy 160 cm / 51.2 kg (BMI 20.0, normal).
    let r = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": today(), "weight_kg": 57.2, "bp_systolic": 150, "bp_diastolic": 90,
                "urine_protein": "1+",
                "fetal_heart_rates": [109, 161], "fundal_height_cm": 24.0, "symptoms": ["headache"]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let f = &r.body["flags"];
    assert_eq!(r.body["ga"], "20+0");
    assert_eq!(f["blood_pressure"], "hypertensive");
    assert_eq!(f["proteinuria"], true);
    assert_eq!(f["suspected_preeclampsia"], true);
    assert_eq!(f["fetal_heart"], json!(["bradycardia", "tachycardia"]));
    assert_eq!(f["fundal_height_discrepancy"], true);
    assert_eq!(
        f["weight_gain"],
        json!({
            "gain_kg": 6.0,
            "bmi_category": "normal",
            "range_kg": [1.56, 4.88],
            "status": "above",
        })
    );
    assert_eq!(f["needs_risk_reassessment"], true);
    let missing: Vec<&Value> = f["missing_tests"].as_array().unwrap().iter().collect();
    assert!(missing
        .iter()
        .any(|m| m["test"] == "hiv" && m["overdue"] == true));
    assert!(missing
        .iter()
        .any(|m| m["test"] == "anomaly_ultrasound" && m["overdue"] == false));
    assert!(
        !missing.iter().any(|m| m["test"] == "ogtt"),
        "OGTT is due from 24 weeks"
    );

    // The laboratory reports in the afternoon: Hb 99 g/L (moderate), OGTT of example ck07 (GDM).
    let id = r.body["id"].as_str().unwrap();
    let labs = app
        .post(
            &format!("/api/v1/checkups/{id}/labs"),
            Some(&a),
            json!({"results": [
                {"test": "hb", "value": 99}, {"test": "ogtt_0h", "value": 4.6}, {"test": "ogtt_1h",
                "value": 10.0},
                {"test": "ogtt_2h", "value": 7.9}, {"test": "hiv", "result": "negative"}
            ]}),
        )
        .await;
    assert_eq!(labs.status, 201, "{}", labs.body);
    let f = &labs.body["flags"];
    assert_eq!(f["anaemia"], "moderate");
    assert_eq!(f["gdm"], true);
    assert_eq!(f["pregestational_diabetes"], false);
    assert!(!f["missing_tests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["test"] == "hiv"));
    assert_eq!(labs.body["labs"].as_array().unwrap().len(), 5);
}

/// Issue #13: the mother's home page is read on a phone: names where she would see ids, results
/// with their values, only the tests she can still do, and her next appointment even when no
/// visit named one.
#[actix_web::test]
async fn the_mothers_page_names_places_shows_values_and_only_what_she_can_still_do() {
    let (app, _) = demo_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;
    let clinic = app.get(&format!("/api/v1/handbooks/{handbook}"), &a).await;
    let clinic_id = clinic.body["registered_institution_id"].as_str().unwrap();
    let clinic_name = app
        .get(
            &format!("/api/v1/institutions/{clinic_id}"),
            &app.token("admin").await,
        )
        .await
        .body["name"]
        .clone();
    assert!(clinic_name.is_string(), "{clinic_name}");

    // No visit yet at 20+0: the plan's visit 3 (20+0 – 24+6) is open, so today.
    let home = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(home.body["next_appointment"], days_ago(0));
    assert_eq!(home.body["next_appointment_source"], "visit_plan");
    let profile = &home.body["profile"];
    assert_eq!(profile["registered_institution_name"], clinic_name);
    assert_eq!(
        home.body["current_pregnancy"]["registration_institution_name"],
        clinic_name
    );
    assert_eq!(profile["residence_name"], "城关镇");
    assert_eq!(profile["history"]["allergies"], "青霉素");
    for clinic_only in [
        "county_code",
        "registered_institution_id",
        "created_at",
        "updated_at",
    ] {
        assert!(
            profile.get(clinic_only).is_none(),
            "{clinic_only} in {profile}"
        );
    }

    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today(), "bp_systolic": 112, "bp_diastolic": 70,
                   "next_appointment": days_ago(-21)}),
        )
        .await;
    let checkup = visit.body["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/checkups/{checkup}/labs"),
        Some(&a),
        json!({"results": [{"test": "hb", "value": 118}]}),
    )
    .await;
    // The clinician sees every missing test, those whose window has closed among them …
    let staff_view = app.get(&format!("/api/v1/checkups/{checkup}"), &a).await;
    let overdue = |v: &Value| {
        v["flags"]["missing_tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["overdue"] == true)
            .count()
    };
    assert!(overdue(&staff_view.body) > 0, "{}", staff_view.body);
    assert_eq!(staff_view.body["institution_name"], clinic_name);

    // … the mother only those she can still do, the result with its value and unit, and the
    // appointment her clinician named.
    let home = app.get("/api/v1/me/handbook", &mother).await;
    let latest = &home.body["latest_checkup"];
    assert_eq!(overdue(latest), 0, "{latest}");
    assert!(!latest["flags"]["missing_tests"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(latest["institution_name"], clinic_name);
    assert_eq!(home.body["next_appointment"], days_ago(-21));
    assert_eq!(home.body["next_appointment_source"], "checkup");
    let lab = home.body["unread"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "lab_result")
        .unwrap()
        .clone();
    assert_eq!(
        (
            lab["test"].clone(),
            lab["value"].clone(),
            lab["unit"].clone()
        ),
        (json!("hb"), json!(118.0), json!("g/L"))
    );
    let opened = app
        .get(&format!("/api/v1/me/checkups/{checkup}"), &mother)
        .await;
    assert_eq!(overdue(&opened.body), 0, "{}", opened.body);
}

#[actix_web::test]
async fn the_mother_sees_a_lab_result_the_moment_it_is_saved() {
    let (app, _) = demo_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;

    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": today(),
                "bp_systolic": 112,
                "bp_diastolic": 70,
                "next_appointment": days_ago(-28),
            }),
        )
        .await;
    let checkup = visit.body["id"].as_str().unwrap().to_string();
    let home = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(home.body["current_pregnancy"]["ga_today"], "20+0");
    assert_eq!(home.body["current_pregnancy"]["days_to_edd"], 140);
    assert_eq!(home.body["next_appointment"], days_ago(-28));
    assert_eq!(
        home.body["latest_checkup"]["flags"]["blood_pressure"],
        "normal"
    );
    assert_eq!(home.body["unread"].as_array().unwrap().len(), 1);
    assert_eq!(
        home.body["profile"]["id_number_masked"]
            .as_str()
            .unwrap()
            .len(),
        16
    );
    assert!(home.body["risk_colour"].is_null());

    app.get(&format!("/api/v1/me/checkups/{checkup}"), &mother)
        .await;
    assert!(app.get("/api/v1/me/handbook", &mother).await.body["unread"]
        .as_array()
        .unwrap()
        .is_empty());

    // Saved → visible at once, unread until she opens it.
    app.post(
        &format!("/api/v1/checkups/{checkup}/labs"),
        Some(&a),
        json!({"results": [{"test": "hb", "value": 118}]}),
    )
    .await;
    let home = app.get("/api/v1/me/handbook", &mother).await;
    let unread = home.body["unread"].as_array().unwrap();
    assert_eq!(unread.len(), 1);
    assert_eq!(unread[0]["kind"], "lab_result");
    assert_eq!(unread[0]["test"], "hb");
    assert_eq!(home.body["latest_checkup"]["labs"][0]["value"], 118.0);
    assert_eq!(home.body["latest_checkup"]["flags"]["anaemia"], "none");
    let opened = app
        .get(&format!("/api/v1/me/checkups/{checkup}"), &mother)
        .await;
    assert_eq!(opened.body["labs"][0]["test"], "hb");
    assert!(app.get("/api/v1/me/handbook", &mother).await.body["unread"]
        .as_array()
        .unwrap()
        .is_empty());

    // Another family cannot open it.
    let other = app
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "demo-mother-2"}),
        )
        .await
        .body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/api/v1/me/checkups/{checkup}"), &other)
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn corrections_keep_the_old_version_and_a_stale_etag_gets_412() {
    let (app, _) = seeded_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let created = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": today(),
                "bp_systolic": 150,
                "bp_diastolic": 95,
                "weight_kg": 61.5,
                "fetal_heart_rates": [142],
                "advice": "三天后复测血压",
            }),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/api/v1/checkups/{id}");
    let fixed = json!({
        "visit_date": today(),
        "bp_systolic": 125,
        "bp_diastolic": 80,
        "reason": "transcription error: 125/80",
    });

    assert_eq!(
        patch_if_match(&app, &path, &a, None, fixed.clone())
            .await
            .status,
        428
    );
    assert_eq!(
        patch_if_match(&app, &path, &a, Some("\"v7\""), fixed.clone())
            .await
            .status,
        412
    );
    let no_reason = patch_if_match(
        &app,
        &path,
        &a,
        Some("\"v1\""),
        json!({"visit_date": today(), "bp_systolic": 125, "bp_diastolic": 80}),
    )
    .await;
    assert_eq!(no_reason.status, 422);
    assert_eq!(no_reason.error_fields(), vec!["/reason"]);
    let v2 = patch_if_match(&app, &path, &a, Some("\"v1\""), fixed.clone()).await;
    assert_eq!(v2.status, 200, "{}", v2.body);
    assert_eq!(v2.header("etag").as_deref(), Some("\"v2\""));
    assert_eq!(v2.body["flags"]["blood_pressure"], "normal");
    // Only what the correction names changes (issue #14: a correction that replaced the whole
    // visit erased the weight and heart rate it did not repeat).
    assert_eq!(v2.body["weight_kg"], 61.5);
    assert_eq!(v2.body["fetal_heart_rates"], json!([142]));
    assert_eq!(v2.body["advice"], "三天后复测血压");
    let stale = patch_if_match(&app, &path, &a, Some("\"v1\""), fixed.clone()).await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.header("etag").as_deref(), Some("\"v2\""));

    // `null` clears a value; a bad value is named as in a full record, and nothing changes.
    let cleared = patch_if_match(
        &app,
        &path,
        &a,
        Some("\"v2\""),
        json!({"advice": null, "reason": "advice given to another woman"}),
    )
    .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["advice"], Value::Null);
    assert_eq!(cleared.body["weight_kg"], 61.5);
    let bad = patch_if_match(
        &app,
        &path,
        &a,
        Some("\"v3\""),
        json!({"weight_kg": 900, "bp_diastolic": "high", "colour": "red", "reason": "x"}),
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(!bad.error_fields().is_empty());
    assert_eq!(app.get(&path, &a).await.body["version"], 3);

    let history = app.get(&format!("{path}/versions"), &a).await;
    let versions = history.body["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 1);
    assert_eq!(versions[0]["reason"], "transcription error: 125/80");
    assert_eq!(versions[0]["snapshot"]["bp_systolic"], 150);
    assert_eq!(
        versions[0]["snapshot"]["flags"]["blood_pressure"],
        "hypertensive"
    );

    // A clinic that can see the record but did not record the visit cannot correct it.
    let b = app.token("clinician.b").await;
    app.post("/api/v1/handbooks", Some(&b), new_handbook(1, "李娟"))
        .await;
    assert_eq!(app.get(&path, &b).await.status, 200);
    assert_eq!(
        patch_if_match(&app, &path, &b, Some("\"v3\""), fixed)
            .await
            .status,
        403
    );
    let _ = handbook;
}

#[actix_web::test]
async fn implausible_values_are_422_naming_every_field_and_nothing_is_written() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let before = (
        app.count("checkups"),
        app.count("audit_events WHERE action LIKE 'checkup.%'"),
    );
    let r = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": days_ago(-3), "bp_systolic": 400, "bp_diastolic": 20, "weight_kg": 0,
                "fetal_heart_rates": [300]
            }),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.error_fields(),
        vec![
            "/bp_diastolic",
            "/bp_systolic",
            "/fetal_heart_rates",
            "/visit_date",
            "/weight_kg"
        ]
    );
    let inverted = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today(), "bp_systolic": 80, "bp_diastolic": 120}),
        )
        .await;
    assert_eq!(inverted.error_fields(), vec!["/bp_diastolic"]);
    assert_eq!(
        (
            app.count("checkups"),
            app.count("audit_events WHERE action LIKE 'checkup.%'")
        ),
        before
    );

    let ok = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today()}),
        )
        .await;
    let id = ok.body["id"].as_str().unwrap();
    let labs = app
        .post(
            &format!("/api/v1/checkups/{id}/labs"),
            Some(&a),
            json!({"results": [
                {"test": "hb", "value": 400}, {"test": "hbsag", "result": "maybe"}, {"test": "plt"}
            ]}),
        )
        .await;
    assert_eq!(labs.status, 422);
    assert_eq!(
        labs.error_fields(),
        vec!["/results/0/value", "/results/1/result", "/results/2/value"]
    );
    let unknown = app
        .post(
            &format!("/api/v1/checkups/{id}/labs"),
            Some(&a),
            json!({"results": [{"test": "unicorn", "value": 1}]}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.error_fields(), vec!["/results/0/test"]);
    assert_eq!(app.count("lab_results"), 0);
}

#[actix_web::test]
async fn dating_follows_the_ultrasound_rule_and_one_pregnancy_is_ongoing_at_a_time() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(1, "李娟"))
        .await;
    let handbook = hb.body["id"].as_str().unwrap();
    // Example ck03, today: LMP 50 days ago (7+1) but the CRL scan says 6+0: 8 days > 5, scan wins.
    let p = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&a),
            json!({
                "lmp": days_ago(50), "dating_scan": {"scan_date": today(), "ga": "6+0"},
                "gravidity": 2, "parity": 1
            }),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(p.body["dating_source"], "ultrasound");
    assert_eq!(p.body["edd"], days_ago(42 - 280));
    assert_eq!(p.body["ga_today"], "6+0");
    assert_eq!(p.body["early_registration"], true);
    let id = p.body["id"].as_str().unwrap();
    let path = format!("/api/v1/pregnancies/{id}/dating");

    // A gestational age is parsed where it arrives: a malformed one names its field and code.
    let malformed = put_if_match(
        &app,
        &path,
        &a,
        Some("\"v1\""),
        json!({"method": "ultrasound", "scan_date": today(), "ga": "8+7"}),
    )
    .await;
    assert_eq!(malformed.status, 422, "{}", malformed.body);
    assert_eq!(malformed.error_fields(), vec!["/ga"]);
    assert_eq!(malformed.body["errors"][0]["code"], "gestational_age");
    assert!(!malformed.body.to_string().contains('\u{1f}'));

    let again = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&a),
            json!({"lmp": days_ago(50), "gravidity": 2, "parity": 1}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "pregnancy_ongoing");

    let later_scan = put_if_match(
        &app,
        &path,
        &a,
        Some("\"v1\""),
        json!({"method": "ultrasound", "scan_date": today(), "ga": "8+0"}),
    )
    .await;
    assert_eq!(later_scan.status, 409);
    assert_eq!(later_scan.body["code"], "already_dated_by_ultrasound");
    let override_ = put_if_match(
        &app,
        &path,
        &a,
        Some("\"v1\""),
        json!({
            "method": "clinician",
            "edd": days_ago(-230),
            "reason": "IVF records from the referring hospital",
        }),
    )
    .await;
    assert_eq!(override_.status, 200, "{}", override_.body);
    assert_eq!(override_.body["dating_source"], "clinician");
    assert_eq!(override_.body["days_to_edd"], 230);

    let bad = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&a),
            json!({"gravidity": 1, "parity": 1}),
        )
        .await;
    assert_eq!(bad.status, 422);
}

#[actix_web::test]
async fn a_delivery_ends_the_pregnancy_and_creates_the_children() {
    let (app, _) = demo_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    // Move the pregnancy to term: LMP 275 days ago.
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::pregnancies;
        let edd = mch_handbook::time::china_today() + chrono::Duration::days(5);
        diesel::update(pregnancies::table)
            .set(pregnancies::edd.eq(edd))
            .execute(&mut app.conn())
            .unwrap();
    }
    let delivered_at = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    let body = json!({"delivered_at": delivered_at, "mode": "vaginal", "blood_loss_ml": 250,
    "maternal_outcome": "good",
        "newborns": [{"sex": "female", "birth_weight_g": 3200, "birth_length_cm": 50.0},
        {"sex": "male", "birth_weight_g": 2900}]});
    let path = format!("/api/v1/pregnancies/{pregnancy}/delivery");
    let mut res = app
        .client
        .post(format!("{}{path}", app.address))
        .insert_header(("Authorization", format!("Bearer {a}")))
        .insert_header(("If-Match", "\"v1\""))
        .send_json(&body)
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(res.status(), 200, "{v}");
    assert_eq!(v["status"], "delivered");
    assert!(v["delivery"]["ga"].as_str().unwrap().starts_with("39+"));
    assert_eq!(app.count("children"), 2);
    let checkup = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today()}),
        )
        .await;
    assert_eq!(checkup.status, 409);

    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;
    let home = app.get("/api/v1/me/handbook", &mother).await;
    assert!(home.body["current_pregnancy"].is_null());
    let kids = home.body["children"].as_array().unwrap();
    assert_eq!(kids.len(), 2);
    assert_eq!(kids[0]["birth_weight_g"], 3200);
}

#[actix_web::test]
async fn checkups_of_other_institutions_and_counties_are_404() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let c = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today()}),
        )
        .await;
    let id = c.body["id"].as_str().unwrap();
    for (user, status) in [
        ("clinician.b", 404),
        ("clinician.c", 404),
        ("other.reviewer", 404),
        ("reviewer", 200),
        ("village.a", 200),
    ] {
        let token = app.token(user).await;
        assert_eq!(
            app.get(&format!("/api/v1/checkups/{id}"), &token)
                .await
                .status,
            status,
            "{user}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/pregnancies/{pregnancy}"), &token)
                .await
                .status,
            status,
            "{user}"
        );
    }
    let admin = app.token("admin").await;
    assert_eq!(
        app.get(&format!("/api/v1/checkups/{id}"), &admin)
            .await
            .status,
        403,
        "administrators do not read patient records"
    );
    let b = app.token("clinician.b").await;
    let denied = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&b),
            json!({"visit_date": today()}),
        )
        .await;
    assert_eq!(denied.status, 404);
    assert_eq!(app.count("checkups"), 1);
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'checkup.read' AND resource_id = '{id}'"
        )),
        2
    );
}

#[actix_web::test]
async fn dates_far_in_the_past_are_refused_not_crashing() {
    let (app, _) = seeded_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let r = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&a),
            json!({
                "dating_scan": {"scan_date": "-262143-01-01", "ga": "10+0"},
                "gravidity": 1,
                "parity": 0,
            }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), vec!["/dating_scan/scan_date"]);
    let redate = put_if_match(
        &app,
        &format!("/api/v1/pregnancies/{pregnancy}/dating"),
        &a,
        Some("\"v1\""),
        json!({"method": "ultrasound", "scan_date": "-262143-01-01", "ga": "10+0"}),
    )
    .await;
    assert_eq!(redate.status, 422);
    let lmp = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&a),
            json!({"lmp": "1800-01-01", "gravidity": 1, "parity": 0}),
        )
        .await;
    assert_eq!(lmp.error_fields(), vec!["/lmp"]);
    assert_eq!(
        app.request("GET", "/healthz", None, None).await.status,
        200,
        "the server is still up"
    );
}

/// Staff reads that run on a pooled connection and record their audit row afterwards
/// (`audit::read`): each answered read leaves exactly one row, a read out of scope leaves none.
#[actix_web::test]
async fn audited_reads_leave_one_row_each_and_none_out_of_scope() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let created = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today()}),
        )
        .await;
    let checkup = created.body["id"].as_str().unwrap().to_string();
    let reads = [
        ("checkup.read", format!("/api/v1/checkups/{checkup}")),
        (
            "checkup.list",
            format!("/api/v1/pregnancies/{pregnancy}/checkups"),
        ),
        (
            "checkup.read_versions",
            format!("/api/v1/checkups/{checkup}/versions"),
        ),
        (
            "pregnancy.read_charts",
            format!("/api/v1/pregnancies/{pregnancy}/charts"),
        ),
        (
            "pregnancy.read_schedule",
            format!("/api/v1/pregnancies/{pregnancy}/schedule"),
        ),
        ("worklist.read", "/api/v1/worklist/antenatal".to_string()),
        (
            "worklist.read_regrading",
            "/api/v1/worklist/regrading".to_string(),
        ),
        ("handbook.list", "/api/v1/handbooks".to_string()),
    ];
    // Another institution: out of scope for all but the three lists.
    let b = app.token("clinician.b").await;
    crate::audit::assert_audited_reads(&app, &reads, &a, &reads[..5], &b).await;
}

/// Every instant in the answers is RFC 3339 in UTC with exactly milliseconds, whatever precision
/// the database keeps (JavaScript engines disagree on more digits).
#[actix_web::test]
async fn instants_in_answers_carry_milliseconds() {
    fn instants(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s)
                if s.len() > 19 && s.as_bytes()[10] == b'T' && s.as_bytes()[4] == b'-' =>
            {
                out.push(s.clone())
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| instants(i, out)),
            serde_json::Value::Object(map) => map.values().for_each(|i| instants(i, out)),
            _ => {}
        }
    }
    let (app, _) = demo_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;
    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today(), "bp_systolic": 112, "bp_diastolic": 70}),
        )
        .await;
    let checkup = visit.body["id"].as_str().unwrap().to_string();
    let labs = app
        .post(
            &format!("/api/v1/checkups/{checkup}/labs"),
            Some(&a),
            json!({"results": [{"test": "hb", "value": 118}]}),
        )
        .await;
    let admin = app.token("admin").await;
    let answers = [
        visit.body,
        labs.body,
        app.get(&format!("/api/v1/handbooks/{handbook}"), &a)
            .await
            .body,
        app.get("/api/v1/me/handbook", &mother).await.body,
        app.get("/api/v1/me/sessions", &mother).await.body,
        app.get("/api/v1/audit-events?limit=20", &admin).await.body,
        app.get("/api/v1/staff", &admin).await.body,
    ];
    let mut seen = Vec::new();
    for answer in &answers {
        instants(answer, &mut seen);
    }
    assert!(seen.len() >= 10, "{seen:?}");
    for at in &seen {
        let (_, fraction) = at
            .split_once('.')
            .unwrap_or_else(|| panic!("{at} has no milliseconds"));
        assert!(
            fraction.len() == 4
                && fraction.ends_with('Z')
                && fraction[..3].bytes().all(|b| b.is_ascii_digit()),
            "{at} is not written with milliseconds"
        );
    }
}

/// Issue #13: a stored list of heart rates with a value that is not a number was read
/// leniently (the value silently dropped). It is a corrupt record: an error the operator sees.
#[actix_web::test]
async fn a_corrupt_stored_heart_rate_list_is_an_error_not_a_shorter_list() {
    let (app, _) = seeded_app().await;
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let c = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": today(), "fetal_heart_rates": [142, 150]}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    assert_eq!(c.body["fetal_heart_rates"], json!([142, 150]));
    let id = c.body["id"].as_str().unwrap();
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::checkups;
        diesel::update(checkups::table.find(id))
            .set(checkups::fetal_heart_rates.eq("142,1S0"))
            .execute(&mut app.conn())
            .unwrap();
    }
    let read = app.get(&format!("/api/v1/checkups/{id}"), &a).await;
    assert_eq!(read.status, 500, "{}", read.body);
    assert_eq!(read.body["code"], "internal_error");
}
