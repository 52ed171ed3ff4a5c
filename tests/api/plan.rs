//! The visit plan, the clinic's work list, chart series and children.

use serde_json::json;

use crate::handbook::{days_ago, demo_app, id_number_born, new_handbook, registered_pregnancy};
use crate::helpers::*;

#[actix_web::test]
async fn the_plan_marks_visits_and_the_work_list_shows_who_is_due_or_overdue() {
    let (app, _) = seeded_app().await;
    // 20+0 weeks today; no visit yet: visit 1 and 2 windows passed, visit 3 (20–24+6) is open.
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let plan = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/schedule"), &a)
        .await;
    assert_eq!(plan.status, 200);
    let visits = plan.body["items"].as_array().unwrap();
    assert_eq!(visits.len(), 11);
    assert_eq!(visits[0]["status"], "missed");
    assert_eq!(visits[2]["status"], "due");
    assert_eq!(visits[2]["date_from"], days_ago(0));
    assert_eq!(visits[3]["status"], "upcoming");

    let list = app.get("/api/v1/worklist/antenatal", &a).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["status"], "overdue",
        "visit 2 (14–19+6) was missed"
    );
    assert_eq!(items[0]["visit"]["number"], 2);
    assert_eq!(items[0]["full_name"], "李娟");

    // A visit recorded in the window of visit 2 (a week ago at 19+0): now she is due, not overdue.
    let r = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": days_ago(7)}),
        )
        .await;
    assert_eq!(r.status, 201);
    let list = app.get("/api/v1/worklist/antenatal", &a).await;
    assert_eq!(list.body["items"][0]["status"], "due_this_week");
    assert_eq!(list.body["items"][0]["visit"]["number"], 3);
    assert_eq!(
        app.get("/api/v1/worklist/antenatal?status=overdue", &a)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Filter by where she lives; other clinics and counties see nothing.
    assert_eq!(
        app.get("/api/v1/worklist/antenatal?region=990101001000", &a)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/api/v1/worklist/antenatal?region=990101002000", &a)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get(
            "/api/v1/worklist/antenatal",
            &app.token("clinician.b").await
        )
        .await
        .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/api/v1/worklist/antenatal", &app.token("reviewer").await)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get(
            "/api/v1/worklist/antenatal",
            &app.token("other.reviewer").await
        )
        .await
        .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[actix_web::test]
async fn chart_series_come_ready_to_draw_for_staff_and_the_mother() {
    let (app, _) = demo_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let c1 = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": days_ago(7),
                "weight_kg": 54.0,
                "bp_systolic": 118,
                "bp_diastolic": 72,
                "fundal_height_cm": 19.0,
            }),
        )
        .await;
    let c2 = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({
                "visit_date": days_ago(0),
                "weight_kg": 54.6,
                "bp_systolic": 142,
                "bp_diastolic": 88,
                "fundal_height_cm": 20.0,
            }),
        )
        .await;
    let scan = app
        .post(
            &format!(
                "/api/v1/checkups/{}/ultrasounds",
                c2.body["id"].as_str().unwrap()
            ),
            Some(&a),
            json!({"bpd_mm": 47.0, "hc_mm": 175.0,
    "ac_mm": 150.0, "fl_mm": 32.0, "efw_g": 330.0, "placenta_position": "posterior"}),
        )
        .await;
    assert_eq!(scan.status, 201, "{}", scan.body);
    assert_eq!(c1.status, 201);

    let charts = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/charts"), &a)
        .await;
    assert_eq!(charts.status, 200, "{}", charts.body);
    let w = &charts.body["weight_gain"];
    assert_eq!(w["bmi_category"], "normal");
    assert_eq!(w["band"].as_array().unwrap().len(), 41);
    assert_eq!(
        w["band"][20],
        json!({"week": 20.0, "lower": 1.56, "upper": 4.88})
    );
    assert_eq!(
        w["points"][1],
        json!({"week": 20.0, "ga": "20+0", "gain_kg": 3.4, "status": "within"})
    );
    assert_eq!(charts.body["blood_pressure"][1]["flag"], "hypertensive");
    assert_eq!(charts.body["fundal_height"][0]["value"], 19.0);
    assert_eq!(charts.body["fetal_biometry"][0]["efw_g"], 330.0);

    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;
    let mine = app
        .get(
            &format!("/api/v1/me/pregnancies/{pregnancy}/charts"),
            &mother,
        )
        .await;
    assert_eq!(mine.body, charts.body);
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
        app.get(
            &format!("/api/v1/me/pregnancies/{pregnancy}/charts"),
            &other
        )
        .await
        .status,
        404
    );
}

#[actix_web::test]
async fn children_are_registered_measured_and_seen_by_the_mother() {
    let (app, _) = demo_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(5, "赵敏"))
        .await;
    let handbook = hb.body["id"].as_str().unwrap();
    let born = (chrono::Utc::now() - chrono::Duration::days(200)).to_rfc3339();
    for (ga, field_code) in [("19+6", "gestational_age"), ("39 weeks", "gestational_age")] {
        let refused = app
            .post(
                &format!("/api/v1/handbooks/{handbook}/children"),
                Some(&a),
                json!({"sex": "male", "born_at": born, "ga_at_birth": ga}),
            )
            .await;
        assert_eq!(refused.status, 422, "{ga}: {}", refused.body);
        assert_eq!(refused.error_fields(), vec!["/ga_at_birth"]);
        assert_eq!(refused.body["errors"][0]["code"], field_code);
    }
    let child = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/children"),
            Some(&a),
            json!({
                "name": "王小宝",
                "sex": "male",
                "born_at": born,
                "birth_weight_g": 3300,
                "ga_at_birth": "39+2",
            }),
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    let id = child.body["id"].as_str().unwrap();

    let village = app.token("village.a").await;
    let m = app
        .post(
            &format!("/api/v1/children/{id}/growth"),
            Some(&village),
            json!({
                "measured_on": days_ago(1),
                "weight_kg": 7.9,
                "length_cm": 68.5,
                "head_circumference_cm": 43.0,
            }),
        )
        .await;
    assert_eq!(m.status, 201, "{}", m.body);
    assert_eq!(m.body["growth"][0]["age_months"], 6);
    assert_eq!(
        m.body["growth"][0]["measured_lying"], true,
        "recumbent before 24 months"
    );

    let bad = app
        .post(
            &format!("/api/v1/children/{id}/growth"),
            Some(&village),
            json!({"measured_on": days_ago(300), "weight_kg": 0}),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), vec!["/weight_kg"]);
    let before_birth = app
        .post(
            &format!("/api/v1/children/{id}/growth"),
            Some(&village),
            json!({"measured_on": days_ago(300), "weight_kg": 3.0}),
        )
        .await;
    assert_eq!(before_birth.error_fields(), vec!["/measured_on"]);
    assert_eq!(app.count("child_growth"), 1);

    let mother = app.bind_mother(&a, handbook, "demo-mother-1").await;
    let home = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(home.body["children"][0]["name"], "王小宝");
    let mine = app.get(&format!("/api/v1/me/children/{id}"), &mother).await;
    assert_eq!(mine.body["growth"][0]["weight_kg"], 7.9);
    assert_eq!(
        app.get(
            &format!("/api/v1/children/{id}"),
            &app.token("clinician.c").await
        )
        .await
        .status,
        404
    );
}

/// A clinic with more pregnancies than the work list reads at a time (200): the women due behind
/// the first 200 are found, and paging walks through them once each, in order.
#[actix_web::test]
async fn the_work_list_finds_the_due_behind_many_that_are_not() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let mut overdue = Vec::new();
    for k in 0..225u32 {
        let mut body = new_handbook(1, &format!("孕妇{k}"));
        body["id_number"] = json!(id_number_born(k));
        let hb = app.post("/api/v1/handbooks", Some(&a), body).await;
        assert_eq!(hb.status, 201, "{}", hb.body);
        // The first 210 are 3+0 weeks along: their first visit (from 6+0) is weeks away. The
        // last 15 are at 20+0 without a visit: overdue.
        let lmp = if k < 210 { days_ago(21) } else { days_ago(140) };
        let p = app
            .post(
                &format!(
                    "/api/v1/handbooks/{}/pregnancies",
                    hb.body["id"].as_str().unwrap()
                ),
                Some(&a),
                json!({"lmp": lmp, "gravidity": 1, "parity": 0, "fetal_count": 1}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.body);
        if k >= 210 {
            overdue.push(p.body["id"].as_str().unwrap().to_string());
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/v1/worklist/antenatal?limit=6".to_string();
    loop {
        let page = app.get(&path, &a).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["status"], "overdue");
            seen.push(item["pregnancy_id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/worklist/antenatal?limit=6&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, overdue);
}

/// Issue #14: a region filter trimmed the code's zeros, so township 010 also matched 011–019
/// (and Chongqing, 500000000000, matched provinces 50–59). Codes ending in 0 now match only
/// their own region, in the work list and in the institution list.
#[actix_web::test]
async fn region_filters_match_only_their_own_region_when_the_code_ends_in_zero() {
    let (app, _) = seeded_app().await;
    let mut conn = app.conn();
    for (code, name) in [("990101010000", "十里镇"), ("990101011000", "十一里镇")] {
        mch_handbook::org::regions::create(
            &mut conn,
            &mch_handbook::org::regions::NewRegion {
                code: code.into(),
                name: name.into(),
                elevation_m: None,
            },
        )
        .unwrap();
    }
    let a = app.token("clinician.a").await;
    for (seq, region) in [(30, "990101010000"), (31, "990101011000")] {
        let mut woman = new_handbook(seq, "李娟");
        woman["residence_region_code"] = json!(region);
        let hb = app.post("/api/v1/handbooks", Some(&a), woman).await;
        assert_eq!(hb.status, 201, "{}", hb.body);
        let p = app
            .post(
                &format!(
                    "/api/v1/handbooks/{}/pregnancies",
                    hb.body["id"].as_str().unwrap()
                ),
                Some(&a),
                json!({"lmp": days_ago(140), "gravidity": 1, "parity": 0, "fetal_count": 1}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.body);
    }
    let list = app
        .get("/api/v1/worklist/antenatal?region=990101010000", &a)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        list.body["items"][0]["residence_region_code"],
        "990101010000"
    );

    for (name, region) in [
        ("十里镇卫生院", "990101010000"),
        ("十一里镇卫生院", "990101011000"),
    ] {
        app.add_institution(
            name,
            mch_handbook::org::rules::InstitutionLevel::TownshipCentre,
            region,
        );
    }
    let within = app
        .get("/api/v1/institutions?within=990101010000", &a)
        .await;
    assert_eq!(within.status, 200, "{}", within.body);
    let names: Vec<&str> = within.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["十里镇卫生院"]);
    assert_eq!(
        app.get("/api/v1/worklist/antenatal?region=99010101", &a)
            .await
            .error_fields(),
        ["/region"]
    );
}

/// Issue #14: a woman seen today stayed `overdue` for the visit she had missed until the next
/// window opened. Seen since, she is not overdue: the list shows what she needs next.
#[actix_web::test]
async fn a_woman_seen_after_a_missed_visit_is_no_longer_overdue() {
    let (app, _) = seeded_app().await;
    // 20+0 today, visits 1 and 2 missed.
    let (_, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let overdue = app
        .get("/api/v1/worklist/antenatal?status=overdue", &a)
        .await;
    assert_eq!(overdue.body["items"].as_array().unwrap().len(), 1);
    let seen = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&a),
            json!({"visit_date": days_ago(0)}),
        )
        .await;
    assert_eq!(seen.status, 201, "{}", seen.body);
    let overdue = app
        .get("/api/v1/worklist/antenatal?status=overdue", &a)
        .await;
    assert_eq!(
        overdue.body["items"].as_array().unwrap().len(),
        0,
        "{}",
        overdue.body
    );
    // Today's visit is visit 3 (20–24+6); visit 4 opens at 25 weeks, not this week.
    let all = app.get("/api/v1/worklist/antenatal", &a).await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        0,
        "{}",
        all.body
    );
}
