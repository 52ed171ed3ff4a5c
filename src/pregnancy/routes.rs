//! Pregnancy endpoints: open one, read, re-date, end, record the delivery.

use crate::error::Code;
use crate::http::pagination::Page;
use actix_web::{get, http::header, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::{
    dating::{self, DatingSource, GestationalAge},
    store::{self, PregnancyRow, PregnancyView},
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff,
    },
    db::{self, schema::*},
    error::{AppError, FieldError, Problem},
    http::{etag, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

/// A dating ultrasound (crown-rump length scan).
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DatingScan {
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub scan_date: NaiveDate,
    /// Gestational age by ultrasound on the scan date, `w+d`.
    #[schema(value_type = String, pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub ga: GestationalAge,
}

/// IVF dating.
#[derive(Debug, Clone, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IvfTransfer {
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub transfer_date: NaiveDate,
    /// Embryo age at transfer, days (3 or 5 usually).
    #[validate(range(min = 2, max = 7))]
    pub embryo_age_days: i64,
}

/// A new pregnancy episode. Give the LMP, a dating scan, or an IVF transfer (at least one).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lmp": "2026-09-01", "gravidity": 2, "parity": 1, "fetal_count": 1}))]
pub struct NewPregnancy {
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub lmp: Option<NaiveDate>,
    #[validate(nested)]
    pub dating_scan: Option<DatingScan>,
    #[validate(nested)]
    pub ivf: Option<IvfTransfer>,
    /// Pregnancies including this one (孕次).
    #[validate(range(min = 1, max = 20))]
    pub gravidity: i32,
    /// Previous births (产次).
    #[validate(range(min = 0, max = 15))]
    pub parity: i32,
    #[validate(range(min = 1, max = 6))]
    pub fetal_count: Option<i32>,
    /// Defaults to today (China Standard Time).
    #[validate(custom(function = "crate::http::extract::not_future"))]
    pub registration_date: Option<NaiveDate>,
}

pub(super) const MAX_GA_DAYS: i64 = 44 * 7;

/// EDD and dating source from what is known, with cross-field checks reported together.
fn date_pregnancy(
    input: &NewPregnancy,
    registration: NaiveDate,
) -> Result<(NaiveDate, DatingSource, Option<String>), AppError> {
    let mut errors = Vec::new();
    let today = crate::time::china_today();
    if registration > today {
        errors.push(FieldError::new(
            "/registration_date",
            "future",
            "cannot be in the future",
        ));
    }
    if input.parity >= input.gravidity {
        errors.push(FieldError::new(
            "/parity",
            "range",
            "previous births must be fewer than pregnancies including this one",
        ));
    }
    if let Some(lmp) = input.lmp {
        let ga = dating::ga_from_lmp(lmp, registration).days();
        if !(0..=MAX_GA_DAYS).contains(&ga) {
            errors.push(FieldError::new(
                "/lmp",
                "range",
                "gives a gestational age outside 0 to 44 weeks at registration",
            ));
        }
    }
    if let Some(scan) = &input.dating_scan {
        if scan.scan_date > today {
            errors.push(FieldError::new(
                "/dating_scan/scan_date",
                "future",
                "cannot be in the future",
            ));
        }
    }
    if let Some(ivf) = &input.ivf {
        if ivf.transfer_date > today {
            errors.push(FieldError::new(
                "/ivf/transfer_date",
                "future",
                "cannot be in the future",
            ));
        }
    }
    if input.lmp.is_none() && input.dating_scan.is_none() && input.ivf.is_none() {
        errors.push(FieldError::new(
            "/lmp",
            "required",
            "give the LMP, a dating scan or an IVF transfer",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(if let Some(ivf) = &input.ivf {
        (
            dating::edd_from_ivf(ivf.transfer_date, ivf.embryo_age_days),
            DatingSource::IvfTransfer,
            Some(format!(
                "day-{} embryo transferred {}",
                ivf.embryo_age_days, ivf.transfer_date
            )),
        )
    } else if let Some(scan) = &input.dating_scan {
        let ga = scan.ga;
        let d = dating::date_by_ultrasound(input.lmp, scan.scan_date, ga);
        let why = format!(
            "scan {} at {} ({} days from LMP dating, tolerance {})",
            scan.scan_date, scan.ga, d.difference_days, d.tolerance_days
        );
        (d.edd, d.source, Some(why))
    } else {
        (
            dating::edd_from_lmp(input.lmp.unwrap_or(registration)),
            DatingSource::Lmp,
            None,
        )
    })
}

pub(super) fn respond(
    builder: &mut actix_web::HttpResponseBuilder,
    view: PregnancyView,
) -> HttpResponse {
    builder
        .insert_header((header::ETAG, etag(view.version)))
        .json(view)
}

/// Open a pregnancy episode (only one may be ongoing). The EDD is computed from the LMP, replaced
/// by the dating scan when it differs by more than the tolerance (checkups.md §1).
///
/// Who: clinicians.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Handbook id")),
    request_body = NewPregnancy,
    responses(
        (status = 201, description = "The pregnancy", body = PregnancyView, headers(("ETag" = String))),
        (status = 409, description = "A pregnancy is already ongoing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handbooks/{id}/pregnancies")]
pub async fn open_pregnancy(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewPregnancy>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let handbook_id = path.into_inner();
    let input = body.0;
    let registration = input
        .registration_date
        .unwrap_or_else(crate::time::china_today);
    let (edd, source, reason) = date_pregnancy(&input, registration)?;
    let staff = staff.principal;
    let row = db::run_tx(&state.pool, move |conn| {
        let county = scope::staff_scope(conn, &staff, &handbook_id)?;
        let ongoing: i64 = pregnancies::table
            .filter(pregnancies::handbook_id.eq(&handbook_id))
            .filter(pregnancies::status.eq("ongoing"))
            .count()
            .get_result(conn)?;
        if ongoing > 0 {
            return Err(AppError::conflict(
                Code::PregnancyOngoing,
                "this handbook has an ongoing pregnancy; end it or record the delivery first",
            ));
        }
        let now = Utc::now().naive_utc();
        let row = PregnancyRow {
            id: uuid::Uuid::now_v7().to_string(),
            handbook_id: handbook_id.clone(),
            county_code: county.clone(),
            lmp: input.lmp,
            edd,
            dating_source: source.as_str().into(),
            dating_reason: reason,
            gravidity: input.gravidity,
            parity: input.parity,
            fetal_count: input.fetal_count,
            registration_institution_id: staff.institution_id.clone(),
            registration_date: registration,
            // Basic public health service: early-pregnancy care before 13 weeks (checkups.md §3).
            early_registration: dating::ga_on(edd, registration).days() < 13 * 7,
            status: "ongoing".into(),
            end_reason: None,
            ended_on: None,
            delivered_at: None,
            delivery_ga_days: None,
            delivery_mode: None,
            delivery_institution_id: None,
            blood_loss_ml: None,
            maternal_outcome: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(pregnancies::table)
            .values(&row)
            .execute(conn)?;
        Event::new(&staff, "pregnancy.create", "pregnancy")
            .resource(&row.id)
            .county(&county)
            .record(conn, &ctx)?;
        Ok(row.view(conn)?)
    })
    .await?;
    Ok(respond(
        HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/api/v1/pregnancies/{}", row.id))),
        row,
    ))
}

/// The pregnancies of a handbook, newest first. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "Pregnancies", body = Page<PregnancyView>),
    )
)]
#[get("/handbooks/{id}/pregnancies")]
pub async fn list_pregnancies(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let handbook_id = path.into_inner();
    let staff = staff.principal;
    let rows = audit::read(&state.pool, ctx, move |conn| {
        let county = scope::staff_scope(conn, &staff, &handbook_id)?;
        let event = Event::new(&staff, "pregnancy.list", "handbook")
            .resource(&handbook_id)
            .county(county);
        let rows = pregnancies::table
            .filter(pregnancies::handbook_id.eq(&handbook_id))
            .order(pregnancies::id.desc())
            .load::<PregnancyRow>(conn)?;
        let views = rows
            .iter()
            .map(|r| r.view(conn))
            .collect::<QueryResult<Vec<_>>>()?;
        Ok((views, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(rows)))
}

/// Read a pregnancy with today's gestational age. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "The pregnancy", body = PregnancyView, headers(("ETag" = String))),
    )
)]
#[get("/pregnancies/{id}")]
pub async fn get_pregnancy(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let row = audit::read(&state.pool, ctx, move |conn| {
        let row = store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "pregnancy.read", "pregnancy")
            .resource(&id)
            .county(&row.county_code);
        Ok((row.view(conn)?, event))
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), row))
}
