//! Child records and growth measurements.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::http::pagination::Page;
use crate::{
    audit::{self, Event},
    auth::{
        roles::{CareProvider, Clinical, RecordReader},
        FamilyCaller, Staff,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{extract::not_future, RequestCtx, ValidJson},
    pregnancy::{dating::GestationalAge, outcomes::Sex},
    scope,
    state::AppState,
};

fn valid_ga_at_birth(ga: &GestationalAge) -> Result<(), ValidationError> {
    if (20 * 7..=44 * 7).contains(&ga.days()) {
        return Ok(());
    }
    let mut e = ValidationError::new("gestational_age");
    e.message = Some("weeks+days between 20+0 and 44+0".into());
    Err(e)
}

/// A child registered directly (born elsewhere, or before the handbook existed).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "王小宝", "sex": "male", "born_at": "2026-05-01T02:30:00Z", "birth_weight_g": 3300, "birth_length_cm": 50.0, "ga_at_birth": "39+2"}))]
pub struct NewChild {
    #[validate(length(min = 1, max = 50))]
    pub name: Option<String>,
    pub sex: Sex,
    pub born_at: DateTime<Utc>,
    #[validate(range(min = 300, max = 7000))]
    pub birth_weight_g: Option<i32>,
    #[validate(range(min = 20.0, max = 65.0))]
    pub birth_length_cm: Option<f64>,
    /// `w+d`, 20+0 to 44+0.
    #[validate(custom(function = "valid_ga_at_birth"))]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub ga_at_birth: Option<GestationalAge>,
    #[validate(length(max = 64))]
    pub birth_institution_id: Option<String>,
}

/// One growth measurement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrowthView {
    pub id: String,
    pub measured_on: NaiveDate,
    /// Age in completed months on that day.
    pub age_months: i32,
    pub weight_kg: Option<f64>,
    pub length_cm: Option<f64>,
    /// Recumbent length (true) or standing height (false).
    pub measured_lying: Option<bool>,
    pub head_circumference_cm: Option<f64>,
    pub institution_id: String,
}

/// A child with its growth record.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::child_detail)]
pub struct ChildDetail {
    pub id: String,
    pub handbook_id: String,
    pub pregnancy_id: Option<String>,
    pub name: Option<String>,
    pub sex: Sex,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub born_at: DateTime<Utc>,
    pub birth_weight_g: Option<i32>,
    pub birth_length_cm: Option<f64>,
    #[schema(pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub ga_at_birth: Option<String>,
    pub birth_institution_id: Option<String>,
    pub growth: Vec<GrowthView>,
}

type GrowthRow = (
    String,
    NaiveDate,
    Option<f64>,
    Option<f64>,
    Option<bool>,
    Option<f64>,
    String,
);
type ChildRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    NaiveDateTime,
    Option<i32>,
    Option<f64>,
    Option<i32>,
    Option<String>,
);

/// Completed months between two dates (a child born on the 31st reaches a month on the last day
/// of shorter months).
pub fn age_months(birth: NaiveDate, on: NaiveDate) -> i32 {
    use chrono::Datelike;
    let mut months = (on.year() - birth.year()) * 12 + on.month() as i32 - birth.month() as i32;
    let last_day_of_on = on
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.with_day(1))
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day());
    if on.day() < birth.day() && on.day() < last_day_of_on {
        months -= 1;
    }
    months.max(0)
}

fn detail(conn: &mut DbConn, id: &str) -> Result<ChildDetail, AppError> {
    let c: ChildRow = children::table
        .find(id)
        .select((
            children::id,
            children::handbook_id,
            children::pregnancy_id,
            children::county_code,
            children::name,
            children::sex,
            children::born_at,
            children::birth_weight_g,
            children::birth_length_cm,
            children::ga_at_birth_days,
            children::birth_institution_id,
        ))
        .first(conn)?;
    let birth = crate::time::china_date(c.6.and_utc());
    let growth: Vec<GrowthRow> = child_growth::table
        .filter(child_growth::child_id.eq(id))
        .order((child_growth::measured_on.asc(), child_growth::id.asc()))
        .select((
            child_growth::id,
            child_growth::measured_on,
            child_growth::weight_kg,
            child_growth::length_cm,
            child_growth::measured_lying,
            child_growth::head_circumference_cm,
            child_growth::institution_id,
        ))
        .load(conn)?;
    Ok(ChildDetail {
        id: c.0,
        handbook_id: c.1,
        pregnancy_id: c.2,
        name: c.4,
        sex: crate::db::stored::from_text("children.sex", &c.5)?,
        born_at: c.6.and_utc(),
        birth_weight_g: c.7,
        birth_length_cm: c.8,
        ga_at_birth: c.9.map(|g| GestationalAge(i64::from(g)).to_string()),
        birth_institution_id: c.10,
        growth: growth
            .into_iter()
            .map(
                |(
                    id,
                    measured_on,
                    weight_kg,
                    length_cm,
                    measured_lying,
                    head_circumference_cm,
                    institution_id,
                )| GrowthView {
                    id,
                    age_months: age_months(birth, measured_on),
                    measured_on,
                    weight_kg,
                    length_cm,
                    measured_lying,
                    head_circumference_cm,
                    institution_id,
                },
            )
            .collect(),
    })
}

/// Register a child directly on a handbook.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "children",
    params(("id" = String, Path, description = "Handbook id")),
    request_body = NewChild,
    responses(
        (status = 201, description = "The child", body = ChildDetail),
    )
)]
#[post("/handbooks/{id}/children")]
pub async fn register_child(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewChild>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let handbook_id = path.into_inner();
    let input = body.0;
    if input.born_at > Utc::now()
        || input.born_at.date_naive() < crate::http::extract::earliest_date()
    {
        return Err(AppError::invalid_field(
            "/born_at",
            "range",
            "must be between 1900 and now",
        ));
    }
    let staff = staff.principal;
    let child = db::run_tx(&state.pool, move |conn| {
        let county = scope::staff_scope(conn, &staff, &handbook_id)?;
        if let Some(inst) = &input.birth_institution_id {
            let n: i64 = institutions::table.find(inst).count().get_result(conn)?;
            if n == 0 {
                return Err(AppError::invalid_field(
                    "/birth_institution_id",
                    "not_found",
                    "no institution has this id",
                ));
            }
        }
        let now = Utc::now().naive_utc();
        let id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(children::table)
            .values((
                children::id.eq(&id),
                children::handbook_id.eq(&handbook_id),
                children::county_code.eq(&county),
                children::name.eq(&input.name),
                children::sex.eq(crate::db::stored::to_text(&input.sex)),
                children::born_at.eq(input.born_at.naive_utc()),
                children::birth_weight_g.eq(input.birth_weight_g),
                children::birth_length_cm.eq(input.birth_length_cm),
                children::ga_at_birth_days.eq(input.ga_at_birth.map(|g| g.days() as i32)),
                children::birth_institution_id.eq(&input.birth_institution_id),
                children::created_by.eq(&staff.id),
                children::created_at.eq(now),
                children::updated_at.eq(now),
            ))
            .execute(conn)?;
        // The village clinic of the family's village now serves the child (nutrition packs).
        scope::sync_residence(conn, &handbook_id)?;
        Event::new(&staff, "child.create", "child")
            .resource(&id)
            .county(&county)
            .record(conn, &ctx)?;
        detail(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Created().json(child))
}

/// The children of a handbook with their growth records. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "children",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "Children, oldest first", body = Page<ChildDetail>),
    )
)]
#[get("/handbooks/{id}/children")]
pub async fn list_children(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let handbook_id = path.into_inner();
    let staff = staff.principal;
    let kids = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::child_scope(conn, &staff, &handbook_id)?;
        let event = Event::new(&staff, "child.list", "handbook")
            .resource(&handbook_id)
            .county(county);
        let ids: Vec<String> = children::table
            .filter(children::handbook_id.eq(&handbook_id))
            .order(children::born_at.asc())
            .select(children::id)
            .load(conn)?;
        let kids = ids
            .iter()
            .map(|id| detail(conn, id))
            .collect::<Result<Vec<_>, AppError>>()?;
        Ok((kids, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(kids)))
}

/// Read a child with its growth record. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "children",
    params(("id" = String, Path, description = "Child id")),
    responses(
        (status = 200, description = "The child", body = ChildDetail),
    )
)]
#[get("/children/{id}")]
pub async fn get_child(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let child = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::child(conn, &staff, &id)?.county_code;
        let event = Event::new(&staff, "child.read", "child")
            .resource(&id)
            .county(county);
        Ok((detail(conn, &id)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(child))
}

/// A growth measurement; at least one value.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"measured_on": "2026-11-20", "weight_kg": 7.9, "length_cm": 68.5, "measured_lying": true, "head_circumference_cm": 43.0}))]
pub struct NewGrowth {
    #[validate(custom(function = "not_future"))]
    pub measured_on: NaiveDate,
    #[validate(range(min = 0.3, max = 60.0))]
    pub weight_kg: Option<f64>,
    #[validate(range(min = 25.0, max = 150.0))]
    pub length_cm: Option<f64>,
    /// Recumbent length (true) or standing height (false); defaults to lying before 24 months.
    pub measured_lying: Option<bool>,
    #[validate(range(min = 20.0, max = 60.0))]
    pub head_circumference_cm: Option<f64>,
}

/// Add a growth measurement. The mother sees it in her handbook.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "children",
    params(("id" = String, Path, description = "Child id")),
    request_body = NewGrowth,
    responses(
        (status = 201, description = "The child with the new measurement", body = ChildDetail),
        (status = 422, description = "Invalid or implausible values, or a date before birth", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/growth")]
pub async fn add_child_growth(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewGrowth>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let m = body.0;
    if m.weight_kg.is_none() && m.length_cm.is_none() && m.head_circumference_cm.is_none() {
        return Err(AppError::Validation(vec![FieldError::new(
            "/weight_kg",
            "required",
            "give at least one measurement",
        )]));
    }
    let staff = staff.principal;
    let child = db::run_tx(&state.pool, move |conn| {
        let child = scope::child(conn, &staff, &id)?;
        let (birth, county) = (child.birth_date(), child.county_code);
        if m.measured_on < birth {
            return Err(AppError::invalid_field(
                "/measured_on",
                "before_birth",
                "is before the child's birth",
            ));
        }
        diesel::insert_into(child_growth::table)
            .values((
                child_growth::id.eq(uuid::Uuid::now_v7().to_string()),
                child_growth::child_id.eq(&id),
                child_growth::county_code.eq(&county),
                child_growth::institution_id.eq(&staff.institution_id),
                child_growth::measured_on.eq(m.measured_on),
                child_growth::weight_kg.eq(m.weight_kg),
                child_growth::length_cm.eq(m.length_cm),
                child_growth::measured_lying.eq(m.length_cm.map(|_| {
                    m.measured_lying
                        .unwrap_or(age_months(birth, m.measured_on) < 24)
                })),
                child_growth::head_circumference_cm.eq(m.head_circumference_cm),
                child_growth::recorded_by.eq(&staff.id),
                child_growth::recorded_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "child.add_growth", "child")
            .resource(&id)
            .county(&county)
            .record(conn, &ctx)?;
        detail(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Created().json(child))
}

/// One of my children with the growth record.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Child id")),
    responses(
        (status = 200, description = "The child", body = ChildDetail),
    )
)]
#[get("/me/children/{id}")]
pub async fn get_my_child(
    caller: FamilyCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let child = db::run(&state.pool, move |conn| {
        let handbook: String = children::table
            .find(&id)
            .select(children::handbook_id)
            .first(conn)?;
        scope::family_scope(conn, &caller.0, &handbook)?;
        detail(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(child))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn completed_months_handle_month_ends() {
        assert_eq!(age_months(d("2026-01-15"), d("2026-07-14")), 5);
        assert_eq!(age_months(d("2026-01-15"), d("2026-07-15")), 6);
        assert_eq!(
            age_months(d("2026-01-31"), d("2026-02-28")),
            1,
            "last day of a shorter month"
        );
        assert_eq!(age_months(d("2026-01-31"), d("2026-02-27")), 0);
        assert_eq!(age_months(d("2026-03-31"), d("2026-04-30")), 1);
    }
}
