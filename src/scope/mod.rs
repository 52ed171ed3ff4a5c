//! Who may see what — asked here, by every handler (referrals add one rule of their own, below).
//!
//! * **One record, for a purpose.** [`staff_scope`] (a handbook and its maternal records),
//!   [`child_scope`] and [`child`] (a child's records), [`family_scope`] (a family account and
//!   a handbook): the handbook's county when the caller may see it, 404 otherwise (the same answer
//!   as a record that does not exist, so an id tells nothing to someone outside its scope).
//! * **Which records to list.** [`Listing`] turns the same rule into a filter on any table that
//!   carries `handbook_id` and `county_code`; [`granted_handbooks`] and [`child_handbooks`] are its
//!   subqueries.
//! * **The rule.** Staff: an institution sees a handbook it registered, recorded a checkup for,
//!   was given a share code for, or received a referral for — a `handbook_access` row written by
//!   [`grants`]; a village clinic sees the children of families resident in its village (a
//!   `residence` grant, kept in step by [`grants::sync_residence`]) but not the mother's maternal
//!   record; a `county_reviewer` sees every handbook of its county. Families: the mother and the
//!   family members she shared with (`handbook_members`).
//! * Staff accounts and institutions (who administers whom) are [`accounts`]; who reads and
//!   reviews monthly reports is [`reports`]. Referrals add one rule of their own in their module
//!   (the sending and receiving clinics see a referral; turnaround figures are the county's or
//!   the receiving clinic's).

pub mod accounts;
pub mod grants;
pub mod reports;

pub use grants::{
    add_member, end_grant, end_residence_grants, end_unverified_links, grant, grant_residents,
    lock_handbook, sync_residence, EndedLinks,
};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::{dsl, sql_types::Text};

use crate::{
    auth::{FamilyPrincipal, Role, StaffPrincipal},
    db::{schema::*, DbConn},
    error::AppError,
};

/// Why an institution may see a handbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Registration,
    Checkup,
    ShareCode,
    Referral,
    /// A village clinic and the children living in its village (the nutrition-pack programme).
    Residence,
}

impl Grant {
    fn as_str(self) -> &'static str {
        match self {
            Grant::Registration => "registration",
            Grant::Checkup => "checkup",
            Grant::ShareCode => "share_code",
            Grant::Referral => "referral",
            Grant::Residence => "residence",
        }
    }
}

/// The handbook's county, when `staff` may see it; otherwise 404. A village clinic's `residence`
/// grant does not count here: it opens the children's records only ([`child_scope`]).
pub fn staff_scope(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    handbook_id: &str,
) -> Result<String, AppError> {
    scope(conn, staff, handbook_id, false)
}

/// The handbook's county, when `staff` may see the children on it (the handbook's grants, or the
/// village clinic of the family's village); otherwise 404.
pub fn child_scope(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    handbook_id: &str,
) -> Result<String, AppError> {
    scope(conn, staff, handbook_id, true)
}

fn scope(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    handbook_id: &str,
    with_residence: bool,
) -> Result<String, AppError> {
    let county: String = handbooks::table
        .find(handbook_id)
        .select(handbooks::county_code)
        .first(conn)?;
    if county_reviewer_of(staff, &county) {
        return Ok(county);
    }
    if staff.has(Role::Clinician) || staff.has(Role::VillageDoctor) {
        let now = Utc::now().naive_utc();
        let mut grants = handbook_access::table
            .filter(handbook_access::handbook_id.eq(handbook_id))
            .filter(handbook_access::institution_id.eq(&staff.institution_id))
            .filter(
                handbook_access::expires_at
                    .is_null()
                    .or(handbook_access::expires_at.gt(now)),
            )
            .into_boxed();
        if !with_residence {
            grants = grants.filter(handbook_access::reason.ne(Grant::Residence.as_str()));
        }
        let granted: i64 = grants.count().get_result(conn)?;
        if granted > 0 {
            return Ok(county);
        }
    }
    Err(AppError::NotFound)
}

/// A county reviewer sees every record of its county, whatever else a module's rule allows.
pub fn county_reviewer_of(staff: &StaffPrincipal, county: &str) -> bool {
    staff.has(Role::CountyReviewer) && staff.county_code == county
}

/// A child the caller may see, with what its pages need.
#[derive(Debug, Queryable)]
pub struct ChildInScope {
    pub handbook_id: String,
    pub county_code: String,
    pub born_at: NaiveDateTime,
    /// As stored: `male`, `female`, `undetermined`.
    pub sex: String,
}

impl ChildInScope {
    /// The date of birth in China.
    pub fn birth_date(&self) -> chrono::NaiveDate {
        crate::time::china_date(self.born_at.and_utc())
    }
}

/// The child, when `staff` may see it ([`child_scope`] of its handbook); otherwise 404.
pub fn child(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    child_id: &str,
) -> Result<ChildInScope, AppError> {
    let found: ChildInScope = children::table
        .find(child_id)
        .select((
            children::handbook_id,
            children::county_code,
            children::born_at,
            children::sex,
        ))
        .first(conn)?;
    child_scope(conn, staff, &found.handbook_id)?;
    Ok(found)
}

/// Which records a staff member may list: the list form of [`staff_scope`]. A county reviewer
/// lists its county; every other reader the handbooks its institution holds a live grant for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    County(String),
    Granted(String),
}

impl Listing {
    pub fn of(staff: &StaffPrincipal) -> Self {
        if staff.has(Role::CountyReviewer) {
            Listing::County(staff.county_code.clone())
        } else {
            Listing::Granted(staff.institution_id.clone())
        }
    }

    /// Narrows `query` — over any table that carries a handbook id and the county code it is
    /// sharded by — to the records this listing covers.
    pub fn apply<Q, H, C>(&self, query: Q, handbook_id: H, county_code: C) -> Q
    where
        H: ExpressionMethods + Expression<SqlType = Text>,
        C: ExpressionMethods + Expression<SqlType = Text>,
        Q: diesel::query_dsl::methods::FilterDsl<dsl::Eq<C, String>, Output = Q>
            + diesel::query_dsl::methods::FilterDsl<dsl::EqAny<H, granted_handbooks>, Output = Q>,
    {
        match self {
            Listing::County(county) => <Q as diesel::query_dsl::methods::FilterDsl<_>>::filter(
                query,
                county_code.eq(county.clone()),
            ),
            Listing::Granted(institution) => {
                <Q as diesel::query_dsl::methods::FilterDsl<_>>::filter(
                    query,
                    handbook_id.eq_any(granted_handbooks(
                        institution.clone(),
                        Utc::now().naive_utc(),
                    )),
                )
            }
        }
    }
}

/// How a family account relates to a handbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Mother,
    Family,
}

/// The family account's relation to the handbook, or 404.
pub fn family_scope(
    conn: &mut DbConn,
    family: &FamilyPrincipal,
    handbook_id: &str,
) -> Result<Relation, AppError> {
    let relation: Option<String> = handbook_members::table
        .filter(handbook_members::handbook_id.eq(handbook_id))
        .filter(handbook_members::family_account_id.eq(&family.id))
        .filter(handbook_members::revoked_at.is_null())
        .select(handbook_members::relation)
        .first(conn)
        .optional()?;
    match relation.as_deref() {
        Some("mother") => Ok(Relation::Mother),
        Some(_) => Ok(Relation::Family),
        None => Err(AppError::NotFound),
    }
}

/// The handbook this account is the mother of, if any.
pub fn own_handbook(conn: &mut DbConn, family: &FamilyPrincipal) -> Result<String, AppError> {
    own_handbook_ref(conn, family).map(|own| own.id)
}

/// The handbook of which a family account is the mother: what its pages need to name it.
#[derive(Debug, Queryable)]
pub struct OwnHandbook {
    pub id: String,
    pub county_code: String,
    /// For the kept home page (`home_cache`).
    pub revision: i64,
    /// `pending` (started in the app) or `confirmed` (registered by a clinic).
    pub status: String,
}

/// The handbook of which this account is the mother, in one query; 404 when none.
pub fn own_handbook_ref(
    conn: &mut DbConn,
    family: &FamilyPrincipal,
) -> Result<OwnHandbook, AppError> {
    find_own_handbook(conn, family)?.ok_or(AppError::NotFound)
}

/// The handbook of which this account is the mother, if any (a database failure is an error).
pub fn find_own_handbook(
    conn: &mut DbConn,
    family: &FamilyPrincipal,
) -> QueryResult<Option<OwnHandbook>> {
    handbook_members::table
        .inner_join(handbooks::table)
        .filter(handbook_members::family_account_id.eq(&family.id))
        .filter(handbook_members::relation.eq("mother"))
        .filter(handbook_members::revoked_at.is_null())
        .select((
            handbooks::id,
            handbooks::county_code,
            handbooks::revision,
            handbooks::status,
        ))
        .first(conn)
        .optional()
}

/// The handbooks an institution may see through a live grant, as a subquery for list filters
/// (`handbooks::id.eq_any(granted_handbooks(…))`) — the same rule `staff_scope` applies to one record.
#[diesel::dsl::auto_type]
pub fn granted_handbooks(institution_id: String, now: NaiveDateTime) -> _ {
    handbook_access::table
        .filter(handbook_access::institution_id.eq(institution_id))
        .filter(
            handbook_access::expires_at
                .is_null()
                .or(handbook_access::expires_at.gt(now)),
        )
        .filter(handbook_access::reason.ne("residence"))
        .select(handbook_access::handbook_id)
}

/// The handbooks whose children an institution may see (its grants including `residence`), as a
/// subquery — the rule `child_scope` applies to one record.
#[diesel::dsl::auto_type]
pub fn child_handbooks(institution_id: String, now: NaiveDateTime) -> _ {
    handbook_access::table
        .filter(handbook_access::institution_id.eq(institution_id))
        .filter(
            handbook_access::expires_at
                .is_null()
                .or(handbook_access::expires_at.gt(now)),
        )
        .select(handbook_access::handbook_id)
}
