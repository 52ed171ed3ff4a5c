//! The personal profile (个人档案): types, validation beyond single fields, storage with versions.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::identity::IdType;
use crate::db::stored;
use crate::{
    checkups::weight_gain::{self, BmiCategory},
    db::schema::*,
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

/// Whether a clinic has confirmed the handbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandbookStatus {
    /// Started by the mother in the app, not yet confirmed by a clinic.
    Pending,
    /// Registered (or confirmed) by a clinic.
    Confirmed,
}

/// A profile as shown: the identity number masked, BMI derived.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::handbook_view)]
pub struct HandbookView {
    pub id: String,
    pub status: HandbookStatus,
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
            status: stored::from_text("handbooks.status", &self.status)?,
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
