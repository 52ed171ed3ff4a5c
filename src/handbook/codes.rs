//! One-time codes: a clinic's binding code (the mother links her WeChat account to the handbook
//! the clinic created), the mother's share code for a clinic she visits for the first time, and her
//! share code for a family member. Short-lived, single-use, kept only as a hash.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::db::{schema::access_codes, DbConn};

/// Unambiguous characters (no 0/O, 1/I/L): 8 of them are ~10^12 possibilities.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Given by a clinic to the mother: binds her account as the mother.
    Bind,
    /// Given by the mother to a clinic: the clinic may see her record.
    ShareClinic,
    /// Given by the mother to a family member: read access.
    ShareFamily,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Bind => "bind",
            Purpose::ShareClinic => "share_clinic",
            Purpose::ShareFamily => "share_family",
        }
    }

    /// How long a code stays usable.
    pub fn lifetime(self) -> chrono::Duration {
        match self {
            Purpose::Bind => chrono::Duration::hours(2),
            Purpose::ShareClinic => chrono::Duration::minutes(30),
            Purpose::ShareFamily => chrono::Duration::hours(24),
        }
    }
}

fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalise(code).as_bytes()))
}

/// Codes are typed by people: ignore case, spaces and dashes.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Issues a code; returns it (shown once) and its expiry.
pub fn issue(
    conn: &mut DbConn,
    purpose: Purpose,
    handbook_id: &str,
    county_code: &str,
    created_by: &str,
) -> QueryResult<(String, NaiveDateTime)> {
    let mut rng = rand::thread_rng();
    let code: String = (0..LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    let now = Utc::now().naive_utc();
    let expires_at = now + purpose.lifetime();
    diesel::insert_into(access_codes::table)
        .values((
            access_codes::code_hash.eq(hash(&code)),
            access_codes::purpose.eq(purpose.as_str()),
            access_codes::handbook_id.eq(handbook_id),
            access_codes::county_code.eq(county_code),
            access_codes::created_by.eq(created_by),
            access_codes::created_at.eq(now),
            access_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok((code, expires_at))
}

/// Uses a code once: `(handbook id, county)` when it is valid, unused and unexpired; the
/// conditional update makes a second use fail even when two arrive at once.
pub fn redeem(
    conn: &mut DbConn,
    purpose: Purpose,
    code: &str,
    used_by: &str,
) -> QueryResult<Option<(String, String)>> {
    let now = Utc::now().naive_utc();
    let h = hash(code);
    let n = diesel::update(access_codes::table.find(&h))
        .filter(access_codes::purpose.eq(purpose.as_str()))
        .filter(access_codes::used_at.is_null())
        .filter(access_codes::expires_at.gt(now))
        .set((
            access_codes::used_at.eq(now),
            access_codes::used_by.eq(used_by),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    access_codes::table
        .find(&h)
        .select((access_codes::handbook_id, access_codes::county_code))
        .first(conn)
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_forgivingly() {
        assert_eq!(normalise("ab3d-ef7h"), "AB3DEF7H");
        assert_eq!(hash("ab3d ef7h"), hash("AB3DEF7H"));
    }
}
