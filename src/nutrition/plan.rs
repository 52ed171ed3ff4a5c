//! The village doctor's month, as plain rules: who comes first when packs are short
//! (`shared/domain/child/nutrition-pack.md` §6), when the next follow-up is due (§7) and the carer's
//! average intake between two contacts (§9).

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{add_months, State};

/// Extra follow-up for poor compliance or anaemia: within 14 days (§7, `cfg`).
pub const EXTRA_FOLLOWUP_DAYS: i64 = 14;
/// How far ahead the work list warns of a stop for non-collection or of ageing out (`cfg`).
pub const WARN_DAYS: i64 = 14;

/// Shortage tiers (§6), first served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 建档立卡 registered poor household or 易地扶贫搬迁 relocation site, any age 6–36 m.
    PriorityGroup,
    /// Other children before the 2nd birthday (`age_months < 24`).
    Under24Months,
    Others,
}

pub fn tier(registered_poor: bool, relocation_site: bool, age_months: i64) -> Tier {
    if registered_poor || relocation_site {
        Tier::PriorityGroup
    } else if age_months < 24 {
        Tier::Under24Months
    } else {
        Tier::Others
    }
}

/// One child waiting for this month's packs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub child_id: String,
    pub birth: NaiveDate,
    pub tier: Tier,
    /// Already `active` (a new entrant or a resumption is not).
    pub active: bool,
    pub sachets: i64,
}

/// §6 order: tier; within a tier active children before new entrants, then younger first (later
/// 36-month date), then child id.
pub fn priority_order(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        a.tier
            .cmp(&b.tier)
            .then(b.active.cmp(&a.active))
            .then(b.birth.cmp(&a.birth))
            .then(a.child_id.cmp(&b.child_id))
    });
}

/// Serves whole monthly quantities down the ordered list until the stock runs out: the first child
/// whose quantity no longer fits ends the allocation, so nobody is served ahead of a child with a
/// higher priority. Returns, per candidate, whether it is served.
pub fn allocate(ordered: &[Candidate], stock: i64) -> Vec<bool> {
    let mut left = stock;
    let mut open = true;
    ordered
        .iter()
        .map(|c| {
            open = open && c.sachets <= left;
            if open {
                left -= c.sachets;
            }
            open
        })
        .collect()
}

/// When the next follow-up is due: a month after the last one (§7 "in principle monthly"), within
/// [`EXTRA_FOLLOWUP_DAYS`] when compliance is poor or the child is moderately/severely anaemic; at
/// once when an enrolled child has had none.
pub fn next_followup(last: Option<NaiveDate>, needs_extra: bool, today: NaiveDate) -> NaiveDate {
    match last {
        None => today,
        Some(d) if needs_extra => (d + Duration::days(EXTRA_FOLLOWUP_DAYS)).min(add_months(d, 1)),
        Some(d) => add_months(d, 1),
    }
}

/// A contact where the carer said how many sachets were left at home (a collection or a card).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    pub date: NaiveDate,
    pub remaining: i64,
}

/// Average sachets a week between the last two contacts on different days, on or before `until`
/// (§9): `consumed = remaining_prev + issued − remaining_now` where `issued` counts the issues from
/// the earlier contact's day up to the day before the later one (the carer reports what is left
/// before a new pack is handed over); `per_week = consumed × 7 ÷ days`. `(per_week, effective)`,
/// `None` without two such contacts or when the counts do not add up.
pub fn intake(
    contacts: &[Contact],
    issues: &[(NaiveDate, i64)],
    until: NaiveDate,
) -> Option<(f64, bool)> {
    let mut c: Vec<Contact> = contacts
        .iter()
        .copied()
        .filter(|c| c.date <= until)
        .collect();
    c.sort_by_key(|c| c.date);
    // Two contacts on one day: the later-recorded count stands.
    c.dedup_by(|later, earlier| {
        if later.date == earlier.date {
            *earlier = *later;
            true
        } else {
            false
        }
    });
    let [.., prev, now] = c.as_slice() else {
        return None;
    };
    let issued: i64 = issues
        .iter()
        .filter(|(d, _)| *d >= prev.date && *d < now.date)
        .map(|(_, n)| n)
        .sum();
    super::rules::weekly_intake(
        prev.remaining,
        issued,
        now.remaining,
        (now.date - prev.date).num_days(),
    )
}

/// Is this state one the work list follows (enrolled into the programme and not finished)?
pub fn followed(state: State) -> bool {
    matches!(state, State::Enrolled | State::Active | State::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cand(id: &str, birth: &str, tier: Tier, active: bool) -> Candidate {
        Candidate {
            child_id: id.into(),
            birth: d(birth),
            tier,
            active,
            sachets: 30,
        }
    }

    #[test]
    fn tiers_follow_section_6() {
        assert_eq!(tier(true, false, 30), Tier::PriorityGroup);
        assert_eq!(tier(false, true, 8), Tier::PriorityGroup);
        assert_eq!(tier(false, false, 23), Tier::Under24Months);
        assert_eq!(
            tier(false, false, 24),
            Tier::Others,
            "24 months is past the 2nd birthday"
        );
    }

    #[test]
    fn shortage_order_then_allocation_in_whole_months() {
        let mut list = vec![
            cand("e", "2024-06-01", Tier::Others, true),
            cand("d", "2025-01-01", Tier::Under24Months, false),
            cand("c", "2024-12-01", Tier::Under24Months, true),
            cand("b", "2025-03-01", Tier::Under24Months, true),
            cand("a", "2024-05-01", Tier::PriorityGroup, false),
        ];
        priority_order(&mut list);
        let ids: Vec<&str> = list.iter().map(|c| c.child_id.as_str()).collect();
        // poor household first; then under-2s: active before new, younger first; then the rest
        assert_eq!(ids, ["a", "b", "c", "d", "e"]);
        assert_eq!(allocate(&list, 100), [true, true, true, false, false]);
        assert_eq!(allocate(&list, 150), [true; 5]);
        assert_eq!(allocate(&list, 29), [false; 5]);
    }

    #[test]
    fn a_smaller_last_quantity_does_not_jump_the_queue() {
        let mut list = vec![
            cand("a", "2025-01-01", Tier::Under24Months, true),
            cand("b", "2023-12-20", Tier::Others, true),
        ];
        list[1].sachets = 5; // five days to the 36-month date
        priority_order(&mut list);
        assert_eq!(allocate(&list, 20), [false, false]);
    }

    #[test]
    fn follow_up_monthly_or_within_14_days() {
        let today = d("2026-11-20");
        assert_eq!(next_followup(None, false, today), today);
        assert_eq!(
            next_followup(Some(d("2026-10-31")), false, today),
            d("2026-11-30")
        );
        assert_eq!(
            next_followup(Some(d("2026-11-01")), true, today),
            d("2026-11-15")
        );
    }

    #[test]
    fn intake_between_two_contacts_counts_packs_issued_in_between() {
        let contacts = [
            Contact {
                date: d("2026-10-01"),
                remaining: 2,
            },
            Contact {
                date: d("2026-10-29"),
                remaining: 4,
            },
        ];
        // issued 30 at the first contact; the second contact's own issue is after the count
        let issues = [(d("2026-10-01"), 30), (d("2026-10-29"), 30)];
        assert_eq!(
            intake(&contacts, &issues, d("2026-11-30")),
            Some((7.0, true))
        );
        // 16 left after 28 days: 3.5 a week, poor compliance
        let poor = [
            contacts[0],
            Contact {
                date: d("2026-10-29"),
                remaining: 18,
            },
        ];
        assert_eq!(intake(&poor, &issues, d("2026-11-30")), Some((3.5, false)));
        // only one contact up to the date
        assert_eq!(intake(&contacts, &issues, d("2026-10-28")), None);
    }
}
