//! The antenatal visit plan of the 2018 guideline — `shared/domain/maternal/checkups.md` §2 — and
//! the mandatory tests expected by each window.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::pregnancy::dating::GestationalAge;

/// Tests the schedule expects (the mandatory column of §2).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedTest {
    BloodCount,
    UrineRoutine,
    BloodGroup,
    FastingGlucose,
    LiverRenalFunction,
    Hbsag,
    Syphilis,
    Hiv,
    EarlyUltrasound,
    AnomalyUltrasound,
    Ogtt,
    GrowthUltrasound,
    LateUltrasound,
    Nst,
}

/// One visit of the plan: its GA window, inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedVisit {
    pub number: u8,
    pub from: GestationalAge,
    pub to: GestationalAge,
}

const fn ga(weeks: i64, days: i64) -> GestationalAge {
    GestationalAge(weeks * 7 + days)
}

use ExpectedTest::*;

/// Visits 1–6 (6–13+6, 14–19+6, 20–24+6, 25–28+6, 29–32+6, 33–36+6), then weekly from 37 to 41
/// weeks (visits 7–11). "20–24 weeks" is 20+0 to 24+6 (checkups.md §1).
pub fn plan() -> Vec<PlannedVisit> {
    let windows = [
        (6, 13),
        (14, 19),
        (20, 24),
        (25, 28),
        (29, 32),
        (33, 36),
        (37, 37),
        (38, 38),
        (39, 39),
        (40, 40),
        (41, 41),
    ];
    windows
        .iter()
        .enumerate()
        .map(|(i, &(from, to))| PlannedVisit {
            number: i as u8 + 1,
            from: ga(from, 0),
            to: ga(to, 6),
        })
        .collect()
}

/// The visit whose window contains `ga`, if any.
pub fn visit_at(ga_now: GestationalAge) -> Option<PlannedVisit> {
    plan()
        .into_iter()
        .find(|v| v.from <= ga_now && ga_now <= v.to)
}

/// One mandatory test with the GA window it belongs to. `anytime` tests (blood group, infection
/// screens …) count whenever they were done; the others must fall inside their window (a blood count
/// at 10 weeks does not stand for the one at 20–24 weeks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub test: ExpectedTest,
    pub from: GestationalAge,
    pub to: GestationalAge,
    pub anytime: bool,
}

const fn req(
    test: ExpectedTest,
    from: GestationalAge,
    to: GestationalAge,
    anytime: bool,
) -> Requirement {
    Requirement {
        test,
        from,
        to,
        anytime,
    }
}

/// The mandatory column of §2, one row per test and window. The OGTT window is 24–28 weeks.
pub fn requirements() -> Vec<Requirement> {
    let (v1a, v1b) = (ga(6, 0), ga(13, 6));
    let mut r = vec![
        req(BloodCount, v1a, v1b, false),
        req(UrineRoutine, v1a, v1b, false),
        req(BloodGroup, v1a, v1b, true),
        req(FastingGlucose, v1a, v1b, true),
        req(LiverRenalFunction, v1a, v1b, true),
        req(Hbsag, v1a, v1b, true),
        req(Syphilis, v1a, v1b, true),
        req(Hiv, v1a, v1b, true),
        req(EarlyUltrasound, v1a, v1b, false),
        req(AnomalyUltrasound, ga(20, 0), ga(24, 6), false),
        req(BloodCount, ga(20, 0), ga(24, 6), false),
        req(UrineRoutine, ga(20, 0), ga(24, 6), false),
        req(Ogtt, ga(24, 0), ga(28, 6), false),
        req(BloodCount, ga(25, 0), ga(28, 6), false),
        req(UrineRoutine, ga(25, 0), ga(28, 6), false),
        req(GrowthUltrasound, ga(29, 0), ga(32, 6), false),
        req(BloodCount, ga(29, 0), ga(32, 6), false),
        req(UrineRoutine, ga(29, 0), ga(32, 6), false),
        req(UrineRoutine, ga(33, 0), ga(36, 6), false),
        req(LateUltrasound, ga(37, 0), ga(41, 6), false),
    ];
    for week in 37..=41 {
        r.push(req(Nst, ga(week, 0), ga(week, 6), false));
    }
    r
}

/// A mandatory test not yet done whose window has opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MissingTest {
    pub test: ExpectedTest,
    /// Window start, `w+d`.
    #[schema(pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub window_from: String,
    /// Window end, `w+d`.
    #[schema(pattern = r"^[0-9]{1,2}\+[0-6]$")]
    pub window_to: String,
    /// The window has closed without the test.
    pub overdue: bool,
}

/// Mandatory tests whose window has opened by `ga_now` and that have no result (`done` lists
/// each test done with the GA it was done at).
pub fn missing_tests(
    ga_now: GestationalAge,
    done: &[(ExpectedTest, GestationalAge)],
) -> Vec<MissingTest> {
    requirements()
        .into_iter()
        .filter(|r| r.from <= ga_now)
        .filter(|r| {
            !done
                .iter()
                .any(|(test, at)| *test == r.test && (r.anytime || (r.from <= *at && *at <= r.to)))
        })
        .map(|r| MissingTest {
            test: r.test,
            window_from: r.from.to_string(),
            window_to: r.to.to_string(),
            overdue: ga_now > r.to,
        })
        .collect()
}

/// Where a planned visit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VisitStatus {
    /// A checkup was recorded within the window.
    Done,
    /// The window is open now and no checkup yet.
    Due,
    /// The window closed without a checkup.
    Missed,
    /// The window has not opened.
    Upcoming,
}

/// The status of each planned visit, given the gestational ages of the checkups recorded and
/// today's gestational age.
pub fn visit_statuses(
    checkups: &[GestationalAge],
    today: GestationalAge,
) -> Vec<(PlannedVisit, VisitStatus)> {
    plan()
        .into_iter()
        .map(|v| {
            let status = if checkups.iter().any(|g| v.from <= *g && *g <= v.to) {
                VisitStatus::Done
            } else if today > v.to {
                VisitStatus::Missed
            } else if today >= v.from {
                VisitStatus::Due
            } else {
                VisitStatus::Upcoming
            };
            (v, status)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_has_eleven_visits_ending_at_41_plus_6() {
        let p = plan();
        assert_eq!(p.len(), 11);
        assert_eq!(p.last().unwrap().to, ga(41, 6));
        assert_eq!(visit_at(ga(24, 6)).unwrap().number, 3);
        assert_eq!(visit_at(ga(25, 0)).unwrap().number, 4);
        assert!(visit_at(ga(5, 6)).is_none());
    }

    fn tests_of(missing: &[MissingTest]) -> Vec<ExpectedTest> {
        missing.iter().map(|m| m.test).collect()
    }

    #[test]
    fn visits_are_done_due_missed_or_upcoming() {
        let statuses = visit_statuses(&[ga(10, 0), ga(21, 3)], ga(26, 0));
        let by_number: Vec<VisitStatus> = statuses.iter().map(|(_, s)| *s).collect();
        use VisitStatus::*;
        assert_eq!(
            &by_number[..6],
            &[Done, Missed, Done, Due, Upcoming, Upcoming]
        );
        assert!(by_number[6..].iter().all(|s| *s == Upcoming));
    }

    #[test]
    fn missing_tests_follow_their_windows() {
        assert!(missing_tests(ga(5, 0), &[]).is_empty());
        let first = missing_tests(
            ga(8, 0),
            &[(BloodCount, ga(8, 0)), (UrineRoutine, ga(8, 0))],
        );
        assert!(tests_of(&first).contains(&Hiv) && !tests_of(&first).contains(&BloodCount));
        assert!(first.iter().all(|m| !m.overdue));
        assert!(!tests_of(&missing_tests(ga(23, 6), &[])).contains(&Ogtt));
        assert!(tests_of(&missing_tests(ga(24, 0), &[])).contains(&Ogtt));
    }

    #[test]
    fn a_repeated_test_must_fall_in_its_window_and_a_one_off_counts_any_time() {
        let done = [(BloodCount, ga(10, 0)), (Hiv, ga(16, 0))];
        let missing = missing_tests(ga(22, 0), &done);
        let blood: Vec<_> = missing.iter().filter(|m| m.test == BloodCount).collect();
        assert_eq!(blood.len(), 1, "the 20–24 week blood count is still due");
        assert_eq!(blood[0].window_from, "20+0");
        assert!(!blood[0].overdue);
        assert!(
            !tests_of(&missing).contains(&Hiv),
            "HIV done late still counts"
        );
        let syphilis = missing.iter().find(|m| m.test == Syphilis).unwrap();
        assert!(syphilis.overdue);
    }
}
