//! Every error class answers problem+json with its proper status.

use serde_json::json;

use crate::helpers::*;

async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    let mut req = app.client.request(
        awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", app.address),
    );
    if let Some(ct) = content_type {
        req = req.insert_header(("Content-Type", ct));
    }
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut res = req.send_body(body).await.unwrap();
    let bytes = res.body().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

fn assert_problem(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(r.body["status"], status);
    assert_eq!(r.body["code"], code);
    assert_eq!(r.body["type"], format!("urn:mch-handbook:problem:{code}"));
    assert!(r.body["title"].is_string());
}

#[actix_web::test]
async fn each_error_class_has_its_status_and_problem_body() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    let login = "/api/v1/auth/login";

    assert_problem(
        &raw(
            &app,
            "POST",
            login,
            Some("application/json"),
            b"{\"username\": ".to_vec(),
            None,
        )
        .await,
        400,
        "malformed_body",
    );
    assert_problem(
        &raw(
            &app,
            "POST",
            login,
            Some("text/plain"),
            b"username=x".to_vec(),
            None,
        )
        .await,
        415,
        "unsupported_media_type",
    );
    assert_problem(
        &raw(&app, "POST", login, None, b"{}".to_vec(), None).await,
        415,
        "unsupported_media_type",
    );
    let huge = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(300 * 1024)
    );
    assert_problem(
        &raw(
            &app,
            "POST",
            login,
            Some("application/json"),
            huge.into_bytes(),
            None,
        )
        .await,
        413,
        "payload_too_large",
    );
    assert_problem(
        &raw(&app, "GET", "/api/v1/nothing-here", None, vec![], None).await,
        404,
        "not_found",
    );
    assert_problem(
        &raw(&app, "GET", "/favicon.ico", None, vec![], None).await,
        404,
        "not_found",
    );
    let wrong_method = raw(&app, "DELETE", login, None, vec![], None).await;
    assert_problem(&wrong_method, 405, "method_not_allowed");
    assert_eq!(wrong_method.header("allow").as_deref(), Some("POST"));
    assert_problem(
        &raw(
            &app,
            "PUT",
            "/api/v1/staff/some-id",
            None,
            vec![],
            Some(&admin),
        )
        .await,
        405,
        "method_not_allowed",
    );

    let unknown_field = app
        .post(
            login,
            None,
            json!({"username": "a", "password": "b", "remember_me": true}),
        )
        .await;
    assert_problem(&unknown_field, 422, "validation_failed");
    assert_eq!(unknown_field.error_fields(), vec!["/remember_me"]);
    let wrong_type = app
        .post(login, None, json!({"username": 12, "password": "b"}))
        .await;
    assert_problem(&wrong_type, 422, "validation_failed");
    assert_eq!(wrong_type.error_fields(), vec!["/username"]);
    let nul = raw(
        &app,
        "POST",
        login,
        Some("application/json"),
        br#"{"username":"a\u0000","password":"b"}"#.to_vec(),
        None,
    )
    .await;
    assert_problem(&nul, 422, "validation_failed");
    let deep = format!(
        "{{\"username\":{}{},\"password\":\"x\"}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep = raw(
        &app,
        "POST",
        login,
        Some("application/json"),
        deep.into_bytes(),
        None,
    )
    .await;
    assert_problem(&deep, 422, "validation_failed");
    assert_eq!(deep.error_fields(), vec!["/username"]);
    assert_problem(
        &raw(
            &app,
            "POST",
            login,
            Some("application/json"),
            vec![0xff, 0xfe, 0x00],
            None,
        )
        .await,
        400,
        "malformed_body",
    );
}

#[actix_web::test]
async fn validation_names_every_bad_field_at_once() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    let r = app
        .post(
            "/api/v1/staff",
            Some(&admin),
            json!({"username": "NO", "password": "short", "full_name": "", "phone": "call me",
            "institution_id": "", "roles": []}),
        )
        .await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(
        r.error_fields(),
        vec![
            "/full_name",
            "/institution_id",
            "/password",
            "/phone",
            "/roles",
            "/username"
        ]
    );
    assert!(r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));

    let region = app
        .post(
            "/api/v1/regions",
            Some(&admin),
            json!({"code": "99010100100", "name": "", "elevation_m": 99999}),
        )
        .await;
    assert_eq!(
        region.error_fields(),
        vec!["/code", "/elevation_m", "/name"]
    );
    let orphan = app
        .post(
            "/api/v1/regions",
            Some(&admin),
            json!({"code": "990199001001", "name": "孤村"}),
        )
        .await;
    assert_problem(&orphan, 422, "validation_failed");
    assert_eq!(orphan.body["errors"][0]["code"], "parent_missing");
    let clash = app
        .post(
            "/api/v1/regions",
            Some(&admin),
            json!({"code": "990101001000", "name": "again"}),
        )
        .await;
    assert_problem(&clash, 409, "region_exists");
    let level = app
        .post(
            "/api/v1/institutions",
            Some(&admin),
            json!({"name": "错层卫生室", "level": "village_clinic", "region_code": "990101001000"}),
        )
        .await;
    assert_problem(&level, 422, "validation_failed");
    assert_eq!(level.body["errors"][0]["code"], "level_mismatch");
}

#[actix_web::test]
async fn an_exhausted_pool_answers_503_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.db_pool_size = 1;
        s.db_pool_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    seed(&mut app.conn());
    let token = app.token("admin").await;
    let held = app.conn();
    let r = app.get("/api/v1/regions", &token).await;
    assert_problem(&r, 503, "database_unavailable");
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    drop(held);
    assert_eq!(app.get("/api/v1/regions", &token).await.status, 200);
}

#[actix_web::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(format!("{}/healthz", app.address))
        .insert_header(("X-Request-Id", "abc-123.x"))
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers().get("x-request-id").unwrap(), "abc-123.x");
    let replaced = app
        .client
        .get(format!("{}/healthz", app.address))
        .insert_header(("X-Request-Id", "bad id\twith spaces"))
        .send()
        .await
        .unwrap();
    let id = replaced
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    let missing = app.request("GET", "/nowhere", None, None).await;
    assert!(missing.header("x-request-id").is_some());
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(missing.header(name).as_deref(), Some(value), "{name}");
    }
}

#[actix_web::test]
async fn lists_are_paginated_with_capped_limits_and_stable_order() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/staff?limit=3&cursor={c}"),
            None => "/api/v1/staff?limit=3".to_string(),
        };
        let page = app.get(&path, &admin).await;
        assert_eq!(page.status, 200);
        for s in page.body["items"].as_array().unwrap() {
            seen.push(s["id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), STAFF.len());
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    let r = app.get("/api/v1/staff?limit=0", &admin).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.error_fields(), vec!["/limit"]);
    let r = app.get("/api/v1/staff?limit=abc", &admin).await;
    assert_eq!(r.error_fields(), vec!["/limit"]);
    let r = app
        .get(
            "/api/v1/staff?sort=username%3BDROP%20TABLE%20staff_accounts",
            &admin,
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(app.count("staff_accounts"), STAFF.len() as i64);
}

#[actix_web::test]
async fn the_client_address_comes_from_the_proxy_only_when_configured() {
    for (trust, expected) in [(false, "127.0.0.1"), (true, "203.0.113.9")] {
        let app = spawn_app_with(|s| s.trust_forwarded_for = trust).await;
        app.client
            .post(format!("{}/api/v1/auth/login", app.address))
            .insert_header(("X-Forwarded-For", "198.51.100.1, 203.0.113.9"))
            .send_json(&json!({"username": "nobody", "password": "x"}))
            .await
            .unwrap();
        assert_eq!(
            app.count(&format!("audit_events WHERE client_addr = '{expected}'")),
            1,
            "trust={trust}"
        );
    }
}
