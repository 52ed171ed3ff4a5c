//! Roles (403) versus scope (404) for staff and families.

use serde_json::json;

use crate::helpers::*;

async fn family_token(app: &TestApp, code: &str) -> String {
    let r = app
        .post("/api/v1/auth/wechat", None, json!({"code": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn a_role_that_may_never_call_an_endpoint_gets_403_and_anonymous_401() {
    let (app, world) = seeded_app().await;
    let clinician = app.token("clinician.a").await;
    let reviewer = app.token("reviewer").await;
    let region = json!({"code": "990101001001", "name": "东湖村"});
    assert_eq!(
        app.post("/api/v1/regions", Some(&clinician), region.clone())
            .await
            .status,
        403
    );
    assert_eq!(
        app.post("/api/v1/regions", None, region.clone())
            .await
            .status,
        401
    );
    assert_eq!(app.get("/api/v1/staff", &clinician).await.status, 403);
    assert_eq!(
        app.get("/api/v1/audit-events", &clinician).await.status,
        403
    );
    assert_eq!(
        app.request(
            "POST",
            &format!("/api/v1/staff/{}/disable", world.staff["clinician.b"]),
            Some(&reviewer),
            None
        )
        .await
        .status,
        403,
        "a county reviewer reads staff but does not manage them"
    );
    let admin = app.token("admin").await;
    assert_eq!(
        app.post("/api/v1/regions", Some(&admin), region)
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn families_are_refused_staff_endpoints() {
    let app = spawn_app_with(|s| s.demo_mode = true).await;
    seed(&mut app.conn());
    let mother = family_token(&app, "demo-mother-1").await;
    for path in [
        "/api/v1/staff",
        "/api/v1/regions",
        "/api/v1/institutions",
        "/api/v1/audit-events",
    ] {
        let r = app.get(path, &mother).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.body["code"], "forbidden");
    }
}

#[actix_web::test]
async fn staff_outside_ones_institution_or_county_is_404() {
    let (app, world) = seeded_app().await;
    let admin_a = app.token("admin.a").await;
    let reviewer = app.token("reviewer").await;
    let other_reviewer = app.token("other.reviewer").await;
    let in_b = &world.staff["clinician.b"];
    let in_c = &world.staff["clinician.c"];

    assert_eq!(
        app.get(
            &format!("/api/v1/staff/{}", world.staff["clinician.a"]),
            &admin_a
        )
        .await
        .status,
        200
    );
    let hidden = app.get(&format!("/api/v1/staff/{in_b}"), &admin_a).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.body["code"], "not_found");
    // The same answer as for an id that does not exist at all.
    assert_eq!(
        app.get(
            "/api/v1/staff/01a20968-0000-7000-8000-000000000000",
            &admin_a
        )
        .await
        .status,
        404
    );

    assert_eq!(
        app.get(&format!("/api/v1/staff/{in_b}"), &reviewer)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/staff/{in_c}"), &reviewer)
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/staff/{in_c}"), &other_reviewer)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/staff/{in_b}"), &other_reviewer)
            .await
            .status,
        404
    );

    // Disabling out of scope is 404 too, and changes nothing.
    let r = app
        .request(
            "POST",
            &format!("/api/v1/staff/{in_b}/disable"),
            Some(&admin_a),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(app.count("staff_accounts WHERE disabled = TRUE"), 0);
}

#[actix_web::test]
async fn lists_show_only_what_is_in_scope() {
    let (app, world) = seeded_app().await;
    let usernames = |body: &serde_json::Value| -> Vec<String> {
        let mut v: Vec<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["username"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let admin_a = app.token("admin.a").await;
    let own = app.get("/api/v1/staff", &admin_a).await;
    assert_eq!(
        usernames(&own.body),
        vec!["admin.a", "clinician.a", "village.a"]
    );
    // Asking for another institution's staff yields nothing, not an error that confirms it.
    let other = app
        .get(
            &format!("/api/v1/staff?institution_id={}", world.inst_b),
            &admin_a,
        )
        .await;
    assert_eq!(other.status, 200);
    assert!(other.body["items"].as_array().unwrap().is_empty());

    let reviewer = app.token("reviewer").await;
    let county = app.get("/api/v1/staff?limit=100", &reviewer).await;
    assert_eq!(
        usernames(&county.body),
        vec![
            "admin",
            "admin.a",
            "clinician.a",
            "clinician.b",
            "reviewer",
            "village.a"
        ]
    );

    let admin = app.token("admin").await;
    let everyone = app.get("/api/v1/staff?role=clinician", &admin).await;
    assert_eq!(
        usernames(&everyone.body),
        vec!["clinician.a", "clinician.b", "clinician.c"]
    );
    let _ = world.inst_c;
}

#[actix_web::test]
async fn an_institution_admin_manages_only_its_own_institution_and_roles() {
    let (app, world) = seeded_app().await;
    let admin_a = app.token("admin.a").await;
    let new = |institution: &str, role: &str| {
        json!({"username": format!("new.{role}"), "password": "long enough password",
        "full_name": "新同事",
               "institution_id": institution, "roles": [role]})
    };
    assert_eq!(
        app.post(
            "/api/v1/staff",
            Some(&admin_a),
            new(&world.inst_b, "clinician")
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/staff",
            Some(&admin_a),
            new(&world.inst_a, "system_admin")
        )
        .await
        .status,
        403
    );
    assert_eq!(
        app.post(
            "/api/v1/staff",
            Some(&admin_a),
            new(&world.inst_a, "county_reviewer")
        )
        .await
        .status,
        403
    );
    let ok = app
        .post(
            "/api/v1/staff",
            Some(&admin_a),
            new(&world.inst_a, "clinician"),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(ok.body["institution_id"], world.inst_a.as_str());
    assert!(ok.body.get("password").is_none() && ok.body.get("password_hash").is_none());
    let again = app
        .post(
            "/api/v1/staff",
            Some(&admin_a),
            new(&world.inst_a, "clinician"),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "username_taken");
    // The new colleague can sign in.
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"username": "new.clinician", "password": "long enough password"}),
        )
        .await;
    assert_eq!(login.status, 200);
}

#[actix_web::test]
async fn a_family_cannot_touch_another_familys_session() {
    let app = spawn_app_with(|s| s.demo_mode = true).await;
    let mother1 = family_token(&app, "demo-mother-1").await;
    let mother2 = family_token(&app, "demo-mother-2").await;
    let sessions = app.get("/api/v1/me/sessions", &mother1).await;
    let id = sessions.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .request(
            "DELETE",
            &format!("/api/v1/me/sessions/{id}"),
            Some(&mother2),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(app.get("/api/v1/me", &mother1).await.status, 200);
}
