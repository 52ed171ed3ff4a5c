//! What the mother's home page shows, shaped for a phone: names where she would see ids, results
//! with their values, only the tests she can still do, her next appointment, and none of the
//! clinic's bookkeeping. Built here from the rows; [`super::mine`] serves and caches it.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::identity::IdType;
use super::profile::{BloodGroup, HandbookRow, HandbookStatus, HandbookView, History, Partner, Rh};
use crate::pregnancy::outcomes::Sex;
use crate::scope::Relation;
use crate::{
    checkups::{
        labs::LabTest,
        plan::{self, ScheduledVisit},
        schedule::VisitStatus,
        store::{self as checkup_store, CheckupRow, CheckupView, LabRow},
        weight_gain::BmiCategory,
    },
    db::{schema::*, DbConn},
    error::AppError,
    pregnancy::{
        dating::{self, GestationalAge},
        store::{PregnancyRow, PregnancyView},
    },
};

/// What kind of result an unread item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnreadKind {
    Checkup,
    LabResult,
    Ultrasound,
}

/// A result she has not opened yet; a lab result with its value, so the list can show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadItem {
    pub kind: UnreadKind,
    pub id: String,
    /// Open this checkup to see it (and mark it read).
    pub checkup_id: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub recorded_at: chrono::DateTime<Utc>,
    /// For lab results, the test.
    pub test: Option<LabTest>,
    /// For lab results, a measured value (with `unit`) …
    pub value: Option<f64>,
    /// … or a qualitative result (`negative`, `positive` …).
    pub result: Option<String>,
    pub unit: Option<String>,
}

/// Her profile as she reads it: the clinic's bookkeeping left out (county code, row times), the
/// registering clinic and her residence by name, the history and partner only when something is
/// in them. `version` is what she names in `If-Match` to change it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::my_profile)]
pub struct MyProfile {
    pub id: String,
    pub status: HandbookStatus,
    /// The clinic that registered her.
    pub registered_institution_name: Option<String>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub registered_at: Option<chrono::DateTime<Utc>>,
    pub id_type: IdType,
    pub id_number_masked: String,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub age: i32,
    pub phone: Option<String>,
    pub residence_region_code: String,
    /// The residence by name (the village or community).
    pub residence_name: Option<String>,
    pub address: Option<String>,
    pub household_registered: Option<bool>,
    pub ethnicity: Option<String>,
    pub education: Option<String>,
    pub occupation: Option<String>,
    pub blood_group: Option<BloodGroup>,
    pub rh: Option<Rh>,
    pub height_cm: Option<f64>,
    pub pre_pregnancy_weight_kg: Option<f64>,
    pub bmi: Option<f64>,
    pub bmi_category: Option<BmiCategory>,
    /// Null when nothing is recorded.
    pub history: Option<History>,
    /// Null when nothing is recorded.
    pub partner: Option<Partner>,
    pub version: i64,
}

impl MyProfile {
    fn of(v: HandbookView, institution: Option<String>, residence: Option<String>) -> Self {
        MyProfile {
            id: v.id,
            status: v.status,
            registered_institution_name: institution,
            registered_at: v.registered_at,
            id_type: v.id_type,
            id_number_masked: v.id_number_masked,
            full_name: v.full_name,
            birth_date: v.birth_date,
            age: v.age,
            phone: v.phone,
            residence_region_code: v.residence_region_code,
            residence_name: residence,
            address: v.address,
            household_registered: v.household_registered,
            ethnicity: v.ethnicity,
            education: v.education,
            occupation: v.occupation,
            blood_group: v.blood_group,
            rh: v.rh,
            height_cm: v.height_cm,
            pre_pregnancy_weight_kg: v.pre_pregnancy_weight_kg,
            bmi: v.bmi,
            bmi_category: v.bmi_category,
            history: (v.history != History::default()).then_some(v.history),
            partner: (v.partner != Partner::default()).then_some(v.partner),
            version: v.version,
        }
    }
}

/// Her profile as she reads it ([`MyProfile`]): the row's view with the names she needs.
pub fn my_profile(conn: &mut DbConn, row: &HandbookRow) -> Result<MyProfile, AppError> {
    let institution = match &row.registered_institution_id {
        Some(id) => institutions::table
            .find(id)
            .select(institutions::name)
            .first(conn)
            .optional()?,
        None => None,
    };
    let residence = regions::table
        .find(&row.residence_region_code)
        .select(regions::name)
        .first(conn)
        .optional()?;
    Ok(MyProfile::of(row.view()?, institution, residence))
}

/// Where her next appointment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentSource {
    /// Set by the clinician at her last visit.
    Checkup,
    /// No visit named one (or it has passed): the next visit of the national plan.
    VisitPlan,
}

/// A child of the handbook.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildView {
    pub id: String,
    pub name: Option<String>,
    pub sex: Sex,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub born_at: chrono::DateTime<Utc>,
    pub birth_weight_g: Option<i32>,
    pub birth_length_cm: Option<f64>,
    /// Gestational age at birth, `w+d`.
    #[schema(pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub ga_at_birth: Option<String>,
}

/// Everything the mini-program's home page shows, computed here so the app computes nothing.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::my_handbook)]
pub struct MyHandbook {
    pub relation: Relation,
    /// Identity number masked.
    pub profile: MyProfile,
    /// The ongoing pregnancy, with gestational age today and days to the EDD.
    pub current_pregnancy: Option<PregnancyView>,
    /// Her next appointment: the one set at the latest checkup when it is still ahead,
    /// otherwise the next visit of the plan; null when no pregnancy is ongoing.
    pub next_appointment: Option<NaiveDate>,
    pub next_appointment_source: Option<AppointmentSource>,
    /// The latest checkup; its `missing_tests` are only those she can still do today.
    pub latest_checkup: Option<CheckupView>,
    /// New results not opened yet (only the mother's own reading clears them).
    pub unread: Vec<UnreadItem>,
    pub children: Vec<ChildView>,
    /// The current five-colour risk label of the ongoing pregnancy (`green`, `purple+orange` …),
    /// null until graded.
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub risk_colour: Option<String>,
}

type ChildRow = (
    String,
    Option<String>,
    String,
    chrono::NaiveDateTime,
    Option<i32>,
    Option<f64>,
    Option<i32>,
);

/// The home page. Every table read here (directly or through the checkup view) must be one of
/// [`HOME_PAGE_TABLES`](super::home_cache::HOME_PAGE_TABLES), whose triggers move the handbook's
/// revision on; otherwise a cached page would miss the change. Institution and region names are
/// the exception: a page is rebuilt every day, so a renamed clinic shows from the next day.
pub(super) fn summary(
    conn: &mut DbConn,
    row: HandbookRow,
    relation: Relation,
) -> Result<MyHandbook, AppError> {
    let today = crate::time::china_today();
    let handbook_id = row.id.clone();
    let pregnancy: Option<PregnancyRow> = pregnancies::table
        .filter(pregnancies::handbook_id.eq(&handbook_id))
        .filter(pregnancies::status.eq("ongoing"))
        .first(conn)
        .optional()?;
    let latest: Option<CheckupRow> = match &pregnancy {
        Some(p) => checkups::table
            .filter(checkups::pregnancy_id.eq(&p.id))
            .order((checkups::visit_date.desc(), checkups::id.desc()))
            .first(conn)
            .optional()?,
        None => None,
    };
    let latest_view = match (&latest, &pregnancy) {
        (Some(c), Some(p)) => {
            let facts = checkup_store::RecordFacts {
                height_cm: row.height_cm,
                pre_pregnancy_weight_kg: row.pre_pregnancy_weight_kg,
                fetal_count: p.fetal_count,
            };
            let mut view = checkup_store::view_with(conn, c, facts)?;
            only_tests_still_to_do(&mut view, Some(dating::ga_on(p.edd, today)));
            Some(view)
        }
        _ => None,
    };
    let risk_colour = match &pregnancy {
        Some(p) => crate::risk::state::current_label(conn, &p.id)?,
        None => None,
    };
    let (next_appointment, next_appointment_source) = match &pregnancy {
        Some(p) => {
            let named = latest.as_ref().and_then(|c| c.next_appointment);
            let plan = plan::schedule_of(conn, p)?;
            next_appointment(named, &plan, today)
        }
        None => (None, None),
    };
    let unread = unread(conn, &handbook_id)?;
    let children = children(conn, &handbook_id)?;
    Ok(MyHandbook {
        relation,
        profile: my_profile(conn, &row)?,
        next_appointment,
        next_appointment_source,
        current_pregnancy: pregnancy.as_ref().map(|p| p.view(conn)).transpose()?,
        latest_checkup: latest_view,
        unread,
        children,
        risk_colour,
    })
}

/// The appointment the clinician named when it is today or later; otherwise the next visit of
/// the plan whose window is open (today) or coming (its first day).
pub fn next_appointment(
    named: Option<NaiveDate>,
    plan: &[ScheduledVisit],
    today: NaiveDate,
) -> (Option<NaiveDate>, Option<AppointmentSource>) {
    if let Some(day) = named.filter(|d| *d >= today) {
        return (Some(day), Some(AppointmentSource::Checkup));
    }
    plan.iter()
        .find(|v| matches!(v.status, VisitStatus::Due | VisitStatus::Upcoming))
        .map(|v| {
            (
                Some(v.date_from.max(today)),
                Some(AppointmentSource::VisitPlan),
            )
        })
        .unwrap_or((None, None))
}

/// Keeps only the missing tests she can still do: a window that has closed is for the clinic to
/// review, not for her to chase. With no ongoing pregnancy there is none.
pub fn only_tests_still_to_do(view: &mut CheckupView, ga_today: Option<GestationalAge>) {
    view.flags.missing_tests.retain(|m| {
        ga_today
            .is_some_and(|today| GestationalAge::parse(&m.window_to).is_some_and(|to| to >= today))
    });
}

fn unread(conn: &mut DbConn, handbook_id: &str) -> Result<Vec<UnreadItem>, AppError> {
    let item = |kind, id: String, checkup_id, at: chrono::NaiveDateTime| UnreadItem {
        kind,
        id,
        checkup_id,
        recorded_at: at.and_utc(),
        test: None,
        value: None,
        result: None,
        unit: None,
    };
    let mut unread = Vec::new();
    let visits: Vec<(String, chrono::NaiveDateTime)> = checkups::table
        .filter(checkups::handbook_id.eq(handbook_id))
        .filter(checkups::mother_seen_at.is_null())
        .select((checkups::id, checkups::updated_at))
        .load(conn)?;
    for (id, at) in visits {
        unread.push(item(UnreadKind::Checkup, id.clone(), id, at));
    }
    let labs: Vec<LabRow> = lab_results::table
        .filter(lab_results::handbook_id.eq(handbook_id))
        .filter(lab_results::mother_seen_at.is_null())
        .load(conn)?;
    for lab in labs {
        let view = checkup_store::lab_view(&lab)?;
        unread.push(UnreadItem {
            test: Some(view.test),
            value: view.value,
            result: view.result,
            unit: view.unit,
            ..item(
                UnreadKind::LabResult,
                lab.id,
                lab.checkup_id,
                lab.recorded_at,
            )
        });
    }
    let scans: Vec<(String, String, chrono::NaiveDateTime)> = ultrasounds::table
        .filter(ultrasounds::handbook_id.eq(handbook_id))
        .filter(ultrasounds::mother_seen_at.is_null())
        .select((
            ultrasounds::id,
            ultrasounds::checkup_id,
            ultrasounds::recorded_at,
        ))
        .load(conn)?;
    for (id, checkup_id, at) in scans {
        unread.push(item(UnreadKind::Ultrasound, id, checkup_id, at));
    }
    unread.sort_by_key(|item| std::cmp::Reverse(item.recorded_at));
    Ok(unread)
}

fn children(conn: &mut DbConn, handbook_id: &str) -> Result<Vec<ChildView>, AppError> {
    let kids: Vec<ChildRow> = children::table
        .filter(children::handbook_id.eq(handbook_id))
        .order(children::born_at.asc())
        .select((
            children::id,
            children::name,
            children::sex,
            children::born_at,
            children::birth_weight_g,
            children::birth_length_cm,
            children::ga_at_birth_days,
        ))
        .load(conn)?;
    kids.into_iter()
        .map(
            |(id, name, sex, born_at, birth_weight_g, birth_length_cm, ga)| {
                Ok(ChildView {
                    id,
                    name,
                    sex: crate::db::stored::from_text("children.sex", &sex)?,
                    born_at: born_at.and_utc(),
                    birth_weight_g,
                    birth_length_cm,
                    ga_at_birth: ga.map(|g| GestationalAge(i64::from(g)).to_string()),
                })
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(from: &str, status: VisitStatus) -> ScheduledVisit {
        let from: NaiveDate = from.parse().unwrap();
        ScheduledVisit {
            number: 1,
            ga_from: String::new(),
            ga_to: String::new(),
            date_from: from,
            date_to: from + chrono::Duration::days(27),
            status,
        }
    }

    #[test]
    fn the_named_appointment_wins_while_it_is_ahead_then_the_plan() {
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        let plan = [
            visit("2026-10-01", VisitStatus::Done),
            visit("2026-11-20", VisitStatus::Due),
            visit("2026-12-18", VisitStatus::Upcoming),
        ];
        let named: NaiveDate = "2026-12-03".parse().unwrap();
        assert_eq!(
            next_appointment(Some(named), &plan, today),
            (Some(named), Some(AppointmentSource::Checkup))
        );
        // Named for yesterday, and missed: the open window of the plan, from today.
        let missed = "2026-11-30".parse().ok();
        assert_eq!(
            next_appointment(missed, &plan, today),
            (Some(today), Some(AppointmentSource::VisitPlan))
        );
        // No window open: the first day of the next one.
        let later = [
            visit("2026-10-01", VisitStatus::Missed),
            visit("2026-12-18", VisitStatus::Upcoming),
        ];
        assert_eq!(
            next_appointment(None, &later, today),
            (
                Some("2026-12-18".parse().unwrap()),
                Some(AppointmentSource::VisitPlan)
            )
        );
        assert_eq!(next_appointment(None, &[], today), (None, None));
    }
}
