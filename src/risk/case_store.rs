//! High-risk cases as stored: the row, its view, the county's deadlines, opening and updating a
//! case when a pregnancy is graded, and loading one within a staff member's scope.

use crate::db::stored;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    cases::{self, Stage},
    engine::{self, Colour},
};
use crate::{
    auth::StaffPrincipal,
    db::{schema::*, DbConn},
    error::AppError,
    scope,
};

#[derive(Debug, Clone, Queryable)]
pub struct CaseRow {
    pub id: String,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub opened_by_grading_id: String,
    pub current_base: String,
    pub current_purple: bool,
    pub highest_base: String,
    pub stage: String,
    pub case_number: Option<String>,
    pub responsible_clinician_id: Option<String>,
    pub planned_delivery_institution_id: Option<String>,
    pub discovered_at: NaiveDateTime,
    pub report_due_at: NaiveDateTime,
    pub registered_at: Option<NaiveDateTime>,
    pub registered_by: Option<String>,
    pub reported_at: Option<NaiveDateTime>,
    pub reported_by: Option<String>,
    pub managed_at: Option<NaiveDateTime>,
    pub managed_by: Option<String>,
    pub treated_at: Option<NaiveDateTime>,
    pub treated_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub closed_by: Option<String>,
    pub close_reason: Option<String>,
    pub close_note: Option<String>,
    pub flagged_for_review: bool,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

/// A stage reached: when and by whom.
#[derive(Debug, Serialize, ToSchema)]
pub struct StageMark {
    pub stage: Stage,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub at: DateTime<Utc>,
    pub by: Option<String>,
}

/// Why a case was closed.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Delivered,
    // Stored as `postpartum42_days` by builds before 2026-11-26 (no rename then): still read.
    #[serde(rename = "postpartum_42_days", alias = "postpartum42_days")]
    Postpartum42Days,
    TransferredOut,
    PregnancyEnded,
    MaternalDeath,
    NearMiss,
}

/// A high-risk case (专案).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::case_view)]
pub struct CaseView {
    pub id: String,
    /// Moves on with every change to the case: a stage change, a designation or a closure
    /// names it in `If-Match` as `"v<version>"`.
    pub version: i64,
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub county_code: String,
    pub institution_id: String,
    pub case_number: Option<String>,
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub colour: String,
    pub highest_base_colour: Colour,
    pub stage: Stage,
    /// Every stage reached, in order.
    pub stages: Vec<StageMark>,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub report_due_at: DateTime<Utc>,
    /// Not reported by the deadline (still unreported, or reported late).
    pub report_overdue: bool,
    /// The follow-up due date set at the latest follow-up.
    pub next_followup_due: Option<chrono::NaiveDate>,
    /// That date has passed without a newer follow-up.
    pub followup_overdue: bool,
    /// The woman's latest antenatal visit window closed without a checkup.
    pub visit_overdue: bool,
    /// Any of the three above (the case is open).
    pub overdue: bool,
    pub responsible_clinician_id: Option<String>,
    pub planned_delivery_institution_id: Option<String>,
    pub close_reason: Option<CloseReason>,
    pub close_note: Option<String>,
    /// Maternal death or near-miss: for review.
    pub flagged_for_review: bool,
    pub open_notices_unacknowledged: i64,
}

pub fn view(conn: &mut DbConn, c: CaseRow) -> QueryResult<CaseView> {
    let base: Colour = stored::from_text("risk_cases.current_base", &c.current_base)?;
    let marks = [
        (Stage::Discovered, Some(c.discovered_at), None),
        (Stage::Registered, c.registered_at, c.registered_by.clone()),
        (Stage::Reported, c.reported_at, c.reported_by.clone()),
        (Stage::Managed, c.managed_at, c.managed_by.clone()),
        (Stage::Treated, c.treated_at, c.treated_by.clone()),
        (Stage::Closed, c.closed_at, c.closed_by.clone()),
    ];
    let unacknowledged: i64 = risk_notices::table
        .filter(risk_notices::case_id.eq(&c.id))
        .filter(risk_notices::acknowledged_at.is_null())
        .count()
        .get_result(conn)?;
    let now = Utc::now().naive_utc();
    let open = c.stage != "closed";
    let next_followup_due: Option<chrono::NaiveDate> = case_followups::table
        .filter(case_followups::case_id.eq(&c.id))
        .order((
            case_followups::followed_on.desc(),
            case_followups::id.desc(),
        ))
        .select(case_followups::next_due)
        .first::<Option<chrono::NaiveDate>>(conn)
        .optional()?
        .flatten();
    let followup_overdue =
        open && next_followup_due.is_some_and(|d| d < crate::time::china_today());
    let (edd, status): (chrono::NaiveDate, String) = pregnancies::table
        .find(&c.pregnancy_id)
        .select((pregnancies::edd, pregnancies::status))
        .first(conn)?;
    let visit_overdue = open
        && status == "ongoing"
        && crate::checkups::plan::visit_overdue(conn, &c.pregnancy_id, edd)?;
    let report_overdue = c
        .reported_at
        .map_or(now > c.report_due_at, |r| r > c.report_due_at);
    Ok(CaseView {
        version: c.version,
        next_followup_due,
        followup_overdue,
        visit_overdue,
        overdue: open && (report_overdue || followup_overdue || visit_overdue),
        stages: marks
            .into_iter()
            .filter_map(|(stage, at, by)| {
                at.map(|at| StageMark {
                    stage,
                    at: at.and_utc(),
                    by,
                })
            })
            .collect(),
        report_overdue: c
            .reported_at
            .map_or(now > c.report_due_at, |r| r > c.report_due_at),
        colour: engine::label(base, c.current_purple),
        highest_base_colour: stored::from_text("risk_cases.highest_base", &c.highest_base)?,
        stage: stored::from_text("risk_cases.stage", &c.stage)?,
        report_due_at: c.report_due_at.and_utc(),
        id: c.id,
        pregnancy_id: c.pregnancy_id,
        handbook_id: c.handbook_id,
        county_code: c.county_code,
        institution_id: c.institution_id,
        case_number: c.case_number,
        responsible_clinician_id: c.responsible_clinician_id,
        planned_delivery_institution_id: c.planned_delivery_institution_id,
        close_reason: stored::from_text_opt("risk_cases.close_reason", c.close_reason.as_deref())?,
        close_note: c.close_note,
        flagged_for_review: c.flagged_for_review,
        open_notices_unacknowledged: unacknowledged,
    })
}

/// The county's reporting deadlines, or the national ones.
pub fn deadlines(conn: &mut DbConn, county_code: &str) -> QueryResult<cases::Deadlines> {
    let row: Option<(i32, i32)> = county_settings::table
        .find(county_code)
        .select((
            county_settings::report_hours_red,
            county_settings::report_hours_orange_purple,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.map_or(cases::NATIONAL_DEADLINES, |(red, other)| cases::Deadlines {
            red_hours: i64::from(red),
            orange_purple_hours: i64::from(other),
        }),
    )
}

/// After a grading: orange, red or purple opens the pregnancy's case (once); later gradings,
/// up or down, update its colour; a case stays open until closed.
pub fn on_grading(
    conn: &mut DbConn,
    pregnancy: &crate::pregnancy::store::PregnancyRow,
    grading_id: &str,
    base: Colour,
    purple: bool,
    institution_id: &str,
) -> QueryResult<Option<String>> {
    let now = Utc::now().naive_utc();
    let limits = deadlines(conn, &pregnancy.county_code)?;
    let existing: Option<CaseRow> = risk_cases::table
        .filter(risk_cases::pregnancy_id.eq(&pregnancy.id))
        .first(conn)
        .optional()?;
    match existing {
        None if cases::needs_case(base, purple) => {
            let id = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(risk_cases::table)
                .values((
                    risk_cases::id.eq(&id),
                    risk_cases::pregnancy_id.eq(&pregnancy.id),
                    risk_cases::handbook_id.eq(&pregnancy.handbook_id),
                    risk_cases::county_code.eq(&pregnancy.county_code),
                    risk_cases::institution_id.eq(institution_id),
                    risk_cases::opened_by_grading_id.eq(grading_id),
                    risk_cases::current_base.eq(base.as_str()),
                    risk_cases::current_purple.eq(purple),
                    risk_cases::highest_base.eq(base.as_str()),
                    risk_cases::stage.eq(Stage::Discovered.as_str()),
                    risk_cases::discovered_at.eq(now),
                    risk_cases::report_due_at.eq(cases::report_deadline(base, limits, now)),
                    risk_cases::flagged_for_review.eq(false),
                    risk_cases::version.eq(1),
                    risk_cases::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(id))
        }
        Some(c) if c.stage != "closed" => {
            let highest =
                stored::from_text::<Colour>("risk_cases.highest_base", &c.highest_base)?.max(base);
            // Reaching red before the report is made tightens the deadline to 24 hours.
            let due = if c.reported_at.is_none() {
                c.report_due_at
                    .min(cases::report_deadline(base, limits, now))
            } else {
                c.report_due_at
            };
            diesel::update(risk_cases::table.find(&c.id))
                .set((
                    risk_cases::current_base.eq(base.as_str()),
                    risk_cases::current_purple.eq(purple),
                    risk_cases::highest_base.eq(highest.as_str()),
                    risk_cases::report_due_at.eq(due),
                    risk_cases::version.eq(c.version + 1),
                    risk_cases::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(Some(c.id))
        }
        _ => Ok(None),
    }
}

/// A case the staff member may see; otherwise 404.
pub fn load_for_staff(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<CaseRow, AppError> {
    let c: CaseRow = risk_cases::table.find(id).first(conn)?;
    scope::staff_scope(conn, staff, &c.handbook_id)?;
    Ok(c)
}

#[cfg(test)]
mod close_reason_tests {
    use super::CloseReason;

    #[test]
    fn the_old_spelling_of_the_42_day_close_is_still_read() {
        let old: CloseReason = crate::db::stored::from_text("c", "postpartum42_days").unwrap();
        assert_eq!(old, CloseReason::Postpartum42Days);
        assert_eq!(crate::db::stored::to_text(&old), "postpartum_42_days");
    }
}
