//! The personal profile (个人档案): types, validation beyond single fields, storage with versions.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::identity::{self, IdType, ResidentId};
use crate::db::stored;
use crate::{
    checkups::weight_gain::{self, BmiCategory},
    crypto::FieldCipher,
    db::{schema::*, DbConn},
    error::{AppError, FieldError},
    org::rules::RegionCode,
};

pub fn valid_phone(phone: &str) -> Result<(), ValidationError> {
    let digits = phone.strip_prefix('+').unwrap_or(phone);
    if (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        Ok(())
    } else {
        let mut e = ValidationError::new("phone");
        e.message = Some("digits, optionally with '+' and '-', 5 to 20 long".into());
        Err(e)
    }
}

/// Medical, surgical, obstetric and family history and allergies, as told or recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    #[validate(length(max = 2000))]
    pub medical: Option<String>,
    #[validate(length(max = 2000))]
    pub surgical: Option<String>,
    /// Previous pregnancies and births.
    #[validate(length(max = 2000))]
    pub obstetric: Option<String>,
    #[validate(length(max = 2000))]
    pub family: Option<String>,
    #[validate(length(max = 1000))]
    pub allergies: Option<String>,
}

/// The partner (丈夫/伴侣).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Partner {
    #[validate(length(min = 1, max = 50))]
    pub name: Option<String>,
    #[validate(range(min = 15, max = 100))]
    pub age: Option<i32>,
    #[validate(length(max = 1000))]
    pub health: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum BloodGroup {
    A,
    B,
    AB,
    O,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rh {
    Positive,
    Negative,
}

fn enum_text<T: Serialize>(v: &Option<T>) -> Option<String> {
    v.as_ref()
        .and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(str::to_string))
}

/// A new handbook (建档), by a clinic or by the mother herself.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "id_type": "resident_id", "id_number": "11010519491231002X", "full_name": "李娟",
    "phone": "13800000000", "residence_region_code": "990101001001", "address": "东湖村3组12号",
    "household_registered": true, "ethnicity": "汉族", "education": "高中", "occupation": "农民",
    "blood_group": "O", "rh": "positive", "height_cm": 160.0, "pre_pregnancy_weight_kg": 52.0,
    "history": {"medical": "无", "allergies": "青霉素"}, "partner": {"name": "王强", "age": 30}
}))]
pub struct NewHandbook {
    pub id_type: IdType,
    /// For `resident_id`, 18 characters checked with the GB 11643 check digit.
    #[validate(length(min = 1, max = 32))]
    pub id_number: String,
    #[validate(length(min = 1, max = 50))]
    pub full_name: String,
    /// Required for documents other than the resident identity card; otherwise derived from the
    /// number and, when given, checked against it.
    pub birth_date: Option<NaiveDate>,
    #[validate(custom(function = "valid_phone"))]
    pub phone: Option<String>,
    /// 12-digit code of the village or community where she lives.
    #[validate(length(equal = 12))]
    pub residence_region_code: String,
    #[validate(length(max = 200))]
    pub address: Option<String>,
    /// Household-registered here (户籍) rather than floating population (流动人口).
    pub household_registered: Option<bool>,
    #[validate(length(max = 20))]
    pub ethnicity: Option<String>,
    #[validate(length(max = 20))]
    pub education: Option<String>,
    #[validate(length(max = 50))]
    pub occupation: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub rh: Option<Rh>,
    #[validate(range(min = 100.0, max = 230.0))]
    pub height_cm: Option<f64>,
    #[validate(range(min = 25.0, max = 250.0))]
    pub pre_pregnancy_weight_kg: Option<f64>,
    #[serde(default)]
    #[validate(nested)]
    pub history: History,
    #[serde(default)]
    #[validate(nested)]
    pub partner: Partner,
}

/// Changes to a profile by clinic staff; absent fields stay as they are. The identity document
/// is not changed here.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "13900000000", "pre_pregnancy_weight_kg": 53.5, "reason": "confirmed with the mother"}))]
pub struct ProfileChanges {
    #[validate(length(min = 1, max = 50))]
    pub full_name: Option<String>,
    #[validate(custom(function = "valid_phone"))]
    pub phone: Option<String>,
    #[validate(length(equal = 12))]
    pub residence_region_code: Option<String>,
    #[validate(length(max = 200))]
    pub address: Option<String>,
    pub household_registered: Option<bool>,
    #[validate(length(max = 20))]
    pub ethnicity: Option<String>,
    #[validate(length(max = 20))]
    pub education: Option<String>,
    #[validate(length(max = 50))]
    pub occupation: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub rh: Option<Rh>,
    #[validate(range(min = 100.0, max = 230.0))]
    pub height_cm: Option<f64>,
    #[validate(range(min = 25.0, max = 250.0))]
    pub pre_pregnancy_weight_kg: Option<f64>,
    #[validate(nested)]
    pub history: Option<History>,
    #[validate(nested)]
    pub partner: Option<Partner>,
    /// Why the record is corrected (kept with the old version).
    #[validate(length(max = 500))]
    pub reason: Option<String>,
}

/// What a mother may change herself: contact details and self-reported history.
#[derive(Debug, Clone, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "13900000000", "history": {"allergies": "青霉素、头孢"}}))]
pub struct MotherChanges {
    #[validate(custom(function = "valid_phone"))]
    pub phone: Option<String>,
    #[validate(length(max = 200))]
    pub address: Option<String>,
    #[validate(length(max = 20))]
    pub education: Option<String>,
    #[validate(length(max = 50))]
    pub occupation: Option<String>,
    #[validate(nested)]
    pub history: Option<History>,
    #[validate(nested)]
    pub partner: Option<Partner>,
}

impl From<MotherChanges> for ProfileChanges {
    fn from(m: MotherChanges) -> Self {
        ProfileChanges {
            phone: m.phone,
            address: m.address,
            education: m.education,
            occupation: m.occupation,
            history: m.history,
            partner: m.partner,
            reason: Some("changed by the mother".into()),
            ..Default::default()
        }
    }
}

/// The stored row.
#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = handbooks, treat_none_as_null = true)]
pub struct HandbookRow {
    pub id: String,
    pub county_code: String,
    pub status: String,
    pub registered_institution_id: Option<String>,
    pub registered_at: Option<NaiveDateTime>,
    pub id_type: String,
    pub id_number_enc: String,
    pub id_blind_index: String,
    pub id_masked: String,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub residence_region_code: String,
    pub address: Option<String>,
    pub household_registered: Option<bool>,
    pub ethnicity: Option<String>,
    pub education: Option<String>,
    pub occupation: Option<String>,
    pub blood_group: Option<String>,
    pub rh: Option<String>,
    pub height_cm: Option<f64>,
    pub pre_pregnancy_weight_kg: Option<f64>,
    pub history: String,
    pub partner: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Moved on by the database's triggers whenever anything on the home page changes
    /// (`home_cache`); never written from here.
    #[diesel(skip_insertion, skip_update)]
    pub revision: i64,
    /// The blind index of the identity document of a handbook started in the app (`pending`),
    /// which does not claim the document: its `id_blind_index` is `pending:<id>` until a clinic
    /// registers the woman (migration 000014, issue #14).
    pub pending_identity_index: Option<String>,
}

/// A profile as shown: the identity number masked, BMI derived.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::handbook_view)]
pub struct HandbookView {
    pub id: String,
    /// `pending` (started by the mother, not yet confirmed by a clinic) or `confirmed`.
    pub status: String,
    pub county_code: String,
    pub registered_institution_id: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub registered_at: Option<chrono::DateTime<Utc>>,
    pub id_type: IdType,
    /// e.g. `1101********002X`; the full number is at `/handbooks/{id}/identity` (audited).
    pub id_number_masked: String,
    pub full_name: String,
    pub birth_date: NaiveDate,
    /// Age in whole years today (China Standard Time).
    pub age: i32,
    pub phone: Option<String>,
    pub residence_region_code: String,
    pub address: Option<String>,
    pub household_registered: Option<bool>,
    pub ethnicity: Option<String>,
    pub education: Option<String>,
    pub occupation: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub rh: Option<Rh>,
    pub height_cm: Option<f64>,
    pub pre_pregnancy_weight_kg: Option<f64>,
    /// Pre-pregnancy BMI, when height and weight are known.
    pub bmi: Option<f64>,
    pub bmi_category: Option<BmiCategory>,
    pub history: History,
    pub partner: Partner,
    /// Also the ETag (`"v<version>"`); name it in `If-Match` to change the profile.
    pub version: i64,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub created_at: chrono::DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: chrono::DateTime<Utc>,
}

pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

impl HandbookRow {
    /// The view of the stored row; a stored enum or JSON column that does not parse is an error.
    pub fn view(&self) -> diesel::QueryResult<HandbookView> {
        let bmi = match (self.height_cm, self.pre_pregnancy_weight_kg) {
            (Some(h), Some(w)) => Some(weight_gain::bmi(h, w)),
            _ => None,
        };
        Ok(HandbookView {
            id: self.id.clone(),
            status: self.status.clone(),
            county_code: self.county_code.clone(),
            registered_institution_id: self.registered_institution_id.clone(),
            registered_at: self.registered_at.map(|t| t.and_utc()),
            id_type: stored::from_text("handbooks.id_type", &self.id_type)?,
            id_number_masked: self.id_masked.clone(),
            full_name: self.full_name.clone(),
            birth_date: self.birth_date,
            age: age_on(self.birth_date, crate::time::china_today()),
            phone: self.phone.clone(),
            residence_region_code: self.residence_region_code.clone(),
            address: self.address.clone(),
            household_registered: self.household_registered,
            ethnicity: self.ethnicity.clone(),
            education: self.education.clone(),
            occupation: self.occupation.clone(),
            blood_group: stored::from_text_opt(
                "handbooks.blood_group",
                self.blood_group.as_deref(),
            )?,
            rh: stored::from_text_opt("handbooks.rh", self.rh.as_deref())?,
            height_cm: self.height_cm,
            pre_pregnancy_weight_kg: self.pre_pregnancy_weight_kg,
            bmi,
            bmi_category: bmi.map(weight_gain::bmi_category),
            history: stored::json_from_db("handbooks.history", &self.history)?,
            partner: stored::json_from_db("handbooks.partner", &self.partner)?,
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

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
        blood_group: enum_text(&input.blood_group),
        rh: enum_text(&input.rh),
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
        row.blood_group = enum_text(&changes.blood_group);
    }
    if changes.rh.is_some() {
        row.rh = enum_text(&changes.rh);
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
