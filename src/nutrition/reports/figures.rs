//! Monthly report figures as plain rules — `shared/domain/child/nutrition-pack.md` §9 (indicators)
//! and §10 (reporting chain): what each child adds to the month's counts, the rates, the logic
//! checks a township applies, the deadlines and the difference between a frozen snapshot and the
//! records as they are now.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::nutrition::{
    plan::{self, Contact},
    rules::{self, add_months, Context, Event, EventKind, State},
};

/// A month `YYYY-MM`: its first and last day.
pub fn month_bounds(month: &str) -> Option<(NaiveDate, NaiveDate)> {
    if month.len() != 7 {
        return None;
    }
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    if first.year() < 2000 {
        return None;
    }
    let last = add_months(first, 1).pred_opt()?;
    Some((first, last))
}

/// One follow-up card, reduced to what the month's counts need.
#[derive(Debug, Clone, PartialEq)]
pub struct CardFacts {
    pub date: NaiveDate,
    pub counselled: bool,
    /// Altitude-adjusted Hb (g/L) when tested.
    pub hb_adjusted: Option<f64>,
    /// LAZ/HAZ when measured and plausible.
    pub lhfa: Option<f64>,
}

/// What the records hold for one child.
#[derive(Debug, Clone)]
pub struct ChildFacts {
    pub birth: NaiveDate,
    /// The force-majeure periods in force where the child lives (S1).
    pub context: Context,
    pub needs_medical_clearance: bool,
    pub events: Vec<Event>,
    /// The issues the reporting unit itself made (its stock paid for them): what it reports as
    /// issued. `events` holds every issue, wherever made, for the state and the intake.
    pub unit_issues: Vec<(NaiveDate, i64)>,
    /// Counts of sachets left at home (collections and cards).
    pub contacts: Vec<Contact>,
    pub cards: Vec<CardFacts>,
}

/// The month's counts for a reporting unit. Children are counted once each; the rates follow from
/// the counts (§9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Target children: resident, 6–36 months on some day of the month, not ended before it,
    /// not `not_eligible` (the distribution rate's denominator).
    pub target_children: i64,
    /// Target children with the carer's informed consent on record.
    pub enrolled: i64,
    /// Target children `active` at the end of the month (or today, for the current month).
    pub active: i64,
    /// Children issued at least one pack in the month.
    pub issued_children: i64,
    pub sachets_issued: i64,
    /// Sachets that left the unit's stock in the month (issues, transfers, write-offs).
    pub stock_out_sachets: i64,
    /// Target children with a follow-up card in the month.
    pub followed_up: i64,
    /// Issued children with a follow-up in the month whose intake could be computed.
    pub intake_assessed: i64,
    /// … of whom ≥ 4 sachets a week.
    pub effective_intake: i64,
    /// Issued children whose carer was counselled in the month.
    pub carers_counselled: i64,
    pub hb_tested: i64,
    /// Adjusted Hb < 110 g/L.
    pub anaemic: i64,
    pub length_measured: i64,
    /// LAZ/HAZ < −2.
    pub stunted: i64,
}

impl std::ops::AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, o: &Counts) {
        self.target_children += o.target_children;
        self.enrolled += o.enrolled;
        self.active += o.active;
        self.issued_children += o.issued_children;
        self.sachets_issued += o.sachets_issued;
        self.stock_out_sachets += o.stock_out_sachets;
        self.followed_up += o.followed_up;
        self.intake_assessed += o.intake_assessed;
        self.effective_intake += o.effective_intake;
        self.carers_counselled += o.carers_counselled;
        self.hb_tested += o.hb_tested;
        self.anaemic += o.anaemic;
        self.length_measured += o.length_measured;
        self.stunted += o.stunted;
    }
}

impl Counts {
    /// `(field, value)` pairs, in declaration order.
    pub fn fields(&self) -> [(&'static str, i64); 14] {
        [
            ("target_children", self.target_children),
            ("enrolled", self.enrolled),
            ("active", self.active),
            ("issued_children", self.issued_children),
            ("sachets_issued", self.sachets_issued),
            ("stock_out_sachets", self.stock_out_sachets),
            ("followed_up", self.followed_up),
            ("intake_assessed", self.intake_assessed),
            ("effective_intake", self.effective_intake),
            ("carers_counselled", self.carers_counselled),
            ("hb_tested", self.hb_tested),
            ("anaemic", self.anaemic),
            ("length_measured", self.length_measured),
            ("stunted", self.stunted),
        ]
    }
}

/// Anaemia threshold of the programme indicator, adjusted g/L (§9).
pub const ANAEMIA_HB_BELOW: f64 = 110.0;

impl ChildFacts {
    /// Every issue of the history, wherever made: `(date, sachets)`.
    pub fn issues(&self) -> Vec<(NaiveDate, i64)> {
        self.events
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Issue { sachets } => Some((e.date, sachets)),
                _ => None,
            })
            .collect()
    }
}

/// What one child adds to the month `[first, last]`, with the records as known on `today`.
pub fn child_counts(c: &ChildFacts, first: NaiveDate, last: NaiveDate, today: NaiveDate) -> Counts {
    let mut n = Counts::default();
    let as_of = last.min(today);
    let d6 = add_months(c.birth, 6);
    let d36 = add_months(c.birth, 36);
    if d6 > last || d36 <= first || as_of < first {
        return n;
    }
    let eval = |t: NaiveDate| {
        rules::evaluate(c.birth, c.needs_medical_clearance, &c.events, t, &c.context)
    };
    let before = first.pred_opt().map(eval);
    if before.is_some_and(|e| e.state == State::Ended) {
        return n;
    }
    let end = eval(as_of);
    if end.state == State::NotEligible {
        return n;
    }
    n.target_children = 1;
    let in_month = |d: NaiveDate| d >= first && d <= as_of;
    n.enrolled = i64::from(
        c.events
            .iter()
            .any(|e| e.kind == EventKind::Consent && e.date <= as_of),
    );
    n.active = i64::from(end.state == State::Active);
    let issues = c.issues();
    let issued: i64 = c
        .unit_issues
        .iter()
        .filter(|(d, _)| in_month(*d))
        .map(|(_, s)| s)
        .sum();
    let was_issued = c.unit_issues.iter().any(|(d, _)| in_month(*d));
    n.issued_children = i64::from(was_issued);
    n.sachets_issued = issued;
    let cards: Vec<&CardFacts> = c.cards.iter().filter(|k| in_month(k.date)).collect();
    // Prevalence counts children of programme age: a card before the 6-month date does not.
    let measured: Vec<&&CardFacts> = cards.iter().filter(|k| k.date >= d6).collect();
    n.followed_up = i64::from(!cards.is_empty());
    if was_issued && !cards.is_empty() {
        let latest_contact = c
            .contacts
            .iter()
            .filter(|k| k.date <= as_of)
            .map(|k| k.date)
            .max();
        if latest_contact.is_some_and(in_month) {
            if let Some((_, effective)) = plan::intake(&c.contacts, &issues, as_of) {
                n.intake_assessed = 1;
                n.effective_intake = i64::from(effective);
            }
        }
        n.carers_counselled = i64::from(cards.iter().any(|k| k.counselled));
    }
    // The latest measurement of the month counts for prevalence.
    if let Some(hb) = measured.iter().rev().find_map(|k| k.hb_adjusted) {
        n.hb_tested = 1;
        n.anaemic = i64::from(hb < ANAEMIA_HB_BELOW);
    }
    if let Some(z) = measured.iter().rev().find_map(|k| k.lhfa) {
        n.length_measured = 1;
        n.stunted = i64::from(z < -2.0);
    }
    n
}

/// The programme's baseline survey for the area (%).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Baseline {
    pub anaemia_pct: Option<f64>,
    pub stunting_pct: Option<f64>,
}

/// The §9 indicators in percent, one decimal (display); `None` when the denominator is zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rates {
    /// 营养包发放率: issued ÷ target children (target ≥ 85 %).
    pub distribution_rate: Option<f64>,
    /// 有效服用率: ≥ 4 sachets a week ÷ issued children assessed at a follow-up (target ≥ 75 %).
    pub effective_intake_rate: Option<f64>,
    /// 看护人咨询指导率: carers counselled ÷ issued children (target ≥ 80 %).
    pub counselling_rate: Option<f64>,
    /// 贫血率: anaemic ÷ Hb tested.
    pub anaemia_prevalence: Option<f64>,
    /// 生长迟缓率: stunted ÷ measured.
    pub stunting_prevalence: Option<f64>,
    /// Anaemia prevalence minus the baseline, percentage points (negative = falling).
    pub anaemia_vs_baseline_pp: Option<f64>,
    pub stunting_vs_baseline_pp: Option<f64>,
}

fn pct(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 * 100.0 / den as f64)
}

fn one_decimal(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn rates(c: &Counts, baseline: Baseline) -> Rates {
    let anaemia = pct(c.anaemic, c.hb_tested);
    let stunting = pct(c.stunted, c.length_measured);
    let vs = |now: Option<f64>, base: Option<f64>| Some(one_decimal(now? - base?));
    Rates {
        distribution_rate: pct(c.issued_children, c.target_children).map(one_decimal),
        effective_intake_rate: pct(c.effective_intake, c.intake_assessed).map(one_decimal),
        counselling_rate: pct(c.carers_counselled, c.issued_children).map(one_decimal),
        anaemia_prevalence: anaemia.map(one_decimal),
        stunting_prevalence: stunting.map(one_decimal),
        anaemia_vs_baseline_pp: vs(anaemia, baseline.anaemia_pct),
        stunting_vs_baseline_pp: vs(stunting, baseline.stunting_pct),
    }
}

/// A failed logic check: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckFailure {
    /// JSON pointer into the counts, e.g. `/sachets_issued`.
    pub field: String,
    pub code: String,
    pub message: String,
}

/// §10 logic checks: issued sachets ≤ stock out; active, enrolled and issued ≤ target children;
/// every rate within 0–100 % (each numerator ≤ its denominator); no negative count.
pub fn checks(c: &Counts) -> Vec<CheckFailure> {
    let mut out = Vec::new();
    let mut le = |field: &str, a: i64, b: i64, b_name: &str| {
        if a > b {
            out.push(CheckFailure {
                field: format!("/{field}"),
                code: "inconsistent".into(),
                message: format!("{field} ({a}) exceeds {b_name} ({b})"),
            });
        }
    };
    le(
        "sachets_issued",
        c.sachets_issued,
        c.stock_out_sachets,
        "stock_out_sachets",
    );
    le("active", c.active, c.target_children, "target_children");
    le("enrolled", c.enrolled, c.target_children, "target_children");
    le(
        "issued_children",
        c.issued_children,
        c.target_children,
        "target_children",
    );
    le(
        "followed_up",
        c.followed_up,
        c.target_children,
        "target_children",
    );
    le(
        "intake_assessed",
        c.intake_assessed,
        c.issued_children,
        "issued_children",
    );
    le(
        "effective_intake",
        c.effective_intake,
        c.intake_assessed,
        "intake_assessed",
    );
    le(
        "carers_counselled",
        c.carers_counselled,
        c.issued_children,
        "issued_children",
    );
    le("anaemic", c.anaemic, c.hb_tested, "hb_tested");
    le("stunted", c.stunted, c.length_measured, "length_measured");
    for (field, v) in c.fields() {
        if v < 0 {
            out.push(CheckFailure {
                field: format!("/{field}"),
                code: "negative".into(),
                message: format!("{field} is negative"),
            });
        }
    }
    out
}

/// Reporting levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A village clinic's report of its children.
    Village,
    /// A township centre's aggregate of its villages (and the children it serves itself).
    Township,
}

impl Level {
    /// The stored form (`village` / `township`); anything else is an error, not a village report.
    pub fn parse(s: &str) -> diesel::QueryResult<Level> {
        crate::db::stored::from_text("nutrition_reports.level", s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Village => "village",
            Level::Township => "township",
        }
    }
}

/// The submission deadline in China time (exclusive end): villages by the end of the 1st of the
/// next month (project `cfg`), townships by the end of the 2nd ("于每月2日前", read as end of the
/// 2nd) — §10.
pub fn deadline(level: Level, month_last: NaiveDate) -> NaiveDateTime {
    let days = match level {
        Level::Village => 2,
        Level::Township => 3,
    };
    (month_last + Duration::days(days)).and_time(NaiveTime::MIN)
}

/// Submitted after the deadline? `submitted_china` is the local (UTC+8) time of submission.
pub fn is_late(level: Level, month_last: NaiveDate, submitted_china: NaiveDateTime) -> bool {
    submitted_china >= deadline(level, month_last)
}

/// A count that differs between the frozen report and the records now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Difference {
    pub field: String,
    pub reported: i64,
    pub now: i64,
}

pub fn difference(reported: &Counts, now: &Counts) -> Vec<Difference> {
    reported
        .fields()
        .into_iter()
        .zip(now.fields())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| Difference {
            field: field.into(),
            reported: a,
            now: b,
        })
        .collect()
}

#[cfg(test)]
#[path = "figures_tests.rs"]
mod tests;
