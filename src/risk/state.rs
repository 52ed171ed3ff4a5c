//! A pregnancy's risk state: its current colour label (what the mother's page and the work lists
//! show) and the facts of its last grading.

use crate::db::stored;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    engine::{self, Colour, Grading},
    input::RiskInput,
    record,
};
use crate::{
    audit::{self, Event},
    auth::{roles::RecordReader, Staff},
    db::{schema::*, DbConn},
    error::AppError,
    http::RequestCtx,
    pregnancy::store::{self as pregnancy_store},
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
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
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

/// Keeps a pregnancy's risk state with its latest decision: the current colour, the highest
/// base colour reached, the grading it came from; a re-grading is no longer needed.
pub fn record_decision(
    conn: &mut DbConn,
    pregnancy: &crate::pregnancy::store::PregnancyRow,
    grading_id: &str,
    base: Colour,
    purple: bool,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let highest: Option<String> = pregnancy_risk::table
        .find(&pregnancy.id)
        .select(pregnancy_risk::highest_base)
        .first(conn)
        .optional()?;
    let highest = stored::from_text_opt::<Colour>("risk_cases.highest_base", highest.as_deref())?
        .map_or(base, |h| h.max(base));
    let updated = diesel::update(pregnancy_risk::table.find(&pregnancy.id))
        .set((
            pregnancy_risk::current_base.eq(base.as_str()),
            pregnancy_risk::current_purple.eq(purple),
            pregnancy_risk::highest_base.eq(highest.as_str()),
            pregnancy_risk::last_grading_id.eq(grading_id),
            pregnancy_risk::needs_regrading.eq(false),
            pregnancy_risk::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(pregnancy_risk::table)
            .values((
                pregnancy_risk::pregnancy_id.eq(&pregnancy.id),
                pregnancy_risk::handbook_id.eq(&pregnancy.handbook_id),
                pregnancy_risk::county_code.eq(&pregnancy.county_code),
                pregnancy_risk::current_base.eq(base.as_str()),
                pregnancy_risk::current_purple.eq(purple),
                pregnancy_risk::highest_base.eq(highest.as_str()),
                pregnancy_risk::last_grading_id.eq(grading_id),
                pregnancy_risk::needs_regrading.eq(false),
                pregnancy_risk::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
