//! Request extractors that validate before a handler runs.
//!
//! [`ValidJson`] checks the content type and size, parses with the JSON path of any error, rejects
//! unknown fields (each request type carries `#[serde(deny_unknown_fields)]`) and then runs
//! `validator` rules, reporting every invalid field at once as a 422.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, error::PayloadError, web, FromRequest, HttpMessage, HttpRequest};
use serde::de::DeserializeOwned;
use validator::Validate;

pub use super::field_errors::validate;
use super::field_errors::{field_and_code, json_error, pointer, strip_position};
use crate::error::{AppError, FieldError};

/// The earliest date any record may carry (also keeps date arithmetic far from chrono's limits).
pub fn earliest_date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(chrono::NaiveDate::MIN)
}

/// A date from 1900-01-01 to today in China (visits, results, registrations are never in the future).
pub fn not_future(date: &chrono::NaiveDate) -> Result<(), validator::ValidationError> {
    if *date > crate::time::china_today() {
        let mut e = validator::ValidationError::new("future");
        e.message = Some("cannot be in the future".into());
        Err(e)
    } else if *date < earliest_date() {
        let mut e = validator::ValidationError::new("range");
        e.message = Some("cannot be before 1900-01-01".into());
        Err(e)
    } else {
        Ok(())
    }
}

/// The maximum body size, set once as app data from configuration.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Request id and client address, put into request extensions by the request middleware.
#[derive(Clone, Debug)]
pub struct RequestCtx {
    pub request_id: String,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestCtx {
    /// The context for work not started by a request (command line, start-up).
    pub fn system() -> Self {
        RequestCtx {
            request_id: String::from("cli"),
            client_addr: None,
            user_agent: None,
        }
    }
}

impl FromRequest for RequestCtx {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<RequestCtx>()
                .cloned()
                .ok_or_else(|| AppError::internal("request context middleware not installed")),
        )
    }
}

/// A JSON body that parsed and passed its validation rules.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> FromRequest for ValidJson<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(256 * 1024, |l| l.0);
        let is_json = matches!(req.mime_type(), Ok(Some(m))
            if m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json")));
        let declared_too_large = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|len| len > limit);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(AppError::UnsupportedMediaType);
            }
            if declared_too_large {
                return Err(AppError::PayloadTooLarge(limit));
            }
            let bytes = bytes
                .await
                .map_err(|e| match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => AppError::PayloadTooLarge(limit),
                    _ => AppError::BadRequest("the request body could not be read".into()),
                })?;
            parse_json(&bytes).map(ValidJson)
        })
    }
}

/// Parses and validates a JSON document (the body of [`ValidJson`]).
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, AppError> {
    if contains_nul_escape(bytes) {
        // Name the fields that hold one (the document as a whole when it does not parse).
        let mut fields = Vec::new();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
            nul_pointers(&v, String::new(), &mut fields);
        }
        if fields.is_empty() {
            fields.push(String::new());
        }
        return Err(AppError::Validation(
            fields
                .into_iter()
                .map(|f| FieldError::new(f, "nul_character", "text may not contain NUL characters"))
                .collect(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(e, bytes))?;
    de.end()
        .map_err(|e| AppError::MalformedBody(strip_position(&e.to_string())))?;
    validate(&value)?;
    Ok(value)
}

/// Query parameters that parsed and passed their validation rules.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

impl<T> FromRequest for ValidQuery<T>
where
    T: DeserializeOwned + Validate + 'static,
{
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(ValidQuery))
    }
}

pub fn parse_query<T: DeserializeOwned + Validate>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = pointer(e.path());
        let message = e.inner().to_string();
        let (field, code, message) = field_and_code(&path, &message);
        AppError::Validation(vec![FieldError::new(field, code, message)])
    })?;
    validate(&value)?;
    Ok(value)
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// True when a JSON text contains the escape `\u0000` (a NUL character, which PostgreSQL text
/// cannot hold and no field of ours accepts). Raw control bytes are already a JSON syntax error.
/// JSON pointers (RFC 6901) of the strings and keys that contain a NUL character.
fn nul_pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        serde_json::Value::String(s) if s.contains('\0') => out.push(at),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_pointers(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                let here = format!("{at}/{}", escape(k));
                if k.contains('\0') {
                    out.push(here.clone());
                }
                nul_pointers(item, here, out);
            }
        }
        _ => {}
    }
}

fn contains_nul_escape(bytes: &[u8]) -> bool {
    let mut backslashes = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && (b == b'u' || b == b'U') {
            let hex = bytes.get(i + 1..i + 5);
            if hex.is_some_and(|h| h.iter().all(|&c| c == b'0')) {
                return true;
            }
        }
        backslashes = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[validate(length(min = 3, max = 8))]
        name: String,
        #[validate(range(min = 1, max = 10))]
        count: i64,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[validate(length(min = 1))]
        label: String,
    }

    fn fields(e: AppError) -> Vec<(String, String)> {
        match e {
            AppError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn every_invalid_field_is_named_with_a_json_pointer() {
        let e = parse_json::<Sample>(
            br#"{"name":"x","count":99,"items":[{"label":"ok"},{"label":""}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            fields(e),
            vec![
                ("/count".into(), "range".into()),
                ("/items/1/label".into(), "length".into()),
                ("/name".into(), "length".into())
            ]
        );
    }

    #[test]
    fn unknown_missing_and_mistyped_fields_are_422_with_their_path() {
        let e = parse_json::<Sample>(br#"{"name":"abc","count":1,"owner":"me"}"#).unwrap_err();
        assert_eq!(fields(e), vec![("/owner".into(), "unknown_field".into())]);
        let e = parse_json::<Sample>(br#"{"name":"abc"}"#).unwrap_err();
        assert_eq!(fields(e), vec![("/count".into(), "required".into())]);
        let e =
            parse_json::<Sample>(br#"{"name":"abc","count":1,"items":[{"label":5}]}"#).unwrap_err();
        assert_eq!(
            fields(e),
            vec![("/items/0/label".into(), "invalid_type".into())]
        );
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct WithEnum {
        #[allow(dead_code)]
        relation: Relation,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Relation {
        Clinic,
        Family,
    }

    fn messages(e: AppError) -> Vec<(String, String, String)> {
        match e {
            AppError::Validation(errors) => errors
                .into_iter()
                .map(|e| (e.field, e.code, e.message))
                .collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn messages_name_allowed_values_not_parser_internals() {
        let e = parse_json::<WithEnum>(br#"{"relation":"neighbour"}"#).unwrap_err();
        assert_eq!(
            messages(e),
            vec![(
                "/relation".into(),
                "invalid_value".into(),
                "must be one of: clinic, family".into()
            )]
        );
        let e = parse_json::<Sample>(br#"{"name":"abc","count":"3"}"#).unwrap_err();
        assert_eq!(
            messages(e),
            vec![(
                "/count".into(),
                "invalid_type".into(),
                "must be a whole number".into()
            )]
        );
        let e = parse_json::<Sample>(br#"{"name":"abc"}"#).unwrap_err();
        assert_eq!(
            messages(e),
            vec![("/count".into(), "required".into(), "is required".into())]
        );
        #[derive(Debug, Deserialize, Validate)]
        struct Unsigned {
            #[allow(dead_code)]
            n: u32,
        }
        let e = parse_json::<Unsigned>(br#"{"n":-1}"#).unwrap_err();
        assert_eq!(
            messages(e),
            vec![(
                "/n".into(),
                "invalid_value".into(),
                "must be a whole number, 0 or more".into()
            )]
        );
        for body in [
            &br#"{"relation":5}"#[..],
            br#"{"relation":"x"}"#,
            br#"{"relation":"clinic","x":1}"#,
        ] {
            let text = format!("{:?}", messages(parse_json::<WithEnum>(body).unwrap_err()));
            for leak in ["`", "variant", "struct", "i64", "serde"] {
                assert!(!text.contains(leak), "{text}");
            }
        }
    }

    #[test]
    fn broken_json_is_a_malformed_body_not_a_validation_error() {
        for body in [
            &b"{\"name\": "[..],
            b"not json",
            b"{\"name\":\"abc\",\"count\":1} trailing",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse_json::<Sample>(body), Err(AppError::MalformedBody(_))),
                "{body:?}"
            );
        }
        // Deep nesting never overflows the stack: a type error where a struct wants a string,
        // serde_json's recursion limit where any value is accepted.
        let deep = format!("{{\"name\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_json::<Sample>(deep.as_bytes()).unwrap_err();
        assert_eq!(fields(e), vec![("/name".into(), "invalid_type".into())]);
        let any = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = serde_json::from_str::<serde_json::Value>(&any).unwrap_err();
        assert!(err.to_string().contains("recursion limit"));
    }

    #[test]
    fn nul_characters_are_refused_but_escaped_backslashes_are_not_confused_with_them() {
        assert!(contains_nul_escape(br#"{"name":"a\u0000b"}"#));
        assert!(!contains_nul_escape(br#"{"name":"a\\u0000b"}"#));
        assert!(contains_nul_escape(br#"{"name":"a\\\u0000b"}"#));
    }
}
