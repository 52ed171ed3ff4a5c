//! The authorization matrix: every operation of the OpenAPI document × every role × a resource in
//! and out of the caller's scope. The expected answer of each cell is written down once, in
//! [`MATRIX`]; the test fails for any cell that differs and for any operation the table does not
//! cover, so a new endpoint cannot ship without its row.
//!
//! Conventions: anonymous → 401; a role the row does not allow → 403; an allowed role on a
//! resource in its scope → anything but 401/403/404 (the request body is the operation's documented
//! example, so a valid request succeeds and one the example does not fit gets 409/422); an allowed
//! role on a resource outside its scope → 404, exactly like a resource that does not exist.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration};
use serde_json::{json, Value};

use crate::handbook::{days_ago, new_handbook};
use crate::helpers::*;
use mch_handbook::{auth::Role, org::rules::InstitutionLevel};

/// The roles of the matrix.
const ROLES: &[&str] = &[
    "anon", "mother", "family", "clin", "village", "hosp", "iadmin", "rev", "orev", "sys",
];

/// What a row's path parameter names, for the in/out resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    None,
    Handbook,
    Pregnancy,
    Checkup,
    Child,
    Case,
    Consultation,
    Referral,
    Report,
    /// A family's own records under /me (in: the mother's; out: another family's).
    MyHandbook,
    MyPregnancy,
    MyCheckup,
    MyChild,
    Notice,
    /// A family account sharing the mother's handbook (in: a member of hers; out: an account
    /// that is not).
    Member,
    Session,
    County,
    Staff,
    /// Readable by every staff member (reference data): no out-of-scope probe.
    Institution,
    Region,
    /// A county's force-majeure period: `county|period id`.
    ForceMajeure,
}

/// `(operation, kind, allowed roles, overrides)`. Overrides: `role=status` for cells that differ
/// from the conventions (with the reason in a comment).
pub type Row = (&'static str, Kind, &'static str, &'static str);

const CLINICAL_READ: &str = "clin village hosp rev orev";

pub const MATRIX: &[Row] = &[
    ("GET /healthz", Kind::None, "public", ""),
    ("GET /readyz", Kind::None, "public", ""),
    ("POST /api/v1/auth/login", Kind::None, "public", ""),
    ("POST /api/v1/auth/refresh", Kind::None, "public", ""),
    ("POST /api/v1/auth/wechat", Kind::None, "public", ""),
    (
        "GET /api/v1/me",
        Kind::None,
        "mother family clin village hosp iadmin rev orev sys",
        "",
    ),
    (
        "GET /api/v1/me/sessions",
        Kind::None,
        "mother family clin village hosp iadmin rev orev sys",
        "",
    ),
    ("GET /api/v1/audit-events", Kind::None, "rev orev sys", ""),
    // organisation
    (
        "GET /api/v1/regions",
        Kind::None,
        "clin village hosp iadmin rev orev sys",
        "",
    ),
    ("POST /api/v1/regions", Kind::None, "sys", ""),
    (
        "GET /api/v1/regions/{code}",
        Kind::Region,
        "clin village hosp iadmin rev orev sys",
        "",
    ),
    // Another county's reviewer has the role but not the region: 404.
    (
        "PATCH /api/v1/regions/{code}",
        Kind::Region,
        "rev sys",
        "orev=404",
    ),
    (
        "GET /api/v1/institutions",
        Kind::None,
        "clin village hosp iadmin rev orev sys",
        "",
    ),
    ("POST /api/v1/institutions", Kind::None, "sys", ""),
    (
        "GET /api/v1/institutions/{id}",
        Kind::Institution,
        "clin village hosp iadmin rev orev sys",
        "",
    ),
    (
        "POST /api/v1/institutions/{id}/disable",
        Kind::Institution,
        "sys",
        "",
    ),
    ("GET /api/v1/staff", Kind::None, "iadmin rev orev sys", ""),
    // The example names another institution: an institution's administrator manages its own.
    ("POST /api/v1/staff", Kind::None, "iadmin sys", "iadmin=403"),
    (
        "GET /api/v1/staff/{id}",
        Kind::Staff,
        "iadmin rev orev sys",
        "",
    ),
    (
        "POST /api/v1/staff/{id}/disable",
        Kind::Staff,
        "iadmin sys",
        "rev=403 orev=403",
    ),
    (
        "GET /api/v1/counties/{code}/settings",
        Kind::County,
        "rev orev sys",
        "",
    ),
    (
        "PUT /api/v1/counties/{code}/settings",
        Kind::County,
        "rev orev sys",
        "",
    ),
    (
        "PATCH /api/v1/counties/{code}/settings",
        Kind::County,
        "rev orev sys",
        "",
    ),
    (
        "GET /api/v1/counties/{code}/force-majeure",
        Kind::County,
        "clin village hosp rev orev iadmin sys",
        "",
    ),
    (
        "POST /api/v1/counties/{code}/force-majeure",
        Kind::County,
        "rev orev sys",
        "",
    ),
    (
        "POST /api/v1/counties/{code}/force-majeure/{id}/withdraw",
        Kind::ForceMajeure,
        "rev orev sys",
        "",
    ),
    (
        "GET /api/v1/counties/{code}/nutrition/kpis",
        Kind::County,
        "rev orev sys",
        "",
    ),
    // handbooks (clinics)
    (
        "GET /api/v1/handbooks",
        Kind::None,
        "clin village hosp rev orev",
        "",
    ),
    ("POST /api/v1/handbooks", Kind::None, "clin hosp", ""),
    (
        "POST /api/v1/handbooks/shared",
        Kind::None,
        "clin village hosp",
        "",
    ),
    (
        "GET /api/v1/handbooks/{id}",
        Kind::Handbook,
        CLINICAL_READ,
        "",
    ),
    (
        "PATCH /api/v1/handbooks/{id}",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/handbooks/{id}/identity",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/handbooks/{id}/versions",
        Kind::Handbook,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/handbooks/{id}/binding-codes",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/handbooks/{id}/children",
        Kind::Handbook,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/handbooks/{id}/children",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/handbooks/{id}/pregnancies",
        Kind::Handbook,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/handbooks/{id}/pregnancies",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/handbooks/{id}/referrals",
        Kind::Handbook,
        "clin hosp",
        "",
    ),
    // pregnancies, checkups, risk
    (
        "GET /api/v1/pregnancies/{id}",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "PUT /api/v1/pregnancies/{id}/dating",
        Kind::Pregnancy,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/pregnancies/{id}/end",
        Kind::Pregnancy,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/pregnancies/{id}/delivery",
        Kind::Pregnancy,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/pregnancies/{id}/charts",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "GET /api/v1/pregnancies/{id}/schedule",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "GET /api/v1/pregnancies/{id}/checkups",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/pregnancies/{id}/checkups",
        Kind::Pregnancy,
        "clin hosp",
        "",
    ),
    (
        "GET /api/v1/pregnancies/{id}/risk",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/pregnancies/{id}/screenings",
        Kind::Pregnancy,
        "clin village hosp",
        "",
    ),
    // Grading needs a secondary institution: the township clinician may screen, not grade.
    (
        "POST /api/v1/pregnancies/{id}/gradings",
        Kind::Pregnancy,
        "clin hosp",
        "clin=403",
    ),
    (
        "GET /api/v1/pregnancies/{id}/gradings",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "GET /api/v1/pregnancies/{id}/case",
        Kind::Pregnancy,
        CLINICAL_READ,
        "",
    ),
    (
        "GET /api/v1/checkups/{id}",
        Kind::Checkup,
        CLINICAL_READ,
        "",
    ),
    // A visit is corrected by the institution that recorded it.
    (
        "PATCH /api/v1/checkups/{id}",
        Kind::Checkup,
        "clin hosp",
        "hosp=403",
    ),
    (
        "GET /api/v1/checkups/{id}/versions",
        Kind::Checkup,
        CLINICAL_READ,
        "",
    ),
    // Results are added by the institution that recorded the visit.
    (
        "POST /api/v1/checkups/{id}/labs",
        Kind::Checkup,
        "clin hosp",
        "hosp=403",
    ),
    (
        "POST /api/v1/checkups/{id}/ultrasounds",
        Kind::Checkup,
        "clin hosp",
        "hosp=403",
    ),
    (
        "GET /api/v1/worklist/antenatal",
        Kind::None,
        CLINICAL_READ,
        "",
    ),
    (
        "GET /api/v1/worklist/regrading",
        Kind::None,
        CLINICAL_READ,
        "",
    ),
    // cases, referrals
    ("GET /api/v1/cases/{id}", Kind::Case, CLINICAL_READ, ""),
    (
        "GET /api/v1/cases/{id}/timeline",
        Kind::Case,
        CLINICAL_READ,
        "",
    ),
    ("POST /api/v1/cases/{id}/stage", Kind::Case, "clin hosp", ""),
    (
        "POST /api/v1/cases/{id}/designation",
        Kind::Case,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/cases/{id}/followups",
        Kind::Case,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/cases/{id}/consultations",
        Kind::Case,
        "clin hosp",
        "",
    ),
    (
        "POST /api/v1/cases/{id}/notices",
        Kind::Case,
        "clin hosp",
        "",
    ),
    ("POST /api/v1/cases/{id}/close", Kind::Case, "clin hosp", ""),
    // Only the consulted institution (here the critical-care centre) answers.
    (
        "POST /api/v1/consultations/{id}/answer",
        Kind::Consultation,
        "clin hosp",
        "clin=403 hosp=403",
    ),
    ("GET /api/v1/registry/cases", Kind::None, CLINICAL_READ, ""),
    (
        "GET /api/v1/referrals/{id}",
        Kind::Referral,
        CLINICAL_READ,
        "",
    ),
    // The receiving institution accepts (the example): not the sender.
    (
        "POST /api/v1/referrals/{id}/status",
        Kind::Referral,
        "clin hosp",
        "clin=403",
    ),
    (
        "GET /api/v1/referrals/turnaround",
        Kind::None,
        CLINICAL_READ,
        "",
    ),
    // children and nutrition packs
    ("GET /api/v1/children/{id}", Kind::Child, CLINICAL_READ, ""),
    (
        "POST /api/v1/children/{id}/growth",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "GET /api/v1/children/{id}/nutrition",
        Kind::Child,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/children/{id}/nutrition/events",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "PUT /api/v1/children/{id}/nutrition/flags",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "POST /api/v1/children/{id}/nutrition/distributions",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "GET /api/v1/children/{id}/nutrition/followups",
        Kind::Child,
        CLINICAL_READ,
        "",
    ),
    (
        "POST /api/v1/children/{id}/nutrition/followups",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "POST /api/v1/children/{id}/nutrition/followups/{card}/corrections",
        Kind::Child,
        "clin village hosp",
        "",
    ),
    (
        "GET /api/v1/nutrition/worklist",
        Kind::None,
        "clin village hosp",
        "",
    ),
    ("GET /api/v1/stock", Kind::None, "clin village hosp", ""),
    (
        "POST /api/v1/stock/receipts",
        Kind::None,
        "clin village hosp",
        "",
    ),
    (
        "POST /api/v1/stock/transfers",
        Kind::None,
        "clin village hosp",
        "",
    ),
    (
        "POST /api/v1/stock/adjustments",
        Kind::None,
        "clin village hosp",
        "",
    ),
    (
        "GET /api/v1/stock/storage-checks",
        Kind::None,
        "clin village hosp",
        "",
    ),
    (
        "POST /api/v1/stock/storage-checks",
        Kind::None,
        "clin village hosp",
        "",
    ),
    // Only village clinics and township centres report: the county hospital's staff may not.
    (
        "GET /api/v1/nutrition/reports/draft",
        Kind::None,
        "clin village iadmin hosp",
        "hosp=403",
    ),
    (
        "POST /api/v1/nutrition/reports",
        Kind::None,
        "clin village iadmin hosp",
        "hosp=403",
    ),
    (
        "GET /api/v1/nutrition/reports",
        Kind::None,
        "clin village iadmin hosp rev orev",
        "",
    ),
    // A county hospital does not take part in the reporting chain: township A's report is not its.
    (
        "GET /api/v1/nutrition/reports/{id}",
        Kind::Report,
        "clin village iadmin hosp rev orev",
        "hosp=404",
    ),
    // Township reports are reviewed by the county.
    (
        "POST /api/v1/nutrition/reports/{id}/review",
        Kind::Report,
        "clin village iadmin hosp rev orev",
        "clin=403 village=403 iadmin=403 hosp=404",
    ),
    // the family's own handbook
    // "My handbook" is the mother's own: a family member has none (404), and only she shares it.
    (
        "GET /api/v1/me/handbook",
        Kind::None,
        "mother family",
        "family=404",
    ),
    ("POST /api/v1/me/handbook", Kind::None, "mother family", ""),
    (
        "PATCH /api/v1/me/handbook",
        Kind::None,
        "mother family",
        "family=404",
    ),
    (
        "POST /api/v1/me/handbook/bind",
        Kind::None,
        "mother family",
        "",
    ),
    (
        "POST /api/v1/me/handbook/share-codes",
        Kind::None,
        "mother family",
        "family=404",
    ),
    // Only the mother sees and withdraws who her handbook is shared with.
    (
        "GET /api/v1/me/handbook/members",
        Kind::None,
        "mother family",
        "family=404",
    ),
    (
        "DELETE /api/v1/me/handbook/members/{id}",
        Kind::Member,
        "mother family",
        "family=404",
    ),
    ("GET /api/v1/me/handbooks", Kind::None, "mother family", ""),
    (
        "POST /api/v1/me/handbooks/join",
        Kind::None,
        "mother family",
        "",
    ),
    (
        "GET /api/v1/me/handbooks/{id}",
        Kind::MyHandbook,
        "mother family",
        "",
    ),
    (
        "GET /api/v1/me/pregnancies/{id}/charts",
        Kind::MyPregnancy,
        "mother family",
        "",
    ),
    (
        "GET /api/v1/me/checkups/{id}",
        Kind::MyCheckup,
        "mother family",
        "",
    ),
    (
        "GET /api/v1/me/children/{id}",
        Kind::MyChild,
        "mother family",
        "",
    ),
    ("GET /api/v1/me/notices", Kind::None, "mother family", ""),
    // Only the mother acknowledges a notice addressed to her.
    (
        "POST /api/v1/me/notices/{id}/acknowledge",
        Kind::Notice,
        "mother family",
        "family=403",
    ),
    // Last: these end the caller's session.
    (
        "DELETE /api/v1/me/sessions/{id}",
        Kind::Session,
        "mother family clin village hosp iadmin rev orev sys",
        "",
    ),
    (
        "POST /api/v1/auth/logout",
        Kind::None,
        "mother family clin village hosp iadmin rev orev sys",
        "",
    ),
];

/// A resource of each kind in and out of the callers' scope.
pub struct Resources {
    pub inside: BTreeMap<Kind, String>,
    pub outside: BTreeMap<Kind, String>,
    pub card_in: String,
    card_out: String,
    /// Per role: a second session of the same account (deleted by the sessions row).
    spare_session: BTreeMap<&'static str, String>,
    pub tokens: BTreeMap<&'static str, Option<String>>,
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Builds one clinical world (handbook, pregnancy, checkup, child, case, consultation, referral)
/// registered by `clinician` and graded at `hospital_staff`'s hospital; returns the resources.
async fn clinical_world(
    app: &TestApp,
    clinician: &str,
    obstetrician: &str,
    hospital: &str,
    expert_institution: &str,
    seq: u32,
    residence: &str,
) -> (BTreeMap<Kind, String>, String) {
    let t = app.token(clinician).await;
    let h = app.token(obstetrician).await;
    let mut out = BTreeMap::new();
    let mut body = new_handbook(seq, &format!("孕妇{seq}"));
    body["residence_region_code"] = json!(residence);
    let hb = app.post("/api/v1/handbooks", Some(&t), body).await;
    assert_eq!(hb.status, 201, "{}", hb.body);
    let handbook = id(&hb.body);
    let p = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/pregnancies"),
            Some(&t),
            json!({"lmp": days_ago(140), "gravidity": 1, "parity": 0, "fetal_count": 1}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let pregnancy = id(&p.body);
    let c = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/checkups"),
            Some(&t),
            json!({"visit_date": days_ago(1), "bp_systolic": 118, "bp_diastolic": 76}),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let child_born = (chrono::Utc::now() - Duration::days(300)).to_rfc3339();
    let k = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/children"),
            Some(&t),
            json!({"sex": "female", "born_at": child_born}),
        )
        .await;
    assert_eq!(k.status, 201, "{}", k.body);
    let r = app
        .post(
            &format!("/api/v1/handbooks/{handbook}/referrals"),
            Some(&t),
            json!({
                "to_institution_id": hospital,
                "reason": "风险评估",
                "urgency": "urgent",
                "direction": "up",
                "clinical_summary": "BP 150/95",
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let referral = id(&r.body);
    let accepted = app
        .post(
            &format!("/api/v1/referrals/{referral}/status"),
            Some(&h),
            json!({"status": "accepted"}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let g = app
        .post(
            &format!("/api/v1/pregnancies/{pregnancy}/gradings"),
            Some(&h),
            json!({"facts": {"age_years": 41}}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let case = app
        .get(&format!("/api/v1/pregnancies/{pregnancy}/case"), &h)
        .await;
    assert_eq!(case.status, 200, "{}", case.body);
    let case = id(&case.body);
    let q = app
        .post(
            &format!("/api/v1/cases/{case}/consultations"),
            Some(&h),
            json!({"to_institution_id": expert_institution, "question": "分娩时机？"}),
        )
        .await;
    assert_eq!(q.status, 201, "{}", q.body);
    let card = app
        .post(
            &format!("/api/v1/children/{}/nutrition/followups", id(&k.body)),
            Some(&t),
            json!({"followed_on": days_ago(1), "weight_kg": 8.5, "counselled": true}),
        )
        .await;
    assert_eq!(card.status, 201, "{}", card.body);
    out.insert(Kind::Handbook, handbook);
    out.insert(Kind::Pregnancy, pregnancy);
    out.insert(Kind::Checkup, id(&c.body));
    out.insert(Kind::Child, id(&k.body));
    out.insert(Kind::Referral, referral);
    out.insert(Kind::Case, case);
    out.insert(Kind::Consultation, id(&q.body));
    (out, id(&card.body))
}

pub async fn build() -> (TestApp, Resources) {
    let app = spawn_app_with(|s| s.demo_mode = true).await;
    let world = seed(&mut app.conn());
    let hospital_a = app.add_institution(
        "安康县人民医院",
        InstitutionLevel::CountyHospital,
        "990101000000",
    );
    app.add_staff("obstetrician", &hospital_a, Role::Clinician);
    let hospital_c = app.add_institution(
        "平安县人民医院",
        InstitutionLevel::CountyHospital,
        "990102000000",
    );
    app.add_staff("obstetrician.c", &hospital_c, Role::Clinician);
    let critical = app.add_institution(
        "示范市危重孕产妇救治中心",
        InstitutionLevel::CriticalCareCentre,
        "990100000000",
    );

    let (mut inside, card_in) = clinical_world(
        &app,
        "clinician.a",
        "obstetrician",
        &hospital_a,
        &critical,
        1,
        "990101001000",
    )
    .await;
    let (mut outside, card_out) = clinical_world(
        &app,
        "clinician.c",
        "obstetrician.c",
        &hospital_c,
        &critical,
        2,
        "990102001000",
    )
    .await;

    // Families: the mother of the inside handbook, a member she shared with, and the mother of
    // the outside one.
    let clin = app.token("clinician.a").await;
    let mother = app
        .bind_mother(&clin, &inside[&Kind::Handbook], "demo-mother-1")
        .await;
    let code = app
        .post(
            "/api/v1/me/handbook/share-codes",
            Some(&mother),
            json!({"share_with": "family"}),
        )
        .await;
    let family = app.family_login("demo-husband-1").await;
    let joined = app
        .post(
            "/api/v1/me/handbooks/join",
            Some(&family),
            json!({"code": code.body["code"]}),
        )
        .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    // A second member, whose access the members row withdraws; the stranger is nobody's member.
    let grandma = crate::handbook::join_family(&app, &mother, "demo-grandma-1").await;
    inside.insert(
        Kind::Member,
        id(&app.get("/api/v1/me", &grandma).await.body),
    );
    let stranger = app.family_login("demo-stranger").await;
    outside.insert(
        Kind::Member,
        id(&app.get("/api/v1/me", &stranger).await.body),
    );
    let clin_c = app.token("clinician.c").await;
    let mother_out = app
        .bind_mother(&clin_c, &outside[&Kind::Handbook], "demo-mother-2")
        .await;
    for (map, token, obstetrician) in [
        (&mut inside, &mother, "obstetrician"),
        (&mut outside, &mother_out, "obstetrician.c"),
    ] {
        let h = app.token(obstetrician).await;
        let n = app
            .post(
                &format!("/api/v1/cases/{}/notices", map[&Kind::Case]),
                Some(&h),
                json!({}),
            )
            .await;
        assert_eq!(n.status, 201, "{}", n.body);
        let notices = app.get("/api/v1/me/notices", token).await;
        map.insert(Kind::Notice, id(&notices.body["items"][0]));
        for (my, kind) in [
            (Kind::MyHandbook, Kind::Handbook),
            (Kind::MyPregnancy, Kind::Pregnancy),
            (Kind::MyCheckup, Kind::Checkup),
            (Kind::MyChild, Kind::Child),
        ] {
            let v = map[&kind].clone();
            map.insert(my, v);
        }
    }

    // Monthly reports of last month: township A's (in) and township C's (out).
    let today = mch_handbook::time::china_today();
    let last = today.with_day(1).unwrap().pred_opt().unwrap();
    let month = format!("{:04}-{:02}", last.year(), last.month());
    for (map, who) in [(&mut inside, "clinician.a"), (&mut outside, "clinician.c")] {
        let t = app.token(who).await;
        let r = app
            .post(
                "/api/v1/nutrition/reports",
                Some(&t),
                json!({"month": month}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        map.insert(Kind::Report, id(&r.body));
    }

    // Organisation: counties, staff, institutions, regions.
    inside.insert(Kind::County, "990101".into());
    outside.insert(Kind::County, "990102".into());
    for (map, county, region) in [
        (&mut inside, "990101", "990101001000"),
        (&mut outside, "990102", "990102001000"),
    ] {
        let period = mch_handbook::nutrition::force_majeure::declare(
            &mut app.conn(),
            county,
            &mch_handbook::nutrition::force_majeure::NewPeriod {
                region_code: region.into(),
                starts_on: today - chrono::Duration::days(10),
                ends_on: today,
                reason: "洪水".into(),
            },
            &world.staff["admin"],
        )
        .unwrap();
        map.insert(Kind::ForceMajeure, format!("{county}|{}", period.id));
    }
    let spare_staff = app.add_staff("spare.a", &world.inst_a, Role::Clinician);
    inside.insert(Kind::Staff, spare_staff);
    outside.insert(Kind::Staff, world.staff["clinician.c"].clone());
    let spare_inst = app.add_institution(
        "备用卫生院",
        InstitutionLevel::TownshipCentre,
        "990101002000",
    );
    inside.insert(Kind::Institution, spare_inst);
    inside.insert(Kind::Region, "990101001000".into());

    // Tokens, and a second session per account for the sessions row.
    let mut tokens = BTreeMap::new();
    let mut spare_session = BTreeMap::new();
    let staff_of = |role: &str| match role {
        "clin" => "clinician.a",
        "village" => "village.a",
        "hosp" => "obstetrician",
        "iadmin" => "admin.a",
        "rev" => "reviewer",
        "orev" => "other.reviewer",
        _ => "admin",
    };
    for role in ROLES {
        let token = match *role {
            "anon" => None,
            "mother" => Some(app.family_login("demo-mother-1").await),
            "family" => Some(app.family_login("demo-husband-1").await),
            other => Some(app.token(staff_of(other)).await),
        };
        if let Some(t) = &token {
            let spare = match *role {
                "mother" => app.family_login("demo-mother-1").await,
                "family" => app.family_login("demo-husband-1").await,
                other => app.token(staff_of(other)).await,
            };
            let sessions = app.get("/api/v1/me/sessions", &spare).await;
            let current = sessions.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["current"] == true)
                .unwrap();
            spare_session.insert(*role, id(current));
            let _ = t;
        }
        tokens.insert(*role, token);
    }
    // Another account's session is out of scope for everyone.
    let stranger = app.family_login("demo-stranger").await;
    let sessions = app.get("/api/v1/me/sessions", &stranger).await;
    outside.insert(Kind::Session, id(&sessions.body["items"][0]));
    (
        app,
        Resources {
            inside,
            outside,
            card_in,
            card_out,
            spare_session,
            tokens,
        },
    )
}

/// The documented example body of an operation (or `{}`).
pub fn example_body(doc: &Value, method: &str, path: &str) -> Option<Value> {
    let op = &doc["paths"][path][method.to_lowercase()];
    let body = op.get("requestBody")?;
    let schema = &body["content"]["application/json"]["schema"];
    let example = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap();
            doc["components"]["schemas"][name]["example"].clone()
        }
        None => schema.get("example").cloned().unwrap_or(Value::Null),
    };
    Some(if example.is_null() {
        json!({})
    } else {
        example
    })
}

pub fn fill(path: &str, kind: Kind, resource: &str, card: &str) -> String {
    let p = path.replace("{card}", card);
    if let (Kind::ForceMajeure, Some((county, id))) = (kind, resource.split_once('|')) {
        return p.replace("{code}", county).replace("{id}", id);
    }
    let mut p = p;
    for param in ["{id}", "{code}"] {
        p = p.replace(param, resource);
    }
    p
}

pub fn query(path: &str, month: &str) -> String {
    match path {
        "/api/v1/nutrition/reports/draft" | "/api/v1/referrals/turnaround" => {
            format!("{path}?month={month}")
        }
        p if p.ends_with("/nutrition/kpis") => format!("{p}?month={month}"),
        _ => path.to_string(),
    }
}

/// Sends a request with the body and, where the operation takes one, `If-Match: "v1"`.
pub async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: bool,
) -> Reply {
    let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method, format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    if if_match {
        req = req.insert_header(("If-Match", "\"v1\""));
    }
    let mut res = match body {
        Some(b) => req.send_json(&b).await,
        None => req.send().await,
    }
    .unwrap();
    let bytes = res.body().limit(16 * 1024 * 1024).await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn ok(status: u16) -> bool {
    !matches!(status, 401 | 403 | 404) && status < 500
}

#[actix_web::test]
async fn every_operation_answers_every_role_as_the_matrix_says() {
    let (app, r) = build().await;
    let doc: Value = serde_json::from_str(&mch_handbook::openapi::document_json()).unwrap();

    // Every operation of the document has its row, and every row is an operation.
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = MATRIX.iter().map(|row| row.0.to_string()).collect();
    assert_eq!(
        documented.difference(&covered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "operations without a row in the authorization matrix"
    );
    assert_eq!(
        covered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "rows for operations that do not exist"
    );

    let today = mch_handbook::time::china_today();
    let last = today.with_day(1).unwrap().pred_opt().unwrap();
    let month = format!("{:04}-{:02}", last.year(), last.month());
    let mut failures = Vec::new();
    for (op, kind, allowed, overrides) in MATRIX {
        let (method, path) = op.split_once(' ').unwrap();
        if *allowed == "public" {
            continue;
        }
        let body = example_body(&doc, method, path);
        let if_match = doc["paths"][path][method.to_lowercase()]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "If-Match"));
        let allowed: BTreeSet<&str> = allowed.split_whitespace().collect();
        let overrides: BTreeMap<&str, u16> = overrides
            .split_whitespace()
            .map(|o| {
                let (role, status) = o.split_once('=').unwrap();
                (role, status.parse().unwrap())
            })
            .collect();
        for role in ROLES {
            let token = r.tokens[role].as_deref();
            let resource_in = match kind {
                Kind::None => String::new(),
                Kind::Session => r
                    .spare_session
                    .get(role)
                    .cloned()
                    .unwrap_or_else(|| "01a21600-0000-7000-8000-000000000000".into()),
                k => r.inside.get(k).cloned().unwrap_or_default(),
            };
            let path_in = query(&fill(path, *kind, &resource_in, &r.card_in), &month);
            // Out-of-county reviewers are out of scope for the inside resources.
            let scoped = !matches!(kind, Kind::None | Kind::Institution | Kind::Region);
            let expected_in: Option<u16> = if *role == "anon" {
                Some(401)
            } else if let Some(s) = overrides.get(role) {
                Some(*s)
            } else if !allowed.contains(role) {
                Some(403)
            } else if *role == "orev" && scoped && *kind != Kind::Session {
                Some(404)
            } else {
                None // any answer but 401/403/404
            };
            let reply = send(&app, method, &path_in, token, body.clone(), if_match).await;
            let good = match expected_in {
                Some(s) => reply.status == s,
                None => ok(reply.status),
            };
            if !good {
                failures.push(format!(
                    "{op} as {role} (in scope): {} expected {} — {}",
                    reply.status,
                    expected_in.map_or("any but 401/403/404".into(), |s| s.to_string()),
                    reply.body
                ));
            }
            // Out of scope: the same request on a resource of another county / family / account.
            let probe = scoped
                && *role != "anon"
                && *role != "orev"
                && *role != "sys"
                && allowed.contains(role)
                && !overrides.contains_key(role);
            if probe {
                let Some(resource_out) = r.outside.get(kind) else {
                    continue;
                };
                let path_out = query(&fill(path, *kind, resource_out, &r.card_out), &month);
                let reply = send(&app, method, &path_out, token, body.clone(), if_match).await;
                if reply.status != 404 {
                    failures.push(format!(
                        "{op} as {role} (out of scope): {} expected 404 — {}",
                        reply.status, reply.body
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ from the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
