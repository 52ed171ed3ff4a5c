//! High-risk cases through HTTP: opening, stages, designation, notices, the county registry.

use serde_json::json;

use crate::helpers::*;
use crate::risk::{add_hospital_clinician, pregnancy_at_hospital};
use mch_handbook::org::{
    institutions::{self, NewInstitution},
    rules::InstitutionLevel,
};

#[actix_web::test]
async fn orange_opens_a_case_that_stays_open_when_graded_down_until_closed() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let county_hospital = institutions::create(
        &mut app.conn(),
        &NewInstitution {
            name: "另一县医院".into(),
            level: InstitutionLevel::CountyHospital,
            region_code: "990101000000".into(),
        },
    )
    .unwrap()
    .id;
    let city = app.add_institution(
        "示范市第一人民医院",
        InstitutionLevel::CityHospital,
        "990100000000",
    );
    let critical = app.add_institution(
        "示范市危重孕产妇救治中心",
        InstitutionLevel::CriticalCareCentre,
        "990100000000",
    );
    let t = app.token("obstetrician").await;
    let p = pregnancy_at_hospital(&app, &t, 1).await;
    let grading_path = format!("/api/v1/pregnancies/{p}/gradings");
    let grade =
        |facts: serde_json::Value| app.post(&grading_path, Some(&t), json!({"facts": facts}));

    grade(json!({"age_years": 30})).await;
    assert_eq!(
        app.get(&format!("/api/v1/pregnancies/{p}/case"), &t)
            .await
            .status,
        404,
        "green opens no case"
    );
    grade(json!({"age_years": 41})).await;
    let case = app.get(&format!("/api/v1/pregnancies/{p}/case"), &t).await;
    assert_eq!(case.status, 200);
    assert_eq!(case.body["colour"], "orange");
    assert_eq!(case.body["stage"], "discovered");
    let id = case.body["id"].as_str().unwrap().to_string();
    let stage_path = format!("/api/v1/cases/{id}/stage");
    let case_path = format!("/api/v1/cases/{id}");
    let stage = |s: &str| app.post_current(&case_path, &stage_path, &t, json!({"stage": s}));

    // Stages in order; no skipping.
    let skip = stage("reported").await;
    assert_eq!(skip.status, 409);
    assert_eq!(skip.body["code"], "illegal_transition");
    // An unknown responsible clinician is a 422 naming the field (it was a foreign-key 500).
    let unknown = app
        .post_current(
            &case_path,
            &stage_path,
            &t,
            json!({"stage": "registered", "responsible_clinician_id": "nobody"}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert_eq!(unknown.error_fields(), vec!["/responsible_clinician_id"]);
    // A case change names the version it read, as every correction does (issue #14: cases
    // answered 409 case_changed, and the stage was written by a second, unguarded UPDATE).
    let bare = app
        .post(&stage_path, Some(&t), json!({"stage": "registered"}))
        .await;
    assert_eq!(bare.status, 428);
    let read = app.get(&case_path, &t).await;
    let etag = format!("\"v{}\"", read.body["version"]);
    let registered = app
        .request_if_match(
            "POST",
            &stage_path,
            &t,
            &etag,
            Some(json!({"stage": "registered"})),
        )
        .await;
    assert_eq!(registered.status, 200, "{}", registered.body);
    assert_eq!(registered.body["stage"], "registered");
    assert_eq!(
        registered.header("etag"),
        Some(format!("\"v{}\"", registered.body["version"]))
    );
    let stale = app
        .request_if_match(
            "POST",
            &stage_path,
            &t,
            &etag,
            Some(json!({"stage": "reported"})),
        )
        .await;
    assert_eq!(stale.status, 412);
    assert_eq!(stale.body["code"], "version_mismatch");
    let reported = stage("reported").await;
    assert_eq!(reported.body["report_overdue"], false);
    assert_eq!(stage("managed").await.body["code"], "designation_required");

    // Designation by level: a county hospital is too low for orange.
    let low = app
        .post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/designation"),
            &t,
            json!({"institution_id": county_hospital}),
        )
        .await;
    assert_eq!(low.status, 422);
    assert_eq!(low.error_fields(), vec!["/institution_id"]);
    assert_eq!(low.body["errors"][0]["code"], "designation_level");
    assert_eq!(
        app.post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/designation"),
            &t,
            json!({"institution_id": city})
        )
        .await
        .status,
        200
    );
    assert_eq!(stage("managed").await.status, 200);
    assert_eq!(stage("registered").await.status, 409, "no going back");

    // Re-graded yellow (e.g. facts corrected): the case stays open, colour follows.
    grade(json!({"age_years": 36})).await;
    let case = app.get(&format!("/api/v1/cases/{id}"), &t).await;
    assert_eq!(case.body["colour"], "yellow");
    assert_eq!(case.body["highest_base_colour"], "orange");
    assert_eq!(case.body["stage"], "managed");
    // Red needs a critical-care centre.
    grade(json!({"age_years": 36, "nyha_class": 3})).await;
    let red_low = app
        .post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/designation"),
            &t,
            json!({"institution_id": city}),
        )
        .await;
    assert_eq!(red_low.status, 422);
    assert_eq!(
        app.post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/designation"),
            &t,
            json!({"institution_id": critical})
        )
        .await
        .status,
        200
    );

    let closed = app
        .post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/close"),
            &t,
            json!({"reason": "near_miss", "note": "产后出血抢救成功"}),
        )
        .await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.body["stage"], "closed");
    assert_eq!(closed.body["flagged_for_review"], true);
    assert_eq!(
        app.post_current(
            &case_path,
            &format!("/api/v1/cases/{id}/close"),
            &t,
            json!({"reason": "delivered"})
        )
        .await
        .status,
        409
    );
    let stages: Vec<&str> = closed.body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        vec!["discovered", "registered", "reported", "managed", "closed"]
    );
}

#[actix_web::test]
async fn the_mother_sees_and_acknowledges_the_notice_and_the_county_registry_follows() {
    let app = spawn_app_with(|s| s.demo_mode = true).await;
    seed(&mut app.conn());
    add_hospital_clinician(&app);
    let t = app.token("obstetrician").await;
    let p = pregnancy_at_hospital(&app, &t, 2).await;
    app.post(
        &format!("/api/v1/pregnancies/{p}/gradings"),
        Some(&t),
        json!({"facts": {"age_years": 30, "plt_10e9_l": 25.0}}),
    )
    .await;
    let case = app.get(&format!("/api/v1/pregnancies/{p}/case"), &t).await;
    let id = case.body["id"].as_str().unwrap().to_string();
    assert_eq!(case.body["colour"], "red");

    let notice = app
        .post(&format!("/api/v1/cases/{id}/notices"), Some(&t), json!({}))
        .await;
    assert_eq!(notice.status, 201, "{}", notice.body);
    assert!(notice.body["content"]
        .as_str()
        .unwrap()
        .contains("危重孕产妇救治中心"));
    let notice_id = notice.body["id"].as_str().unwrap().to_string();

    let reviewer = app.token("reviewer").await;
    let reg = app
        .get("/api/v1/registry/cases?unacknowledged=true", &reviewer)
        .await;
    assert_eq!(reg.status, 200, "{}", reg.body);
    assert_eq!(reg.body["counts"]["red"], 1);
    assert_eq!(reg.body["items"][0]["case"]["id"], id.as_str());
    assert_eq!(
        app.get("/api/v1/registry/cases", &app.token("other.reviewer").await)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get("/api/v1/registry/cases?colour=orange", &reviewer)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The deadline passes unreported: overdue.
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::risk_cases;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::hours(1);
        diesel::update(risk_cases::table)
            .set(risk_cases::report_due_at.eq(past))
            .execute(&mut app.conn())
            .unwrap();
    }
    assert_eq!(
        app.get("/api/v1/registry/cases?overdue=true", &reviewer)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let csv = app
        .client
        .get(format!("{}/api/v1/registry/cases?format=csv", app.address))
        .insert_header(("Authorization", format!("Bearer {reviewer}")))
        .send()
        .await;
    let mut csv = csv.unwrap();
    assert_eq!(
        csv.headers().get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = String::from_utf8(csv.body().await.unwrap().to_vec()).unwrap();
    // A byte-order mark so Excel reads the Chinese names as UTF-8.
    let text = text
        .strip_prefix('\u{feff}')
        .expect("starts with a UTF-8 BOM");
    assert!(text.starts_with("case_id,"));
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().nth(1).unwrap().contains("\"red\""));

    // The mother binds her handbook, sees the notice and acknowledges it.
    let handbook = app.get(&format!("/api/v1/pregnancies/{p}"), &t).await.body["handbook_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mother = app.bind_mother(&t, &handbook, "demo-mother-1").await;
    assert_eq!(
        app.get("/api/v1/me/handbook", &mother).await.body["risk_colour"],
        "red"
    );
    let mine = app.get("/api/v1/me/notices", &mother).await;
    assert_eq!(mine.body["items"][0]["id"], notice_id.as_str());
    assert!(mine.body["items"][0]["acknowledged_at"].is_null());
    let stranger = app
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
        app.request(
            "POST",
            &format!("/api/v1/me/notices/{notice_id}/acknowledge"),
            Some(&stranger),
            None
        )
        .await
        .status,
        404
    );
    let ack = app
        .request(
            "POST",
            &format!("/api/v1/me/notices/{notice_id}/acknowledge"),
            Some(&mother),
            None,
        )
        .await;
    assert_eq!(ack.status, 200);
    assert!(ack.body["acknowledged_at"].is_string());
    assert_eq!(
        app.get("/api/v1/registry/cases?unacknowledged=true", &reviewer)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[actix_web::test]
async fn follow_ups_consultations_and_the_timeline() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let critical = app.add_institution(
        "示范市危重孕产妇救治中心",
        InstitutionLevel::CriticalCareCentre,
        "990100000000",
    );
    app.add_staff("expert", &critical, mch_handbook::auth::Role::Clinician);
    let t = app.token("obstetrician").await;
    let p = pregnancy_at_hospital(&app, &t, 3).await;
    app.post(
        &format!("/api/v1/pregnancies/{p}/gradings"),
        Some(&t),
        json!({"facts": {"age_years": 41}}),
    )
    .await;
    let id = app
        .get(&format!("/api/v1/pregnancies/{p}/case"), &t)
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let today = mch_handbook::time::china_today();
    let fu = app
        .post(
            &format!("/api/v1/cases/{id}/followups"),
            Some(&t),
            json!({
                "followed_on": (today - chrono::Duration::days(10)).to_string(),
                "findings": "BP 135/85",
                "next_due": (today - chrono::Duration::days(3)).to_string(),
            }),
        )
        .await;
    assert_eq!(fu.status, 201, "{}", fu.body);
    let case = app.get(&format!("/api/v1/cases/{id}"), &t).await;
    assert_eq!(case.body["followup_overdue"], true);
    assert_eq!(case.body["overdue"], true);
    let bad = app
        .post(
            &format!("/api/v1/cases/{id}/followups"),
            Some(&t),
            json!({
                "followed_on": today.to_string(),
                "findings": "ok",
                "next_due": today.to_string(),
            }),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["/next_due"]);
    app.post(
        &format!("/api/v1/cases/{id}/followups"),
        Some(&t),
        json!({
            "followed_on": today.to_string(),
            "findings": "ok",
            "next_due": (today + chrono::Duration::days(7)).to_string(),
        }),
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/v1/cases/{id}"), &t).await.body["followup_overdue"],
        false
    );

    let expert = app.token("expert").await;
    let handbook = case.body["handbook_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &expert)
            .await
            .status,
        404
    );
    let c = app
        .post(
            &format!("/api/v1/cases/{id}/consultations"),
            Some(&t),
            json!({"to_institution_id": critical, "question": "分娩时机？"}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let cid = c.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &expert)
            .await
            .status,
        200,
        "the consulted experts may read her record"
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/consultations/{cid}/answer"),
            Some(&t),
            json!({"answer": "me"})
        )
        .await
        .status,
        403
    );
    let answered = app
        .post(
            &format!("/api/v1/consultations/{cid}/answer"),
            Some(&expert),
            json!({"answer": "37周计划分娩"}),
        )
        .await;
    assert_eq!(answered.status, 200);
    assert_eq!(
        app.post(
            &format!("/api/v1/consultations/{cid}/answer"),
            Some(&expert),
            json!({"answer": "again"})
        )
        .await
        .status,
        409
    );

    let timeline = app.get(&format!("/api/v1/cases/{id}/timeline"), &t).await;
    assert_eq!(timeline.status, 200);
    let kinds: Vec<&str> = timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["grading", "case_stage", "followup", "consultation"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(timeline.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["summary"].as_str().unwrap().contains("37周计划分娩")));
}

#[actix_web::test]
async fn a_county_sets_its_own_reporting_deadlines() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let reviewer = app.token("reviewer").await;
    let path = "/api/v1/counties/990101/settings";
    assert_eq!(
        app.get(path, &reviewer).await.body,
        json!({"report_hours_red": 24, "report_hours_orange_purple": 72,
            "baseline_anaemia_pct": null, "baseline_stunting_pct": null})
    );
    let put = |token: String, body: serde_json::Value| {
        let app = &app;
        async move {
            let mut res = app
                .client
                .put(format!("{}{path}", app.address))
                .insert_header(("Authorization", format!("Bearer {token}")))
                .send_json(&body)
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    assert_eq!(
        put(
            reviewer.clone(),
            json!({"report_hours_red": 0, "report_hours_orange_purple": 48})
        )
        .await
        .0,
        422
    );
    // A replacement names every setting: one left out is refused, not cleared (issue #14).
    let partial = put(
        reviewer.clone(),
        json!({"report_hours_red": 12, "report_hours_orange_purple": 48}),
    )
    .await;
    assert_eq!(partial.0, 422);
    let fields: Vec<&str> = partial.1["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["/baseline_anaemia_pct", "/baseline_stunting_pct"]);
    assert_eq!(
        put(
            reviewer.clone(),
            json!({"report_hours_red": 12, "report_hours_orange_purple": 48,
                   "baseline_anaemia_pct": null, "baseline_stunting_pct": 9.8})
        )
        .await
        .0,
        200
    );
    // A change of some settings keeps the others.
    let patched = app
        .request_if_match(
            "PATCH",
            path,
            &reviewer,
            "*",
            Some(json!({"baseline_anaemia_pct": 24.5, "baseline_stunting_pct": null})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        app.get(path, &reviewer).await.body,
        json!({"report_hours_red": 12, "report_hours_orange_purple": 48,
            "baseline_anaemia_pct": 24.5, "baseline_stunting_pct": null})
    );
    let bad = app
        .request_if_match(
            "PATCH",
            path,
            &reviewer,
            "*",
            Some(json!({"report_hours_red": 0})),
        )
        .await;
    assert_eq!(bad.error_fields(), ["/report_hours_red"]);
    assert_eq!(
        put(
            app.token("other.reviewer").await,
            json!({"report_hours_red": 1, "report_hours_orange_purple": 1})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        put(
            app.token("clinician.a").await,
            json!({"report_hours_red": 1, "report_hours_orange_purple": 1})
        )
        .await
        .0,
        403
    );

    let t = app.token("obstetrician").await;
    let p = pregnancy_at_hospital(&app, &t, 4).await;
    app.post(
        &format!("/api/v1/pregnancies/{p}/gradings"),
        Some(&t),
        json!({"facts": {"age_years": 30, "plt_10e9_l": 20.0}}),
    )
    .await;
    let case = app.get(&format!("/api/v1/pregnancies/{p}/case"), &t).await;
    let due =
        chrono::DateTime::parse_from_rfc3339(case.body["report_due_at"].as_str().unwrap()).unwrap();
    let hours = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!(
        (11.0..=12.0).contains(&hours),
        "red case due in the county's 12 hours, got {hours}"
    );
}

#[actix_web::test]
async fn declining_a_referral_keeps_the_access_a_consultation_gives() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let critical = app.add_institution(
        "示范市危重孕产妇救治中心",
        InstitutionLevel::CriticalCareCentre,
        "990100000000",
    );
    app.add_staff("expert", &critical, mch_handbook::auth::Role::Clinician);
    let t = app.token("obstetrician").await;
    let p = pregnancy_at_hospital(&app, &t, 7).await;
    app.post(
        &format!("/api/v1/pregnancies/{p}/gradings"),
        Some(&t),
        json!({"facts": {"age_years": 41}}),
    )
    .await;
    let case = app.get(&format!("/api/v1/pregnancies/{p}/case"), &t).await;
    let (id, handbook) = (
        case.body["id"].as_str().unwrap().to_string(),
        case.body["handbook_id"].as_str().unwrap().to_string(),
    );
    let consult = app
        .post(
            &format!("/api/v1/cases/{id}/consultations"),
            Some(&t),
            json!({"to_institution_id": critical, "question": "分娩时机？"}),
        )
        .await;
    let consultation = consult.body["id"].as_str().unwrap().to_string();
    let referral = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/referrals"),
            Some(&t),
            json!({
                "to_institution_id": critical,
                "reason": "转诊",
                "urgency": "routine",
                "direction": "up",
                "clinical_summary": "x",
            }),
        )
        .await;
    let rid = referral.body["id"].as_str().unwrap().to_string();
    let expert = app.token("expert").await;
    let declined = app
        .post(
            &format!("/api/v1/referrals/{rid}/status"),
            Some(&expert),
            json!({"status": "declined", "reason": "床位已满"}),
        )
        .await;
    assert_eq!(declined.status, 200);
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &expert)
            .await
            .status,
        200,
        "the consultation still gives access"
    );
    assert_eq!(
        app.post(
            &format!("/api/v1/consultations/{consultation}/answer"),
            Some(&expert),
            json!({"answer": "37周"})
        )
        .await
        .status,
        200
    );
}
