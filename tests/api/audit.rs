use diesel::{prelude::*, sql_query};
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn staff_reads_and_writes_are_audited_with_the_request_id() {
    let (app, world) = seeded_app().await;
    let admin_a = app.token("admin.a").await;
    let target = &world.staff["clinician.a"];
    let read = app.get(&format!("/api/v1/staff/{target}"), &admin_a).await;
    let request_id = read.header("x-request-id").unwrap();

    let admin = app.token("admin").await;
    let events = app
        .get(
            &format!("/api/v1/audit-events?resource_id={target}&action=staff.read"),
            &admin,
        )
        .await;
    assert_eq!(events.status, 200);
    let items = events.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["actor_id"], world.staff["admin.a"].as_str());
    assert_eq!(items[0]["actor_roles"], "institution_admin");
    assert_eq!(items[0]["request_id"], request_id.as_str());
    assert_eq!(items[0]["client_addr"], "127.0.0.1");
    assert_eq!(items[0]["outcome"], "success");

    app.get("/api/v1/staff", &admin_a).await;
    let created = app
        .post(
            "/api/v1/staff",
            Some(&admin_a),
            json!({"username": "nurse.a", "password": "long enough password",
            "full_name": "护士", "institution_id": world.inst_a, "roles": ["clinician"]}),
        )
        .await;
    assert_eq!(created.status, 201);
    let writes = app
        .get("/api/v1/audit-events?action=staff.create", &admin)
        .await;
    assert_eq!(writes.body["items"][0]["resource_id"], created.body["id"]);
    let lists = app
        .get(
            &format!(
                "/api/v1/audit-events?actor_id={}&action=staff.list",
                world.staff["admin.a"]
            ),
            &admin,
        )
        .await;
    assert_eq!(lists.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_county_reviewer_reads_only_its_countys_audit_events() {
    let (app, world) = seeded_app().await;
    let other = app.token("other.reviewer").await;
    app.get(
        &format!("/api/v1/staff/{}", world.staff["clinician.c"]),
        &other,
    )
    .await;
    let reviewer = app.token("reviewer").await;
    app.get(
        &format!("/api/v1/staff/{}", world.staff["clinician.b"]),
        &reviewer,
    )
    .await;

    let mine = app
        .get("/api/v1/audit-events?action=staff.read", &reviewer)
        .await;
    let items = mine.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items.iter().all(|e| e["county_code"] == "990101"));
    let theirs = app
        .get("/api/v1/audit-events?action=staff.read", &other)
        .await;
    assert_eq!(theirs.body["items"][0]["county_code"], "990102");
}

#[actix_web::test]
async fn the_audit_log_is_paginated_newest_first_and_filters_by_time() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    for _ in 0..4 {
        app.get("/api/v1/me", &admin).await;
        app.login("clinician.a").await;
    }
    let first = app
        .get("/api/v1/audit-events?action=auth.login&limit=3", &admin)
        .await;
    let page1 = first.body["items"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/audit-events?action=auth.login&limit=3&cursor={cursor}"),
            &admin,
        )
        .await;
    let page2 = second.body["items"].as_array().unwrap().clone();
    assert_eq!(page2.len(), 2, "5 logins in all");
    assert!(second.body.get("next_cursor").is_none());
    let ids: Vec<&str> = page1
        .iter()
        .chain(page2.iter())
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first, no overlap");

    let future = app
        .get("/api/v1/audit-events?from=2099-01-01T00:00:00Z", &admin)
        .await;
    assert!(future.body["items"].as_array().unwrap().is_empty());
    let bad = app.get("/api/v1/audit-events?from=yesterday", &admin).await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), vec!["/from"]);
    let too_many = app.get("/api/v1/audit-events?limit=100000", &admin).await;
    assert_eq!(too_many.status, 422);
}

#[actix_web::test]
async fn audit_events_cannot_be_edited_or_deleted_through_the_api_or_sql() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    let events = app.get("/api/v1/audit-events", &admin).await;
    let id = events.body["items"][0]["id"].as_str().unwrap().to_string();
    for method in ["PUT", "PATCH", "DELETE"] {
        let r = app
            .request(
                method,
                &format!("/api/v1/audit-events/{id}"),
                Some(&admin),
                None,
            )
            .await;
        assert!(r.status == 404 || r.status == 405, "{method}: {}", r.status);
    }
    let r = app
        .request("DELETE", "/api/v1/audit-events", Some(&admin), None)
        .await;
    assert_eq!(r.status, 405);

    let before = app.count("audit_events");
    let mut conn = app.conn();
    let update = sql_query(format!(
        "UPDATE audit_events SET outcome = 'failure' WHERE id = '{id}'"
    ))
    .execute(&mut conn);
    assert!(update.is_err(), "UPDATE must be refused");
    let delete = sql_query("DELETE FROM audit_events").execute(&mut conn);
    assert!(delete.is_err(), "DELETE must be refused");
    // Nor replaced in place (issue #14: SQLite's REPLACE deletes the old row without firing
    // the delete trigger). Each backend's own way to overwrite a row by its key.
    let replace = if is_postgres() {
        format!(
            "INSERT INTO audit_events (id, occurred_at, actor_kind, action, resource_type, \
                outcome) \
             VALUES ('{id}', now(), 'system', 'forged', 'x', 'success') \
             ON CONFLICT (id) DO UPDATE SET action = 'forged'"
        )
    } else {
        format!(
            "INSERT OR REPLACE INTO audit_events \
             (id, occurred_at, actor_kind, action, resource_type, outcome) \
             VALUES ('{id}', CURRENT_TIMESTAMP, 'system', 'forged', 'x', 'success')"
        )
    };
    assert!(
        sql_query(replace).execute(&mut conn).is_err(),
        "REPLACE must be refused"
    );
    assert_eq!(app.count("audit_events WHERE action = 'forged'"), 0);
    drop(conn);
    assert_eq!(app.count("audit_events"), before);
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE id = '{id}' AND outcome = 'success'"
        )),
        1
    );
}

#[actix_web::test]
async fn a_rejected_write_changes_nothing() {
    let (app, world) = seeded_app().await;
    let admin = app.token("admin").await;
    let staff_before = app.count("staff_accounts");
    let roles_before = app.count("staff_roles");
    let audit_before = app.count("audit_events");
    let attempts = [
        json!({
            "username": "Bad Name",
            "password": "short",
            "full_name": "",
            "institution_id": world.inst_a,
            "roles": [],
        }),
        json!({
            "username": "ok.name",
            "password": "long enough password",
            "full_name": "x",
            "institution_id": "no-such",
            "roles": ["clinician"],
        }),
        json!({
            "username": "ok.name",
            "password": "long enough password",
            "full_name": "x",
            "institution_id": world.inst_a,
            "roles": ["clinician", "clinician"],
        }),
        json!({
            "username": "ok.name",
            "password": "long enough password",
            "full_name": "x",
            "institution_id": world.inst_a,
            "roles": ["clinician"],
            "id": "chosen-id",
        }),
        json!({
            "username": "clinician.a",
            "password": "long enough password",
            "full_name": "x",
            "institution_id": world.inst_a,
            "roles": ["clinician"],
        }),
    ];
    for body in attempts {
        let r = app.post("/api/v1/staff", Some(&admin), body.clone()).await;
        assert!(r.status == 422 || r.status == 409, "{body}: {}", r.status);
    }
    assert_eq!(app.count("staff_accounts"), staff_before);
    assert_eq!(app.count("staff_roles"), roles_before);
    assert_eq!(
        app.count("audit_events"),
        audit_before,
        "no audit of writes that did not happen"
    );
}

/// Staff reads of records, cases and the nutrition work list run on a pooled connection and
/// record their audit row afterwards (`audit::read`): each answered read leaves exactly one row,
/// a read out of scope leaves none.
#[actix_web::test]
async fn audited_record_reads_leave_one_row_each_and_none_out_of_scope() {
    let (app, world) = seeded_app().await;
    crate::risk::add_hospital_clinician(&app);
    let t = app.token("obstetrician").await;
    let pregnancy = crate::risk::pregnancy_at_hospital(&app, &t, 1).await;
    let graded = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&t),
            json!({"facts": {"age_years": 41}}),
        )
        .await;
    assert_eq!(graded.status, 201, "{}", graded.body);
    let case = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/case"), &t)
        .await;
    let case_id = case.body["id"].as_str().unwrap().to_string();
    let handbook = case.body["handbook_id"].as_str().unwrap().to_string();
    let born = (chrono::Utc::now() - chrono::Duration::days(300)).to_rfc3339();
    let child = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/children"),
            Some(&t),
            json!({"sex": "female", "born_at": born}),
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    let child = child.body["id"].as_str().unwrap().to_string();
    let referral = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/referrals"),
            Some(&t),
            json!({"to_institution_id": world.mch, "reason": "x", "urgency": "routine",
                "direction": "down", "clinical_summary": "x"}),
        )
        .await;
    assert_eq!(referral.status, 201, "{}", referral.body);
    let referral = referral.body["id"].as_str().unwrap().to_string();
    let reads = [
        ("handbook.read", format!("/api/v1/handbooks/{handbook}")),
        (
            "handbook.read_identity",
            format!("/api/v1/handbooks/{handbook}/identity"),
        ),
        (
            "handbook.read_versions",
            format!("/api/v1/handbooks/{handbook}/versions"),
        ),
        (
            "pregnancy.list",
            format!("/api/v1/handbooks/{handbook}/pregnancies"),
        ),
        ("pregnancy.read", format!("/api/v1/pregnancies/{pregnancy}")),
        ("risk.read", format!("/api/v1/pregnancies/{pregnancy}/risk")),
        (
            "risk.read_history",
            format!("/api/v1/pregnancies/{pregnancy}/gradings"),
        ),
        ("case.read", format!("/api/v1/cases/{case_id}")),
        ("case.read", format!("/api/v1/pregnancies/{pregnancy}/case")),
        (
            "case.read_timeline",
            format!("/api/v1/cases/{case_id}/timeline"),
        ),
        (
            "child.list",
            format!("/api/v1/handbooks/{handbook}/children"),
        ),
        ("child.read", format!("/api/v1/children/{child}")),
        (
            "nutrition.read",
            format!("/api/v1/children/{child}/nutrition"),
        ),
        (
            "nutrition.read_followups",
            format!("/api/v1/children/{child}/nutrition/followups"),
        ),
        ("referral.read", format!("/api/v1/referrals/{referral}")),
        ("registry.read", "/api/v1/registry/cases".to_string()),
        (
            "nutrition.worklist",
            "/api/v1/nutrition/worklist".to_string(),
        ),
    ];
    // Another institution's clinician is out of scope for all but the two scoped lists.
    let b = app.token("clinician.b").await;
    assert_audited_reads(&app, &reads, &t, &reads[..reads.len() - 2], &b).await;
}

/// Each of `reads` (audit action, path) answers 200 to `reader` and leaves exactly one audit row
/// of its action; each of `out_of_scope` answers 404 to `outsider` and leaves none (no row of a
/// read that did not happen).
pub async fn assert_audited_reads(
    app: &TestApp,
    reads: &[(&str, String)],
    reader: &str,
    out_of_scope: &[(&str, String)],
    outsider: &str,
) {
    let rows = |action: &str| app.count(&format!("audit_events WHERE action = '{action}'"));
    for (action, path) in reads {
        let before = rows(action);
        let r = app.get(path, reader).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(rows(action), before + 1, "{path}");
    }
    for (action, path) in out_of_scope {
        let before = rows(action);
        assert_eq!(app.get(path, outsider).await.status, 404, "{path}");
        assert_eq!(rows(action), before, "{path}");
    }
}

/// Issue #14: a refused out-of-scope attempt left no trace. Each is now a denied audit event of
/// the caller, naming the route, so probing shows up; an unattributable or harmless 404 is not.
#[actix_web::test]
async fn refused_attempts_are_recorded_per_caller() {
    let (app, world) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post(
            "/api/v1/handbooks",
            Some(&a),
            crate::handbook::new_handbook(1, "李娟"),
        )
        .await;
    let id = hb.body["id"].as_str().unwrap().to_string();
    let c = app.token("clinician.c").await;
    for path in [
        format!("/api/v1/handbooks/{id}"),
        "/api/v1/handbooks/no-such-id".to_string(),
    ] {
        assert_eq!(app.get(&path, &c).await.status, 404);
    }
    // A role that may not list staff.
    assert_eq!(app.get("/api/v1/staff", &c).await.status, 403);
    let probes = |who: &str| {
        app.count(&format!(
            "audit_events WHERE action = 'access.refused' AND outcome = 'denied' AND actor_id = \
                '{who}'"
        ))
    };
    // Recorded after the answer: wait for them (at most 5 s).
    let settled = |who: String, expected: i64| {
        let probes = &probes;
        async move {
            for _ in 0..100 {
                if probes(&who) >= expected {
                    break;
                }
                actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            probes(&who)
        }
    };
    assert_eq!(settled(world.staff["clinician.c"].clone(), 3).await, 3);
    assert_eq!(probes(&world.staff["clinician.a"]), 0);
    // A flood is recorded up to the cap, not row for row.
    for i in 0..30 {
        app.get(&format!("/api/v1/handbooks/probe-{i}"), &c).await;
    }
    let cap = mch_handbook::audit::REFUSALS_RECORDED;
    assert_eq!(settled(world.staff["clinician.c"].clone(), cap).await, cap);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(probes(&world.staff["clinician.c"]), cap);
    let admin = app.token("admin").await;
    let listed = app
        .get("/api/v1/audit-events?action=access.refused", &admin)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let routes: Vec<String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let detail: serde_json::Value =
                serde_json::from_str(e["detail"].as_str().unwrap()).unwrap();
            detail["route"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(
        routes.iter().any(|r| r == "/api/v1/handbooks/{id}"),
        "{routes:?}"
    );
    // Nobody signed in: nothing to attribute.
    let before = app.count("audit_events WHERE action = 'access.refused'");
    assert_eq!(
        app.request("GET", &format!("/api/v1/handbooks/{id}"), None, None)
            .await
            .status,
        401
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'access.refused'"),
        before
    );
}
