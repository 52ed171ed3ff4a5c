use diesel::prelude::*;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn staff_login_gives_tokens_and_me_shows_the_account() {
    let (app, world) = seeded_app().await;
    let tokens = app.login("clinician.a").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    assert!(tokens["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("mchr_"));

    let me = app
        .get("/api/v1/me", tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["kind"], "staff");
    assert_eq!(me.body["username"], "clinician.a");
    assert_eq!(me.body["roles"], json!(["clinician"]));
    assert_eq!(me.body["institution"]["id"], world.inst_a.as_str());
    assert_eq!(me.body["institution"]["county_code"], "990101");
    // Public ids are UUIDv7, not sequential integers.
    let id = uuid::Uuid::parse_str(me.body["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 7);
}

#[actix_web::test]
async fn a_wrong_password_is_401_and_both_outcomes_are_audited() {
    let (app, _) = seeded_app().await;
    let bad = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "clinician.a", "password": "not the password"}),
        )
        .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.body["code"], "invalid_credentials");
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "nobody", "password": "whatever"}),
        )
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.body["code"], "invalid_credentials",
        "unknown users look the same as wrong passwords"
    );
    app.login("clinician.a").await;

    assert_eq!(
        app.count(
            "audit_events WHERE action = 'auth.login' AND outcome = 'failure' AND \
        actor_label = 'clinician.a'"
        ),
        1
    );
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'auth.login' AND outcome = 'failure' AND \
        actor_label = 'nobody'"
        ),
        1
    );
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'auth.login' AND outcome = 'success' AND \
        actor_label = 'clinician.a'"
        ),
        1
    );
}

#[actix_web::test]
async fn refresh_rotates_and_reusing_an_old_refresh_token_revokes_the_whole_session() {
    let (app, _) = seeded_app().await;
    let first = app.login("clinician.a").await;
    let r1 = first["refresh_token"].as_str().unwrap();

    let second = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!(second.status, 200);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_string();
    let a2 = second.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(app.get("/api/v1/me", &a2).await.status, 200);

    // Someone replays r1: refused, and the session (r2, a2 and the first access token) dies.
    let replay = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await;
    assert_eq!(replay.status, 401);
    assert_eq!(replay.body["code"], "invalid_refresh_token");
    assert_eq!(
        app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
            .await
            .status,
        401
    );
    assert_eq!(app.get("/api/v1/me", &a2).await.status, 401);
    assert_eq!(
        app.get("/api/v1/me", first["access_token"].as_str().unwrap())
            .await
            .status,
        401
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.refresh_reuse'"),
        1
    );

    // A new login still works.
    app.login("clinician.a").await;
}

#[actix_web::test]
async fn expired_refresh_and_access_tokens_are_refused() {
    let (app, world) = seeded_app().await;
    let tokens = app.login("clinician.a").await;
    {
        use mch_handbook::db::schema::refresh_tokens;
        let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
        diesel::update(refresh_tokens::table)
            .set(refresh_tokens::expires_at.eq(past))
            .execute(&mut app.conn())
            .unwrap();
    }
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(refreshed.status, 401);

    // An access token signed with the right key but expired a minute ago.
    let sid = {
        use mch_handbook::db::schema::sessions;
        sessions::table
            .select(sessions::id)
            .first::<String>(&mut app.conn())
            .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "sub": world.staff["clinician.a"],
        "kind": "staff",
        "sid": sid,
        "iss": "mch-handbook",
        "iat": now - 1000,
        "exp": now - 60,
    });
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&JWT_KEY),
    )
    .unwrap();
    let reply = app.get("/api/v1/me", &expired).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["code"], "invalid_token");
    assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer"));

    // The same claims with a live expiry pass: only the expiry made the difference.
    let mut live_claims = claims.clone();
    live_claims["exp"] = json!(now + 600);
    let live = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &live_claims,
        &jsonwebtoken::EncodingKey::from_secret(&JWT_KEY),
    )
    .unwrap();
    assert_eq!(app.get("/api/v1/me", &live).await.status, 200);
}

#[actix_web::test]
async fn forged_and_malformed_tokens_are_401() {
    let (app, world) = seeded_app().await;
    let good = app.token("clinician.a").await;
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({
            "sub": "x",
            "kind": "staff",
            "sid": "y",
            "iss": "mch-handbook",
            "iat": 0,
            "exp": 4102444800i64,
        }),
        &jsonwebtoken::EncodingKey::from_secret(b"some other key of thirty-two by"),
    )
    .unwrap();
    // The real claims with `alg: none` and no signature; and the real token with its claims
    // changed to another account (the signature no longer matches).
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    claims["sub"] = json!(world.staff["admin"]);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    for token in [
        forged.as_str(),
        "not-a-jwt",
        &good[..good.len() - 3],
        &unsigned,
        &tampered,
    ] {
        assert_eq!(app.get("/api/v1/me", token).await.status, 401, "{token}");
    }
    assert_eq!(app.get("/api/v1/me", &good).await.status, 200);
    let anonymous = app.request("GET", "/api/v1/me", None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["code"], "unauthenticated");
}

#[actix_web::test]
async fn logout_ends_the_session_at_once() {
    let (app, _) = seeded_app().await;
    let tokens = app.login("clinician.a").await;
    let access = tokens["access_token"].as_str().unwrap();
    let out = app
        .request("POST", "/api/v1/auth/logout", Some(access), None)
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(app.get("/api/v1/me", access).await.status, 401);
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(refresh.status, 401);
}

#[actix_web::test]
async fn a_disabled_account_loses_its_sessions_and_cannot_sign_in() {
    let (app, world) = seeded_app().await;
    let victim = app.login("clinician.a").await;
    let admin = app.token("admin.a").await;
    let disabled = app
        .request(
            "POST",
            &format!("/api/v1/staff/{}/disable", world.staff["clinician.a"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["disabled"], true);

    assert_eq!(
        app.get("/api/v1/me", victim["access_token"].as_str().unwrap())
            .await
            .status,
        401
    );
    assert_eq!(
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": victim["refresh_token"]})
        )
        .await
        .status,
        401
    );
    let again = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "clinician.a", "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status, 401);

    let own = app
        .request(
            "POST",
            &format!("/api/v1/staff/{}/disable", world.staff["admin.a"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(own.status, 409);
    assert_eq!(own.body["code"], "cannot_disable_self");
}

#[actix_web::test]
async fn repeated_failures_for_an_account_are_throttled_with_retry_after() {
    let (app, _) = seeded_app().await;
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"username": "clinician.a", "password": "wrong password"}),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    // Now even the right password waits.
    let blocked = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "clinician.a", "password": PASSWORD}),
        )
        .await;
    assert_eq!(blocked.status, 429);
    assert_eq!(blocked.body["code"], "too_many_requests");
    let wait: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.login' AND outcome = 'denied'"),
        1
    );
    // Another account from... the same address is not yet over its own limit.
    app.login("clinician.b").await;
}

/// Issue #14: 24 wrong passwords sent at once were all checked (the count and the failure's
/// record were separate transactions). With a limit of 5, exactly 5 are checked.
#[actix_web::test]
async fn parallel_wrong_passwords_are_checked_no_more_than_the_limit() {
    let (app, _) = seeded_app().await;
    let attempts = (0..24).map(|_| {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "clinician.a", "password": "wrong password"}),
        )
    });
    let answers = futures_util::future::join_all(attempts).await;
    let checked = answers.iter().filter(|r| r.status == 401).count();
    let refused = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!((checked, refused), (5, 19));
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.login' AND outcome = 'failure'"),
        5
    );
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.login' AND outcome = 'denied'"),
        19
    );
}

#[actix_web::test]
async fn repeated_failures_from_one_address_are_throttled() {
    let app = spawn_app_with(|s| s.throttle.max_failures_per_address = 3).await;
    seed(&mut app.conn());
    for name in ["a1", "a2", "a3"] {
        assert_eq!(
            app.post(
                "/api/v1/auth/login",
                None,
                json!({"username": name, "password": "x"})
            )
            .await
            .status,
            401
        );
    }
    let blocked = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "clinician.a", "password": PASSWORD}),
        )
        .await;
    assert_eq!(blocked.status, 429);
    assert!(blocked.header("retry-after").is_some());
}

#[actix_web::test]
async fn sessions_are_listed_and_one_can_end_only_ones_own() {
    let (app, _) = seeded_app().await;
    let phone = app.login("clinician.a").await;
    let desktop = app.token("clinician.a").await;
    let other = app.token("clinician.b").await;

    let list = app.get("/api/v1/me/sessions", &desktop).await;
    assert_eq!(list.status, 200);
    let sessions = list.body["items"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_session = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another account cannot end it (and cannot tell that it exists).
    let foreign = app
        .request(
            "DELETE",
            &format!("/api/v1/me/sessions/{phone_session}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(foreign.status, 404);
    assert_eq!(
        app.get("/api/v1/me", phone["access_token"].as_str().unwrap())
            .await
            .status,
        200
    );

    let mine = app
        .request(
            "DELETE",
            &format!("/api/v1/me/sessions/{phone_session}"),
            Some(&desktop),
            None,
        )
        .await;
    assert_eq!(mine.status, 204);
    assert_eq!(
        app.get("/api/v1/me", phone["access_token"].as_str().unwrap())
            .await
            .status,
        401
    );
    assert_eq!(app.get("/api/v1/me", &desktop).await.status, 200);
}

/// Issue #14: expired sessions, refresh tokens, idempotency keys and throttle counters were
/// never purged. The hourly housekeeping forgets what has outlived its use, and nothing else.
#[actix_web::test]
async fn housekeeping_forgets_what_has_outlived_its_use_and_nothing_else() {
    use diesel::prelude::*;
    use mch_handbook::db::schema::{idempotency_keys, sessions};
    let (app, _) = seeded_app().await;
    let old = app.token("clinician.a").await;
    let current = app.token("clinician.b").await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"username": "clinician.c", "password": "wrong password"}),
    )
    .await;
    let hb = app
        .request(
            "POST",
            "/api/v1/handbooks",
            Some(&current),
            Some(crate::handbook::new_handbook(3, "李娟")),
        )
        .await;
    assert_eq!(hb.status, 201);
    let now = chrono::Utc::now().naive_utc();
    let mut conn = app.conn();
    // clinician.a's session ended 31 days ago.
    let a_session: String = sessions::table
        .order(sessions::created_at.asc())
        .select(sessions::id)
        .first(&mut conn)
        .unwrap();
    diesel::update(sessions::table.find(&a_session))
        .set(sessions::expires_at.eq(now - chrono::Duration::days(31)))
        .execute(&mut conn)
        .unwrap();
    let audit_before = app.count("audit_events");
    let sessions_before = app.count("sessions");
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::caller_id.eq("staff:x"),
            idempotency_keys::idem_key.eq("old"),
            idempotency_keys::request_hash.eq("h"),
            idempotency_keys::status.eq(201),
            idempotency_keys::response.eq("{}"),
            idempotency_keys::created_at.eq(now - chrono::Duration::hours(25)),
        ))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(app.count("throttle_attempts"), 1);

    // An hour later than the window: the failed login's counter goes too.
    let later = now + chrono::Duration::seconds(app.settings.throttle.window.as_secs() as i64 + 1);
    let purged = mch_handbook::housekeeping::purge(&mut conn, &app.settings, later).unwrap();
    assert_eq!(purged.sessions, 1);
    assert!(purged.refresh_tokens >= 1);
    assert_eq!(purged.idempotency_keys, 1);
    assert!(purged.throttle_rows >= 1);
    assert_eq!(app.count("sessions"), sessions_before - 1);
    assert_eq!(app.count(&format!("sessions WHERE id = '{a_session}'")), 0);
    assert_eq!(app.count("throttle_attempts"), 0);
    assert_eq!(
        app.count("audit_events"),
        audit_before,
        "the audit log is kept"
    );
    // The live session still works; the purged one was already over.
    assert_eq!(app.get("/api/v1/me", &current).await.status, 200);
    let _ = old;
}
