//! Optimistic concurrency for corrections: a record's version is its ETag (`"v3"`); an update
//! names the version it replaces in `If-Match`. Missing → 428, stale → 412 with the current ETag.

use actix_web::{dev::Payload, http::header, FromRequest, HttpRequest};

use crate::error::AppError;

pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// The version named by `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub i64);

impl IfMatch {
    /// 412 unless `current` is the version the client read.
    pub fn check(self, current: i64) -> Result<(), AppError> {
        if self.0 == current {
            Ok(())
        } else {
            Err(AppError::PreconditionFailed {
                current_version: current,
            })
        }
    }
}

fn parse(value: &str) -> Option<i64> {
    let v = value.trim().trim_start_matches("W/").trim_matches('"');
    v.strip_prefix('v').unwrap_or(v).parse().ok()
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get(header::IF_MATCH) {
            None => Err(AppError::PreconditionRequired),
            Some(v) => v.to_str().ok().and_then(parse).map(IfMatch).ok_or_else(|| {
                AppError::BadRequest("If-Match must be an ETag such as \"v3\"".into())
            }),
        };
        std::future::ready(result)
    }
}

/// An earlier version of a record.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    /// Who replaced this version, when and why.
    pub changed_by: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub changed_at: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
    /// The record as it was.
    #[schema(value_type = Object)]
    pub snapshot: serde_json::Value,
}

/// A stored version row: `(version, changed_by, changed_at, reason, snapshot)`.
pub type VersionRow = (i64, String, chrono::NaiveDateTime, Option<String>, String);

/// The views of stored versions; a snapshot that is not JSON is an error, not an empty record.
pub fn version_views(rows: Vec<VersionRow>) -> diesel::QueryResult<Vec<VersionView>> {
    rows.into_iter()
        .map(|(version, changed_by, changed_at, reason, snapshot)| {
            Ok(VersionView {
                version,
                changed_by,
                changed_at: changed_at.and_utc(),
                reason,
                snapshot: crate::db::stored::json_from_db("versions.snapshot", &snapshot)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip() {
        assert_eq!(etag(3), "\"v3\"");
        assert_eq!(parse(&etag(3)), Some(3));
        assert_eq!(parse("W/\"v12\""), Some(12));
        assert_eq!(parse("*"), None);
        assert!(IfMatch(2).check(3).is_err());
    }
}
