//! Who may see a handbook — decided here for every handbook-related record.
//!
//! * Staff: an institution sees a handbook it registered, recorded a checkup for, was given a
//!   share code for, or received a referral for — an `handbook_access` row; a village clinic sees
//!   the handbooks of children resident in its village (a `residence` grant, kept in step with the
//!   residence by [`sync_residence`]); a `county_reviewer` sees every handbook of its county.
//!   Anything else is 404.
//! * Families: the mother and the family members she shared with (`handbook_members`).

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

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
    if staff.has(Role::CountyReviewer) && staff.county_code == county {
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

/// Gives an institution access to a handbook (idempotent).
pub fn grant(
    conn: &mut DbConn,
    handbook_id: &str,
    institution_id: &str,
    county_code: &str,
    why: Grant,
    expires_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    // An existing grant (possibly ended) is renewed rather than duplicated — in one statement,
    // so two first visits of the same handbook at once cannot both try to insert it.
    let upsert = diesel::insert_into(handbook_access::table)
        .values((
            handbook_access::handbook_id.eq(handbook_id),
            handbook_access::institution_id.eq(institution_id),
            handbook_access::county_code.eq(county_code),
            handbook_access::reason.eq(why.as_str()),
            handbook_access::granted_at.eq(Utc::now().naive_utc()),
            handbook_access::expires_at.eq(expires_at),
        ))
        .on_conflict((
            handbook_access::handbook_id,
            handbook_access::institution_id,
            handbook_access::reason,
        ))
        .do_update()
        .set(handbook_access::expires_at.eq(expires_at));
    // The multi-backend connection has no upsert: each backend runs the same statement.
    crate::execute_on_backend!(conn, upsert)?;
    Ok(())
}

/// Ends a grant (e.g. a declined referral): kept, with its end time.
pub fn end_grant(
    conn: &mut DbConn,
    handbook_id: &str,
    institution_id: &str,
    why: Grant,
) -> QueryResult<usize> {
    diesel::update(
        handbook_access::table
            .filter(handbook_access::handbook_id.eq(handbook_id))
            .filter(handbook_access::institution_id.eq(institution_id))
            .filter(handbook_access::reason.eq(why.as_str())),
    )
    .set(handbook_access::expires_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)
}

/// Keeps the `residence` grants of a handbook with children in step with where the family lives:
/// the village clinics of the residence village get access; clinics of a former residence lose it
/// (the grant is kept with its end time). Call after adding a child or changing the residence.
pub fn sync_residence(conn: &mut DbConn, handbook_id: &str) -> QueryResult<()> {
    let (county, residence): (String, String) = handbooks::table
        .find(handbook_id)
        .select((handbooks::county_code, handbooks::residence_region_code))
        .first(conn)?;
    let has_children: i64 = children::table
        .filter(children::handbook_id.eq(handbook_id))
        .count()
        .get_result(conn)?;
    let clinics: Vec<String> = if has_children > 0 {
        institutions::table
            .filter(institutions::region_code.eq(&residence))
            .filter(institutions::level.eq("village_clinic"))
            .filter(institutions::disabled.eq(false))
            .select(institutions::id)
            .load(conn)?
    } else {
        Vec::new()
    };
    let now = Utc::now().naive_utc();
    diesel::update(
        handbook_access::table
            .filter(handbook_access::handbook_id.eq(handbook_id))
            .filter(handbook_access::reason.eq(Grant::Residence.as_str()))
            .filter(handbook_access::institution_id.ne_all(&clinics))
            .filter(handbook_access::expires_at.is_null()),
    )
    .set(handbook_access::expires_at.eq(Some(now)))
    .execute(conn)?;
    for clinic in clinics {
        grant(conn, handbook_id, &clinic, &county, Grant::Residence, None)?;
    }
    Ok(())
}

/// Ends every live `residence` grant of an institution (a village clinic being disabled).
pub fn end_residence_grants(conn: &mut DbConn, institution_id: &str) -> QueryResult<usize> {
    diesel::update(
        handbook_access::table
            .filter(handbook_access::institution_id.eq(institution_id))
            .filter(handbook_access::reason.eq(Grant::Residence.as_str()))
            .filter(handbook_access::expires_at.is_null()),
    )
    .set(handbook_access::expires_at.eq(Some(Utc::now().naive_utc())))
    .execute(conn)
}

/// A new village clinic gets the `residence` grants of the families with children in its village.
pub fn grant_residents(conn: &mut DbConn, clinic_id: &str, region_code: &str) -> QueryResult<()> {
    let resident: Vec<(String, String)> = handbooks::table
        .filter(handbooks::residence_region_code.eq(region_code))
        .filter(diesel::dsl::exists(
            children::table.filter(children::handbook_id.eq(handbooks::id)),
        ))
        .select((handbooks::id, handbooks::county_code))
        .load(conn)?;
    for (handbook, county) in resident {
        grant(conn, &handbook, clinic_id, &county, Grant::Residence, None)?;
    }
    Ok(())
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

/// What [`end_unverified_links`] ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EndedLinks {
    pub members: usize,
    pub grants: usize,
    pub codes: usize,
}

/// Ends every link to a handbook that an unverified app account made: family memberships (the
/// starting account's among them), institutions' share grants, unused share codes.
pub fn end_unverified_links(
    conn: &mut DbConn,
    handbook_id: &str,
    now: NaiveDateTime,
) -> QueryResult<EndedLinks> {
    // Codes first, then the grants and memberships they could still make: on PostgreSQL a
    // redemption racing this waits on the code's row and then either finds it expired or has
    // committed its grant or membership, which the later statements (each a new snapshot at READ
    // COMMITTED) then end.
    let codes = diesel::update(
        access_codes::table
            .filter(access_codes::handbook_id.eq(handbook_id))
            .filter(access_codes::used_at.is_null())
            .filter(access_codes::expires_at.gt(now)),
    )
    .set(access_codes::expires_at.eq(now))
    .execute(conn)?;
    let grants = diesel::update(
        handbook_access::table
            .filter(handbook_access::handbook_id.eq(handbook_id))
            .filter(handbook_access::reason.eq(Grant::ShareCode.as_str()))
            .filter(
                handbook_access::expires_at
                    .is_null()
                    .or(handbook_access::expires_at.gt(now)),
            ),
    )
    .set(handbook_access::expires_at.eq(Some(now)))
    .execute(conn)?;
    let members = diesel::update(
        handbook_members::table
            .filter(handbook_members::handbook_id.eq(handbook_id))
            .filter(handbook_members::revoked_at.is_null()),
    )
    .set(handbook_members::revoked_at.eq(Some(now)))
    .execute(conn)?;
    Ok(EndedLinks {
        members,
        grants,
        codes,
    })
}

/// Takes the handbook's row lock on PostgreSQL (`FOR UPDATE`), so that a confirmation by the
/// clinic and a family account's new share code are serialised: whoever comes second sees what
/// the first committed. Returns whether a lock was taken. SQLite needs none: its writes run one at
/// a time on the writer.
pub fn lock_handbook(conn: &mut DbConn, handbook_id: &str) -> QueryResult<bool> {
    match conn {
        DbConn::Postgresql(c) => {
            handbooks::table
                .find(handbook_id)
                .select(handbooks::id)
                .for_update()
                .first::<String>(c)
                .optional()?;
            Ok(true)
        }
        DbConn::Sqlite(_) => Ok(false),
    }
}

/// Links a family account to a handbook.
pub fn add_member(
    conn: &mut DbConn,
    handbook_id: &str,
    county_code: &str,
    account_id: &str,
    relation: Relation,
) -> QueryResult<()> {
    let rel = match relation {
        Relation::Mother => "mother",
        Relation::Family => "family",
    };
    let now = Utc::now().naive_utc();
    let reactivated = diesel::update(
        handbook_members::table
            .filter(handbook_members::handbook_id.eq(handbook_id))
            .filter(handbook_members::family_account_id.eq(account_id)),
    )
    .set((
        handbook_members::relation.eq(rel),
        handbook_members::revoked_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if reactivated == 0 {
        diesel::insert_into(handbook_members::table)
            .values((
                handbook_members::handbook_id.eq(handbook_id),
                handbook_members::family_account_id.eq(account_id),
                handbook_members::county_code.eq(county_code),
                handbook_members::relation.eq(rel),
                handbook_members::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
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
