//! The handbook record through HTTP: registration, identity, codes, pregnancies, checkups, the
//! mother's view, and who may see what.

use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::*;

/// A valid 18-character resident identity number (GB 11643 check digit) for a woman born
/// 1990-01-01, with sequence `seq` (made even: women have an even sequence digit).
pub fn id_number(seq: u32) -> String {
    with_check_digit(&format!("990101199001010{:02}", (seq * 2) % 100))
}

/// A valid resident identity number of a woman born `days` days after 1990-01-01 (one per day).
pub fn id_number_born(days: u32) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + Duration::days(days.into());
    with_check_digit(&format!("990101{}002", born.format("%Y%m%d")))
}

/// The 17 digits and their GB 11643 check digit.
fn with_check_digit(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize])
}

pub fn new_handbook(seq: u32, name: &str) -> Value {
    json!({
        "id_type": "resident_id", "id_number": id_number(seq), "full_name": name,
        "phone": "13800000000",
        "residence_region_code": "990101001000", "address": "东湖村3组", "household_registered": true,
        "height_cm": 160.0, "pre_pregnancy_weight_kg": 51.2, "blood_group": "O", "rh": "positive",
        "history": {"allergies": "青霉素"}, "partner": {"name": "王强", "age": 31}
    })
}

pub fn days_ago(n: i64) -> String {
    (mch_handbook::time::china_today() - Duration::days(n)).to_string()
}

/// A clinician of institution A registers a woman and opens a pregnancy 20+0 weeks along today.
pub async fn registered_pregnancy(app: &TestApp, clinician: &str) -> (String, String) {
    let token = app.token(clinician).await;
    let hb = app
        .post("/api/v1/handbooks", Some(&token), new_handbook(1, "李娟"))
        .await;
    assert_eq!(hb.status, 201, "{}", hb.body);
    let handbook = hb.body["id"].as_str().unwrap().to_string();
    let p = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&token),
            json!({
                "lmp": days_ago(140),
                "gravidity": 1,
                "parity": 0,
                "fetal_count": 1,
                "registration_date": days_ago(70),
            }),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    (handbook, p.body["id"].as_str().unwrap().to_string())
}

async fn family(app: &TestApp, code: &str) -> String {
    let r = app
        .post("/api/v1/auth/wechat", None, json!({"code": code}))
        .await;
    r.body["access_token"].as_str().unwrap().to_string()
}

/// The mother shares her handbook with the family account of `demo_code` (a family code), which
/// joins it; returns that account's token.
pub async fn join_family(app: &TestApp, mother: &str, demo_code: &str) -> String {
    let member = family(app, demo_code).await;
    let code = app
        .post(
            "/api/v1/me/handbook/share-codes",
            Some(mother),
            json!({"share_with": "family"}),
        )
        .await;
    let joined = app
        .post(
            "/api/v1/me/handbooks/join",
            Some(&member),
            json!({"code": code.body["code"]}),
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    assert_eq!(joined.body["relation"], "family");
    member
}

pub async fn demo_app() -> (TestApp, World) {
    let app = spawn_app_with(|s| s.demo_mode = true).await;
    let world = seed(&mut app.conn());
    (app, world)
}

#[actix_web::test]
async fn registering_the_same_identity_twice_finds_the_first_and_shares_it() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let b = app.token("clinician.b").await;
    let first = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(1, "李娟"))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(
        first.body["id_number_masked"],
        format!("{}********{}", &id_number(1)[..4], &id_number(1)[14..])
    );
    assert_eq!(first.body["status"], "confirmed");
    assert_eq!(first.body["bmi"], 20.0);
    assert_eq!(first.body["bmi_category"], "normal");
    assert_eq!(first.header("etag").as_deref(), Some("\"v1\""));
    let id = first.body["id"].as_str().unwrap();

    // Clinic B cannot see it yet…
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &b).await.status,
        404
    );
    // …registers the same woman (lower-case x, same name): the same handbook, now shared.
    let again = app
        .post("/api/v1/handbooks", Some(&b), new_handbook(1, "李娟"))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], id);
    assert_eq!(app.count("handbooks"), 1);
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &b).await.status,
        200
    );

    // The same number under another name is refused without revealing anything.
    let other = app
        .post("/api/v1/handbooks", Some(&b), new_handbook(1, "张三"))
        .await;
    assert_eq!(other.status, 409);
    assert_eq!(other.body["code"], "identity_mismatch");
    assert!(other.body.get("id").is_none());

    // Found by exact identity number.
    let found = app
        .get(
            &format!(
                "/api/v1/handbooks?id_type=resident_id&id_number={}",
                id_number(1)
            ),
            &a,
        )
        .await;
    assert_eq!(found.body["items"][0]["id"], id);
}

#[actix_web::test]
async fn identity_numbers_are_checked_encrypted_masked_and_read_in_full_only_with_an_audit() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let mut bad = new_handbook(1, "李娟");
    let mut wrong = id_number(1);
    let last = if wrong.ends_with('0') { '1' } else { '0' };
    wrong.pop();
    wrong.push(last);
    bad["id_number"] = json!(wrong);
    bad["birth_date"] = json!("1991-05-05");
    bad["height_cm"] = json!(20);
    let r = app.post("/api/v1/handbooks", Some(&a), bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.error_fields(),
        vec!["/height_cm"],
        "single-field rules first"
    );
    let mut bad = new_handbook(1, "李娟");
    bad["id_number"] = json!(wrong);
    bad["birth_date"] = json!("1991-05-05");
    let r = app.post("/api/v1/handbooks", Some(&a), bad).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["/id_number"]);
    let mut mismatch = new_handbook(1, "李娟");
    mismatch["birth_date"] = json!("1991-05-05");
    let r = app.post("/api/v1/handbooks", Some(&a), mismatch).await;
    assert_eq!(r.error_fields(), vec!["/birth_date"]);
    assert_eq!(app.count("handbooks"), 0);

    let created = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(2, "李娟"))
        .await;
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        created.body["birth_date"], "1990-01-01",
        "derived from the number"
    );
    // At rest the number is ciphertext.
    let stored: String = {
        use mch_handbook::db::schema::handbooks;
        handbooks::table
            .select(handbooks::id_number_enc)
            .first(&mut app.conn())
            .unwrap()
    };
    assert!(stored.starts_with("v1:") && !stored.contains(&id_number(2)[6..14]));
    let full = app
        .get(&format!("/api/v1/handbooks/{id}/identity"), &a)
        .await;
    assert_eq!(full.body["id_number"], id_number(2));
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'handbook.read_identity' AND resource_id = '{id}'"
        )),
        1
    );
    let reviewer = app.token("reviewer").await;
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &reviewer)
            .await
            .status,
        200,
        "county reviewers see their county"
    );
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}/identity"), &reviewer)
            .await
            .status,
        403
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/handbooks/{id}"),
            &app.token("other.reviewer").await
        )
        .await
        .status,
        404
    );
}

#[actix_web::test]
async fn a_binding_code_links_the_mother_once_and_expires() {
    let (app, _) = demo_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(1, "李娟"))
        .await;
    let id = hb.body["id"].as_str().unwrap();
    let code = app
        .request(
            "POST",
            &format!("/api/v1/handbooks/{id}/binding-codes"),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(code.status, 201);
    let code = code.body["code"].as_str().unwrap().to_string();

    let mother = family(&app, "demo-mother-1").await;
    assert_eq!(
        app.get("/api/v1/me/handbook", &mother).await.status,
        404,
        "nothing bound yet"
    );
    let bound = app
        .post(
            "/api/v1/me/handbook/bind",
            Some(&mother),
            json!({"code": code.to_lowercase()}),
        )
        .await;
    assert_eq!(bound.status, 200, "{}", bound.body);
    assert_eq!(bound.body["id"], id);
    let mine = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(mine.body["relation"], "mother");
    assert_eq!(mine.body["profile"]["full_name"], "李娟");

    // Single use: another account cannot reuse it.
    let intruder = family(&app, "demo-mother-2").await;
    let reuse = app
        .post(
            "/api/v1/me/handbook/bind",
            Some(&intruder),
            json!({"code": code}),
        )
        .await;
    assert_eq!(reuse.status, 422);
    assert_eq!(reuse.error_fields(), vec!["/code"]);
    assert_eq!(
        app.get(&format!("/api/v1/me/handbooks/{id}"), &intruder)
            .await
            .status,
        404
    );

    // Expired codes fail too.
    let late = app
        .request(
            "POST",
            &format!("/api/v1/handbooks/{id}/binding-codes"),
            Some(&a),
            None,
        )
        .await;
    {
        use mch_handbook::db::schema::access_codes;
        let past = chrono::Utc::now().naive_utc() - Duration::minutes(1);
        diesel::update(access_codes::table.filter(access_codes::used_at.is_null()))
            .set(access_codes::expires_at.eq(past))
            .execute(&mut app.conn())
            .unwrap();
    }
    let expired = app
        .post(
            "/api/v1/me/handbook/bind",
            Some(&intruder),
            json!({"code": late.body["code"]}),
        )
        .await;
    assert_eq!(expired.status, 422);
    assert_eq!(
        app.count("audit_events WHERE action = 'code.redeem' AND outcome = 'failure'"),
        2
    );
}

#[actix_web::test]
async fn a_mother_shares_with_a_clinic_by_a_short_lived_code_and_with_family_read_only() {
    let (app, _) = demo_app().await;
    let mother = family(&app, "demo-mother-1").await;
    let started = app
        .post(
            "/api/v1/me/handbook",
            Some(&mother),
            new_handbook(3, "王芳"),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.body["status"], "pending");
    let id = started.body["id"].as_str().unwrap().to_string();

    // A clinic in another county, where she now lives and works, cannot see her record…
    let c = app.token("clinician.c").await;
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &c).await.status,
        404
    );
    // …until she gives it a share code.
    let code = app
        .post(
            "/api/v1/me/handbook/share-codes",
            Some(&mother),
            json!({"share_with": "clinic"}),
        )
        .await;
    assert_eq!(code.status, 201);
    let used = app
        .post(
            "/api/v1/handbooks/shared",
            Some(&c),
            json!({"code": code.body["code"]}),
        )
        .await;
    assert_eq!(used.status, 200, "{}", used.body);
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &c).await.status,
        200
    );
    // The clinic registers her: her self-started handbook is confirmed, not duplicated. The
    // app account that started it was never verified, so its link ends; she binds again with
    // the clinic's binding code, in person.
    let confirmed = app
        .post("/api/v1/handbooks", Some(&c), new_handbook(3, "王芳"))
        .await;
    assert_eq!(confirmed.status, 200);
    assert_eq!(confirmed.body["status"], "confirmed");
    assert_eq!(app.count("handbooks"), 1);
    assert_eq!(app.get("/api/v1/me/handbook", &mother).await.status, 404);
    let mother = app.bind_mother(&c, &id, "demo-mother-1").await;
    assert_eq!(app.get("/api/v1/me/handbook", &mother).await.status, 200);

    // Her husband gets read access with a family code.
    let husband = join_family(&app, &mother, "demo-husband").await;
    let view = app
        .get(&format!("/api/v1/me/handbooks/{id}"), &husband)
        .await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["relation"], "family");
    // Read-only: he has no handbook of his own to change and cannot issue codes.
    let r = app
        .request(
            "PATCH",
            "/api/v1/me/handbook",
            Some(&husband),
            Some(json!({"phone": "13700000000"})),
        )
        .await;
    assert!(r.status == 404 || r.status == 428, "{}", r.status);
    assert_eq!(
        app.post(
            "/api/v1/me/handbook/share-codes",
            Some(&husband),
            json!({"share_with": "family"})
        )
        .await
        .status,
        404
    );
    // A stranger sees nothing.
    let stranger = family(&app, "demo-stranger").await;
    assert_eq!(
        app.get(&format!("/api/v1/me/handbooks/{id}"), &stranger)
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn a_mother_edits_her_contact_details_but_not_clinical_data() {
    let (app, _) = demo_app().await;
    let mother = family(&app, "demo-mother-1").await;
    let started = app
        .post(
            "/api/v1/me/handbook",
            Some(&mother),
            new_handbook(4, "王芳"),
        )
        .await;
    let etag = started.header("etag").unwrap();
    let forbidden = app
        .client
        .patch(format!("{}/api/v1/me/handbook", app.address))
        .insert_header(("Authorization", format!("Bearer {mother}")))
        .insert_header(("If-Match", etag.clone()))
        .send_json(&json!({"blood_group": "A"}))
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 422);
    let no_if_match = app
        .request(
            "PATCH",
            "/api/v1/me/handbook",
            Some(&mother),
            Some(json!({"phone": "13700000000"})),
        )
        .await;
    assert_eq!(no_if_match.status, 428);
    let ok = app
        .client
        .patch(format!("{}/api/v1/me/handbook", app.address))
        .insert_header(("Authorization", format!("Bearer {mother}")))
        .insert_header(("If-Match", etag.clone()))
        .send_json(&json!({"phone": "13700000000", "history": {"allergies": "青霉素、头孢"}}))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers().get("etag").unwrap(), "\"v2\"");
    let stale = app
        .client
        .patch(format!("{}/api/v1/me/handbook", app.address))
        .insert_header(("Authorization", format!("Bearer {mother}")))
        .insert_header(("If-Match", etag))
        .send_json(&json!({"phone": "13600000000"}))
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    assert_eq!(app.count("handbook_versions"), 1);
}

#[actix_web::test]
async fn clinic_corrections_to_a_profile_keep_every_version() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(6, "李娟"))
        .await;
    let id = hb.body["id"].as_str().unwrap();
    let patch = |etag: &'static str, body: Value| {
        let req = app
            .client
            .patch(format!("{}/api/v1/handbooks/{id}", app.address))
            .insert_header(("Authorization", format!("Bearer {a}")))
            .insert_header(("If-Match", etag));
        async move {
            let mut res = req.send_json(&body).await.unwrap();
            let v: Value = res.json().await.unwrap_or_default();
            (res.status().as_u16(), v)
        }
    };
    let (status, v) = patch(
        "\"v1\"",
        json!({
            "pre_pregnancy_weight_kg": 53.0,
            "residence_region_code": "990101002000",
            "reason": "weighed again",
        }),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], 2);
    assert_eq!(v["bmi"], 20.7);
    assert_eq!(
        patch("\"v1\"", json!({"phone": "13900000000"})).await.0,
        412
    );
    assert_eq!(
        patch("\"v2\"", json!({"residence_region_code": "990199000000"}))
            .await
            .0,
        422,
        "unknown region"
    );
    assert_eq!(
        patch("\"v2\"", json!({"id_number": "x"})).await.0,
        422,
        "the identity document is not changed here"
    );
    let versions = app
        .get(&format!("/api/v1/handbooks/{id}/versions"), &a)
        .await;
    let list = versions.body["items"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["reason"], "weighed again");
    assert_eq!(list[0]["snapshot"]["pre_pregnancy_weight_kg"], 51.2);
    assert!(
        !list[0]["snapshot"].to_string().contains(&id_number(6)),
        "snapshots keep the number masked"
    );
    assert_eq!(
        app.count(&format!(
            "audit_events WHERE action = 'handbook.amend' AND resource_id = '{id}'"
        )),
        1
    );
}

#[actix_web::test]
async fn a_woman_who_moves_county_takes_her_record_to_the_new_county() {
    let (app, _) = seeded_app().await;
    let (handbook, pregnancy) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let old_county = app.token("reviewer").await;
    let new_county = app.token("other.reviewer").await;
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &new_county)
            .await
            .status,
        404
    );
    let mut res = app
        .client
        .patch(format!("{}/api/v1/handbooks/{handbook}", app.address))
        .insert_header(("Authorization", format!("Bearer {a}")))
        .insert_header(("If-Match", "\"v1\""))
        .send_json(&json!({"residence_region_code": "990102001000", "reason": "moved to 平安镇"}))
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(res.status(), 200, "{body}");
    assert_eq!(body["county_code"], "990102");
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &new_county)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/pregnancies/{pregnancy}"), &new_county)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{handbook}"), &old_county)
            .await
            .status,
        404
    );
    let list = app.get("/api/v1/worklist/antenatal", &new_county).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/worklist/antenatal", &old_county)
            .await
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(app.count("pregnancies WHERE county_code = '990101'"), 0);
}

/// The mother sees who can read her handbook and withdraws a share: it ends at once (even for a
/// page the server had kept), is audited, and a new code lets the member back in.
#[actix_web::test]
async fn the_mother_sees_who_she_shares_with_and_withdraws_a_share() {
    let (app, _) = demo_app().await;
    let (handbook, _) = registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let mother = app.bind_mother(&a, &handbook, "demo-mother-1").await;
    let husband = join_family(&app, &mother, "demo-husband").await;
    let husband_id = app.get("/api/v1/me", &husband).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let page = format!("/api/v1/me/handbooks/{handbook}");
    assert_eq!(app.get(&page, &husband).await.status, 200);

    let members = app.get("/api/v1/me/handbook/members", &mother).await;
    assert_eq!(members.status, 200, "{}", members.body);
    let list = members.body["items"].as_array().unwrap();
    assert_eq!(list.len(), 1, "the mother herself is not listed: {list:?}");
    assert_eq!(list[0]["account_id"], husband_id.as_str());
    assert!(list[0]["joined_at"].is_string() && list[0]["last_login_at"].is_string());
    assert_eq!(
        app.get("/api/v1/me/handbook/members", &husband)
            .await
            .status,
        404,
        "a member has no handbook of his own to list"
    );
    let withdraw = format!("/api/v1/me/handbook/members/{husband_id}");
    assert_eq!(
        app.request("DELETE", &withdraw, Some(&husband), None)
            .await
            .status,
        404
    );

    let gone = app.request("DELETE", &withdraw, Some(&mother), None).await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(
        app.count("audit_events WHERE action = 'handbook.unshare' AND outcome = 'success'"),
        1
    );
    assert_eq!(app.get(&page, &husband).await.status, 404);
    assert!(
        app.get("/api/v1/me/handbooks", &husband).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get("/api/v1/me/handbook/members", &mother).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.request("DELETE", &withdraw, Some(&mother), None)
            .await
            .status,
        404,
        "withdrawn already"
    );
    // Her own link cannot be withdrawn this way.
    let own_id = app.get("/api/v1/me", &mother).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let own = format!("/api/v1/me/handbook/members/{own_id}");
    assert_eq!(
        app.request("DELETE", &own, Some(&mother), None)
            .await
            .status,
        404
    );
    assert_eq!(app.get("/api/v1/me/handbook", &mother).await.status, 200);

    // A new code from her lets him back in.
    let again = join_family(&app, &mother, "demo-husband").await;
    assert_eq!(app.get(&page, &again).await.status, 200);
}

/// Issue #14: a stranger types a woman's identity number into the app and starts a handbook
/// (pending). When her clinic registers her in person, the record is hers: the stranger, anyone
/// he shared with and any code he issued lose access, his entries are replaced by the clinic's,
/// and only the account she binds with the clinic's code sees her results.
#[actix_web::test]
async fn a_stranger_who_started_a_handbook_with_her_number_loses_it_when_her_clinic_registers_her()
{
    let (app, _) = demo_app().await;
    let stranger = family(&app, "demo-mother-2").await;
    let started = app
        .post("/api/v1/me/handbook", Some(&stranger), {
            let mut h = new_handbook(7, "冒名");
            h["phone"] = json!("13911112222");
            // Typed as living in the other county: her record must end up in her own.
            h["residence_region_code"] = json!("990102001000");
            h
        })
        .await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id = started.body["id"].as_str().unwrap().to_string();
    let accomplice = join_family(&app, &stranger, "demo-husband").await;
    let unused = app
        .post(
            "/api/v1/me/handbook/share-codes",
            Some(&stranger),
            json!({"share_with": "clinic"}),
        )
        .await;
    assert_eq!(unused.status, 201);

    // Her clinic registers her with her document: the name the stranger typed does not block it.
    let a = app.token("clinician.a").await;
    let registered = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(7, "李娟"))
        .await;
    assert_eq!(registered.status, 200, "{}", registered.body);
    assert_eq!(registered.body["id"], id.as_str());
    assert_eq!(registered.body["status"], "confirmed");
    assert_eq!(registered.body["full_name"], "李娟");
    assert_ne!(registered.body["phone"], "13911112222");
    assert_eq!(registered.body["county_code"], "990101");
    assert_eq!(app.count("handbooks"), 1);
    // Every row of hers moved with the record: none is left in the county the stranger typed.
    for table in [
        "handbook_members",
        "handbook_access",
        "access_codes",
        "handbook_versions",
    ] {
        assert_eq!(
            app.count(&format!(
                "{table} WHERE handbook_id = '{id}' AND county_code = '990102'"
            )),
            0,
            "{table}"
        );
    }

    // The clinic records her visit and an HIV result.
    let pregnancy = app
        .post(
            &format!("/api/v1/handbooks/{id}/pregnancies"),
            Some(&a),
            json!({"lmp": days_ago(84), "gravidity": 1, "parity": 0, "fetal_count": 1}),
        )
        .await;
    assert_eq!(pregnancy.status, 201, "{}", pregnancy.body);
    let checkup = app
        .post(
            &format!(
                "/api/v1/pregnancies/{}/checkups",
                pregnancy.body["id"].as_str().unwrap()
            ),
            Some(&a),
            json!({"visit_date": days_ago(0), "bp_systolic": 110, "bp_diastolic": 70}),
        )
        .await;
    assert_eq!(checkup.status, 201, "{}", checkup.body);
    let checkup = checkup.body["id"].as_str().unwrap().to_string();
    let labs = app
        .post(
            &format!("/api/v1/checkups/{checkup}/labs"),
            Some(&a),
            json!({"results": [{"test": "hiv", "result": "negative"}]}),
        )
        .await;
    assert_eq!(labs.status, 201, "{}", labs.body);

    // Neither the stranger nor the account he shared with reads any of it.
    for token in [&stranger, &accomplice] {
        for path in [
            "/api/v1/me/handbook".to_string(),
            format!("/api/v1/me/handbooks/{id}"),
            format!("/api/v1/me/checkups/{checkup}"),
        ] {
            let r = app.get(&path, token).await;
            assert_eq!(r.status, 404, "{path}: {}", r.body);
        }
    }
    // The code he issued before no longer opens it to a clinic.
    let c = app.token("clinician.c").await;
    let redeemed = app
        .post(
            "/api/v1/handbooks/shared",
            Some(&c),
            json!({"code": unused.body["code"]}),
        )
        .await;
    assert_eq!(redeemed.status, 422, "{}", redeemed.body);
    assert_eq!(
        app.get(&format!("/api/v1/handbooks/{id}"), &c).await.status,
        404
    );

    // She binds her own account with the clinic's code and sees her result.
    let mother = app.bind_mother(&a, &id, "demo-mother-1").await;
    let home = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert_eq!(home.body["profile"]["full_name"], "李娟");
    assert_eq!(home.body["unread"][0]["test"], "hiv");
    // The stranger's entries are kept as the earlier version, and the ending is audited.
    let versions = app
        .get(&format!("/api/v1/handbooks/{id}/versions"), &a)
        .await;
    assert_eq!(versions.body["items"][0]["snapshot"]["full_name"], "冒名");
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'handbook.unverified_links_ended' AND outcome = 'success'"
        ),
        1
    );
}

/// Issue #14: `POST /me/handbook` answered 409 `identity_registered` for a registered number and
/// 201 for another, so any WeChat account could test a list of identity numbers. Now a start in
/// the app claims nothing and answers alike; the woman herself moves to the clinic's record
/// with its binding code.
#[actix_web::test]
async fn the_app_does_not_tell_whether_an_identity_number_is_registered() {
    let (app, _) = demo_app().await;
    let a = app.token("clinician.a").await;
    let registered = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(8, "李娟"))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let record = registered.body["id"].as_str().unwrap().to_string();

    let stranger = family(&app, "demo-mother-2").await;
    let probe = app
        .post(
            "/api/v1/me/handbook",
            Some(&stranger),
            new_handbook(8, "张三"),
        )
        .await;
    let other = family(&app, "demo-mother-3").await;
    let control = app
        .post("/api/v1/me/handbook", Some(&other), new_handbook(9, "张三"))
        .await;
    assert_eq!((probe.status, control.status), (201, 201), "{}", probe.body);
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&probe.body), keys(&control.body));
    assert_eq!(probe.body["status"], "pending");
    assert_ne!(probe.body["id"], record.as_str());
    // He reads only what he typed.
    let his = app.get("/api/v1/me/handbook", &stranger).await;
    assert_eq!(his.body["profile"]["full_name"], "张三");

    // The woman started one in the app too, then binds with her clinic's code: her account
    // moves to the clinic's record, and her own start stays behind with nobody linked.
    let mother = family(&app, "demo-mother-1").await;
    let own = app
        .post(
            "/api/v1/me/handbook",
            Some(&mother),
            new_handbook(8, "李娟"),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
    let code = app
        .request(
            "POST",
            &format!("/api/v1/handbooks/{record}/binding-codes"),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(code.status, 201, "{}", code.body);
    let bound = app
        .post(
            "/api/v1/me/handbook/bind",
            Some(&mother),
            json!({"code": code.body["code"]}),
        )
        .await;
    assert_eq!(bound.status, 200, "{}", bound.body);
    assert_eq!(bound.body["id"], record.as_str());
    let mine = app.get("/api/v1/me/handbook", &mother).await;
    assert_eq!(mine.body["profile"]["id"], record.as_str());
    assert_eq!(
        app.count(&format!(
            "handbook_members WHERE handbook_id = '{}' AND revoked_at IS NULL",
            own.body["id"].as_str().unwrap()
        )),
        0
    );
    // Registering her again finds the clinic's record, not an app start.
    let again = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(8, "李娟"))
        .await;
    assert_eq!(
        (again.status, again.body["id"].as_str()),
        (200, Some(record.as_str()))
    );
}

/// Issue #14: a registration under another name answered `identity_mismatch` to any clinician
/// in any county, without limit. Each such answer is now a failed guess: audited as denied and
/// throttled per clinician.
#[actix_web::test]
async fn a_far_clinician_cannot_check_identity_numbers_against_the_registry() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    for seq in 20..27 {
        let r = app
            .post("/api/v1/handbooks", Some(&a), new_handbook(seq, "李娟"))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let c = app.token("clinician.c").await;
    let mut answers = Vec::new();
    for seq in 20..27 {
        let r = app
            .post("/api/v1/handbooks", Some(&c), new_handbook(seq, "张三"))
            .await;
        answers.push(r.status);
    }
    assert_eq!(answers, [409, 409, 409, 409, 409, 429, 429]);
    // Past the limit he is refused whatever the number: a new, unregistered one too (a 429 for
    // registered numbers only would be the oracle again).
    let unregistered = app
        .post("/api/v1/handbooks", Some(&c), new_handbook(40, "张三"))
        .await;
    assert_eq!(unregistered.status, 429);
    assert_eq!(
        app.count(
            "audit_events WHERE action = 'handbook.register_existing' AND outcome = 'denied'"
        ),
        5
    );
    // Nothing of the records reached him, and another clinician is not held up.
    assert_eq!(
        app.count("handbook_access WHERE reason = 'registration'"),
        7
    );
    let b = app.token("clinician.b").await;
    let r = app
        .post("/api/v1/handbooks", Some(&b), new_handbook(20, "李娟"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Issue #14: on PostgreSQL 6–7 of 16 wrong share codes sent at once were checked (limit 5).
#[actix_web::test]
async fn parallel_wrong_share_codes_are_checked_no_more_than_the_limit() {
    let (app, _) = seeded_app().await;
    let c = app.token("clinician.c").await;
    let attempts = (0..16).map(|i| {
        app.post(
            "/api/v1/handbooks/shared",
            Some(&c),
            json!({"code": format!("WRONG{i:03}")}),
        )
    });
    let answers = futures_util::future::join_all(attempts).await;
    let checked = answers.iter().filter(|r| r.status == 422).count();
    let refused = answers.iter().filter(|r| r.status == 429).count();
    assert_eq!((checked, refused), (5, 11));
}
