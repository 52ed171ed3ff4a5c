//! The mothers' home pages are kept rendered (src/handbook/home_cache.rs): a kept page must never
//! hide a change, whoever made it, and must never outlive the session that asked for it.

use diesel::{sql_query, QueryableByName, RunQueryDsl};
use mch_handbook::handbook::home_cache::HOME_PAGE_TABLES;
use serde_json::{json, Value};

use crate::conditional::get_with;
use crate::handbook::{days_ago, demo_app, join_family};
use crate::helpers::*;

/// Tables that carry `handbook_id` but are not on the home page, and why. A new table with a
/// `handbook_id` must be put here or in `HOME_PAGE_TABLES` (with its triggers).
const NOT_ON_THE_HOME_PAGE: &[(&str, &str)] = &[
    ("access_codes", "binding and share codes"),
    ("handbook_access", "which institutions see the handbook"),
    ("handbook_members", "checked on every request, not kept"),
    (
        "handbook_versions",
        "old versions; the handbook row changes with them",
    ),
    ("referrals", "staff pages"),
    ("risk_cases", "staff pages"),
    (
        "risk_gradings",
        "history; the current colour is pregnancy_risk",
    ),
    ("risk_notices", "notices have their own page"),
    ("risk_screenings", "staff pages"),
];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn tables_with_handbook_id(app: &TestApp) -> Vec<String> {
    let sql = if is_postgres() {
        "SELECT table_name::text AS name FROM information_schema.columns \
         WHERE column_name = 'handbook_id' AND table_schema = current_schema() ORDER BY 1"
    } else {
        "SELECT m.name AS name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND p.name = 'handbook_id' ORDER BY 1"
    };
    sql_query(sql)
        .load::<Name>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect()
}

#[derive(QueryableByName)]
struct Revision {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    revision: i64,
}

fn revision(app: &TestApp, handbook: &str) -> i64 {
    sql_query(format!(
        "SELECT revision FROM handbooks WHERE id = '{handbook}'"
    ))
    .get_result::<Revision>(&mut app.conn())
    .unwrap()
    .revision
}

/// A change made outside the server (another server, the command line, an administrator's SQL).
fn execute(app: &TestApp, sql: &str) -> usize {
    sql_query(sql).execute(&mut app.conn()).unwrap()
}

#[actix_web::test]
async fn every_table_on_the_home_page_moves_the_revision_and_every_other_is_named() {
    let (app, _) = demo_app().await;
    let mut listed: Vec<&str> = HOME_PAGE_TABLES.to_vec();
    listed.extend(NOT_ON_THE_HOME_PAGE.iter().map(|(t, _)| *t));
    for table in tables_with_handbook_id(&app) {
        assert!(
            listed.contains(&table.as_str()),
            "{table} carries handbook_id: add it to HOME_PAGE_TABLES (with triggers) or to \
             NOT_ON_THE_HOME_PAGE"
        );
    }
    // Each table's triggers cover insert, update and delete (the handbook row: update); on
    // PostgreSQL they run at commit (deferred), so they take the handbook's lock last.
    for table in HOME_PAGE_TABLES {
        let (expected, found) = if is_postgres() {
            let kinds = if *table == "handbooks" {
                16
            } else {
                4 | 8 | 16
            };
            let deferred = if *table == "handbooks" {
                ""
            } else {
                " AND t.tgdeferrable AND t.tginitdeferred"
            };
            let found = app.count(&format!(
                "pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                 WHERE c.relname = '{table}' AND t.tgname LIKE '%revision' \
                 AND (t.tgtype & {kinds}) = {kinds}{deferred}"
            ));
            (1, found)
        } else {
            let found = app.count(&format!(
                "sqlite_master WHERE type = 'trigger' AND tbl_name = '{table}' \
                 AND name LIKE '%revision'"
            ));
            (if *table == "handbooks" { 1 } else { 3 }, found)
        };
        assert_eq!(found, expected, "{table}: revision triggers");
    }
}

/// Changes the checkup's advice to 多喝水 without moving the revision (its trigger dropped first,
/// which nothing in the application does).
fn change_advice_behind_the_revision(app: &TestApp, checkup: &str) {
    execute(
        app,
        if is_postgres() {
            "DROP TRIGGER checkups_revision ON checkups"
        } else {
            "DROP TRIGGER checkups_update_revision"
        },
    );
    execute(
        app,
        &format!("UPDATE checkups SET advice = '多喝水' WHERE id = '{checkup}'"),
    );
}

/// A mother's handbook with a row in every table on the home page: a graded pregnancy at the
/// county hospital, a checkup with a lab result and a scan, a child. Returns
/// (clinician token, mother token, handbook, pregnancy, checkup).
async fn full_handbook(app: &TestApp) -> (String, String, String, String, String) {
    crate::risk::add_hospital_clinician(app);
    let t = app.token("obstetrician").await;
    let pregnancy = crate::risk::pregnancy_at_hospital(app, &t, 1).await;
    let p = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}"), &t)
        .await;
    let handbook = p.body["handbook_id"].as_str().unwrap().to_string();
    let mother = app.bind_mother(&t, &handbook, "demo-mother-1").await;
    let visit = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&t),
            json!({"visit_date": days_ago(0), "bp_systolic": 112, "bp_diastolic": 70,
                "advice": "注意休息"}),
        )
        .await;
    assert_eq!(visit.status, 201, "{}", visit.body);
    let checkup = visit.body["id"].as_str().unwrap().to_string();
    let lab = app
        .post(
            &format!("/api/v1/checkups/{checkup}/labs"),
            Some(&t),
            json!({"results": [{"test": "hb", "value": 118}]}),
        )
        .await;
    assert_eq!(lab.status, 201, "{}", lab.body);
    let scan = app
        .post(
            &format!("/api/v1/checkups/{checkup}/ultrasounds"),
            Some(&t),
            json!({"crl_mm": 60.0, "fetal_count": 1}),
        )
        .await;
    assert_eq!(scan.status, 201, "{}", scan.body);
    let graded = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&t),
            json!({"facts": {"age_years": 41}}),
        )
        .await;
    assert_eq!(graded.status, 201, "{}", graded.body);
    let born = (chrono::Utc::now() - chrono::Duration::days(700)).to_rfc3339();
    let child = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/children"),
            Some(&t),
            json!({"sex": "female", "born_at": born, "name": "小满"}),
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    (t, mother, handbook, pregnancy, checkup)
}

/// Every insert, update and delete on a table the page reads moves the handbook's revision, in
/// the database itself: a change made with plain SQL counts as much as one made through the API.
#[actix_web::test]
async fn any_change_to_a_row_on_the_home_page_moves_the_revision() {
    let (app, _) = demo_app().await;
    let (_, _, handbook, _, _) = full_handbook(&app).await;
    for table in HOME_PAGE_TABLES {
        let column = if *table == "handbooks" {
            "id"
        } else {
            "handbook_id"
        };
        assert!(
            app.count(&format!("{table} WHERE {column} = '{handbook}'")) > 0,
            "the fixture has no {table} row"
        );
        let before = revision(&app, &handbook);
        let changed = execute(
            &app,
            &format!("UPDATE {table} SET county_code = county_code WHERE {column} = '{handbook}'"),
        );
        assert_eq!(
            revision(&app, &handbook),
            before + changed as i64,
            "an update of {table} moves the revision on (once per row)"
        );
    }
    let before = revision(&app, &handbook);
    let deleted = execute(
        &app,
        &format!("DELETE FROM lab_results WHERE handbook_id = '{handbook}'"),
    );
    assert_eq!(deleted, 1);
    assert_eq!(
        revision(&app, &handbook),
        before + 1,
        "a delete moves it on"
    );
}

#[actix_web::test]
async fn a_kept_page_is_used_until_something_on_it_changes() {
    let (app, _) = demo_app().await;
    let (t, mother, handbook, _, checkup) = full_handbook(&app).await;
    let home = "/api/v1/me/handbook";
    let (status, tag, body, _) = get_with(&app, home, &mother, &[]).await;
    assert_eq!(status, 200);
    let tag = tag.expect("an ETag");
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["latest_checkup"]["advice"], "注意休息");
    assert_eq!(page["children"][0]["name"], "小满");
    assert_eq!(page["unread"].as_array().unwrap().len(), 3);

    // Nothing changed: the same page, and 304 to a client that has it.
    let (_, again, body_again, _) = get_with(&app, home, &mother, &[]).await;
    assert_eq!((again.as_deref(), &body_again), (Some(tag.as_str()), &body));
    let (status, _, _, _) = get_with(&app, home, &mother, &[("If-None-Match", &tag)]).await;
    assert_eq!(status, 304);

    // An insert through the API after the page was kept: the laboratory reports.
    let lab = app
        .post(
            &format!("/api/v1/checkups/{checkup}/labs"),
            Some(&t),
            json!({"results": [{"test": "hiv", "result": "negative"}]}),
        )
        .await;
    assert_eq!(lab.status, 201, "{}", lab.body);
    let (status, tag, body, _) = get_with(&app, home, &mother, &[("If-None-Match", &tag)]).await;
    assert_eq!(status, 200, "the kept page hid a new result");
    let tag = tag.unwrap();
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["unread"].as_array().unwrap().len(), 4);
    assert!(page["unread"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["test"] == "hiv"));

    // A change made outside this server shows at once.
    execute(
        &app,
        &format!("UPDATE checkups SET advice = '多喝水' WHERE id = '{checkup}'"),
    );
    let (status, changed_tag, body, _) =
        get_with(&app, home, &mother, &[("If-None-Match", &tag)]).await;
    assert_eq!(status, 200, "the kept page is out of date");
    assert_ne!(changed_tag.as_deref(), Some(tag.as_str()));
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["latest_checkup"]["advice"], "多喝水");

    // A change through the API: the mother reads her results, the unread list empties; a
    // profile correction shows.
    app.get(&format!("/api/v1/me/checkups/{checkup}"), &mother)
        .await;
    assert!(app.get(home, &mother).await.body["unread"]
        .as_array()
        .unwrap()
        .is_empty());
    let version = app.get(&format!("/api/v1/handbooks/{handbook}"), &t).await;
    let etag = version.header("etag").unwrap();
    let fixed = app
        .client
        .patch(format!("{}/api/v1/handbooks/{handbook}", app.address))
        .insert_header(("Authorization", format!("Bearer {t}")))
        .insert_header(("If-Match", etag))
        .send_json(&json!({"phone": "13900000001", "reason": "号码变更"}))
        .await
        .unwrap();
    assert_eq!(fixed.status(), 200);
    assert_eq!(
        app.get(home, &mother).await.body["profile"]["phone"],
        "13900000001"
    );

    // A kept page is no help to a session that has ended.
    let out = app
        .post("/api/v1/auth/logout", Some(&mother), json!({}))
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(app.get(home, &mother).await.status, 401);
}

/// With `MCH_HOME_CACHE_MB=0` every request renders the page: even a change hidden from the
/// revision shows.
#[actix_web::test]
async fn with_the_cache_turned_off_every_request_renders_the_page() {
    let app = spawn_app_with(|s| {
        s.demo_mode = true;
        s.home_cache_bytes = 0;
    })
    .await;
    seed(&mut app.conn());
    let (_, mother, _, _, checkup) = full_handbook(&app).await;
    let home = "/api/v1/me/handbook";
    let first = app.get(home, &mother).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["latest_checkup"]["advice"], "注意休息");
    assert_eq!(first.body["risk_colour"], "orange");
    change_advice_behind_the_revision(&app, &checkup);
    assert_eq!(
        app.get(home, &mother).await.body["latest_checkup"]["advice"],
        "多喝水"
    );
}

/// The page served is the kept one: a change hidden from the revision (its trigger dropped, as
/// nothing in the application can do) does not show until something else moves the revision on.
/// This is what makes the triggers necessary, and what the tests above rely on.
#[actix_web::test]
async fn the_kept_page_is_served_until_the_revision_moves() {
    let (app, _) = demo_app().await;
    let (_, mother, handbook, _, checkup) = full_handbook(&app).await;
    let home = "/api/v1/me/handbook";
    assert_eq!(
        app.get(home, &mother).await.body["latest_checkup"]["advice"],
        "注意休息"
    );
    change_advice_behind_the_revision(&app, &checkup);
    assert_eq!(
        app.get(home, &mother).await.body["latest_checkup"]["advice"],
        "注意休息",
        "the page was rendered again although the revision did not move"
    );
    execute(
        &app,
        &format!("UPDATE handbooks SET phone = '13900000002' WHERE id = '{handbook}'"),
    );
    let page = app.get(home, &mother).await.body;
    assert_eq!(page["latest_checkup"]["advice"], "多喝水");
    assert_eq!(page["profile"]["phone"], "13900000002");
}

/// A family member's page is kept apart from the mother's (it says `family`), and a kept page
/// is no help once the share is withdrawn.
#[actix_web::test]
async fn a_family_members_kept_page_goes_with_the_share() {
    let (app, _) = demo_app().await;
    let (_, mother, handbook, _, _) = full_handbook(&app).await;
    let husband = join_family(&app, &mother, "demo-husband").await;
    let path = format!("/api/v1/me/handbooks/{handbook}");
    assert_eq!(
        app.get("/api/v1/me/handbook", &mother).await.body["relation"],
        "mother"
    );
    for _ in 0..2 {
        let his = app.get(&path, &husband).await;
        assert_eq!((his.status, &his.body["relation"]), (200, &json!("family")));
    }
    assert_eq!(app.get(&path, &mother).await.body["relation"], "mother");

    execute(
        &app,
        "UPDATE handbook_members SET revoked_at = CURRENT_TIMESTAMP WHERE relation = 'family'",
    );
    assert_eq!(app.get(&path, &husband).await.status, 404);
    assert_eq!(app.get(&path, &mother).await.status, 200);
}

/// Two clinicians at the same pregnancy at once: lab results (which lock the handbook's revision,
/// then the pregnancy's risk row) and gradings (the other way round). No write may fail for it:
/// on PostgreSQL the revision triggers run at commit, so the two never wait on each other.
#[actix_web::test]
async fn concurrent_results_and_gradings_of_one_pregnancy_all_succeed() {
    let (app, _) = demo_app().await;
    let (t, _, handbook, pregnancy, checkup) = full_handbook(&app).await;
    let before = revision(&app, &handbook);
    let labs = format!("/api/v1/checkups/{checkup}/labs");
    let gradings = format!("/api/v1/pregnancies/{pregnancy}/gradings");
    let writes = (0..12).map(|i| {
        let (app, t, labs, gradings) = (&app, &t, &labs, &gradings);
        async move {
            if i % 2 == 0 {
                app.post(
                    labs,
                    Some(t),
                    json!({"results": [{"test": "hb", "value": 100 + i}]}),
                )
                .await
            } else {
                app.post(gradings, Some(t), json!({"facts": {"age_years": 41}}))
                    .await
            }
        }
    });
    let answers = futures_util::future::join_all(writes).await;
    for answer in &answers {
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    assert!(revision(&app, &handbook) >= before + 12);
}
