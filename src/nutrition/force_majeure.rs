//! Force-majeure periods (nutrition-pack.md S1): declared by the county for the county or one of
//! its townships or villages, they push a child's stop date back by the days they cover. Stored
//! here; declared through `org::counties` (the county's own settings).

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::rules::Context;
use crate::{
    db::{schema::*, DbConn},
    error::AppError,
    org::rules::RegionCode,
};

/// A declared period.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0192f0c4-0000-7000-8000-0000000000f1", "county_code": "990101",
    "region_code": "990101001000", "starts_on": "2026-02-01", "ends_on": "2026-02-28",
    "reason": "疫情封控，村卫生室暂停发放", "declared_by": "0192f0c4-0000-7000-8000-000000000001",
    "declared_at": "2026-02-01T08:00:00.000Z", "withdrawn_at": null
}))]
pub struct Period {
    pub id: String,
    pub county_code: String,
    /// The county, a township or a village: the children living there.
    pub region_code: String,
    pub starts_on: NaiveDate,
    /// Inclusive.
    pub ends_on: NaiveDate,
    pub reason: String,
    pub declared_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub declared_at: chrono::DateTime<Utc>,
    /// A withdrawn period no longer counts.
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub withdrawn_at: Option<chrono::DateTime<Utc>>,
}

/// A period to declare.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"region_code": "990101001000", "starts_on": "2026-02-01", "ends_on": "2026-02-28", "reason": "疫情封控，村卫生室暂停发放"}))]
pub struct NewPeriod {
    /// The county itself, or a township or village in it (12 digits).
    #[validate(length(equal = 12))]
    pub region_code: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    #[validate(length(min = 1, max = 500))]
    pub reason: String,
}

type Row = (
    String,
    String,
    String,
    NaiveDate,
    NaiveDate,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn view(r: Row) -> Period {
    Period {
        id: r.0,
        county_code: r.1,
        region_code: r.2,
        starts_on: r.3,
        ends_on: r.4,
        reason: r.5,
        declared_by: r.6,
        declared_at: r.7.and_utc(),
        withdrawn_at: r.8.map(|t| t.and_utc()),
    }
}

fn columns() -> (
    force_majeure_periods::id,
    force_majeure_periods::county_code,
    force_majeure_periods::region_code,
    force_majeure_periods::starts_on,
    force_majeure_periods::ends_on,
    force_majeure_periods::reason,
    force_majeure_periods::declared_by,
    force_majeure_periods::declared_at,
    force_majeure_periods::withdrawn_at,
) {
    (
        force_majeure_periods::id,
        force_majeure_periods::county_code,
        force_majeure_periods::region_code,
        force_majeure_periods::starts_on,
        force_majeure_periods::ends_on,
        force_majeure_periods::reason,
        force_majeure_periods::declared_by,
        force_majeure_periods::declared_at,
        force_majeure_periods::withdrawn_at,
    )
}

/// Every period of a county, withdrawn ones too, earliest first.
pub fn of_county(conn: &mut DbConn, county: &str) -> QueryResult<Vec<Period>> {
    Ok(force_majeure_periods::table
        .filter(force_majeure_periods::county_code.eq(county))
        .order((
            force_majeure_periods::starts_on.asc(),
            force_majeure_periods::id.asc(),
        ))
        .select(columns())
        .load::<Row>(conn)?
        .into_iter()
        .map(view)
        .collect())
}

/// The rules' context for a child living at `residence`: the periods in force there.
/// Overlapping periods (the county's and the same closure declared for a township) are merged,
/// so a day counts once.
pub fn context_at(periods: &[Period], residence: &str) -> Context {
    let mut days: Vec<(NaiveDate, NaiveDate)> = periods
        .iter()
        .filter(|p| p.withdrawn_at.is_none())
        .filter(|p| RegionCode::parse(&p.region_code).is_ok_and(|r| r.contains(residence)))
        .map(|p| (p.starts_on, p.ends_on))
        .collect();
    days.sort();
    let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(days.len());
    for (from, to) in days {
        match merged.last_mut() {
            Some(last) if from <= last.1.succ_opt().unwrap_or(last.1) => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    Context {
        force_majeure: merged,
    }
}

/// The rules' context for one child (its handbook's residence).
pub fn context_for_child(conn: &mut DbConn, child_id: &str) -> QueryResult<Context> {
    let (county, residence): (String, String) = children::table
        .inner_join(handbooks::table.on(handbooks::id.eq(children::handbook_id)))
        .filter(children::id.eq(child_id))
        .select((children::county_code, handbooks::residence_region_code))
        .first(conn)?;
    Ok(context_at(&of_county(conn, &county)?, &residence))
}

/// Declares a period in `county` (the caller checked who may).
pub fn declare(
    conn: &mut DbConn,
    county: &str,
    input: &NewPeriod,
    by: &str,
) -> Result<Period, AppError> {
    let region =
        crate::handbook::store::region_must_exist(conn, "/region_code", &input.region_code)?;
    if region.county_code() != county {
        return Err(AppError::invalid_field(
            "/region_code",
            "not_found",
            "no region of this county has this code",
        ));
    }
    if input.ends_on < input.starts_on {
        return Err(AppError::invalid_field(
            "/ends_on",
            "range",
            "must be on or after starts_on",
        ));
    }
    let id = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(force_majeure_periods::table)
        .values((
            force_majeure_periods::id.eq(&id),
            force_majeure_periods::county_code.eq(county),
            force_majeure_periods::region_code.eq(&input.region_code),
            force_majeure_periods::starts_on.eq(input.starts_on),
            force_majeure_periods::ends_on.eq(input.ends_on),
            force_majeure_periods::reason.eq(&input.reason),
            force_majeure_periods::declared_by.eq(by),
            force_majeure_periods::declared_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    find(conn, county, &id)
}

/// One period of `county` (404 otherwise).
pub fn find(conn: &mut DbConn, county: &str, id: &str) -> Result<Period, AppError> {
    Ok(view(
        force_majeure_periods::table
            .find(id)
            .filter(force_majeure_periods::county_code.eq(county))
            .select(columns())
            .first::<Row>(conn)?,
    ))
}

/// Withdraws a period: it no longer counts; the row stays.
pub fn withdraw(conn: &mut DbConn, county: &str, id: &str, by: &str) -> Result<Period, AppError> {
    let found = find(conn, county, id)?;
    if found.withdrawn_at.is_some() {
        return Err(AppError::conflict(
            crate::error::Code::AlreadyWithdrawn,
            "this period was already withdrawn",
        ));
    }
    diesel::update(force_majeure_periods::table.find(id))
        .set((
            force_majeure_periods::withdrawn_by.eq(by),
            force_majeure_periods::withdrawn_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    find(conn, county, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_counts_where_it_was_declared_and_not_once_withdrawn() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let period = |region: &str, withdrawn: bool| Period {
            id: "p".into(),
            county_code: "990101".into(),
            region_code: region.into(),
            starts_on: d("2026-02-01"),
            ends_on: d("2026-02-10"),
            reason: "疫情".into(),
            declared_by: "x".into(),
            declared_at: Utc::now(),
            withdrawn_at: withdrawn.then(Utc::now),
        };
        let periods = [
            period("990101000000", false),
            period("990101001000", false),
            period("990101002000", true),
        ];
        // A village of township 001: the county's period and its township's, the same ten
        // days, count once.
        assert_eq!(
            context_at(&periods, "990101001003").force_majeure,
            [(d("2026-02-01"), d("2026-02-10"))]
        );
        // Township 002: its own period was withdrawn; the county's counts.
        assert_eq!(context_at(&periods, "990101002001").force_majeure.len(), 1);
        // Another county: none.
        assert!(context_at(&periods, "990102001001")
            .force_majeure
            .is_empty());
    }
}
