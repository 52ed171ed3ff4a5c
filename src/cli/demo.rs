//! `mch-handbook demo`: a small fictional county (province code 99 does not exist in China), one
//! institution of each level, a staff account for each role, and family accounts for the demo
//! WeChat codes `demo-mother-1` … `demo-mother-3` (accepted when `MCH_DEMO_MODE=true`).

use chrono::Utc;
use diesel::prelude::*;
use rand::{distributions::Alphanumeric, Rng};

use crate::{
    audit::{Actor, Event},
    auth::{family_login::create_family_account, password, Role},
    config::Settings,
    db::{schema, write_tx, DbConn},
    error::AppError,
    http::RequestCtx,
    org::{institutions, regions, rules::InstitutionLevel, staff},
};

const REGIONS: &[(&str, &str, Option<i32>)] = &[
    ("990000000000", "示范省", None),
    ("990100000000", "示范市", None),
    ("990101000000", "安康县", Some(1100)),
    ("990101001000", "城关镇", Some(1100)),
    ("990101001001", "东湖村", Some(1250)),
    ("990101001002", "西山村", Some(1620)),
    ("990101002000", "河西乡", Some(980)),
    ("990101002001", "河口村", Some(950)),
    ("990102000000", "平安县", Some(400)),
    ("990102001000", "平安镇", Some(400)),
];

const INSTITUTIONS: &[(&str, &str, InstitutionLevel, &str)] = &[
    (
        "village",
        "东湖村卫生室",
        InstitutionLevel::VillageClinic,
        "990101001001",
    ),
    (
        "township",
        "城关镇卫生院",
        InstitutionLevel::TownshipCentre,
        "990101001000",
    ),
    (
        "county_hospital",
        "安康县人民医院",
        InstitutionLevel::CountyHospital,
        "990101000000",
    ),
    (
        "city_hospital",
        "示范市第一人民医院",
        InstitutionLevel::CityHospital,
        "990100000000",
    ),
    (
        "mch",
        "安康县妇幼保健院",
        InstitutionLevel::MchCentre,
        "990101000000",
    ),
    (
        "critical",
        "示范市危重孕产妇救治中心",
        InstitutionLevel::CriticalCareCentre,
        "990100000000",
    ),
    (
        "other_county",
        "平安镇卫生院",
        InstitutionLevel::TownshipCentre,
        "990102001000",
    ),
];

const STAFF: &[(&str, &str, &str, Role)] = &[
    ("admin", "系统管理员", "mch", Role::SystemAdmin),
    ("reviewer", "县妇幼审核员", "mch", Role::CountyReviewer),
    (
        "inst.admin",
        "卫生院管理员",
        "township",
        Role::InstitutionAdmin,
    ),
    ("dr.wang", "王医生", "township", Role::Clinician),
    ("dr.li", "李医生", "county_hospital", Role::Clinician),
    ("village.zhang", "张村医", "village", Role::VillageDoctor),
    ("dr.zhao", "赵医生", "other_county", Role::Clinician),
];

const MOTHERS: usize = 3;

/// Loads the demo county; returns the lines to print (including each password, shown only once).
pub fn load(conn: &mut DbConn, force: bool) -> Result<Vec<String>, String> {
    let institutions_n: i64 = institutions::count(conn).map_err(|e| e.to_string())?;
    let staff_n: i64 = schema::staff_accounts::table
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    if (institutions_n > 0 || staff_n > 0) && !force {
        return Err(format!(
            "the database is not empty ({institutions_n} institutions, {staff_n} staff); \
             use --force to load the demo anyway"
        ));
    }
    // Hash outside the transaction: argon2 is slow on purpose.
    let passwords: Vec<(String, String)> = STAFF
        .iter()
        .map(|_| {
            let plain: String = rand::thread_rng()
                .sample_iter(&Alphanumeric)
                .take(16)
                .map(char::from)
                .collect();
            let hash = password::hash(&plain).unwrap_or_default();
            (plain, hash)
        })
        .collect();
    let ctx = RequestCtx::system();
    write_tx(conn, |c| {
        let mut out = Vec::new();
        for (code, name, elevation_m) in REGIONS {
            let exists: i64 = schema::regions::table.find(code).count().get_result(c)?;
            if exists == 0 {
                let input = regions::NewRegion {
                    code: code.to_string(),
                    name: name.to_string(),
                    elevation_m: *elevation_m,
                };
                regions::create(c, &input)?;
            }
        }
        let mut ids = Vec::new();
        for (key, name, level, region) in INSTITUTIONS {
            let existing: Option<String> = schema::institutions::table
                .filter(schema::institutions::name.eq(name))
                .filter(schema::institutions::region_code.eq(region))
                .select(schema::institutions::id)
                .first(c)
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let input = institutions::NewInstitution {
                        name: name.to_string(),
                        level: *level,
                        region_code: region.to_string(),
                    };
                    institutions::create(c, &input)?.id
                }
            };
            out.push(format!(
                "institution {:<28} {:<22} {id}",
                name,
                level.as_str()
            ));
            ids.push((*key, id));
        }
        out.push(String::new());
        out.push("staff accounts (passwords are shown only now):".into());
        for ((username, full_name, key, role), (plain, hash)) in STAFF.iter().zip(&passwords) {
            let institution_id = ids
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, id)| id.clone())
                .unwrap_or_default();
            let existing: Option<String> = schema::staff_accounts::table
                .filter(schema::staff_accounts::username.eq(username))
                .select(schema::staff_accounts::id)
                .first(c)
                .optional()?;
            match existing {
                Some(id) => {
                    diesel::update(schema::staff_accounts::table.find(&id))
                        .set((
                            schema::staff_accounts::password_hash.eq(hash),
                            schema::staff_accounts::disabled.eq(false),
                            schema::staff_accounts::updated_at.eq(Utc::now().naive_utc()),
                        ))
                        .execute(c)?;
                }
                None => {
                    let input = staff::NewStaff {
                        username: username.to_string(),
                        password: plain.clone(),
                        full_name: full_name.to_string(),
                        phone: None,
                        institution_id,
                        roles: vec![*role],
                    };
                    staff::create(c, &input, hash)?;
                }
            }
            out.push(format!(
                "  {:<14} {:<16} {:<18} password: {plain}",
                username,
                role.as_str(),
                full_name
            ));
        }
        out.push(String::new());
        for n in 1..=MOTHERS {
            let openid = format!("demo-openid-mother-{n}");
            let exists: i64 = schema::family_accounts::table
                .filter(schema::family_accounts::wechat_openid.eq(&openid))
                .count()
                .get_result(c)?;
            if exists == 0 {
                create_family_account(c, &openid, None)?;
            }
        }
        out.push(format!(
            "family accounts for WeChat codes demo-mother-1 … demo-mother-{MOTHERS} \
             (start the server with MCH_DEMO_MODE=true)"
        ));
        Event::new(Actor::system(), "demo.load", "database").record(c, &ctx)?;
        Ok::<_, AppError>(out)
    })
    .map_err(|e| e.to_string())
}

pub fn run(settings: &Settings, force: bool) -> Result<(), String> {
    let mut conn = super::admin::open_database(settings)?;
    for line in load(&mut conn, force)? {
        println!("{line}");
    }
    Ok(())
}
