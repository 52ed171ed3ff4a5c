//! Fields a caller may not set are refused on every write endpoint; list limits are capped; query
//! filters cannot inject SQL; hostile values in a clinical record change nothing.

use std::collections::BTreeSet;

use chrono::Datelike;
use serde_json::{json, Value};

use crate::authz::{build, example_body, fill, query, send, Kind, MATRIX};

/// Server-owned fields: ids, owners, institutions, status, versions, timestamps.
const SERVER_OWNED: &[&str] = &[
    "id",
    "handbook_id",
    "institution_id",
    "county_code",
    "owner_id",
    "created_by",
    "recorded_by",
    "status",
    "version",
    "created_at",
    "updated_at",
    "recorded_at",
    "deleted_at",
    "roles",
];

fn properties(doc: &Value, method: &str, path: &str) -> Option<BTreeSet<String>> {
    let schema = &doc["paths"][path][method.to_lowercase()]["requestBody"]["content"]
        ["application/json"]["schema"];
    let name = schema["$ref"].as_str()?.rsplit('/').next()?.to_string();
    let props = doc["components"]["schemas"][name]["properties"].as_object()?;
    Some(props.keys().cloned().collect())
}

#[actix_web::test]
async fn write_endpoints_refuse_fields_the_caller_may_not_set() {
    let (app, r) = build().await;
    let doc: Value = serde_json::from_str(&mch_handbook::openapi::document_json()).unwrap();
    let (month, _) = last_month();
    let audit_before = app.count("audit_events");
    let mut checked = 0;
    let mut failures = Vec::new();
    for (op, kind, allowed, overrides) in MATRIX {
        let (method, path) = op.split_once(' ').unwrap();
        if !matches!(method, "POST" | "PUT" | "PATCH") {
            continue;
        }
        let Some(props) = properties(&doc, method, path) else {
            continue; // no body, or a tagged union (checked by its own tests)
        };
        let Some(body) = example_body(&doc, method, path) else {
            continue;
        };
        // A role that may call it, on a resource in its scope.
        let role = allowed
            .split_whitespace()
            .find(|r| !overrides.contains(&format!("{r}=")[..]))
            .unwrap_or("anon");
        if role == "anon" && *allowed != "public" {
            continue; // only an institution outside the matrix's roles may call it
        }
        let token = r.tokens.get(role).cloned().flatten();
        let resource = match kind {
            Kind::None | Kind::Session => String::new(),
            k => r.inside.get(k).cloned().unwrap_or_default(),
        };
        let target = query(&fill(path, *kind, &resource, &r.card_in), &month);
        let if_match = doc["paths"][path][method.to_lowercase()]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "If-Match"));
        for field in SERVER_OWNED.iter().filter(|f| !props.contains(**f)) {
            let mut sneaky = body.clone();
            sneaky[*field] = json!("01a20000-0000-7000-8000-000000000001");
            let reply = send(
                &app,
                method,
                &target,
                token.as_deref(),
                Some(sneaky),
                if_match,
            )
            .await;
            checked += 1;
            if reply.status != 422 || !reply.error_fields().contains(&format!("/{field}")) {
                failures.push(format!(
                    "{op} as {role} with {field}: {} {}",
                    reply.status, reply.body
                ));
            }
        }
    }
    assert!(checked > 300, "only {checked} cases ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        app.count("audit_events"),
        audit_before,
        "nothing was written"
    );
}

fn last_month() -> (String, chrono::NaiveDate) {
    let today = mch_handbook::time::china_today();
    let last = today.with_day(1).unwrap().pred_opt().unwrap();
    (format!("{:04}-{:02}", last.year(), last.month()), last)
}

#[actix_web::test]
async fn list_limits_are_capped_and_filters_cannot_inject_sql() {
    let (app, r) = build().await;
    let doc: Value = serde_json::from_str(&mch_handbook::openapi::document_json()).unwrap();
    let token = |role: &str| r.tokens[role].clone();
    let handbooks_before = app.count("handbooks");
    let mut limits = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        // Someone allowed to list it: the first allowed role of its matrix row.
        let row = MATRIX
            .iter()
            .find(|row| row.0 == format!("GET {path}"))
            .unwrap();
        if row.2 == "public" || path.contains('{') {
            continue;
        }
        let role = row.2.split_whitespace().next().unwrap();
        let t = token(role);
        let base = query(path, &last_month().0);
        let sep = if base.contains('?') { '&' } else { '?' };
        if params.iter().any(|p| p["name"] == "limit") {
            limits += 1;
            for bad in ["0", "101", "100000", "-1"] {
                let reply = send(
                    &app,
                    "GET",
                    &format!("{base}{sep}limit={bad}"),
                    t.as_deref(),
                    None,
                    false,
                )
                .await;
                assert_eq!(reply.status, 422, "{path} limit={bad}: {}", reply.body);
                assert_eq!(reply.error_fields(), vec!["/limit"], "{path}");
            }
            let max = send(
                &app,
                "GET",
                &format!("{base}{sep}limit=100"),
                t.as_deref(),
                None,
                false,
            )
            .await;
            assert_eq!(max.status, 200, "{path}: {}", max.body);
        }
        for p in params
            .iter()
            .filter(|p| p["in"] == "query" && p["schema"]["type"] == "string")
        {
            let name = p["name"].as_str().unwrap();
            for attack in [
                "' OR '1'='1",
                "1; DROP TABLE handbooks; --",
                "%' UNION SELECT id FROM staff_accounts --",
            ] {
                let encoded: String = attack.bytes().map(|b| format!("%{b:02X}")).collect();
                let reply = send(
                    &app,
                    "GET",
                    &format!("{base}{sep}{name}={encoded}"),
                    t.as_deref(),
                    None,
                    false,
                )
                .await;
                assert!(
                    reply.status < 500,
                    "{path}?{name}={attack}: {} {}",
                    reply.status,
                    reply.body
                );
                // A cursor is a position (`id < cursor`), not a filter: any text is a valid one.
                if reply.status == 200 && name != "cursor" {
                    let items = reply.body.get("items").unwrap_or(&reply.body);
                    assert!(
                        items.as_array().is_none_or(|a| a.is_empty()),
                        "{path}?{name}={attack} matched records: {}",
                        reply.body
                    );
                }
            }
        }
    }
    assert!(limits >= 4, "only {limits} paginated lists");
    assert_eq!(app.count("handbooks"), handbooks_before);
}

#[actix_web::test]
async fn hostile_values_in_a_checkup_are_refused_and_change_nothing() {
    let (app, r) = build().await;
    let t = r.tokens["clin"].clone().unwrap();
    let path = format!(
        "/api/v1/pregnancies/{}/checkups",
        r.inside[&Kind::Pregnancy]
    );
    let before = (app.count("checkups"), app.count("audit_events"));
    let today = mch_handbook::time::china_today().to_string();
    for (body, field) in [
        (
            json!({"visit_date": "0000-00-00", "bp_systolic": 118, "bp_diastolic": 76}),
            "/visit_date",
        ),
        (
            json!({"visit_date": "2026-02-30", "bp_systolic": 118, "bp_diastolic": 76}),
            "/visit_date",
        ),
        (
            json!({"visit_date": "1850-01-01", "bp_systolic": 118, "bp_diastolic": 76}),
            "/visit_date",
        ),
        (
            json!({"visit_date": today, "bp_systolic": 1e300, "bp_diastolic": 76}),
            "/bp_systolic",
        ),
        (
            json!({
                "visit_date": today,
                "bp_systolic": 118,
                "bp_diastolic": 76,
                "weight_kg": -0.0001,
            }),
            "/weight_kg",
        ),
        (
            json!({
                "visit_date": today,
                "bp_systolic": 118,
                "bp_diastolic": 76,
                "complaints": "头晕\u{0}",
            }),
            "/complaints",
        ),
        (
            json!({
                "visit_date": today,
                "bp_systolic": 118,
                "bp_diastolic": 76,
                "complaints": "x".repeat(100_000),
            }),
            "/complaints",
        ),
    ] {
        let reply = app.post(&path, Some(&t), body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        assert!(
            reply.error_fields().contains(&field.to_string()),
            "{body}: {}",
            reply.body
        );
    }
    // A number no integer type holds.
    let mut res = app
        .client
        .post(format!("{}{path}", app.address))
        .insert_header(("Authorization", format!("Bearer {t}")))
        .insert_header(("Content-Type", "application/json"))
        .send_body(format!(
            r#"{{"visit_date":"{today}","bp_systolic":99999999999999999999999,"bp_diastolic":76}}"#
        ))
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["errors"][0]["field"], "/bp_systolic", "{body}");
    assert_eq!((app.count("checkups"), app.count("audit_events")), before);
    // Still serving.
    assert_eq!(app.get("/api/v1/me", &t).await.status, 200);
}
