//! Unit tests of the report figures: month bounds and deadlines, one child in one month, rates,
//! logic checks and the difference between a report and a recount.

use super::*;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn ev(date: &str, kind: EventKind) -> Event {
    Event {
        date: d(date),
        kind,
    }
}

fn card(date: &str, counselled: bool, hb: Option<f64>, lhfa: Option<f64>) -> CardFacts {
    CardFacts {
        date: d(date),
        counselled,
        hb_adjusted: hb,
        lhfa,
    }
}

#[test]
fn months_and_deadlines() {
    assert_eq!(
        month_bounds("2026-02"),
        Some((d("2026-02-01"), d("2026-02-28")))
    );
    assert_eq!(month_bounds("2026-13"), None);
    assert_eq!(month_bounds("26-01"), None);
    let last = d("2026-10-31");
    let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    // townships: any time on 2 November is in time, 3 November is late
    assert!(!is_late(Level::Township, last, at("2026-11-02 23:59:59")));
    assert!(is_late(Level::Township, last, at("2026-11-03 00:00:00")));
    // villages report a day earlier
    assert!(!is_late(Level::Village, last, at("2026-11-01 23:59:59")));
    assert!(is_late(Level::Village, last, at("2026-11-02 00:00:00")));
}

/// A child born 2025-03-10 (6 months on 2025-09-10), consented and issued in October 2025,
/// followed up twice; what October 2025 counts.
#[test]
fn one_child_in_one_month() {
    let c = ChildFacts {
        context: Context::default(),
        birth: d("2025-03-10"),
        needs_medical_clearance: false,
        events: vec![
            ev("2025-09-12", EventKind::Consent),
            ev("2025-09-12", EventKind::Issue { sachets: 30 }),
            ev("2025-10-10", EventKind::Issue { sachets: 30 }),
        ],
        unit_issues: vec![(d("2025-09-12"), 30), (d("2025-10-10"), 30)],
        contacts: vec![
            Contact {
                date: d("2025-09-12"),
                remaining: 0,
            },
            Contact {
                date: d("2025-10-10"),
                remaining: 2,
            },
        ],
        cards: vec![
            card("2025-10-10", true, Some(104.0), Some(-2.3)),
            card("2025-10-25", false, Some(112.0), None),
        ],
    };
    let n = child_counts(&c, d("2025-10-01"), d("2025-10-31"), d("2026-01-01"));
    assert_eq!(
        n,
        Counts {
            target_children: 1,
            enrolled: 1,
            active: 1,
            issued_children: 1,
            sachets_issued: 30,
            stock_out_sachets: 0,
            followed_up: 1,
            intake_assessed: 1,
            // 0 + 30 − 2 = 28 in 28 days: 7 a week
            effective_intake: 1,
            carers_counselled: 1,
            hb_tested: 1,
            // the latest Hb of the month (112) counts: not anaemic
            anaemic: 0,
            length_measured: 1,
            stunted: 1,
        }
    );
    // before 6 months and after ending the child is not a target child
    assert_eq!(
        child_counts(&c, d("2025-08-01"), d("2025-08-31"), d("2026-01-01")),
        Counts::default()
    );
    let mut moved = c.clone();
    moved.events.push(ev("2025-10-20", EventKind::MovedOut));
    let nov = child_counts(&moved, d("2025-11-01"), d("2025-11-30"), d("2026-01-01"));
    assert_eq!(nov, Counts::default());
    let oct = child_counts(&moved, d("2025-10-01"), d("2025-10-31"), d("2026-01-01"));
    assert_eq!(
        (oct.target_children, oct.active),
        (1, 0),
        "ended during the month still counts"
    );
}

#[test]
fn rates_checks_and_difference() {
    let c = Counts {
        target_children: 40,
        enrolled: 38,
        active: 36,
        issued_children: 35,
        sachets_issued: 1050,
        stock_out_sachets: 1050,
        followed_up: 30,
        intake_assessed: 28,
        effective_intake: 21,
        carers_counselled: 30,
        hb_tested: 20,
        anaemic: 3,
        length_measured: 25,
        stunted: 2,
    };
    let r = rates(
        &c,
        Baseline {
            anaemia_pct: Some(20.0),
            stunting_pct: None,
        },
    );
    assert_eq!(r.distribution_rate, Some(87.5));
    assert_eq!(r.effective_intake_rate, Some(75.0));
    assert_eq!(r.counselling_rate, Some(85.7));
    assert_eq!(r.anaemia_prevalence, Some(15.0));
    assert_eq!(r.stunting_prevalence, Some(8.0));
    assert_eq!(r.anaemia_vs_baseline_pp, Some(-5.0));
    assert_eq!(r.stunting_vs_baseline_pp, None);
    assert!(checks(&c).is_empty());
    let bad = Counts {
        sachets_issued: 1080,
        active: 41,
        ..c.clone()
    };
    let fields: Vec<String> = checks(&bad).into_iter().map(|f| f.field).collect();
    assert_eq!(fields, ["/sachets_issued", "/active"]);
    let diff = difference(
        &c,
        &Counts {
            anaemic: 4,
            ..c.clone()
        },
    );
    assert_eq!(
        diff,
        [Difference {
            field: "anaemic".into(),
            reported: 3,
            now: 4
        }]
    );
    assert_eq!(
        rates(&Counts::default(), Baseline::default()),
        Rates::default()
    );
}
