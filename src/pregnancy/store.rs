//! Pregnancy rows, views and the versioned update shared by the routes.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dating::{self, DatingSource, Trimester};
use super::outcomes::{DeliveryMode, EndReason};
use crate::{
    auth::StaffPrincipal,
    db::{schema::*, DbConn},
    error::AppError,
    scope,
};

#[derive(Debug, Clone, Queryable, Insertable, AsChangeset)]
#[diesel(table_name = pregnancies, treat_none_as_null = true)]
pub struct PregnancyRow {
    pub id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub lmp: Option<NaiveDate>,
    pub edd: NaiveDate,
    pub dating_source: String,
    pub dating_reason: Option<String>,
    pub gravidity: i32,
    pub parity: i32,
    pub fetal_count: Option<i32>,
    pub registration_institution_id: String,
    pub registration_date: NaiveDate,
    pub early_registration: bool,
    pub status: String,
    pub end_reason: Option<String>,
    pub ended_on: Option<NaiveDate>,
    pub delivered_at: Option<NaiveDateTime>,
    pub delivery_ga_days: Option<i32>,
    pub delivery_mode: Option<String>,
    pub delivery_institution_id: Option<String>,
    pub blood_loss_ml: Option<i32>,
    pub maternal_outcome: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A pregnancy as shown, with its gestational age computed today (China Standard Time).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019fe945-e5e0-7651-8317-1ff4a6a3a450", "handbook_id": "019fe941-5200-752e-89a7-834df2a74de4",
    "status": "ongoing", "lmp": "2026-06-01", "edd": "2027-03-08", "dating_source": "lmp", "dating_reason": null,
    "gravidity": 2, "parity": 1, "fetal_count": 1, "registration_institution_id": "0192f0c4-0000-7000-8000-0000000000a1",
    "registration_institution_name": "东湖镇卫生院", "registration_date": "2026-08-10", "early_registration": true, "ga_today": "25+1", "ga_days_today": 176,
    "days_to_edd": 104, "trimester": "middle", "end_reason": null, "ended_on": null, "delivery": null, "version": 1
}))]
pub struct PregnancyView {
    pub id: String,
    pub handbook_id: String,
    pub status: PregnancyStatus,
    pub lmp: Option<NaiveDate>,
    pub edd: NaiveDate,
    pub dating_source: DatingSource,
    /// Why the EDD was set the way it was (ultrasound difference, clinician's reason).
    pub dating_reason: Option<String>,
    pub gravidity: i32,
    pub parity: i32,
    pub fetal_count: Option<i32>,
    pub registration_institution_id: String,
    /// The registering institution by name.
    pub registration_institution_name: Option<String>,
    pub registration_date: NaiveDate,
    /// Registered before 13 weeks (checkups.md §3).
    pub early_registration: bool,
    /// Gestational age today, `w+d` (ongoing pregnancies only).
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga_today: Option<String>,
    pub ga_days_today: Option<i64>,
    /// Days from today to the EDD (negative once past it).
    pub days_to_edd: Option<i64>,
    pub trimester: Option<Trimester>,
    pub end_reason: Option<EndReason>,
    pub ended_on: Option<NaiveDate>,
    pub delivery: Option<DeliveryView>,
    /// Also the ETag.
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub delivered_at: chrono::DateTime<Utc>,
    /// Gestational age at delivery, `w+d`.
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub mode: Option<DeliveryMode>,
    pub institution_id: Option<String>,
    /// The delivering institution by name (a mother cannot look an id up).
    pub institution_name: Option<String>,
    pub blood_loss_ml: Option<i32>,
    pub maternal_outcome: Option<String>,
}

/// Where a pregnancy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PregnancyStatus {
    Ongoing,
    Delivered,
    Ended,
}

impl PregnancyRow {
    /// The view of the stored row, its institutions named; a stored enum that does not parse is
    /// an error.
    pub fn view(&self, conn: &mut DbConn) -> QueryResult<PregnancyView> {
        let ids: Vec<&str> = std::iter::once(self.registration_institution_id.as_str())
            .chain(self.delivery_institution_id.as_deref())
            .collect();
        let names: std::collections::HashMap<String, String> = institutions::table
            .filter(institutions::id.eq_any(ids))
            .select((institutions::id, institutions::name))
            .load(conn)?
            .into_iter()
            .collect();
        let name = |id: &str| names.get(id).cloned();
        let today = crate::time::china_today();
        let ongoing = self.status == "ongoing";
        let ga = ongoing.then(|| dating::ga_on(self.edd, today));
        Ok(PregnancyView {
            id: self.id.clone(),
            handbook_id: self.handbook_id.clone(),
            status: crate::db::stored::from_text("pregnancies.status", &self.status)?,
            lmp: self.lmp,
            edd: self.edd,
            dating_source: crate::db::stored::from_text(
                "pregnancies.dating_source",
                &self.dating_source,
            )?,
            dating_reason: self.dating_reason.clone(),
            gravidity: self.gravidity,
            parity: self.parity,
            fetal_count: self.fetal_count,
            registration_institution_id: self.registration_institution_id.clone(),
            registration_institution_name: name(&self.registration_institution_id),
            registration_date: self.registration_date,
            early_registration: self.early_registration,
            ga_today: ga.map(|g| g.to_string()),
            ga_days_today: ga.map(|g| g.days()),
            days_to_edd: ongoing.then(|| (self.edd - today).num_days()),
            trimester: ga.map(|g| g.trimester()),
            end_reason: crate::db::stored::from_text_opt(
                "pregnancies.end_reason",
                self.end_reason.as_deref(),
            )?,
            ended_on: self.ended_on,
            delivery: match self.delivered_at {
                Some(at) => Some(DeliveryView {
                    delivered_at: at.and_utc(),
                    ga: dating::GestationalAge(i64::from(
                        self.delivery_ga_days.unwrap_or_default(),
                    ))
                    .to_string(),
                    mode: crate::db::stored::from_text_opt(
                        "pregnancies.delivery_mode",
                        self.delivery_mode.as_deref(),
                    )?,
                    institution_id: self.delivery_institution_id.clone(),
                    institution_name: self.delivery_institution_id.as_deref().and_then(name),
                    blood_loss_ml: self.blood_loss_ml,
                    maternal_outcome: self.maternal_outcome.clone(),
                }),
                None => None,
            },
            version: self.version,
        })
    }
}

/// A pregnancy the staff member may see, with its county; otherwise 404.
pub fn load_for_staff(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<PregnancyRow, AppError> {
    let row: PregnancyRow = pregnancies::table.find(id).first(conn)?;
    scope::staff_scope(conn, staff, &row.handbook_id)?;
    Ok(row)
}

/// Writes `row` as the next version, keeping the previous one with who and why.
pub fn save_version(
    conn: &mut DbConn,
    old: &PregnancyRow,
    mut row: PregnancyRow,
    by: &str,
    reason: Option<String>,
) -> Result<PregnancyRow, AppError> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(pregnancy_versions::table)
        .values((
            pregnancy_versions::pregnancy_id.eq(&old.id),
            pregnancy_versions::version.eq(old.version),
            pregnancy_versions::county_code.eq(&old.county_code),
            pregnancy_versions::snapshot.eq(crate::db::stored::json_to_db(&old.view(conn)?)?),
            pregnancy_versions::changed_by.eq(by),
            pregnancy_versions::changed_at.eq(now),
            pregnancy_versions::reason.eq(reason),
        ))
        .execute(conn)?;
    row.version = old.version + 1;
    row.updated_at = now;
    let n = diesel::update(
        pregnancies::table
            .find(&old.id)
            .filter(pregnancies::version.eq(old.version)),
    )
    .set(&row)
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::PreconditionFailed {
            current_version: old.version + 1,
        });
    }
    Ok(row)
}
