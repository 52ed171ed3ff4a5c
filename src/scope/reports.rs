//! Whose monthly reports a staff member reads and reviews (the nutrition-pack chain today; the
//! county's MCH report joins the same chain): its own unit's; a township centre its villages';
//! a county reviewer its county's.

use diesel::{dsl, prelude::*, query_dsl::methods::FilterDsl, sql_types::Text};

use super::county_reviewer_of;
use crate::auth::{Role, StaffPrincipal};

/// The first nine digits of a region code: its township.
fn township(region: &str) -> Option<&str> {
    region.get(..9)
}

fn is_township_centre(staff: &StaffPrincipal) -> bool {
    staff.institution_level == "township_centre"
}

/// May `staff` read the report of the institution `institution_id` at `region` in `county`?
pub fn may_read(staff: &StaffPrincipal, institution_id: &str, region: &str, county: &str) -> bool {
    staff.institution_id == institution_id
        || county_reviewer_of(staff, county)
        || (is_township_centre(staff) && township(region) == township(&staff.region_code))
}

/// May `staff` review a village's report: the township centre's heads and clinicians, or the
/// county's reviewers.
pub fn may_review_village(staff: &StaffPrincipal, region: &str, county: &str) -> bool {
    county_reviewer_of(staff, county)
        || (is_township_centre(staff)
            && (staff.has(Role::InstitutionAdmin) || staff.has(Role::Clinician))
            && township(region) == township(&staff.region_code))
}

/// May `staff` review a township's report: the county's reviewers.
pub fn may_review_township(staff: &StaffPrincipal, county: &str) -> bool {
    county_reviewer_of(staff, county)
}

/// Narrows a query over reports of the caller's county (`county_code` already filtered) to those
/// [`may_read`] allows, in SQL.
pub fn readable<Q, I, R>(staff: &StaffPrincipal, query: Q, institution_id: I, region_code: R) -> Q
where
    I: ExpressionMethods + Expression<SqlType = Text> + Copy,
    R: TextExpressionMethods + Expression<SqlType = Text>,
    Q: FilterDsl<dsl::Eq<I, String>, Output = Q>
        + FilterDsl<dsl::Or<dsl::Eq<I, String>, dsl::Like<R, String>>, Output = Q>,
{
    if staff.has(Role::CountyReviewer) {
        return query;
    }
    let own = institution_id.eq(staff.institution_id.clone());
    match township(&staff.region_code).filter(|_| is_township_centre(staff)) {
        Some(prefix) => FilterDsl::filter(query, own.or(region_code.like(format!("{prefix}%")))),
        None => FilterDsl::filter(query, own),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::accounts::tests::staff;

    #[test]
    fn a_unit_reads_its_own_a_township_centre_its_villages_a_reviewer_its_county() {
        let village_report = ("village-clinic", "990101001007", "990101");
        let other_township = ("far-clinic", "990101002003", "990101");
        let centre = staff(vec![Role::Clinician]);
        let read = |s: &StaffPrincipal, (i, r, c): (&str, &str, &str)| may_read(s, i, r, c);
        assert!(read(&centre, village_report));
        assert!(!read(&centre, other_township));
        assert!(read(&centre, ("inst-a", "990101001000", "990101")));
        let mut clinic = staff(vec![Role::VillageDoctor]);
        clinic.institution_level = "village_clinic".into();
        assert!(
            !read(&clinic, village_report),
            "a village clinic reads only its own"
        );
        let reviewer = staff(vec![Role::CountyReviewer]);
        assert!(read(&reviewer, other_township));
        assert!(!read(&reviewer, ("x", "990102001001", "990102")));
    }

    #[test]
    fn villages_are_reviewed_by_their_centre_townships_by_the_county() {
        let doctor = staff(vec![Role::VillageDoctor]);
        assert!(!may_review_village(&doctor, "990101001007", "990101"));
        let head = staff(vec![Role::InstitutionAdmin]);
        assert!(may_review_village(&head, "990101001007", "990101"));
        assert!(!may_review_village(&head, "990101002007", "990101"));
        assert!(!may_review_township(&head, "990101"));
        let reviewer = staff(vec![Role::CountyReviewer]);
        assert!(may_review_township(&reviewer, "990101"));
        assert!(!may_review_township(&reviewer, "990102"));
    }
}
