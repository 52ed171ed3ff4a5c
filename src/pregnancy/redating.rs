//! Re-dating a pregnancy: the first qualifying dating scan by the ultrasound tolerance rule, or
//! a clinician's EDD with a reason; a new version, the old one kept.

use crate::error::Code;
use actix_web::{put, web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use super::routes::respond;
use super::{
    dating::{self, DatingSource, GestationalAge},
    store::{self, PregnancyView},
};
use crate::{
    audit::Event,
    auth::{roles::Clinical, Staff},
    db::{self},
    error::{AppError, Problem},
    http::{IfMatch, RequestCtx, ValidJson},
    state::AppState,
};

/// Re-dating: a dating scan (applied by the tolerance rule, first qualifying scan only) or a
/// clinician's EDD with a reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
#[schema(example = json!({"method": "ultrasound", "scan_date": "2026-10-09", "ga": "12+3"}))]
pub enum Redating {
    Ultrasound {
        scan_date: NaiveDate,
        /// Gestational age by ultrasound on the scan date, `w+d`. (Text here, parsed by the
        /// handler: serde cannot name a field inside an internally tagged enum.)
        #[schema(pattern = r"^[0-9]{1,2}\+[0-6]$")]
        ga: String,
    },
    Clinician {
        edd: NaiveDate,
        reason: String,
    },
}

impl Validate for Redating {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        let mut errors = validator::ValidationErrors::new();
        match self {
            Redating::Ultrasound { .. } => {}
            Redating::Clinician { reason, .. } => {
                if reason.trim().is_empty() || reason.len() > 500 {
                    let mut e = ValidationError::new("length");
                    e.message = Some("a reason of 1 to 500 characters is required".into());
                    errors.add("reason", e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Change the dating of an ongoing pregnancy. Name the version in `If-Match`.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id"), ("If-Match" = String, Header, description = "ETag being replaced")),
    request_body = Redating,
    responses(
        (status = 200, description = "The pregnancy, re-dated or (scan within tolerance) unchanged", body = PregnancyView, headers(("ETag" = String))),
        (status = 409, description = "Not ongoing, or already dated by an earlier scan (use a clinician override)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/pregnancies/{id}/dating")]
pub async fn redate_pregnancy(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<Redating>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let today = crate::time::china_today();
    let row = db::run_tx(&state.pool, move |conn| {
        let old = store::load_for_staff(conn, &staff, &id)?;
        if_match.check(old.version)?;
        if old.status != "ongoing" {
            return Err(AppError::conflict(
                Code::PregnancyNotOngoing,
                "only an ongoing pregnancy can be re-dated",
            ));
        }
        let mut row = old.clone();
        let reason = match body.0 {
            Redating::Ultrasound { scan_date, ga } => {
                let ga = GestationalAge::parse(&ga).ok_or_else(|| {
                    AppError::invalid_field(
                        "/ga",
                        "gestational_age",
                        "weeks+days such as 8+3 (weeks 0–45, days 0–6)",
                    )
                })?;
                if crate::http::extract::not_future(&scan_date).is_err() {
                    return Err(AppError::invalid_field(
                        "/scan_date",
                        "range",
                        "must be between 1900-01-01 and today",
                    ));
                }
                if old.dating_source == "ultrasound" {
                    return Err(AppError::conflict(
                        Code::AlreadyDatedByUltrasound,
                        "the EDD was set by an earlier scan and later scans do not change it; \
                         a clinician may override with a reason",
                    ));
                }
                let d = dating::date_by_ultrasound(old.lmp, scan_date, ga);
                let why = format!(
                    "scan {scan_date} at {ga}: {} days from LMP dating, \
                     tolerance {}",
                    d.difference_days, d.tolerance_days
                );
                if d.source == DatingSource::Ultrasound {
                    row.edd = d.edd;
                    row.dating_source = DatingSource::Ultrasound.as_str().into();
                    row.dating_reason = Some(why.clone());
                }
                why
            }
            Redating::Clinician { edd, reason } => {
                if (edd - today).num_days() > 44 * 7 || (today - edd).num_days() > 8 * 7 {
                    return Err(AppError::invalid_field(
                        "/edd",
                        "range",
                        "not a plausible EDD for an ongoing pregnancy",
                    ));
                }
                row.edd = edd;
                row.dating_source = DatingSource::Clinician.as_str().into();
                row.dating_reason = Some(reason.trim().to_string());
                reason
            }
        };
        if row.edd == old.edd && row.dating_source == old.dating_source {
            return Ok(old.view(conn)?);
        }
        let row = store::save_version(conn, &old, row, &staff.id, Some(reason))?;
        Event::new(&staff, "pregnancy.redate", "pregnancy")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        Ok(row.view(conn)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), row))
}
