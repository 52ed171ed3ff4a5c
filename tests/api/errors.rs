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
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("Content-Type", ct.to_string()));
    }
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    send(app, method, path, &headers, body).await
}

/// Sends `body` with exactly `headers`; the answer's body is read as JSON (null otherwise).
async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Reply {
    let mut req = app.client.request(
        awc::http::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", app.address),
    );
    for (name, value) in headers {
        req = req.insert_header((*name, value.as_str()));
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
    let held = app.pool.get().unwrap();
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

/// `(method, path, body, token, status)` of one request.
type Case<'a> = (&'a str, &'a str, &'a [u8], Option<&'a str>, u16);

/// A JSON request in the language `lang` (`Accept-Language`).
async fn in_language(
    app: &TestApp,
    lang: &str,
    method: &str,
    path: &str,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    let mut headers = vec![
        ("Accept-Language", lang.to_string()),
        ("Content-Type", "application/json".to_string()),
    ];
    if let Some(t) = token {
        headers.push(("Authorization", format!("Bearer {t}")));
    }
    send(app, method, path, &headers, body).await
}

fn is_chinese(s: &serde_json::Value) -> bool {
    s.as_str()
        .is_some_and(|s| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
}

/// A mother's phone asks for Chinese: titles, details and each field's message are Chinese, the
/// codes and fields stay the same, and a client that asks for English (or nothing) reads English.
#[actix_web::test]
async fn errors_answer_in_chinese_when_the_client_asks_for_it() {
    let (app, _) = crate::handbook::demo_app().await;
    let mother = app.family_login("demo-mother-1").await;

    let en = in_language(
        &app,
        "en",
        "POST",
        "/api/v1/me/handbook/bind",
        br#"{"code":""}"#.to_vec(),
        Some(&mother),
    )
    .await;
    let zh = in_language(
        &app,
        "zh-CN,zh;q=0.9,en;q=0.8",
        "POST",
        "/api/v1/me/handbook/bind",
        br#"{"code":""}"#.to_vec(),
        Some(&mother),
    )
    .await;
    assert_eq!((en.status, zh.status), (422, 422));
    assert_eq!(en.body["code"], zh.body["code"]);
    assert_eq!(en.body["errors"][0]["field"], "/code");
    assert_eq!(zh.body["errors"][0]["field"], "/code");
    assert_eq!(zh.body["errors"][0]["code"], en.body["errors"][0]["code"]);
    assert!(!is_chinese(&en.body["title"]) && !is_chinese(&en.body["errors"][0]["message"]));
    for field in [
        &zh.body["title"],
        &zh.body["detail"],
        &zh.body["errors"][0]["message"],
    ] {
        assert!(is_chinese(field), "{}", zh.body);
    }
    assert_eq!(zh.header("content-language").as_deref(), Some("zh-CN"));
    assert_eq!(zh.header("vary").as_deref(), Some("Accept-Language"));
    assert_eq!(en.header("vary").as_deref(), Some("Accept-Language"));

    // Every kind of answer the plumbing gives: unknown path, no token, bad JSON, a conflict.
    let cases: [Case; 4] = [
        ("GET", "/api/v1/nowhere", b"", None, 404),
        ("GET", "/api/v1/me/handbook", b"", None, 401),
        ("POST", "/api/v1/auth/login", b"{not json", None, 400),
        (
            "POST",
            "/api/v1/me/handbook/bind",
            br#"{"code":"wrongcode"}"#,
            Some(&mother),
            422,
        ),
    ];
    for (method, path, body, token, status) in cases {
        let r = in_language(&app, "zh", method, path, body.to_vec(), token).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        assert!(is_chinese(&r.body["title"]), "{method} {path}: {}", r.body);
        assert!(is_chinese(&r.body["detail"]), "{method} {path}: {}", r.body);
        // No parser text or English detail leaks into a Chinese answer.
        assert!(
            !r.body["detail"].as_str().unwrap().contains("line"),
            "{}",
            r.body
        );
    }
    // Without Accept-Language the answer is English.
    let plain = app.request("GET", "/api/v1/nowhere", None, None).await;
    assert_eq!(plain.body["title"], "Not found");
}

/// An enum field given a value it does not allow names the field and its allowed values, not
/// serde's wording.
#[actix_web::test]
async fn a_wrong_enum_value_names_the_allowed_values() {
    let (app, _) = seeded_app().await;
    let admin = app.token("admin").await;
    let r = app
        .post(
            "/api/v1/institutions",
            Some(&admin),
            json!({"name": "X", "level": "neighbour", "region_code": "990101001002"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "/level");
    assert_eq!(r.body["errors"][0]["code"], "invalid_value");
    let message = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("must be one of: "), "{message}");
    assert!(message.contains("village_clinic"), "{message}");
    assert!(
        !message.contains('`') && !message.contains("variant"),
        "{message}"
    );
}

/// NUL characters in an address are a 400 on both backends (PostgreSQL text cannot hold one:
/// they answered 500 there), before routing, and with the request's headers.
#[actix_web::test]
async fn a_nul_character_in_the_address_is_a_400_not_a_500() {
    let (app, _) = seeded_app().await;
    let token = app.token("admin").await;
    for path in [
        "/api/v1/handbooks/%00",
        "/api/v1/audit-events?action=%00",
        "/api/v1/handbooks?cursor=%00",
        "/api/v1/regions/99%0001",
    ] {
        let r = app.get(path, &token).await;
        assert_problem(&r, 400, "bad_request");
        assert!(r.header("x-request-id").is_some(), "{path}");
    }
}
