//! Referrals: the state machine, access for the receiving institution and no one else, turnaround.

use serde_json::{json, Value};

use crate::handbook::new_handbook;
use crate::helpers::*;
use crate::risk::add_hospital_clinician;

#[actix_web::test]
async fn a_referral_gives_the_receiving_clinic_access_and_follows_its_states() {
    let (app, world) = seeded_app().await;
    let hospital = add_hospital_clinician(&app);
    let a = app.token("clinician.a").await;
    let h = app.token("obstetrician").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(1, "李娟"))
        .await;
    let handbook = hb.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &h)
            .await
            .status,
        404,
        "not yet"
    );

    let body = json!({
        "to_institution_id": hospital,
        "reason": "橙色风险评估",
        "urgency": "urgent",
        "direction": "up",
        "clinical_summary": "BP 150/95",
    });
    let self_ref = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/referrals"),
            Some(&a),
            json!({
                "to_institution_id": world.inst_a,
                "reason": "x",
                "urgency": "routine",
                "direction": "up",
                "clinical_summary": "x",
            }),
        )
        .await;
    assert_eq!(self_ref.error_fields(), vec!["/to_institution_id"]);
    let sent = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/referrals"),
            Some(&a),
            body.clone(),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["status"], "sent");
    let id = sent.body["id"].as_str().unwrap().to_string();
    let step = |status: &'static str, token: String| {
        let path = format!("/api/v1/referrals/{id}/status");
        let app = &app;
        async move {
            app.post(
                &path,
                Some(&token),
                json!({"status": status, "reason": "床位已满"}),
            )
            .await
        }
    };

    // The receiving hospital now sees her record; another clinic does not.
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &h)
            .await
            .status,
        200
    );
    let b = app.token("clinician.b").await;
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &b)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/referrals/{id}"), &b).await.status,
        404
    );

    // Only the receiver moves it, and only forward.
    assert_eq!(step("accepted", a.clone()).await.status, 403);
    let illegal = step("arrived", h.clone()).await;
    assert_eq!(illegal.status, 409);
    assert_eq!(illegal.body["code"], "illegal_transition");
    assert_eq!(step("accepted", h.clone()).await.body["status"], "accepted");
    assert_eq!(
        step("declined", h.clone()).await.status,
        409,
        "accepted cannot be declined"
    );
    assert_eq!(step("arrived", h.clone()).await.body["status"], "arrived");
    let done = step("completed", h.clone()).await;
    assert_eq!(done.body["status"], "completed");
    assert!(done.body["accepted_at"].is_string() && done.body["arrived_at"].is_string());
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &h)
            .await
            .status,
        200,
        "after arrival, for good"
    );

    // A declined referral ends the access it gave.
    let other = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(2, "王芳"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lmp = (mch_handbook::time::china_today() - chrono::Duration::days(140)).to_string();
    let p = app
        .post(
            &format!("/api/v1/handbooks/{other}/pregnancies"),
            Some(&a),
            json!({"lmp": lmp, "gravidity": 1, "parity": 0}),
        )
        .await;
    assert_eq!(p.status, 201);
    let second = app
        .post(
            &format!("/api/v1/handbooks/{other}/referrals"),
            Some(&a),
            body,
        )
        .await;
    let second_id = second.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{other}"), &h)
            .await
            .status,
        200
    );
    let no_reason = app
        .post(
            &format!("/api/v1/referrals/{second_id}/status"),
            Some(&h),
            json!({"status": "declined"}),
        )
        .await;
    assert_eq!(no_reason.error_fields(), vec!["/reason"]);
    let declined = app
        .post(
            &format!("/api/v1/referrals/{second_id}/status"),
            Some(&h),
            json!({"status": "declined", "reason": "床位已满"}),
        )
        .await;
    assert_eq!(declined.body["decline_reason"], "床位已满");
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{other}"), &h)
            .await
            .status,
        404
    );
    // Nor does the declining hospital read her clinical summary any more (issue #14); the
    // sender still does.
    assert_eq!(declined.body["clinical_summary"], Value::Null);
    let later = app.get(&format!("/api/v1/referrals/{second_id}"), &h).await;
    assert_eq!(later.status, 200);
    assert_eq!(later.body["status"], "declined");
    assert_eq!(later.body["clinical_summary"], Value::Null);
    let sender = app.get(&format!("/api/v1/referrals/{second_id}"), &a).await;
    assert!(sender.body["clinical_summary"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    // Lists follow the ended grant too.
    let worklist = app.get("/api/v1/worklist/antenatal", &h).await;
    assert!(!worklist.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["handbook_id"] == other.as_str()));

    // Turnaround for the receiving hospital this month.
    let month = mch_handbook::time::china_month(chrono::Utc::now());
    let figures = app
        .get(&format!("/api/v1/referrals/turnaround?month={month}"), &h)
        .await;
    assert_eq!(figures.status, 200, "{}", figures.body);
    assert_eq!(figures.body["items"][0]["received"], 2);
    assert_eq!(figures.body["items"][0]["accepted"], 1);
    assert_eq!(figures.body["items"][0]["declined"], 1);
    assert!(
        figures.body["items"][0]["median_hours_to_accept"]
            .as_f64()
            .unwrap()
            >= 0.0
    );
    let county = app
        .get(
            &format!("/api/v1/referrals/turnaround?month={month}"),
            &app.token("reviewer").await,
        )
        .await;
    assert_eq!(county.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/referrals/turnaround?month=2026-13", &h)
            .await
            .status,
        422
    );
}
