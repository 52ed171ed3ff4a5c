//! Which staff accounts and institution records an administrator or reviewer sees (patient
//! records are [`super`]'s).
//!
//! `system_admin` sees everything; `county_reviewer` sees its county (the first six digits of the
//! region code); every other staff role sees its own institution. Records outside the scope are
//! answered with 404 by the handlers, so that their existence does not leak.

use crate::auth::{principal::StaffPrincipal, roles::Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffScope {
    Everything,
    County(String),
    Institution(String),
}

impl StaffScope {
    pub fn of(staff: &StaffPrincipal) -> Self {
        if staff.has(Role::SystemAdmin) {
            StaffScope::Everything
        } else if staff.has(Role::CountyReviewer) {
            StaffScope::County(staff.county_code.clone())
        } else {
            StaffScope::Institution(staff.institution_id.clone())
        }
    }

    /// Whether a record held by `institution_id` in county `county_code` is in scope.
    pub fn covers(&self, county_code: &str, institution_id: &str) -> bool {
        match self {
            StaffScope::Everything => true,
            StaffScope::County(county) => county == county_code,
            StaffScope::Institution(id) => id == institution_id,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A staff member of `inst-a`, a township centre of township `990101001` (tests of the
    /// scope rules share it).
    pub(in crate::scope) fn staff(roles: Vec<Role>) -> StaffPrincipal {
        StaffPrincipal {
            id: "s".into(),
            username: "u".into(),
            full_name: "n".into(),
            institution_id: "inst-a".into(),
            institution_name: "A".into(),
            institution_level: "township_centre".into(),
            region_code: "990101001000".into(),
            county_code: "990101".into(),
            roles,
            session_id: "x".into(),
        }
    }

    #[test]
    fn each_role_sees_its_own_circle() {
        let clinician = StaffScope::of(&staff(vec![Role::Clinician]));
        assert!(clinician.covers("990101", "inst-a"));
        assert!(!clinician.covers("990101", "inst-b"));
        let reviewer = StaffScope::of(&staff(vec![Role::CountyReviewer]));
        assert!(reviewer.covers("990101", "inst-b"));
        assert!(!reviewer.covers("990102", "inst-c"));
        let admin = StaffScope::of(&staff(vec![Role::Clinician, Role::SystemAdmin]));
        assert!(admin.covers("110101", "anything"));
    }
}
