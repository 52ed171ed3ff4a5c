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
#[schema(example = crate::openapi::examples::version_view)]
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

/// A correction sent as a JSON merge patch (RFC 7396): the fields it names change, `null`
/// clears one, every other value stays as recorded. Applied to the record's current values and
/// then parsed and validated as a whole record, so the answer names each bad field as a full
/// body would (issue #14: a correction that replaced the whole visit erased what it did not
/// repeat).
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct MergePatch(pub serde_json::Map<String, serde_json::Value>);

impl validator::Validate for MergePatch {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

impl MergePatch {
    /// `current` with this patch applied, parsed and validated as `T`.
    pub fn apply_to<T>(self, current: &T) -> Result<T, AppError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + validator::Validate,
    {
        let mut merged = serde_json::to_value(current)
            .map_err(|e| AppError::internal(format!("current values: {e}")))?;
        merge(&mut merged, serde_json::Value::Object(self.0));
        let bytes = serde_json::to_vec(&merged)
            .map_err(|e| AppError::internal(format!("patched values: {e}")))?;
        crate::http::extract::parse_json(&bytes)
    }
}

/// RFC 7396 §2: objects merge member by member, `null` removes, anything else replaces.
fn merge(target: &mut serde_json::Value, patch: serde_json::Value) {
    use serde_json::Value;
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Value::Object(fields) = target else {
        return;
    };
    for (name, value) in patch {
        if value.is_null() {
            fields.remove(&name);
        } else {
            merge(fields.entry(name).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod merge_patch_tests {
    use serde_json::json;

    #[test]
    fn a_merge_patch_changes_what_it_names_and_clears_what_it_nulls() {
        // RFC 7396 appendix A, a few of its cases.
        for (target, patch, result) in [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
        ] {
            let mut t = target.clone();
            super::merge(&mut t, patch.clone());
            assert_eq!(t, result, "{target} + {patch}");
        }
    }
}
