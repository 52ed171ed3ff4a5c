//! The children an institution serves in the programme, loaded in bulk (one query per table, not
//! per child) with everything the work list and the monthly report compute from.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{
    followups::{self, Row},
    plan::Contact,
    reports::figures::{CardFacts, ChildFacts},
    rules::{Event, EventKind},
};
use crate::{
    db::{schema::*, DbConn},
    scope,
};

/// One child on the roster.
pub struct RosterChild {
    pub id: String,
    pub name: Option<String>,
    /// The mother's name (the handbook's holder).
    pub mother: String,
    pub registered_poor: bool,
    pub relocation_site: bool,
    pub facts: ChildFacts,
    /// Latest card's anaemia is moderate or severe.
    pub anaemia_moderate_or_worse: bool,
    pub last_followup: Option<NaiveDate>,
    pub last_issue: Option<NaiveDate>,
}

/// Which children count for an institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every child the institution may see (its work list).
    Visible,
    /// Children of the families living in a village clinic's village (its live `residence`
    /// grants): the village report.
    VillageResidents,
    /// Children of the families living in the township (the 9-digit region prefix) outside any
    /// village with an enabled clinic: the township centre's own part of its aggregate, so no child
    /// is counted twice.
    TownshipResidents(&'a str),
}

/// Children of the institution's scope born in `[born_from, born_to]` (China dates). Issues
/// recorded by the institution itself are the unit's issues ([`ChildFacts::unit_issues`]).
pub fn load(
    conn: &mut DbConn,
    institution_id: &str,
    born_from: NaiveDate,
    born_to: NaiveDate,
    scope: Scope,
) -> QueryResult<Vec<RosterChild>> {
    let now = Utc::now().naive_utc();
    // born_at is a UTC instant: widen by a day on each side and filter on the China date below.
    let from: NaiveDateTime = (born_from - chrono::Duration::days(1)).and_time(Default::default());
    let to: NaiveDateTime = (born_to + chrono::Duration::days(2)).and_time(Default::default());
    let mut query = children::table
        .inner_join(handbooks::table.on(handbooks::id.eq(children::handbook_id)))
        .filter(children::born_at.ge(from))
        .filter(children::born_at.lt(to))
        .select((
            children::id,
            children::name,
            children::sex,
            children::born_at,
            handbooks::full_name,
            (children::county_code, handbooks::residence_region_code),
        ))
        .order(children::id.asc())
        .into_boxed();
    let live = handbook_access::expires_at
        .is_null()
        .or(handbook_access::expires_at.gt(now));
    match scope {
        Scope::Visible => {
            query = query.filter(
                children::handbook_id
                    .eq_any(scope::child_handbooks(institution_id.to_string(), now)),
            );
        }
        Scope::VillageResidents => {
            query = query.filter(
                children::handbook_id.eq_any(
                    handbook_access::table
                        .filter(handbook_access::institution_id.eq(institution_id.to_string()))
                        .filter(handbook_access::reason.eq("residence"))
                        .filter(live)
                        .select(handbook_access::handbook_id),
                ),
            );
        }
        Scope::TownshipResidents(prefix) => {
            let served_villages = institutions::table
                .filter(institutions::level.eq("village_clinic"))
                .filter(institutions::disabled.eq(false))
                .select(institutions::region_code);
            query = query
                .filter(handbooks::residence_region_code.like(format!("{prefix}%")))
                .filter(handbooks::residence_region_code.ne_all(served_villages));
        }
    }
    type ChildRow = (
        String,
        Option<String>,
        String,
        NaiveDateTime,
        String,
        (String, String),
    );
    let rows: Vec<ChildRow> = query.load(conn)?;
    // The force-majeure periods of each county the children live in (S1).
    let mut periods: std::collections::HashMap<String, Vec<super::force_majeure::Period>> =
        Default::default();
    let mut contexts = std::collections::HashMap::new();
    for (id, .., (county, residence)) in &rows {
        if !periods.contains_key(county) {
            let declared = super::force_majeure::of_county(conn, county)?;
            periods.insert(county.clone(), declared);
        }
        let context = super::force_majeure::context_at(&periods[county], residence);
        contexts.insert(id.clone(), context);
    }
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(id, name, sex, born_at, mother, _)| {
            let birth = crate::time::china_date(born_at.and_utc());
            (id, name, sex, birth, mother)
        })
        .filter(|r| r.3 >= born_from && r.3 <= born_to)
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();

    let flags: Vec<(String, bool, bool, bool)> = nutrition_flags::table
        .filter(nutrition_flags::child_id.eq_any(&ids))
        .select((
            nutrition_flags::child_id,
            nutrition_flags::needs_medical_clearance,
            nutrition_flags::registered_poor,
            nutrition_flags::relocation_site,
        ))
        .load(conn)?;
    type EventRow = (
        String,
        String,
        String,
        NaiveDate,
        Option<i32>,
        Option<bool>,
        Option<String>,
    );
    let events: Vec<EventRow> = nutrition_events::table
        .filter(nutrition_events::child_id.eq_any(&ids))
        .order((
            nutrition_events::event_date.asc(),
            nutrition_events::id.asc(),
        ))
        .select((
            nutrition_events::child_id,
            nutrition_events::institution_id,
            nutrition_events::kind,
            nutrition_events::event_date,
            nutrition_events::sachets,
            nutrition_events::suitable,
            nutrition_events::detail,
        ))
        .load(conn)?;
    let cards: Vec<(String, Row)> = nutrition_followups::table
        .filter(nutrition_followups::child_id.eq_any(&ids))
        .filter(nutrition_followups::superseded_by.is_null())
        .order((
            nutrition_followups::followed_on.asc(),
            nutrition_followups::id.asc(),
        ))
        .select((nutrition_followups::child_id, followups::ROW_COLUMNS))
        .load(conn)?;

    rows.into_iter()
        .map(|(id, name, sex, birth, mother)| {
            let f = flags.iter().find(|f| f.0 == id);
            let sex = super::followups::table_sex(&sex)?;
            let mut contacts = Vec::new();
            let mut child_events = Vec::new();
            let mut unit_issues = Vec::new();
            for (_, by, kind, date, sachets, suitable, detail) in
                events.iter().filter(|e| e.0 == id)
            {
                if kind == "issue" && by == institution_id {
                    unit_issues.push((*date, i64::from(sachets.unwrap_or(0))));
                }
                if kind == "issue" {
                    let detail: Option<serde_json::Value> = detail
                        .as_deref()
                        .map(|d| crate::db::stored::json_from_db("nutrition_events.detail", d))
                        .transpose()?;
                    if let Some(remaining) = detail.and_then(|v| v["remaining_at_home"].as_i64()) {
                        contacts.push(Contact {
                            date: *date,
                            remaining,
                        });
                    }
                }
                let kind = super::routes::event_kind(kind, *sachets, *suitable)?;
                child_events.push(Event { date: *date, kind });
            }
            let views: Vec<followups::FollowupView> = cards
                .iter()
                .filter(|c| c.0 == id)
                .map(|c| followups::view(sex, c.1.clone()))
                .collect();
            for v in &views {
                if let Some(r) = v.remaining_at_home {
                    contacts.push(Contact {
                        date: v.followed_on,
                        remaining: i64::from(r),
                    });
                }
            }
            let anaemia_moderate_or_worse = views
                .iter()
                .rev()
                .find_map(|v| v.anaemia.as_ref())
                .is_some_and(|a| {
                    use crate::growth::anaemia::AnaemiaGrade::*;
                    matches!(a.who2011.unwrap_or(a.china), Moderate | Severe)
                });
            let last_issue = child_events
                .iter()
                .rev()
                .find(|e| matches!(e.kind, EventKind::Issue { .. }))
                .map(|e| e.date);
            Ok(RosterChild {
                name,
                mother,
                registered_poor: f.is_some_and(|f| f.2),
                relocation_site: f.is_some_and(|f| f.3),
                anaemia_moderate_or_worse,
                last_followup: views.last().map(|v| v.followed_on),
                last_issue,
                facts: ChildFacts {
                    context: contexts.remove(&id).unwrap_or_default(),
                    birth,
                    needs_medical_clearance: f.is_some_and(|f| f.1),
                    events: child_events,
                    unit_issues,
                    contacts,
                    cards: views
                        .iter()
                        .map(|v| CardFacts {
                            date: v.followed_on,
                            counselled: v.counselled,
                            hb_adjusted: v.anaemia.as_ref().map(|a| a.hb_adjusted),
                            lhfa: v
                                .zscores
                                .lhfa
                                .filter(|_| !v.growth.implausible.iter().any(|i| i == "lhfa")),
                        })
                        .collect(),
                },
                id,
            })
        })
        .collect()
}

/// Sachets that left the institution's stock in `[first, last]`.
pub fn stock_out(
    conn: &mut DbConn,
    institution_id: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> QueryResult<i64> {
    let total: Option<i64> = stock_movements::table
        .filter(stock_movements::institution_id.eq(institution_id))
        .filter(stock_movements::direction.eq("out"))
        .filter(stock_movements::moved_on.between(first, last))
        .select(diesel::dsl::sum(stock_movements::quantity))
        .first(conn)?;
    Ok(total.unwrap_or(0))
}
