//! The grants that open a handbook to an institution or a family account: given at
//! registration, checkup, share code, referral and residence; ended (kept, with the end time) at
//! a declined referral, a move, a retired app start. What a grant lets one see is decided in
//! [`super`].

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{Grant, Relation};
use crate::db::{schema::*, DbConn};

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

/// Ends an institution's `referral` grant to a handbook after the referral `except` was
/// declined — unless another referral to the same institution for the same woman (one not
/// declined) or a consultation to it still needs it: the grant is shared by all of them.
pub fn end_referral_grant_unless_shared(
    conn: &mut DbConn,
    except: &str,
    handbook_id: &str,
    institution_id: &str,
) -> QueryResult<()> {
    let other_referrals: i64 = referrals::table
        .filter(referrals::handbook_id.eq(handbook_id))
        .filter(referrals::to_institution_id.eq(institution_id))
        .filter(referrals::id.ne(except))
        .filter(referrals::status.ne(crate::referrals::rules::Status::Declined.as_str()))
        .count()
        .get_result(conn)?;
    let cases_of_handbook = risk_cases::table
        .filter(risk_cases::handbook_id.eq(handbook_id))
        .select(risk_cases::id);
    let consultations_to: i64 = consultations::table
        .filter(consultations::case_id.eq_any(cases_of_handbook))
        .filter(consultations::to_institution_id.eq(institution_id))
        .count()
        .get_result(conn)?;
    if other_referrals == 0 && consultations_to == 0 {
        end_grant(conn, handbook_id, institution_id, Grant::Referral)?;
    }
    Ok(())
}
