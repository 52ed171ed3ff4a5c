//! Consultations (会诊) on a high-risk case: a clinic asks an expert institution, which answers.

use crate::error::Code;
use actix_web::{post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::case_store::{self};
use super::management::open;
use crate::{
    audit::Event,
    auth::{roles::Clinical, Staff},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{RequestCtx, ValidJson},
    scope::{self, Grant},
    state::AppState,
};

/// A question to a higher-level institution's experts.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_institution_id": "0192f0c4-0000-7000-8000-0000000000c1", "question": "瘢痕子宫合并前置胎盘，建议分娩时机？"}))]
pub struct NewConsultation {
    #[validate(length(min = 1, max = 64))]
    pub to_institution_id: String,
    #[validate(length(min = 1, max = 4000))]
    pub question: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"answer": "建议孕37周在市危重孕产妇救治中心择期剖宫产，提前一周入院"}))]
pub struct ConsultationAnswer {
    #[validate(length(min = 1, max = 4000))]
    pub answer: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01a1f6ca-1040-790c-bca3-04171fb17c23", "case_id": "01a1f1c3-bf60-73d9-a344-5bb31738f7d9",
    "from_institution_id": "0192f0c4-0000-7000-8000-0000000000a1",
    "to_institution_id": "0192f0c4-0000-7000-8000-0000000000c1", "question": "瘢痕子宫合并前置胎盘，建议分娩时机？",
    "requested_at": "2026-11-20T02:30:00.000Z", "answer": "建议孕37周在市危重孕产妇救治中心择期剖宫产，提前一周入院",
    "answered_at": "2026-11-21T01:15:00.000Z"
}))]
pub struct ConsultationView {
    pub id: String,
    pub case_id: String,
    pub from_institution_id: String,
    pub to_institution_id: String,
    pub question: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub requested_at: DateTime<Utc>,
    pub answer: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub answered_at: Option<DateTime<Utc>>,
}

type ConsultationRow = (
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
);

const CONSULTATION_COLUMNS: (
    consultations::id,
    consultations::case_id,
    consultations::from_institution_id,
    consultations::to_institution_id,
    consultations::question,
    consultations::requested_at,
    consultations::answer,
    consultations::answered_at,
) = (
    consultations::id,
    consultations::case_id,
    consultations::from_institution_id,
    consultations::to_institution_id,
    consultations::question,
    consultations::requested_at,
    consultations::answer,
    consultations::answered_at,
);

fn consultation_view(r: ConsultationRow) -> ConsultationView {
    ConsultationView {
        id: r.0,
        case_id: r.1,
        from_institution_id: r.2,
        to_institution_id: r.3,
        question: r.4,
        requested_at: r.5.and_utc(),
        answer: r.6,
        answered_at: r.7.map(|t| t.and_utc()),
    }
}

/// Ask experts of another institution; they may then see the woman's record to answer.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewConsultation,
    responses(
        (status = 201, description = "Requested", body = ConsultationView),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown institution", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/cases/{id}/consultations")]
pub async fn request_consultation(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewConsultation>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = case_store::load_for_staff(conn, &staff, &id)?;
        open(&c)?;
        let n: i64 = institutions::table
            .find(&input.to_institution_id)
            .count()
            .get_result(conn)?;
        if n == 0 {
            return Err(AppError::invalid_field(
                "/to_institution_id",
                "not_found",
                "no institution has this id",
            ));
        }
        let consultation_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(consultations::table)
            .values((
                consultations::id.eq(&consultation_id),
                consultations::case_id.eq(&id),
                consultations::county_code.eq(&c.county_code),
                consultations::from_institution_id.eq(&staff.institution_id),
                consultations::to_institution_id.eq(&input.to_institution_id),
                consultations::question.eq(&input.question),
                consultations::requested_by.eq(&staff.id),
                consultations::requested_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        scope::grant(
            conn,
            &c.handbook_id,
            &input.to_institution_id,
            &c.county_code,
            Grant::Referral,
            None,
        )?;
        Event::new(&staff, "case.consultation", "case")
            .resource(&id)
            .county(&c.county_code)
            .record(conn, &ctx)?;
        Ok(consultation_view(
            consultations::table
                .find(&consultation_id)
                .select(CONSULTATION_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// Answer a consultation (the consulted institution's clinicians).
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Consultation id")),
    request_body = ConsultationAnswer,
    responses(
        (status = 200, description = "Answered", body = ConsultationView),
        (status = 403, description = "Only the consulted institution answers", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An empty answer", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/consultations/{id}/answer")]
pub async fn answer_consultation(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<ConsultationAnswer>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let text = body.0.answer;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let (case_id, to, county): (String, String, String) = consultations::table
            .find(&id)
            .select((
                consultations::case_id,
                consultations::to_institution_id,
                consultations::county_code,
            ))
            .first(conn)?;
        case_store::load_for_staff(conn, &staff, &case_id)?;
        if to != staff.institution_id {
            return Err(AppError::Forbidden);
        }
        let n = diesel::update(
            consultations::table
                .find(&id)
                .filter(consultations::answered_at.is_null()),
        )
        .set((
            consultations::answer.eq(&text),
            consultations::answered_by.eq(&staff.id),
            consultations::answered_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::conflict(
                Code::AlreadyAnswered,
                "the consultation was answered already",
            ));
        }
        Event::new(&staff, "case.consultation_answer", "consultation")
            .resource(&id)
            .county(county)
            .record(conn, &ctx)?;
        Ok(consultation_view(
            consultations::table
                .find(&id)
                .select(CONSULTATION_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}
