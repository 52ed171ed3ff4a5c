//! Screening and five-colour grading through HTTP, on every worked case of the specification.

use serde_json::{json, Value};

use crate::handbook::{days_ago, id_number, new_handbook};
use crate::helpers::*;
use mch_handbook::{
    auth::Role,
    org::{
        institutions::{self, NewInstitution},
        rules::InstitutionLevel,
    },
};

const CASES: &str = include_str!("../fixtures/domain/maternal/risk-examples.json");

/// A clinician of a county hospital (secondary care: may grade), username `obstetrician`.
pub fn add_hospital_clinician(app: &TestApp) -> String {
    let hospital = institutions::create(
        &mut app.conn(),
        &NewInstitution {
            name: "安康县人民医院".into(),
            level: InstitutionLevel::CountyHospital,
            region_code: "990101000000".into(),
        },
    )
    .unwrap();
    app.add_staff("obstetrician", &hospital.id, Role::Clinician);
    hospital.id
}

pub async fn pregnancy_at_hospital(app: &TestApp, token: &str, seq: u32) -> String {
    let hb = app
        .post(
            "/api/v1/handbooks",
            Some(token),
            new_handbook(seq, &format!("孕妇{seq}")),
        )
        .await;
    assert_eq!(hb.status, 201, "{}", hb.body);
    let id = hb.body["id"].as_str().unwrap();
    let p = app
        .post(
            &format!("/api/v1/handbooks/{id}/pregnancies"),
            Some(token),
            json!({"lmp": days_ago(84), "gravidity": 1, "parity": 0, "fetal_count": 1}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    p.body["id"].as_str().unwrap().to_string()
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[actix_web::test]
async fn every_worked_case_grades_and_screens_through_the_api() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let doc: Value = serde_json::from_str(CASES).unwrap();
    for (n, case) in doc["cases"].as_array().unwrap().iter().enumerate() {
        let id = case["id"].as_str().unwrap();
        let pregnancy = pregnancy_at_hospital(&app, &token, 10 + n as u32).await;
        let mut facts = case["inputs"].clone();
        let criteria = facts
            .as_object_mut()
            .unwrap()
            .remove("clinician_codes")
            .unwrap_or(json!([]));
        let r = app
            .post(
                &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
                Some(&token),
                json!({"facts": facts, "criteria": criteria}),
            )
            .await;
        assert_eq!(r.status, 201, "{id}: {}", r.body);
        assert_eq!(r.body["decision"]["label"], case["expected_colour"], "{id}");
        assert_eq!(r.body["proposal"]["label"], case["expected_colour"], "{id}");
        assert_eq!(
            r.body["proposal"]["purple"], case["expected_purple"],
            "{id}"
        );
        assert_eq!(
            sorted(&r.body["codes"]),
            sorted(&case["expected_codes"]),
            "{id}"
        );
        let s = app
            .post(
                &format!("/api/v1/pregnancies/{pregnancy}/screenings"),
                Some(&token),
                json!({"facts": facts}),
            )
            .await;
        assert_eq!(s.status, 201, "{id}: {}", s.body);
        assert_eq!(s.body["positive"], case["expected_screen_positive"], "{id}");
        assert_eq!(
            sorted(&s.body["codes"]),
            sorted(&case["expected_screen_codes"]),
            "{id}"
        );
    }
}

#[actix_web::test]
async fn an_override_keeps_proposal_and_decision_and_a_lower_colour_needs_a_reason() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let pregnancy = pregnancy_at_hospital(&app, &token, 2).await;
    let path = format!("/api/v1/pregnancies/{pregnancy}/gradings");
    // Age 41 (orange) with syphilis (purple): purple+orange.
    let facts = json!({"age_years": 41, "syphilis_positive": true});

    let unknown = app
        .post(
            &path,
            Some(&token),
            json!({"facts": facts, "criteria": ["yellow_contracted_pelvis", "green_is_fine"]}),
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.error_fields(), vec!["/criteria/1"]);
    let lower = app
        .post(
            &path,
            Some(&token),
            json!({"facts": facts, "decision": {"base_colour": "yellow", "purple": true}}),
        )
        .await;
    assert_eq!(lower.status, 422);
    assert_eq!(lower.error_fields(), vec!["/override_reason"]);
    let no_purple = app
        .post(
            &path,
            Some(&token),
            json!({"facts": facts, "decision": {"base_colour": "orange", "purple": false}}),
        )
        .await;
    assert_eq!(no_purple.error_fields(), vec!["/override_reason"]);
    assert_eq!(app.count("risk_gradings"), 0, "nothing written");

    let first = app.post(&path, Some(&token), json!({"facts": facts})).await;
    assert_eq!(first.body["decision"]["label"], "purple+orange");
    let overridden = app
        .post(
            &path,
            Some(&token),
            json!({
                "facts": facts,
                "decision": {"base_colour": "yellow", "purple": true},
                "override_reason": "age recorded wrongly; she is 31",
            }),
        )
        .await;
    assert_eq!(overridden.status, 201, "{}", overridden.body);
    assert_eq!(overridden.body["proposal"]["label"], "purple+orange");
    assert_eq!(overridden.body["decision"]["label"], "purple+yellow");
    let history = app.get(&path, &token).await;
    let list = history.body["items"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        list[1]["override_reason"],
        "age recorded wrongly; she is 31"
    );
    let state = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/risk"), &token)
        .await;
    assert_eq!(state.body["current"]["label"], "purple+yellow");
    assert_eq!(
        state.body["current"]["highest_base_colour"], "orange",
        "the highest colour reached is kept"
    );
    // A higher colour than proposed needs no reason.
    let higher = app
        .post(
            &path,
            Some(&token),
            json!({"decision": {"base_colour": "red", "purple": true}, "facts": facts}),
        )
        .await;
    assert_eq!(higher.status, 201);
}

#[actix_web::test]
async fn a_new_lab_result_that_changes_the_proposal_marks_the_pregnancy_for_regrading() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let pregnancy = pregnancy_at_hospital(&app, &token, 3).await;
    // The test women are 36; the facts say 30 so that only the new result matters.
    let graded = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&token),
            json!({"facts": {"age_years": 30}}),
        )
        .await;
    assert_eq!(graded.body["decision"]["label"], "green");
    assert!(graded.body["missing_core"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "hb_g_l"));
    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&token),
            json!({"visit_date": days_ago(0), "bp_systolic": 118, "bp_diastolic": 70}),
        )
        .await;
    let risk = format!("/api/v1/pregnancies/{pregnancy}/risk");
    assert_eq!(
        app.get(&risk, &token).await.body["current"]["needs_regrading"],
        false,
        "a normal BP changes nothing"
    );
    app.post(
        &format!(
            "/api/v1/checkups/{}/labs",
            visit.body["id"].as_str().unwrap()
        ),
        Some(&token),
        json!({"results": [{"test": "hb", "value": 95}]}),
    )
    .await;
    let state = app.get(&risk, &token).await;
    assert_eq!(state.body["current"]["needs_regrading"], true);
    assert_eq!(state.body["proposal"]["label"], "yellow");
    assert_eq!(state.body["input"]["hb_g_l"], 95.0);
    let list = app.get("/api/v1/worklist/regrading", &token).await;
    assert_eq!(list.body["items"][0]["pregnancy_id"], pregnancy.as_str());
    assert_eq!(
        app.get(
            "/api/v1/worklist/regrading",
            &app.token("clinician.b").await
        )
        .await
        .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    app.post(
        &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
        Some(&token),
        json!({"facts": {"age_years": 30}}),
    )
    .await;
    assert_eq!(
        app.get(&risk, &token).await.body["current"]["needs_regrading"],
        false
    );
    assert_eq!(
        app.get(&risk, &token).await.body["current"]["label"],
        "yellow"
    );
}

#[actix_web::test]
async fn primary_care_screens_but_does_not_grade() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(4, "李娟"))
        .await;
    let id = hb.body["id"].as_str().unwrap();
    let p = app
        .post(
            &format!("/api/v1/handbooks/{id}/pregnancies"),
            Some(&a),
            json!({"lmp": days_ago(70), "gravidity": 1, "parity": 0}),
        )
        .await;
    let pregnancy = p.body["id"].as_str().unwrap();
    let screened = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/screenings"),
            Some(&a),
            json!({"facts": {"previous_caesarean": true}, "ticked": ["screen_family_diabetes"]}),
        )
        .await;
    assert_eq!(screened.status, 201, "{}", screened.body);
    assert_eq!(screened.body["positive"], true);
    assert_eq!(screened.body["referral_needed"], true);
    assert_eq!(
        sorted(&screened.body["codes"]),
        vec![
            "screen_age",
            "screen_family_diabetes",
            "screen_previous_caesarean"
        ],
        "she is 36"
    );
    let bad = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/screenings"),
            Some(&a),
            json!({"ticked": ["screen_nonsense"]}),
        )
        .await;
    assert_eq!(bad.error_fields(), vec!["/ticked/0"]);
    let graded = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&a),
            json!({}),
        )
        .await;
    assert_eq!(graded.status, 403);
    // Saying why, so the township clinician knows to refer (issue #14: a bare 403).
    assert_eq!(graded.body["code"], "grading_needs_hospital");
    assert!(graded.body["detail"]
        .as_str()
        .unwrap()
        .contains("secondary"));
    assert_eq!(app.count("risk_gradings"), 0);
    let _ = id_number(4);
}

#[actix_web::test]
async fn an_early_fasting_glucose_is_judged_at_the_week_it_was_taken() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let pregnancy = pregnancy_at_hospital(&app, &token, 5).await;
    // Fasting glucose 5.5 at 12 weeks: normal then (the 5.1 threshold is for 24 weeks on).
    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&token),
            json!({"visit_date": days_ago(0), "weight_kg": 60.0}),
        )
        .await;
    app.post(
        &format!(
            "/api/v1/checkups/{}/labs",
            visit.body["id"].as_str().unwrap()
        ),
        Some(&token),
        json!({"results": [{"test": "fasting_glucose", "value": 5.5}]}),
    )
    .await;
    // Move the pregnancy on to 26 weeks (as if graded later).
    {
        use diesel::prelude::*;
        use mch_handbook::db::schema::pregnancies;
        let edd = mch_handbook::time::china_today() + chrono::Duration::days(280 - 26 * 7);
        diesel::update(pregnancies::table)
            .set(pregnancies::edd.eq(edd))
            .execute(&mut app.conn())
            .unwrap();
    }
    let state = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/risk"), &token)
        .await;
    assert!(
        state.body["input"]["fasting_glucose_mmol_l"].is_null(),
        "{}",
        state.body["input"]
    );
    assert!(!state.body["proposal"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "yellow_diabetes_no_medication"));
    // BMI from the first-visit weight (before 14 weeks) when the pre-pregnancy weight is unknown: 60 kg at 160 cm is 23.4.
    assert_eq!(
        state.body["input"]["bmi"], 20.0,
        "the profile's pre-pregnancy weight comes first"
    );
}

#[actix_web::test]
async fn without_a_pre_pregnancy_weight_the_bmi_comes_from_the_first_visit_before_14_weeks() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let mut hb = new_handbook(6, "孕妇6");
    hb.as_object_mut()
        .unwrap()
        .remove("pre_pregnancy_weight_kg");
    let created = app.post("/api/v1/handbooks", Some(&token), hb).await;
    let id = created.body["id"].as_str().unwrap();
    let p = app
        .post(
            &format!("/api/v1/handbooks/{id}/pregnancies"),
            Some(&token),
            json!({"lmp": days_ago(70), "gravidity": 1, "parity": 0}),
        )
        .await;
    let pregnancy = p.body["id"].as_str().unwrap();
    // 80 kg at 160 cm at 10 weeks: BMI 31.3 — orange.
    app.post(
        &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
        Some(&token),
        json!({"visit_date": days_ago(0), "weight_kg": 80.0}),
    )
    .await;
    let state = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/risk"), &token)
        .await;
    assert_eq!(state.body["input"]["bmi"], 31.25);
    assert!(state.body["proposal"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "orange_bmi_ge28"));
}

/// A colour the database holds that is not one of the five (a bad migration, a hand edit) is an
/// error the operator sees (500, logged with the column), never shown as green.
#[actix_web::test]
async fn an_unknown_stored_colour_is_an_error_not_green() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let pregnancy = pregnancy_at_hospital(&app, &token, 3).await;
    let graded = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&token),
            json!({"facts": {"age_years": 41}}),
        )
        .await;
    assert_eq!(graded.status, 201, "{}", graded.body);
    let risk = format!("/api/v1/pregnancies/{pregnancy}/risk");
    assert_eq!(
        app.get(&risk, &token).await.body["current"]["base_colour"],
        "orange"
    );

    use diesel::RunQueryDsl;
    diesel::sql_query("UPDATE pregnancy_risk SET current_base = 'ornage'")
        .execute(&mut app.conn())
        .unwrap();
    let read = app.get(&risk, &token).await;
    assert_eq!(read.status, 500, "{}", read.body);
    assert_eq!(read.body["code"], "internal_error");
    assert!(
        !read.body.to_string().contains("ornage"),
        "the stored text stays in the log"
    );
    let history = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/gradings"), &token)
        .await;
    assert_eq!(history.status, 200, "the gradings themselves are intact");
}

/// Issue #14: a pregnancy dated by an IVF transfer was not an assisted-reproduction pregnancy
/// to the engine unless a clinician ticked it again.
#[actix_web::test]
async fn an_ivf_dated_pregnancy_is_proposed_yellow_for_assisted_reproduction() {
    let (app, _) = seeded_app().await;
    add_hospital_clinician(&app);
    let token = app.token("obstetrician").await;
    let codes = |body: &serde_json::Value| -> Vec<String> {
        body["proposal"]["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let mut proposals = Vec::new();
    for (seq, dating) in [
        (
            7,
            json!({"ivf": {"transfer_date": days_ago(60), "embryo_age_days": 5}}),
        ),
        (8, json!({"lmp": days_ago(70)})),
    ] {
        let created = app
            .post("/api/v1/handbooks", Some(&token), new_handbook(seq, "孕妇"))
            .await;
        let id = created.body["id"].as_str().unwrap();
        let mut body = json!({"gravidity": 1, "parity": 0});
        body.as_object_mut()
            .unwrap()
            .extend(dating.as_object().unwrap().clone());
        let p = app
            .post(
                &format!("/api/v1/handbooks/{id}/pregnancies"),
                Some(&token),
                body,
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.body);
        let state = app
            .get(
                &format!(
                    "/api/v1/pregnancies/{}/risk",
                    p.body["id"].as_str().unwrap()
                ),
                &token,
            )
            .await;
        assert_eq!(state.status, 200, "{}", state.body);
        proposals.push((
            state.body["input"]["art_pregnancy"].clone(),
            codes(&state.body),
        ));
    }
    assert_eq!(proposals[0].0, true);
    assert!(
        proposals[0].1.iter().any(|c| c == "yellow_art_pregnancy"),
        "{:?}",
        proposals[0]
    );
    assert!(!proposals[1].1.iter().any(|c| c == "yellow_art_pregnancy"));
}
