//! Risk screenings (初筛): the screening codes a clinic or village doctor ticks, kept with the
//! pregnancy for the grading that follows.

use crate::db::stored;
use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    engine::{self, Screening},
    input::RiskInput,
    record,
};
use crate::{
    audit::Event,
    auth::{roles::CareProvider, Staff},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    pregnancy::store::{self as pregnancy_store},
    state::AppState,
};

/// A screening (初筛) at the first visit.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"facts": {"miscarriage_count": 0, "previous_caesarean": false}, "ticked": ["screen_family_diabetes"], "note": "母亲有糖尿病"}))]
pub struct NewScreening {
    /// Facts not in the record yet (history items); they take precedence over the record.
    #[serde(default)]
    pub facts: RiskInput,
    /// Screening items the clinician ticks (`screen_*` codes of risk-grading.md §2).
    #[serde(default)]
    #[validate(length(max = 40))]
    pub ticked: Vec<String>,
    #[validate(length(max = 1000))]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019fe965-f100-793b-9963-368595e60af5", "positive": true,
    "codes": ["screen_previous_caesarean", "screen_scarred_uterus"], "referral_needed": true,
    "institution_id": "0192f0c4-0000-7000-8000-0000000000a1",
    "screened_at": "2026-08-10T02:00:00.000Z"
}))]
pub struct ScreeningView {
    pub id: String,
    pub positive: bool,
    pub codes: Vec<String>,
    /// A positive screen needs a full assessment at a secondary or higher institution (within 2 weeks).
    pub referral_needed: bool,
    pub institution_id: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub screened_at: DateTime<Utc>,
}

pub(super) fn unknown_code_error(list: &str, codes: &[String], unknown: &str) -> AppError {
    let i = codes.iter().position(|c| c == unknown).unwrap_or(0);
    AppError::invalid_field(
        &format!("/{list}/{i}"),
        "unknown_code",
        format!("{unknown} is not a known criterion"),
    )
}

/// Record a screening. Any institution may screen; a positive screen asks for a full assessment.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "Pregnancy id")),
    request_body = NewScreening,
    responses(
        (status = 201, description = "The screening", body = ScreeningView),
        (status = 422, description = "Unknown screening code or invalid facts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pregnancies/{id}/screenings")]
pub async fn screen_pregnancy(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewScreening>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let view = db::run_tx(&state.pool, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let facts = record::merge(&record::from_record(conn, &pregnancy)?, &input.facts);
        let result: Screening = engine::screen(&facts, &input.ticked)
            .map_err(|e| unknown_code_error("ticked", &input.ticked, &e.0))?;
        let now = Utc::now().naive_utc();
        let screening_id = uuid::Uuid::now_v7().to_string();
        let codes: Vec<String> = result.codes.iter().cloned().collect();
        diesel::insert_into(risk_screenings::table)
            .values((
                risk_screenings::id.eq(&screening_id),
                risk_screenings::pregnancy_id.eq(&id),
                risk_screenings::handbook_id.eq(&pregnancy.handbook_id),
                risk_screenings::county_code.eq(&pregnancy.county_code),
                risk_screenings::institution_id.eq(&staff.institution_id),
                risk_screenings::positive.eq(result.positive),
                risk_screenings::codes.eq(codes.join(",")),
                risk_screenings::ticked.eq(input.ticked.join(",")),
                risk_screenings::input.eq(stored::json_to_db(&facts)?),
                risk_screenings::note.eq(&input.note),
                risk_screenings::screened_by.eq(&staff.id),
                risk_screenings::screened_at.eq(now),
            ))
            .execute(conn)?;
        Event::new(&staff, "risk.screen", "pregnancy")
            .resource(&id)
            .county(&pregnancy.county_code)
            .detail(serde_json::json!({"positive": result.positive}))
            .record(conn, &ctx)?;
        Ok(ScreeningView {
            id: screening_id,
            positive: result.positive,
            referral_needed: result.positive,
            codes,
            institution_id: staff.institution_id.clone(),
            screened_at: now.and_utc(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}
