//! Reading and writing a handbook's profile: identity checks, the registry look-ups by blind
//! index, insert, amend (a new version, the old one kept), and a move of county.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::identity::{self, IdType, ResidentId};
use super::profile::*;
use crate::db::stored;
use crate::{
    crypto::FieldCipher,
    db::{schema::*, DbConn},
    error::{AppError, FieldError},
    org::rules::RegionCode,
};

/// The checked identity of a new handbook.
pub struct CheckedIdentity {
    pub id_type: IdType,
    pub normalised: String,
    pub birth_date: NaiveDate,
}

/// Checks that need more than one field: the identity number against its type, the birth date
/// against the number, a plausible age. Every problem is reported at once.
pub fn check_identity(input: &NewHandbook) -> Result<CheckedIdentity, AppError> {
    let mut errors = Vec::new();
    let normalised = identity::normalise(input.id_type, &input.id_number)
        .map_err(|e| errors.push(FieldError::new("/id_number", "id_number", e.to_string())))
        .ok();
    let derived = match (input.id_type, &normalised) {
        (IdType::ResidentId, Some(n)) => ResidentId::parse(n).ok().map(|id| id.birth_date()),
        _ => None,
    };
    let birth_date = match (derived, input.birth_date) {
        (Some(d), Some(given)) if d != given => {
            errors.push(FieldError::new(
                "/birth_date",
                "mismatch",
                "does not match the birth date in the identity number",
            ));
            None
        }
        (Some(d), _) => Some(d),
        (None, Some(given)) => Some(given),
        (None, None) => {
            if input.id_type != IdType::ResidentId {
                errors.push(FieldError::new(
                    "/birth_date",
                    "required",
                    "required for this kind of document",
                ));
            }
            None
        }
    };
    if let Some(b) = birth_date {
        let age = age_on(b, crate::time::china_today());
        if !(10..=65).contains(&age) {
            errors.push(FieldError::new(
                "/birth_date",
                "range",
                format!("gives an age of {age}; expected 10 to 65"),
            ));
        }
    }
    if RegionCode::parse(&input.residence_region_code).is_err() {
        errors.push(FieldError::new(
            "/residence_region_code",
            "region_code",
            "not a valid 12-digit region code",
        ));
    }
    match (normalised, birth_date) {
        (Some(normalised), Some(birth_date)) if errors.is_empty() => Ok(CheckedIdentity {
            id_type: input.id_type,
            normalised,
            birth_date,
        }),
        _ => Err(AppError::Validation(errors)),
    }
}

pub fn region_must_exist(
    conn: &mut DbConn,
    field: &str,
    code: &str,
) -> Result<RegionCode, AppError> {
    let parsed = RegionCode::parse(code)
        .map_err(|e| AppError::invalid_field(field, "region_code", e.to_string()))?;
    let n: i64 = regions::table
        .filter(regions::code.eq(code))
        .count()
        .get_result(conn)?;
    if n == 0 {
        return Err(AppError::invalid_field(
            field,
            "not_found",
            "no region has this code",
        ));
    }
    Ok(parsed)
}

/// The handbook a clinic registered with this identity document, if one exists (a handbook
/// started in the app does not claim its document: see `pending_with_identity`).
pub fn find_by_identity(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    id: &CheckedIdentity,
) -> QueryResult<Option<HandbookRow>> {
    let index = cipher.blind_index(id.id_type.as_str(), &id.normalised);
    handbooks::table
        .filter(handbooks::id_blind_index.eq(index))
        .first(conn)
        .optional()
}

/// Handbooks started in the app with this identity document, oldest first (anyone may type a
/// number, so there can be several; none of them is verified).
pub fn pending_with_identity(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    id: &CheckedIdentity,
) -> QueryResult<Vec<HandbookRow>> {
    let index = cipher.blind_index(id.id_type.as_str(), &id.normalised);
    handbooks::table
        .filter(handbooks::pending_identity_index.eq(index))
        .filter(handbooks::status.eq("pending"))
        .order(handbooks::id.asc())
        .load(conn)
}

pub fn load(conn: &mut DbConn, handbook_id: &str) -> Result<HandbookRow, AppError> {
    Ok(handbooks::table.find(handbook_id).first(conn)?)
}

/// Inserts a new handbook (`pending` when the mother starts it, `confirmed` when a clinic does).
pub fn insert(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    input: &NewHandbook,
    id: &CheckedIdentity,
    registered_by: Option<&str>,
    created_by: &str,
) -> Result<HandbookRow, AppError> {
    let row = build(conn, cipher, input, id, registered_by, created_by)?;
    diesel::insert_into(handbooks::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// The row a registration makes of `input` (a new id, version 1), not yet written.
pub fn build(
    conn: &mut DbConn,
    cipher: &FieldCipher,
    input: &NewHandbook,
    id: &CheckedIdentity,
    registered_by: Option<&str>,
    created_by: &str,
) -> Result<HandbookRow, AppError> {
    let region = region_must_exist(conn, "/residence_region_code", &input.residence_region_code)?;
    let now = Utc::now().naive_utc();
    let handbook_id = uuid::Uuid::now_v7().to_string();
    let blind_index = cipher.blind_index(id.id_type.as_str(), &id.normalised);
    let (id_blind_index, pending_identity_index) = match registered_by {
        Some(_) => (blind_index, None),
        None => (format!("pending:{handbook_id}"), Some(blind_index)),
    };
    let row = HandbookRow {
        id: handbook_id,
        county_code: region.county_code().to_string(),
        status: if registered_by.is_some() {
            "confirmed"
        } else {
            "pending"
        }
        .into(),
        registered_institution_id: registered_by.map(str::to_string),
        registered_at: registered_by.map(|_| now),
        id_type: id.id_type.as_str().into(),
        id_number_enc: cipher.encrypt(&id.normalised),
        id_blind_index,
        id_masked: identity::mask(&id.normalised),
        full_name: input.full_name.trim().to_string(),
        birth_date: id.birth_date,
        phone: input.phone.clone(),
        residence_region_code: input.residence_region_code.clone(),
        address: input.address.clone(),
        household_registered: input.household_registered,
        ethnicity: input.ethnicity.clone(),
        education: input.education.clone(),
        occupation: input.occupation.clone(),
        blood_group: input.blood_group.as_ref().map(stored::to_text),
        rh: input.rh.as_ref().map(stored::to_text),
        height_cm: input.height_cm,
        pre_pregnancy_weight_kg: input.pre_pregnancy_weight_kg,
        history: stored::json_to_db(&input.history)?,
        partner: stored::json_to_db(&input.partner)?,
        version: 1,
        created_by: created_by.to_string(),
        created_at: now,
        updated_at: now,
        revision: 0,
        pending_identity_index,
    };
    Ok(row)
}

/// Applies changes as a new version, keeping the old one with who and why.
pub fn amend(
    conn: &mut DbConn,
    mut row: HandbookRow,
    changes: ProfileChanges,
    changed_by: &str,
) -> Result<HandbookRow, AppError> {
    let old = row.view()?;
    if let Some(code) = &changes.residence_region_code {
        let region = region_must_exist(conn, "/residence_region_code", code)?;
        row.residence_region_code = code.clone();
        if row.county_code != region.county_code() {
            row.county_code = region.county_code().to_string();
            move_county(conn, &row.id, &row.county_code)?;
        }
    }
    if let Some(v) = changes.full_name {
        row.full_name = v.trim().to_string();
    }
    macro_rules! set {
        ($($field:ident),*) => {
            $( if changes.$field.is_some() { row.$field = changes.$field; } )*
        };
    }
    set!(
        phone,
        address,
        household_registered,
        ethnicity,
        education,
        occupation,
        height_cm,
        pre_pregnancy_weight_kg
    );
    if changes.blood_group.is_some() {
        row.blood_group = changes.blood_group.as_ref().map(stored::to_text);
    }
    if changes.rh.is_some() {
        row.rh = changes.rh.as_ref().map(stored::to_text);
    }
    if let Some(h) = &changes.history {
        row.history = serde_json::to_string(h).unwrap_or_else(|_| "{}".into());
    }
    if let Some(p) = &changes.partner {
        row.partner = serde_json::to_string(p).unwrap_or_else(|_| "{}".into());
    }
    let now = Utc::now().naive_utc();
    diesel::insert_into(handbook_versions::table)
        .values((
            handbook_versions::handbook_id.eq(&row.id),
            handbook_versions::version.eq(old.version),
            handbook_versions::county_code.eq(&row.county_code),
            handbook_versions::snapshot.eq(stored::json_to_db(&old)?),
            handbook_versions::changed_by.eq(changed_by),
            handbook_versions::changed_at.eq(now),
            handbook_versions::reason.eq(&changes.reason),
        ))
        .execute(conn)?;
    let expected = row.version;
    row.version += 1;
    row.updated_at = now;
    // The version check in the WHERE clause makes a concurrent amendment lose cleanly.
    let n = diesel::update(
        handbooks::table
            .find(&row.id)
            .filter(handbooks::version.eq(expected)),
    )
    .set(&row)
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::PreconditionFailed {
            current_version: expected + 1,
        });
    }
    if old.residence_region_code != row.residence_region_code {
        crate::scope::sync_residence(conn, &row.id)?;
    }
    Ok(row)
}

/// A woman who moves to another county takes her whole record with her: every row that carries the
/// county code (the distribution key and the county reviewers' scope) follows the handbook.
pub(crate) fn move_county(conn: &mut DbConn, handbook_id: &str, county: &str) -> QueryResult<()> {
    macro_rules! by_handbook {
        ($($t:ident),* $(,)?) => {
            $(
                diesel::update($t::table.filter($t::handbook_id.eq(handbook_id)))
                    .set($t::county_code.eq(county))
                    .execute(conn)?;
            )*
        };
    }
    by_handbook!(
        handbook_versions,
        handbook_members,
        handbook_access,
        access_codes,
        pregnancies,
        checkups,
        lab_results,
        ultrasounds,
        children,
        risk_screenings,
        risk_gradings,
        pregnancy_risk,
        risk_cases,
        risk_notices,
        referrals,
    );
    let pregnancy_ids = pregnancies::table
        .filter(pregnancies::handbook_id.eq(handbook_id))
        .select(pregnancies::id);
    diesel::update(
        pregnancy_versions::table.filter(pregnancy_versions::pregnancy_id.eq_any(pregnancy_ids)),
    )
    .set(pregnancy_versions::county_code.eq(county))
    .execute(conn)?;
    let checkup_ids = checkups::table
        .filter(checkups::handbook_id.eq(handbook_id))
        .select(checkups::id);
    diesel::update(
        checkup_versions::table.filter(checkup_versions::checkup_id.eq_any(checkup_ids)),
    )
    .set(checkup_versions::county_code.eq(county))
    .execute(conn)?;
    macro_rules! by_child {
        ($($t:ident),* $(,)?) => {
            $(
                let child_ids = children::table
                    .filter(children::handbook_id.eq(handbook_id))
                    .select(children::id);
                diesel::update($t::table.filter($t::child_id.eq_any(child_ids)))
                    .set($t::county_code.eq(county))
                    .execute(conn)?;
            )*
        };
    }
    by_child!(
        child_growth,
        nutrition_events,
        nutrition_flags,
        nutrition_followups
    );
    macro_rules! by_case {
        ($($t:ident),* $(,)?) => {
            $(
                let case_ids = risk_cases::table
                    .filter(risk_cases::handbook_id.eq(handbook_id))
                    .select(risk_cases::id);
                diesel::update($t::table.filter($t::case_id.eq_any(case_ids)))
                    .set($t::county_code.eq(county))
                    .execute(conn)?;
            )*
        };
    }
    by_case!(case_followups, consultations);
    Ok(())
}
