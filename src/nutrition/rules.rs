//! Enrolment state, stop/resume and issue guards — `shared/domain/child/nutrition-pack.md` §1–5.
//! The state is derived by replaying the dated history, so it is right on any date and the history
//! is never rewritten.

use std::collections::BTreeSet;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Standard monthly quantity (`cfg monthly_sachets`).
pub const MONTHLY_SACHETS: i64 = 30;

/// Same day-of-month `n` months later, or the last day of a shorter month (§1).
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// Completed calendar months: the greatest n with `add_months(birth, n) ≤ t`.
pub fn age_months(birth: NaiveDate, t: NaiveDate) -> i64 {
    if t < birth {
        return 0;
    }
    let mut n =
        i64::from((t.year() - birth.year()) * 12 + t.month() as i32 - birth.month() as i32).max(0);
    while n > 0 && add_months(birth, n as u32) > t {
        n -= 1;
    }
    while add_months(birth, (n + 1) as u32) <= t {
        n += 1;
    }
    n
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    NotYetEligible,
    Eligible,
    Enrolled,
    Active,
    Stopped,
    NotEligible,
    Ended,
    #[serde(rename = "legacy_stopped_at_24")]
    LegacyStoppedAt24,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NutritionEndReason)]
pub enum EndReason {
    AgedOut,
    TwoStops,
    Withdrawn,
    MovedOut,
    Died,
}

/// A dated fact of the child's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Consent,
    MedicalClearance { suitable: bool },
    Issue { sachets: i64 },
    Withdraw,
    MovedOut,
    Died,
    LegacyStoppedAt24,
}

impl EventKind {
    /// Same-day order: consent and clearance before issue; leaving after it.
    fn rank(&self) -> u8 {
        match self {
            EventKind::Consent
            | EventKind::MedicalClearance { .. }
            | EventKind::LegacyStoppedAt24 => 0,
            EventKind::Issue { .. } => 1,
            EventKind::Withdraw | EventKind::MovedOut | EventKind::Died => 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub date: NaiveDate,
    pub kind: EventKind,
}

/// Declared force-majeure periods (inclusive) of the child's area.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub force_majeure: Vec<(NaiveDate, NaiveDate)>,
}

/// The refusal codes of the issue guards (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Ended,
    NotEligible,
    TooYoung,
    AgedOut,
    NoConsent,
    NeedsMedicalClearance,
    AlreadyIssuedThisMonth,
    LegacyReentryNotAllowed,
    #[serde(rename = "first_entry_over_30")]
    FirstEntryOver30,
    #[serde(rename = "resume_over_30")]
    ResumeOver30,
}

/// Where a child stands on a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "state": "active", "reason": null, "age_months": 10, "stop_count": 0, "may_issue": true,
    "sachets": 30, "refusal": null, "stop_due": "2026-12-20"
}))]
pub struct Evaluation {
    pub state: State,
    /// Why it ended, or `first_entry_over_30` for `not_eligible`.
    pub reason: Option<String>,
    pub age_months: i64,
    pub stop_count: i64,
    pub may_issue: bool,
    /// What may be issued today (0 when refused).
    pub sachets: i64,
    pub refusal: Option<Refusal>,
    /// For an active child: the day it becomes stopped if nothing is collected before.
    pub stop_due: Option<NaiveDate>,
}

struct Replay {
    birth: NaiveDate,
    state: State,
    reason: Option<String>,
    consented: bool,
    clearance: Option<bool>,
    stop_count: i64,
    last_issue: Option<NaiveDate>,
    ever_issued: bool,
    months: BTreeSet<(i32, u32)>,
}

/// Two months after the last issue, pushed back by the force-majeure days inside that window (S1).
pub fn stop_due(last_issue: NaiveDate, ctx: &Context) -> NaiveDate {
    let base = add_months(last_issue, 2);
    let extra: i64 = ctx
        .force_majeure
        .iter()
        .map(|(from, to)| {
            let start = (*from).max(last_issue);
            let end = (*to).min(base.pred_opt().unwrap_or(base));
            ((end - start).num_days() + 1).max(0)
        })
        .sum();
    base + chrono::Duration::days(extra)
}

impl Replay {
    fn d(&self, months: u32) -> NaiveDate {
        add_months(self.birth, months)
    }

    fn ended(&self) -> bool {
        self.state == State::Ended
    }

    fn end(&mut self, reason: EndReason) {
        if !self.ended() {
            self.state = State::Ended;
            self.reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
        }
    }

    /// The next timer (T0, T4, T1, T3) that applies in the current state.
    fn next_timer(&self, ctx: &Context) -> Option<(NaiveDate, u8)> {
        let mut timers: Vec<(NaiveDate, u8)> = Vec::new();
        match self.state {
            State::NotYetEligible => timers.push((self.d(6), 0)),
            State::Eligible | State::Enrolled if !self.ever_issued => timers.push((self.d(31), 4)),
            State::Active => {
                if let Some(last) = self.last_issue {
                    timers.push((stop_due(last, ctx), 1));
                }
            }
            _ => {}
        }
        if !matches!(self.state, State::Ended | State::NotEligible) {
            timers.push((self.d(36), 3));
        }
        timers.into_iter().min()
    }

    /// Applies every timer due on or before `day`, in date order.
    fn run_timers(&mut self, day: NaiveDate, ctx: &Context) {
        while let Some((date, timer)) = self.next_timer(ctx) {
            if date > day {
                break;
            }
            match timer {
                0 => {
                    self.state = if self.consented {
                        State::Enrolled
                    } else {
                        State::Eligible
                    }
                }
                4 => {
                    self.state = State::NotEligible;
                    self.reason = Some("first_entry_over_30".into());
                }
                1 => {
                    self.stop_count += 1;
                    if self.stop_count >= 2 {
                        self.end(EndReason::TwoStops);
                    } else {
                        self.state = State::Stopped;
                    }
                }
                _ => self.end(EndReason::AgedOut),
            }
        }
    }

    fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Consent => {
                self.consented = true;
                if self.state == State::Eligible {
                    self.state = State::Enrolled;
                }
            }
            EventKind::MedicalClearance { suitable } => self.clearance = Some(*suitable),
            EventKind::LegacyStoppedAt24 => {
                if !self.ended() {
                    self.state = State::LegacyStoppedAt24;
                    self.ever_issued = true;
                }
            }
            EventKind::Issue { .. } => {
                if !self.ended() {
                    self.state = State::Active;
                    self.last_issue = Some(event.date);
                    self.ever_issued = true;
                    self.months.insert((event.date.year(), event.date.month()));
                }
            }
            EventKind::Withdraw => self.end(EndReason::Withdrawn),
            EventKind::MovedOut => self.end(EndReason::MovedOut),
            EventKind::Died => self.end(EndReason::Died),
        }
    }

    /// The issue guards in order; the first failure is the refusal (§5).
    fn guard(&self, t: NaiveDate, needs_clearance: bool) -> Result<i64, Refusal> {
        match self.state {
            State::Ended => return Err(Refusal::Ended),
            State::NotEligible => return Err(Refusal::NotEligible),
            _ => {}
        }
        if t < self.d(6) {
            return Err(Refusal::TooYoung);
        }
        if t >= self.d(36) {
            return Err(Refusal::AgedOut);
        }
        if !self.consented {
            return Err(Refusal::NoConsent);
        }
        if needs_clearance && self.clearance != Some(true) {
            return Err(Refusal::NeedsMedicalClearance);
        }
        if self.months.contains(&(t.year(), t.month())) {
            return Err(Refusal::AlreadyIssuedThisMonth);
        }
        let age = age_months(self.birth, t);
        if self.state == State::LegacyStoppedAt24 {
            let transitional = NaiveDate::from_ymd_opt(2020, 4, 1).unwrap_or(NaiveDate::MIN);
            if self.d(30) <= transitional {
                return Err(Refusal::LegacyReentryNotAllowed);
            }
        } else if !self.ever_issued && age > 30 {
            return Err(Refusal::FirstEntryOver30);
        }
        if self.state == State::Stopped && age > 30 {
            return Err(Refusal::ResumeOver30);
        }
        Ok(MONTHLY_SACHETS.min((self.d(36) - t).num_days()))
    }
}

/// Where the child stands on `today` and what may be issued (§5).
pub fn evaluate(
    birth: NaiveDate,
    needs_medical_clearance: bool,
    events: &[Event],
    today: NaiveDate,
    ctx: &Context,
) -> Evaluation {
    let mut r = Replay {
        birth,
        state: State::NotYetEligible,
        reason: None,
        consented: false,
        clearance: None,
        stop_count: 0,
        last_issue: None,
        ever_issued: false,
        months: BTreeSet::new(),
    };
    let mut ordered: Vec<&Event> = events.iter().filter(|e| e.date <= today).collect();
    ordered.sort_by_key(|e| (e.date, e.kind.rank()));
    for event in ordered {
        // Timers due on or before the event's day come first (§5): collecting on the stop date
        // itself is too late — S1 stops a child with no issue *before* that date.
        r.run_timers(event.date, ctx);
        r.apply(event);
    }
    r.run_timers(today, ctx);
    let outcome = r.guard(today, needs_medical_clearance);
    Evaluation {
        state: r.state,
        reason: r.reason.clone(),
        age_months: age_months(birth, today),
        stop_count: r.stop_count,
        may_issue: outcome.is_ok(),
        sachets: outcome.unwrap_or(0),
        refusal: outcome.err(),
        stop_due: (r.state == State::Active)
            .then(|| r.last_issue.map(|l| stop_due(l, ctx)))
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn collecting_on_the_stop_date_is_a_resumption() {
        let birth = d("2024-01-10");
        let events = [
            Event {
                date: d("2024-07-10"),
                kind: EventKind::Consent,
            },
            Event {
                date: d("2024-07-10"),
                kind: EventKind::Issue { sachets: 30 },
            },
            Event {
                date: d("2024-09-10"),
                kind: EventKind::Issue { sachets: 30 },
            },
        ];
        let e = evaluate(birth, false, &events, d("2024-09-11"), &Context::default());
        assert_eq!((e.state, e.stop_count), (State::Active, 1));
        assert_eq!(e.stop_due, Some(d("2024-11-10")));
    }

    #[test]
    fn the_month_table_of_section_1() {
        let cases = [
            (
                "2023-03-15",
                ["2023-09-15", "2025-09-15", "2025-10-15", "2026-03-15"],
            ),
            (
                "2023-01-31",
                ["2023-07-31", "2025-07-31", "2025-08-31", "2026-01-31"],
            ),
            (
                "2023-08-31",
                ["2024-02-29", "2026-02-28", "2026-03-31", "2026-08-31"],
            ),
            (
                "2024-02-29",
                ["2024-08-29", "2026-08-29", "2026-09-29", "2027-02-28"],
            ),
        ];
        for (birth, dates) in cases {
            let b = d(birth);
            for (n, date) in [6, 30, 31, 36].into_iter().zip(dates) {
                assert_eq!(add_months(b, n), d(date), "{birth} + {n}");
                assert_eq!(age_months(b, d(date)), i64::from(n), "{birth} at {date}");
                assert_eq!(
                    age_months(b, d(date).pred_opt().unwrap()),
                    i64::from(n) - 1,
                    "{birth} the day before {date}"
                );
            }
        }
    }
}

/// Average weekly intake between two collections (§9): `consumed = remaining_prev + issued_prev −
/// remaining_now`, `per_week = consumed × 7 ÷ days`; effective when ≥ 4 sachets a week. `None`
/// when the days are not positive or the counts are inconsistent.
pub fn weekly_intake(
    prev_remaining: i64,
    prev_issued: i64,
    now_remaining: i64,
    days: i64,
) -> Option<(f64, bool)> {
    let consumed = prev_remaining + prev_issued - now_remaining;
    if days <= 0 || consumed < 0 {
        return None;
    }
    let per_week = ((consumed as f64) * 7.0 / days as f64 * 100.0).round() / 100.0;
    Some((per_week, per_week >= 4.0))
}

#[cfg(test)]
mod intake_tests {
    use super::weekly_intake;

    #[test]
    fn intake_per_week_and_the_effective_threshold() {
        assert_eq!(weekly_intake(2, 30, 4, 28), Some((7.0, true)));
        assert_eq!(weekly_intake(0, 30, 16, 28), Some((3.5, false)));
        assert_eq!(
            weekly_intake(0, 30, 31, 28),
            None,
            "more left than there was"
        );
        assert_eq!(weekly_intake(0, 30, 0, 0), None);
    }
}
