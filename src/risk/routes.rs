//! Screening (初筛) and grading (评估) endpoints, the colour history and the re-grading list.

use crate::db::stored;
use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::screenings::unknown_code_error;
use super::{
    engine::{self, Colour, Grading},
    input::RiskInput,
    record,
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{Page, RequestCtx, ValidJson},
    pregnancy::store::{self as pregnancy_store, PregnancyRow},
    state::AppState,
};

/// The clinician's decision: a base colour (green to red) and whether purple applies.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub base_colour: Colour,
    pub purple: bool,
}

/// A grading (评估): the engine proposes from the record, the clinician's facts and ticked
/// criteria; the clinician confirms (no `decision`) or decides otherwise. A decision lower than the
/// proposal needs an `override_reason`. Both proposal and decision are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"facts": {"uterine_scar": true, "months_since_uterine_surgery": 12}, "criteria": ["yellow_contracted_pelvis"]}))]
pub struct NewGrading {
    #[serde(default)]
    pub facts: RiskInput,
    /// Criteria codes the clinician ticks (`clinician_criteria` of risk-rules.json, or any rule code).
    #[serde(default)]
    #[validate(length(max = 60))]
    pub criteria: Vec<String>,
    pub decision: Option<Decision>,
    #[validate(length(min = 1, max = 1000))]
    pub override_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ColourView {
    pub base_colour: Colour,
    pub purple: bool,
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub label: String,
}

/// One grading in the colour history.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::grading_view)]
pub struct GradingView {
    pub id: String,
    pub pregnancy_id: String,
    pub institution_id: String,
    pub graded_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub graded_at: DateTime<Utc>,
    /// What the engine proposed and the codes it found.
    pub proposal: ColourView,
    pub codes: Vec<String>,
    /// What the clinician decided.
    pub decision: ColourView,
    pub override_reason: Option<String>,
    pub criteria: Vec<String>,
    pub missing_core: Vec<String>,
}

type GradingRow = (
    String,
    String,
    String,
    String,
    NaiveDateTime,
    String,
    bool,
    String,
    String,
    bool,
    Option<String>,
    String,
    String,
);

fn grading_view(r: GradingRow) -> QueryResult<GradingView> {
    let (
        id,
        pregnancy_id,
        institution_id,
        graded_by,
        graded_at,
        pb,
        pp,
        codes,
        db_,
        dp,
        reason,
        ticked,
        missing,
    ) = r;
    let pb: Colour = stored::from_text("risk_gradings.proposed_base", &pb)?;
    let db_: Colour = stored::from_text("risk_gradings.base", &db_)?;
    Ok(GradingView {
        id,
        pregnancy_id,
        institution_id,
        graded_by,
        graded_at: graded_at.and_utc(),
        proposal: ColourView {
            base_colour: pb,
            purple: pp,
            label: engine::label(pb, pp),
        },
        codes: record::split(&codes),
        decision: ColourView {
            base_colour: db_,
            purple: dp,
            label: engine::label(db_, dp),
        },
        override_reason: reason,
        criteria: record::split(&ticked),
        missing_core: record::split(&missing),
    })
}

fn load_gradings(conn: &mut DbConn, pregnancy_id: &str) -> QueryResult<Vec<GradingView>> {
    let rows: Vec<GradingRow> = risk_gradings::table
        .filter(risk_gradings::pregnancy_id.eq(pregnancy_id))
        .order(risk_gradings::id.asc())
        .select((
            risk_gradings::id,
            risk_gradings::pregnancy_id,
            risk_gradings::institution_id,
            risk_gradings::graded_by,
            risk_gradings::graded_at,
            risk_gradings::proposed_base,
            risk_gradings::proposed_purple,
            risk_gradings::proposed_codes,
            risk_gradings::decided_base,
            risk_gradings::decided_purple,
            risk_gradings::override_reason,
            risk_gradings::ticked,
            risk_gradings::missing_core,
        ))
        .load(conn)?;
    rows.into_iter().map(grading_view).collect()
}

/// Primary care (village clinics, township centres) screens but never assigns a colour
/// (risk-grading.md §1); the refusal says so (issue #14: it was a bare 403).
fn may_grade(staff: &StaffPrincipal) -> Result<(), AppError> {
    if matches!(
        staff.institution_level.as_str(),
        "village_clinic" | "township_centre"
    ) {
        return Err(AppError::Refused {
            code: crate::error::Code::GradingNeedsHospital,
            detail: "risk grading is done by a secondary or higher institution; primary care \
                     screens and refers"
                .into(),
        });
    }
    Ok(())
}

/// Checks a decision against the proposal: lower needs a reason.
fn check_decision(proposal: &Grading, input: &NewGrading) -> Result<(Colour, bool), AppError> {
    let Some(d) = &input.decision else {
        return Ok((proposal.base_colour, proposal.purple));
    };
    let mut errors = Vec::new();
    if d.base_colour == Colour::Purple {
        errors.push(FieldError::new(
            "/decision/base_colour",
            "invalid_value",
            "green, yellow, orange or red; purple is the separate flag",
        ));
    }
    let lower = d.base_colour < proposal.base_colour || (proposal.purple && !d.purple);
    if lower && input.override_reason.is_none() {
        errors.push(FieldError::new(
            "/override_reason",
            "required",
            format!(
                "the decision is lower than the proposal ({}); say why",
                proposal.label
            ),
        ));
    }
    if errors.is_empty() {
        Ok((d.base_colour, d.purple))
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Grade a pregnancy. Secondary and higher institutions only.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "Pregnancy id")),
    request_body = NewGrading,
    responses(
        (status = 201, description = "The grading, with proposal and decision", body = GradingView),
        (status = 403, description = "Only clinicians grade (`forbidden`), and only at a secondary or higher institution (`grading_needs_hospital`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The pregnancy ended, or delivery was more than 42 days ago", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown criterion, or a lower colour without a reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pregnancies/{id}/gradings")]
pub async fn grade_pregnancy(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewGrading>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    may_grade(&staff)?;
    let view = db::run_tx(&state.pool, move |conn| {
        let pregnancy: PregnancyRow = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        // Grading covers pregnancy to 42 days postpartum (risk-grading.md §1).
        let past_42_days = pregnancy
            .delivered_at
            .is_some_and(|d| Utc::now().naive_utc() - d > chrono::Duration::days(42));
        if pregnancy.status == "ended" || past_42_days {
            return Err(AppError::conflict(
                Code::GradingClosed,
                "grading ends with the pregnancy or 42 days after delivery",
            ));
        }
        let facts = record::merge(&record::from_record(conn, &pregnancy)?, &input.facts);
        let proposal = engine::grade(&facts, &input.criteria)
            .map_err(|e| unknown_code_error("criteria", &input.criteria, &e.0))?;
        let (base, purple) = check_decision(&proposal, &input)?;
        let now = Utc::now().naive_utc();
        let grading_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(risk_gradings::table)
            .values((
                risk_gradings::id.eq(&grading_id),
                risk_gradings::pregnancy_id.eq(&id),
                risk_gradings::handbook_id.eq(&pregnancy.handbook_id),
                risk_gradings::county_code.eq(&pregnancy.county_code),
                risk_gradings::institution_id.eq(&staff.institution_id),
                risk_gradings::input.eq(stored::json_to_db(&facts)?),
                risk_gradings::facts.eq(stored::json_to_db(&input.facts)?),
                risk_gradings::ticked.eq(input.criteria.join(",")),
                risk_gradings::proposed_base.eq(proposal.base_colour.as_str()),
                risk_gradings::proposed_purple.eq(proposal.purple),
                risk_gradings::proposed_codes.eq(record::codes_text(&proposal)),
                risk_gradings::decided_base.eq(base.as_str()),
                risk_gradings::decided_purple.eq(purple),
                risk_gradings::override_reason.eq(&input.override_reason),
                risk_gradings::missing_core.eq(proposal.missing_core.join(",")),
                risk_gradings::graded_by.eq(&staff.id),
                risk_gradings::graded_at.eq(now),
            ))
            .execute(conn)?;
        super::state::record_decision(conn, &pregnancy, &grading_id, base, purple, now)?;
        super::case_store::on_grading(
            conn,
            &pregnancy,
            &grading_id,
            base,
            purple,
            &staff.institution_id,
        )?;
        Event::new(&staff, "risk.grade", "pregnancy")
            .resource(&id)
            .county(&pregnancy.county_code)
            .detail(serde_json::json!({
                "proposal": proposal.label,
                "decision": engine::label(base, purple),
            }))
            .record(conn, &ctx)?;
        Ok(load_gradings(conn, &id)?.pop())
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// The colour history of a pregnancy, oldest first: who graded, when, what was proposed, what was
/// decided and why. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "Gradings", body = Page<GradingView>),
    )
)]
#[get("/pregnancies/{id}/gradings")]
pub async fn list_gradings(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let list = audit::read(&state.pool, ctx, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "risk.read_history", "pregnancy")
            .resource(&id)
            .county(&pregnancy.county_code);
        Ok((load_gradings(conn, &id)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(list)))
}
