//! WeChat login against a fake WeChat API started in-process.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::json;

use crate::helpers::*;

#[derive(Deserialize)]
struct Jscode2Session {
    appid: String,
    secret: String,
    js_code: String,
    grant_type: String,
}

/// Behaves like `/sns/jscode2session`: `good-<name>` codes succeed once each (openid
/// `openid-<name>`, with a unionid for `good-u-<name>`), reused codes get 40163, others 40029.
async fn jscode2session(
    q: web::Query<Jscode2Session>,
    used: web::Data<std::sync::Mutex<Vec<String>>>,
) -> HttpResponse {
    if q.appid != "wx-test-app"
        || q.secret != "wx-test-secret"
        || q.grant_type != "authorization_code"
    {
        return HttpResponse::Ok().json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
    }
    let mut used = used.lock().unwrap();
    if used.contains(&q.js_code) {
        return HttpResponse::Ok().json(json!({"errcode": 40163, "errmsg": "code been used"}));
    }
    match q.js_code.strip_prefix("good-") {
        Some(name) => {
            used.push(q.js_code.clone());
            let base = name.split('#').next().unwrap();
            let mut body =
                json!({"openid": format!("openid-{base}"), "session_key": "c2Vzc2lvbmtleQ=="});
            if base.starts_with("u-") {
                body["unionid"] = json!(format!("union-{base}"));
            }
            HttpResponse::Ok().json(body)
        }
        None => HttpResponse::Ok().json(json!({"errcode": 40029, "errmsg": "invalid code"})),
    }
}

async fn fake_wechat() -> String {
    let used = web::Data::new(std::sync::Mutex::new(Vec::<String>::new()));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(used.clone())
            .route("/sns/jscode2session", web::get().to(jscode2session))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

async fn app_with_wechat() -> TestApp {
    let base = fake_wechat().await;
    spawn_app_with(move |s| {
        s.wechat.app_id = Some("wx-test-app".into());
        s.wechat.app_secret = Some(mch_handbook::config::Secret::new("wx-test-secret"));
        s.wechat.api_base = base;
    })
    .await
}

#[actix_web::test]
async fn first_login_creates_the_account_and_later_logins_return_to_it() {
    let app = app_with_wechat().await;
    let first = app
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "good-mother#1"}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["account_created"], true);
    let me1 = app
        .get("/api/v1/me", first.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me1.body["kind"], "family");

    // A new wx.login code for the same WeChat user: the same account.
    let second = app
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "good-mother#2"}),
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["account_created"], false);
    let me2 = app
        .get("/api/v1/me", second.body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me1.body["id"], me2.body["id"]);
    assert_eq!(app.count("family_accounts"), 1);
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.wechat' AND outcome = 'success'"),
        2
    );

    // unionid is kept when WeChat sends one.
    let with_union = app
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "good-u-father"}),
        )
        .await;
    assert_eq!(with_union.status, 200);
    assert_eq!(
        app.count("family_accounts WHERE wechat_unionid = 'union-u-father'"),
        1
    );
}

#[actix_web::test]
async fn invalid_or_reused_codes_are_401_and_create_nothing() {
    let app = app_with_wechat().await;
    let bad = app
        .post("/api/v1/auth/wechat", None, json!({"code": "forged"}))
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.body["code"], "wechat_code_invalid");
    assert_eq!(app.count("family_accounts"), 0);

    assert_eq!(
        app.post("/api/v1/auth/wechat", None, json!({"code": "good-once"}))
            .await
            .status,
        200
    );
    let reused = app
        .post("/api/v1/auth/wechat", None, json!({"code": "good-once"}))
        .await;
    assert_eq!(reused.status, 401);
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.wechat' AND outcome = 'failure'"),
        2
    );

    let empty = app
        .post("/api/v1/auth/wechat", None, json!({"code": ""}))
        .await;
    assert_eq!(empty.status, 422);
    assert_eq!(empty.error_fields(), vec!["/code"]);
}

#[actix_web::test]
async fn wechat_unreachable_is_503_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.wechat.app_id = Some("wx-test-app".into());
        s.wechat.app_secret = Some(mch_handbook::config::Secret::new("wx-test-secret"));
        // test_settings points api_base at a port nothing listens on
    })
    .await;
    let reply = app
        .post("/api/v1/auth/wechat", None, json!({"code": "good-mother"}))
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["code"], "wechat_unavailable");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(app.count("family_accounts"), 0);
}

#[actix_web::test]
async fn without_credentials_wechat_login_is_503_except_for_demo_codes_in_demo_mode() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "demo-mother-1"}),
        )
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["code"], "wechat_not_configured");

    let demo = spawn_app_with(|s| s.demo_mode = true).await;
    let ok = demo
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "demo-mother-1"}),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        demo.count("family_accounts WHERE wechat_openid = 'demo-openid-mother-1'"),
        1
    );
    let other = demo
        .post(
            "/api/v1/auth/wechat",
            None,
            json!({"code": "real-looking-code"}),
        )
        .await;
    assert_eq!(other.status, 401);
}
