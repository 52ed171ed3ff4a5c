//! The village doctor's month through HTTP: the village clinic sees the children of its village,
//! the work list orders them for a shortage and brings follow-ups forward, and the monthly report
//! goes village → township → county with logic checks, the late flag, review, and a frozen
//! snapshot that shows later corrections as a difference.

use chrono::{Datelike, Duration, NaiveDate};
use diesel::prelude::*;
use mch_handbook::{
    auth::Role,
    db::schema::*,
    org::{
        institutions::{self, NewInstitution},
        regions::{self, NewRegion},
        rules::InstitutionLevel,
    },
    time::china_today,
};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::nutrition_setup::*;

const VILLAGE: &str = "990101001001";

/// The village 东湖村.
fn village(app: &TestApp) {
    regions::create(
        &mut app.conn(),
        &NewRegion {
            code: VILLAGE.into(),
            name: "东湖村".into(),
            elevation_m: None,
        },
    )
    .unwrap();
}

/// 东湖村's clinic and its village doctor `village.dh`; returns the clinic's id.
fn village_clinic(app: &TestApp) -> String {
    let mut conn = app.conn();
    let id = institutions::create(
        &mut conn,
        &NewInstitution {
            name: "东湖村卫生室".into(),
            level: InstitutionLevel::VillageClinic,
            region_code: VILLAGE.into(),
        },
    )
    .unwrap()
    .id;
    drop(conn);
    app.add_staff("village.dh", &id, Role::VillageDoctor);
    id
}

/// A report submitted (`{"month": …}`, a `reason` for a new version); the answer.
async fn submit(app: &TestApp, token: &str, body: Value) -> Reply {
    app.post("/api/v1/nutrition/reports", Some(token), body)
        .await
}

/// The caller's draft report for `month`.
async fn draft(app: &TestApp, token: &str, month: &str) -> Reply {
    app.get(
        &format!("/api/v1/nutrition/reports/draft?month={month}"),
        token,
    )
    .await
}

/// A county's review of a report (`{"decision": …}`); the answer.
async fn review(app: &TestApp, token: &str, report: &str, body: Value) -> Reply {
    app.post(
        &format!("/api/v1/nutrition/reports/{report}/review"),
        Some(token),
        body,
    )
    .await
}

fn ids(list: &Value) -> Vec<String> {
    list["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["child_id"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn the_work_list_shows_the_village_in_shortage_order_and_brings_follow_ups_forward() {
    let (app, _) = seeded_app().await;
    let today = china_today();
    village(&app);
    // Families registered before the clinic existed, and one after.
    let young = child_born(&app, 1, VILLAGE, today - Duration::days(300)).await;
    let poor = child_born(&app, 2, VILLAGE, today - Duration::days(800)).await;
    let elsewhere = child_born(&app, 3, "990101001000", today - Duration::days(400)).await;
    village_clinic(&app);
    let middle = child_born(&app, 4, VILLAGE, today - Duration::days(500)).await;
    let v = app.token("village.dh").await;

    let list = app.get("/api/v1/nutrition/worklist", &v).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let mut on_list = ids(&list.body);
    on_list.sort();
    let mut expected = vec![young.clone(), poor.clone(), middle.clone()];
    expected.sort();
    assert_eq!(
        on_list, expected,
        "the children of the village, not the township's"
    );
    assert_eq!(
        app.get(&format!("/api/v1/children/{elsewhere}/nutrition"), &v)
            .await
            .status,
        404
    );
    // The residence grant opens the child's records, not the mother's antenatal handbook.
    let handbook: String = children::table
        .find(&young)
        .select(children::handbook_id)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(
        app.get(&format!("/api/v1/children/{young}/nutrition"), &v)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &v)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}/children"), &v)
            .await
            .status,
        200
    );
    // Without consent nobody is due a pack.
    assert!(list.body["children"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["pack_due"] == false && c["state"] == "eligible"));

    for kid in [&young, &poor, &middle] {
        consent_on(&app, &v, kid, &today.to_string()).await;
    }
    let flags = put_flags(
        &app,
        &v,
        &poor,
        json!({
            "registered_poor": true,
            "relocation_site": false,
            "needs_medical_clearance": false,
        }),
    )
    .await;
    assert_eq!(flags.status, 200, "{}", flags.body);
    let bad = put_flags(
        &app,
        &v,
        &poor,
        json!({
            "registered_poor": true,
            "relocation_site": false,
            "needs_medical_clearance": false,
            "child_id": "x",
        }),
    )
    .await;
    assert_eq!(bad.status, 422);
    receive(&app, &v, "L1", &days_ahead(200), 60).await;

    // Packs for two of three: the poor household first, then the younger under-2, not the middle.
    let list = app.get("/api/v1/nutrition/worklist", &v).await.body;
    assert_eq!(
        (list["stock"].as_i64(), list["needed"].as_i64()),
        (Some(60), Some(90))
    );
    assert_eq!(ids(&list), [poor.clone(), young.clone(), middle.clone()]);
    let covered: Vec<&Value> = list["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["covered_by_stock"])
        .collect();
    assert_eq!(covered, [&json!(true), &json!(true), &json!(false)]);
    assert_eq!(list["children"][0]["tier"], "priority_group");
    assert_eq!(list["children"][2]["tier"], "under24_months");

    // A moderately anaemic child's next follow-up is due within 14 days, not a month.
    let checked = today - Duration::days(3);
    let r = follow_up(
        &app,
        &v,
        &young,
        json!({"followed_on": checked.to_string(), "hb_g_l": 85, "counselled": true}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let list = app.get("/api/v1/nutrition/worklist", &v).await.body;
    let y = list["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["child_id"] == young.as_str())
        .unwrap()
        .clone();
    assert_eq!(y["extra_followup"], json!(["anaemia"]));
    assert_eq!(
        y["next_followup"],
        (checked + Duration::days(14)).to_string()
    );
    assert_eq!(y["followup_overdue"], false);
    // The others have had no follow-up yet: due today.
    let p = &list["children"][0];
    assert_eq!(p["next_followup"], today.to_string());

    // The clinic's doctor may not read the township's own records; a clinician may not set flags
    // for a child out of scope.
    let c = app.token("clinician.c").await;
    let r = put_flags(
        &app,
        &c,
        &poor,
        json!({
            "registered_poor": false,
            "relocation_site": false,
            "needs_medical_clearance": false,
        }),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.request("GET", "/api/v1/nutrition/worklist", None, None)
            .await
            .status,
        401
    );
    let reviewer = app.token("reviewer").await;
    assert_eq!(
        app.get("/api/v1/nutrition/worklist", &reviewer)
            .await
            .status,
        403
    );
}

/// The previous calendar month (China time): `(YYYY-MM, first day, last day)`.
fn last_month() -> (String, NaiveDate, NaiveDate) {
    let today = china_today();
    let this_first = today.with_day(1).unwrap();
    let last = this_first.pred_opt().unwrap();
    let first = last.with_day(1).unwrap();
    (
        format!("{:04}-{:02}", first.year(), first.month()),
        first,
        last,
    )
}

#[actix_web::test]
async fn the_monthly_report_goes_from_village_to_county_and_stays_frozen() {
    let (app, world) = seeded_app().await;
    village(&app);
    let clinic = village_clinic(&app);
    let (month, first, last) = last_month();
    let day = |n: i64| first + Duration::days(n - 1);
    // Five children of the village, hand-counted for last month:
    // k1 ~9 m: consent, 30 sachets on the 3rd (none left from before), card on the 24th with 9
    //    left → 21 in 21 days = 7/week (effective), counselled, Hb 105 (anaemic), 72 cm.
    // k2 ~12 m: same issue, 27 left on the 24th → 1/week (not effective), not counselled, Hb 120,
    //    66 cm (LAZ < −2, stunted).
    // k3 ~6.5 m: consent only (enrolled, not issued). k4 39 m: aged out (not a target child).
    // k5 ~13 m: no consent (a target child, not enrolled).
    let k1 = child_born(&app, 1, VILLAGE, first - Duration::days(270)).await;
    let k2 = child_born(&app, 2, VILLAGE, first - Duration::days(370)).await;
    let k3 = child_born(&app, 3, VILLAGE, first - Duration::days(200)).await;
    let _k4 = child_born(&app, 4, VILLAGE, first - Duration::days(1200)).await;
    let k5 = child_born(&app, 5, VILLAGE, first - Duration::days(400)).await;
    let v = app.token("village.dh").await;
    for kid in [&k1, &k2, &k3] {
        consent_on(&app, &v, kid, &day(3).to_string()).await;
    }
    for kid in [&k1, &k2] {
        past_issue(&app, &clinic, kid, day(3), 0, true);
    }
    let c1 = follow_up(
        &app,
        &v,
        &k1,
        json!({"followed_on": day(24).to_string(), "hb_g_l": 105, "length_cm": 72.0,
        "remaining_at_home": 9, "counselled": true}),
    )
    .await;
    assert_eq!(c1.status, 201, "{}", c1.body);
    let c2 = follow_up(
        &app,
        &v,
        &k2,
        json!({"followed_on": day(24).to_string(), "hb_g_l": 120, "length_cm": 66.0,
        "remaining_at_home": 27, "counselled": false}),
    )
    .await;
    assert_eq!(c2.status, 201, "{}", c2.body);
    let reviewer = app.token("reviewer").await;
    let settings = app
        .request(
            "PUT",
            "/api/v1/counties/990101/settings",
            Some(&reviewer),
            Some(
                json!({"report_hours_red": 24, "report_hours_orange_purple": 72,
                "baseline_anaemia_pct": 60.0, "baseline_stunting_pct": 40.0}),
            ),
        )
        .await;
    assert_eq!(settings.status, 200, "{}", settings.body);

    let hand_counted = json!({
        "target_children": 4, "enrolled": 3, "active": 2, "issued_children": 2,
        "sachets_issued": 60, "stock_out_sachets": 60, "followed_up": 2, "intake_assessed": 2,
        "effective_intake": 1, "carers_counselled": 1, "hb_tested": 2, "anaemic": 1,
        "length_measured": 2, "stunted": 1
    });
    let village_draft = draft(&app, &v, &month).await;
    assert_eq!(village_draft.status, 200, "{}", village_draft.body);
    assert_eq!(village_draft.body["counts"], hand_counted);
    assert_eq!(
        village_draft.body["rates"],
        json!({"distribution_rate": 50.0, "effective_intake_rate": 50.0, "counselling_rate": 50.0,
            "anaemia_prevalence": 50.0, "stunting_prevalence": 50.0,
            "anaemia_vs_baseline_pp": -10.0, "stunting_vs_baseline_pp": 10.0})
    );
    assert_eq!(village_draft.body["checks"], json!([]));
    let _ = k5;

    // A data error the township's logic check catches: an issue with no stock leaving the store.
    past_issue(&app, &clinic, &k3, day(5), 0, false);
    let refused = submit(&app, &v, json!({"month": month})).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.error_fields(), vec!["/counts/sachets_issued"]);
    assert_eq!(app.count("nutrition_reports"), 0);
    diesel::delete(
        nutrition_events::table
            .filter(nutrition_events::child_id.eq(&k3))
            .filter(nutrition_events::kind.eq("issue")),
    )
    .execute(&mut app.conn())
    .unwrap();

    // This month is not over yet.
    let this_month = format!("{:04}-{:02}", china_today().year(), china_today().month());
    let early = submit(&app, &v, json!({"month": this_month})).await;
    assert_eq!(
        (early.status, early.error_fields()),
        (422, vec!["/month".to_string()])
    );

    // The township sees the village as missing until it reports.
    let a = app.token("clinician.a").await;
    let t = draft(&app, &a, &month).await;
    assert_eq!(t.body["missing"], json!(["东湖村卫生室"]));

    let village_report = submit(&app, &v, json!({"month": month})).await;
    assert_eq!(village_report.status, 201, "{}", village_report.body);
    assert_eq!(village_report.body["counts"], hand_counted);
    let late = (china_today() - last).num_days() >= 2; // after the 1st of this month
    assert_eq!(village_report.body["late"], late);
    assert_eq!(village_report.body["level"], "village");
    let again = submit(&app, &v, json!({"month": month})).await;
    assert_eq!(again.status, 409);

    // The township aggregates (its own registrations live in the village: counted once).
    let t = draft(&app, &a, &month).await;
    assert_eq!(t.body["missing"], json!([]));
    assert_eq!(t.body["counts"], hand_counted);
    let township = submit(&app, &a, json!({"month": month})).await;
    assert_eq!(township.status, 201, "{}", township.body);
    assert_eq!(
        township.body["late"],
        (china_today() - last).num_days() >= 3,
        "the township deadline is the end of the 2nd"
    );
    let township_id = township.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        township.body["sources"][0]["report_id"],
        village_report.body["id"]
    );

    // Only the county reviews a township report; another county does not see it.
    let approve = || json!({"decision": "approve"});
    assert_eq!(review(&app, &v, &township_id, approve()).await.status, 404);
    assert_eq!(review(&app, &a, &township_id, approve()).await.status, 403);
    let other = app.token("other.reviewer").await;
    assert_eq!(
        review(&app, &other, &township_id, approve()).await.status,
        404
    );
    assert_eq!(
        review(&app, &reviewer, &township_id, json!({"decision": "return"}))
            .await
            .error_fields(),
        vec!["/comment"]
    );
    let returned = review(
        &app,
        &reviewer,
        &township_id,
        json!({"decision": "return", "comment": "请核实东湖村的贫血人数"}),
    )
    .await;
    assert_eq!(returned.status, 200, "{}", returned.body);
    assert_eq!(returned.body["status"], "returned");
    let no_reason = submit(&app, &a, json!({"month": month})).await;
    assert_eq!(no_reason.error_fields(), vec!["/reason"]);
    let v2 = submit(
        &app,
        &a,
        json!({"month": month, "reason": "已核实，数据无误"}),
    )
    .await;
    assert_eq!(v2.status, 201, "{}", v2.body);
    assert_eq!(v2.body["version"], 2);
    let v2_id = v2.body["id"].as_str().unwrap().to_string();
    let approved = review(&app, &reviewer, &v2_id, approve()).await;
    assert_eq!(approved.body["status"], "approved", "{}", approved.body);
    let twice = review(
        &app,
        &reviewer,
        &v2_id,
        json!({"decision": "return", "comment": "x"}),
    )
    .await;
    assert_eq!(twice.status, 409);

    // A correction afterwards: k1's Hb was 115, not 105. The old card is kept, the approved report
    // keeps its figures, and the difference shows.
    let card_id = c1.body["id"].as_str().unwrap();
    let corrections = format!("/api/v1/children/{k1}/nutrition/followups/{card_id}/corrections");
    let corrected = app
        .post(
            &corrections,
            Some(&v),
            json!({"reason": "Hb 录入错误", "followup": {"followed_on": day(24).to_string(),
            "hb_g_l": 115,
                "length_cm": 72.0, "remaining_at_home": 9, "counselled": true}}),
        )
        .await;
    assert_eq!(corrected.status, 201, "{}", corrected.body);
    let again = app
        .post(
            &corrections,
            Some(&v),
            json!({
                "reason": "again",
                "followup": {"followed_on": day(24).to_string(), "counselled": true},
            }),
        )
        .await;
    assert_eq!(again.status, 409, "only the current version is corrected");
    assert_eq!(
        app.count(&format!(
            "nutrition_followups WHERE child_id = '{k1}' AND superseded_by IS NOT NULL"
        )),
        1
    );
    let cards = app
        .get(&format!("/api/v1/children/{k1}/nutrition/followups"), &v)
        .await;
    assert_eq!(cards.body["cards"].as_array().unwrap().len(), 1);
    assert_eq!(cards.body["cards"][0]["anaemia"]["hb_measured"], 115.0);

    let detail = app
        .get(&format!("/api/v1/nutrition/reports/{v2_id}"), &reviewer)
        .await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert_eq!(detail.body["status"], "approved");
    assert_eq!(
        detail.body["counts"], hand_counted,
        "the snapshot is frozen"
    );
    assert_eq!(detail.body["current"]["anaemic"], 0);
    assert_eq!(
        detail.body["difference"],
        json!([{"field": "anaemic", "reported": 1, "now": 0}])
    );
    assert_eq!(
        app.get(&format!("/api/v1/nutrition/reports/{v2_id}"), &other)
            .await
            .status,
        404
    );
    let resubmit = submit(&app, &a, json!({"month": month, "reason": "更正"})).await;
    assert_eq!(resubmit.status, 409, "an approved report is not replaced");

    // The county's KPIs for the month.
    let kpis = app
        .get(
            &format!("/api/v1/counties/990101/nutrition/kpis?month={month}"),
            &reviewer,
        )
        .await;
    assert_eq!(kpis.status, 200, "{}", kpis.body);
    assert_eq!(kpis.body["counts"], hand_counted);
    assert_eq!(kpis.body["rates"]["anaemia_vs_baseline_pp"], -10.0);
    let towns = kpis.body["townships"].as_array().unwrap();
    let row_a = towns
        .iter()
        .find(|t| t["institution_id"] == world.inst_a.as_str())
        .unwrap();
    assert_eq!(row_a["status"], "approved");
    let row_b = towns
        .iter()
        .find(|t| t["institution_id"] == world.inst_b.as_str())
        .unwrap();
    assert_eq!(row_b["status"], Value::Null, "township B has not reported");
    assert_eq!(
        app.get(
            &format!("/api/v1/counties/990101/nutrition/kpis?month={month}"),
            &other
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(
            "/api/v1/counties/990101/nutrition/kpis?month=2026-13",
            &reviewer
        )
        .await
        .status,
        422
    );
    // Reviews and submissions are audited.
    assert_eq!(
        app.count("audit_events WHERE action = 'nutrition.report_submit'"),
        3
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'nutrition.report_review'"),
        2
    );
}
