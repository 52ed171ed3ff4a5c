//! Screening (初筛) and grading (评估) endpoints, the colour history and the re-grading list.

use crate::db::stored;
use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    engine::{self, Colour, Grading, Screening},
    input::RiskInput,
    record,
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{CareProvider, Clinical, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, FieldError, Problem},
    http::{Page, RequestCtx, ValidJson},
    pregnancy::store::{self as pregnancy_store, PregnancyRow},
    state::AppState,
};

/// Where a pregnancy's risk stands.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::risk_state)]
pub struct RiskState {
    /// The latest decided grading, if any.
    pub current: Option<CurrentRisk>,
    /// What the engine proposes now from the record (with the last grading's facts and ticks).
    pub proposal: Grading,
    /// The facts the proposal was computed from.
    pub input: RiskInput,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentRisk {
    pub base_colour: Colour,
    pub purple: bool,
    pub label: String,
    /// The highest base colour reached in this pregnancy (for the indicators).
    pub highest_base_colour: Colour,
    /// New checkup values or results changed the proposal since the last grading.
    pub needs_regrading: bool,
    pub last_grading_id: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub updated_at: DateTime<Utc>,
}

type RiskRow = (String, bool, String, String, bool, NaiveDateTime);

fn current(conn: &mut DbConn, pregnancy_id: &str) -> QueryResult<Option<CurrentRisk>> {
    let row: Option<RiskRow> = pregnancy_risk::table
        .find(pregnancy_id)
        .select((
            pregnancy_risk::current_base,
            pregnancy_risk::current_purple,
            pregnancy_risk::highest_base,
            pregnancy_risk::last_grading_id,
            pregnancy_risk::needs_regrading,
            pregnancy_risk::updated_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(base, purple, highest, last, needs, at)| {
        let base: Colour = stored::from_text("pregnancy_risk.current_base", &base)?;
        Ok(CurrentRisk {
            label: engine::label(base, purple),
            base_colour: base,
            purple,
            highest_base_colour: stored::from_text("pregnancy_risk.highest_base", &highest)?,
            needs_regrading: needs,
            last_grading_id: last,
            updated_at: at.and_utc(),
        })
    })
    .transpose()
}

/// The label of the current grading of a pregnancy (for the mother's view).
pub fn current_label(conn: &mut DbConn, pregnancy_id: &str) -> QueryResult<Option<String>> {
    Ok(current(conn, pregnancy_id)?.map(|c| c.label))
}

/// The last grading's clinician facts and ticked codes, to carry into the next proposal.
fn last_facts(conn: &mut DbConn, pregnancy_id: &str) -> QueryResult<(RiskInput, Vec<String>)> {
    let last: Option<(String, String)> = risk_gradings::table
        .filter(risk_gradings::pregnancy_id.eq(pregnancy_id))
        .order(risk_gradings::id.desc())
        .select((risk_gradings::facts, risk_gradings::ticked))
        .first(conn)
        .optional()?;
    match last {
        None => Ok((RiskInput::default(), Vec::new())),
        Some((f, t)) => Ok((
            stored::json_from_db("risk_gradings.facts", &f)?,
            record::split(&t),
        )),
    }
}

/// The current colour and what the engine proposes from the record. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "risk",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "Current grading and proposal", body = RiskState),
    )
)]
#[get("/pregnancies/{id}/risk")]
pub async fn get_risk_state(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let view = audit::read(&state.pool, ctx, move |conn| {
        let pregnancy = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "risk.read", "pregnancy")
            .resource(&id)
            .county(&pregnancy.county_code);
        let (facts, ticked) = last_facts(conn, &id)?;
        let input = record::merge(&record::from_record(conn, &pregnancy)?, &facts);
        let proposal =
            engine::grade(&input, &ticked).map_err(|e| AppError::internal(e.to_string()))?;
        let view = RiskState {
            current: current(conn, &id)?,
            proposal,
            input,
        };
        Ok((view, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

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

fn unknown_code_error(list: &str, codes: &[String], unknown: &str) -> AppError {
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
        let highest: Option<String> = pregnancy_risk::table
            .find(&id)
            .select(pregnancy_risk::highest_base)
            .first(conn)
            .optional()?;
        let highest =
            stored::from_text_opt::<Colour>("risk_cases.highest_base", highest.as_deref())?
                .map_or(base, |h| h.max(base));
        let updated = diesel::update(pregnancy_risk::table.find(&id))
            .set((
                pregnancy_risk::current_base.eq(base.as_str()),
                pregnancy_risk::current_purple.eq(purple),
                pregnancy_risk::highest_base.eq(highest.as_str()),
                pregnancy_risk::last_grading_id.eq(&grading_id),
                pregnancy_risk::needs_regrading.eq(false),
                pregnancy_risk::updated_at.eq(now),
            ))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(pregnancy_risk::table)
                .values((
                    pregnancy_risk::pregnancy_id.eq(&id),
                    pregnancy_risk::handbook_id.eq(&pregnancy.handbook_id),
                    pregnancy_risk::county_code.eq(&pregnancy.county_code),
                    pregnancy_risk::current_base.eq(base.as_str()),
                    pregnancy_risk::current_purple.eq(purple),
                    pregnancy_risk::highest_base.eq(highest.as_str()),
                    pregnancy_risk::last_grading_id.eq(&grading_id),
                    pregnancy_risk::needs_regrading.eq(false),
                    pregnancy_risk::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
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

/// A pregnancy whose proposal changed since its last grading.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "pregnancy_id": "019fe945-e5e0-7651-8317-1ff4a6a3a450",
    "handbook_id": "019fe941-5200-752e-89a7-834df2a74de4", "full_name": "李梅",
    "current_label": "yellow", "since": "2026-11-19T02:50:00.000Z"
}))]
pub struct RegradingItem {
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub full_name: String,
    pub current_label: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub since: DateTime<Utc>,
}

/// Pregnancies that need re-grading (new results changed the proposal), in the caller's scope.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "risk",
    responses(
        (status = 200, description = "To re-grade", body = Page<RegradingItem>),
    )
)]
#[get("/worklist/regrading")]
pub async fn get_regrading_worklist(
    staff: Staff<RecordReader>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let page = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = pregnancy_risk::table
            .inner_join(handbooks::table.on(handbooks::id.eq(pregnancy_risk::handbook_id)))
            .filter(pregnancy_risk::needs_regrading.eq(true))
            .select((
                pregnancy_risk::pregnancy_id,
                pregnancy_risk::handbook_id,
                handbooks::full_name,
                pregnancy_risk::current_base,
                pregnancy_risk::current_purple,
                pregnancy_risk::updated_at,
            ))
            .into_boxed();
        sql = crate::scope::Listing::of(&staff).apply(
            sql,
            pregnancy_risk::handbook_id,
            pregnancy_risk::county_code,
        );
        let rows: Vec<(String, String, String, String, bool, NaiveDateTime)> = sql
            .order(pregnancy_risk::pregnancy_id.asc())
            .limit(101)
            .load(conn)?;
        let event = Event::new(&staff, "worklist.read_regrading", "pregnancy")
            .detail(serde_json::json!({"returned": rows.len()}));
        let page = Page::from_rows(rows, 100, |r| r.0.clone()).try_map(
            |(pregnancy_id, handbook_id, full_name, base, purple, since)| {
                Ok::<_, diesel::result::Error>(RegradingItem {
                    pregnancy_id,
                    handbook_id,
                    full_name,
                    current_label: engine::label(
                        stored::from_text("pregnancy_risk.current_base", &base)?,
                        purple,
                    ),
                    since: since.and_utc(),
                })
            },
        )?;
        Ok((page, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
