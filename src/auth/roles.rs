//! Staff roles and the role sets that endpoints accept.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A staff role. A staff account has one or more.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Obstetric clinician at a clinic or hospital.
    Clinician,
    /// Village doctor (nutrition packs, infant follow-ups).
    VillageDoctor,
    /// Manages the staff of their own institution.
    InstitutionAdmin,
    /// County maternal-health centre reviewer: sees the whole county.
    CountyReviewer,
    /// Manages regions, institutions and all staff.
    SystemAdmin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Clinician,
        Role::VillageDoctor,
        Role::InstitutionAdmin,
        Role::CountyReviewer,
        Role::SystemAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::VillageDoctor => "village_doctor",
            Role::InstitutionAdmin => "institution_admin",
            Role::CountyReviewer => "county_reviewer",
            Role::SystemAdmin => "system_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A set of roles an endpoint accepts; the marker types below name the sets in handler signatures.
pub trait RoleSet {
    const ROLES: &'static [Role];
}

/// Any staff role.
pub struct AnyStaff;
impl RoleSet for AnyStaff {
    const ROLES: &'static [Role] = &Role::ALL;
}

/// `system_admin` only.
pub struct SystemAdmin;
impl RoleSet for SystemAdmin {
    const ROLES: &'static [Role] = &[Role::SystemAdmin];
}

/// Those who manage staff accounts: `system_admin`, `institution_admin`.
pub struct StaffManager;
impl RoleSet for StaffManager {
    const ROLES: &'static [Role] = &[Role::SystemAdmin, Role::InstitutionAdmin];
}

/// Those who may read staff accounts: the managers and `county_reviewer`.
pub struct StaffReader;
impl RoleSet for StaffReader {
    const ROLES: &'static [Role] = &[
        Role::SystemAdmin,
        Role::InstitutionAdmin,
        Role::CountyReviewer,
    ];
}

/// Those who read the audit log: `county_reviewer`, `system_admin`.
pub struct AuditReader;
impl RoleSet for AuditReader {
    const ROLES: &'static [Role] = &[Role::CountyReviewer, Role::SystemAdmin];
}

/// Those who read patient records: `clinician`, `village_doctor`, `county_reviewer` (its county).
/// System and institution administrators manage accounts, not patients.
pub struct RecordReader;
impl RoleSet for RecordReader {
    const ROLES: &'static [Role] = &[Role::Clinician, Role::VillageDoctor, Role::CountyReviewer];
}

/// Those who write clinical records: `clinician`.
pub struct Clinical;
impl RoleSet for Clinical {
    const ROLES: &'static [Role] = &[Role::Clinician];
}

/// Those who give care and may take a family's share code: `clinician`, `village_doctor`.
pub struct CareProvider;
impl RoleSet for CareProvider {
    const ROLES: &'static [Role] = &[Role::Clinician, Role::VillageDoctor];
}

/// Those who compile and submit the programme's monthly reports: `clinician`, `village_doctor`,
/// `institution_admin` (the head of the reporting unit).
pub struct ReportAuthor;
impl RoleSet for ReportAuthor {
    const ROLES: &'static [Role] = &[Role::Clinician, Role::VillageDoctor, Role::InstitutionAdmin];
}

/// Those who read and review monthly reports: the authors and `county_reviewer`.
pub struct ReportReader;
impl RoleSet for ReportReader {
    const ROLES: &'static [Role] = &[
        Role::Clinician,
        Role::VillageDoctor,
        Role::InstitutionAdmin,
        Role::CountyReviewer,
    ];
}
