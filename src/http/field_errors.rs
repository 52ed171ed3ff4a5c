//! From a parser's or validator's complaint to the fields a person can fix: every invalid field
//! as a JSON pointer with a listed code and plain words (no Rust type names, no serde phrasing;
//! an enum's allowed values listed). Used by the extractors in [`super::extract`].

use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{AppError, FieldError};

/// Runs `value`'s validation rules: 422 naming each field with a message that never repeats
/// the value (a rejected password is not echoed).
pub fn validate<T: Validate>(value: &T) -> Result<(), AppError> {
    value.validate().map_err(|errors| {
        let mut out = Vec::new();
        flatten(&errors, String::new(), &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        AppError::Validation(out)
    })
}

fn flatten(errors: &ValidationErrors, prefix: String, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = format!("{prefix}/{}", escape_pointer(field));
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError::new(
                        path.clone(),
                        e.code.to_string(),
                        describe(e),
                    ));
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    flatten(inner, format!("{path}/{index}"), out);
                }
            }
        }
    }
}

/// A readable message for a validator error when the rule did not give one.
fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match (e.code.as_ref(), param("min"), param("max"), param("equal")) {
        ("length", _, _, Some(eq)) => format!("must have exactly {eq} characters or items"),
        ("length", Some(min), Some(max), _) => {
            format!("must have {min} to {max} characters or items")
        }
        ("length", Some(min), None, _) => format!("must have at least {min} characters or items"),
        ("length", None, Some(max), _) => format!("must have at most {max} characters or items"),
        ("range", Some(min), Some(max), _) => format!("must be between {min} and {max}"),
        ("range", Some(min), None, _) => format!("must be at least {min}"),
        ("range", None, Some(max), _) => format!("must be at most {max}"),
        ("email", ..) => "must be an email address".into(),
        ("regex", ..) => "has an invalid format".into(),
        (code, ..) => code.replace('_', " "),
    }
}

pub(super) fn json_error(
    e: serde_path_to_error::Error<serde_json::Error>,
    bytes: &[u8],
) -> AppError {
    use serde_json::error::Category;
    let message = strip_position(&e.inner().to_string());
    // serde_json reports a number or list where an enum's name belongs as a syntax error
    // ("expected value"); the document itself is valid JSON, so it is the field's type.
    if e.inner().classify() == Category::Syntax
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        let path = pointer(e.path());
        return AppError::Validation(vec![FieldError::new(
            path,
            "invalid_type",
            "must be one of the allowed names (text)",
        )]);
    }
    match e.inner().classify() {
        Category::Data => {
            let (field, code, message) = field_and_code(&pointer(e.path()), &message);
            AppError::Validation(vec![FieldError::new(field, code, message)])
        }
        Category::Syntax | Category::Eof | Category::Io => {
            AppError::MalformedBody(e.inner().to_string())
        }
    }
}

/// serde names a missing or unknown field in its message, not in the path: move it to the path.
/// The message is rewritten for a person (no Rust type names or serde phrasing); an enum's
/// allowed values are listed.
pub(super) fn field_and_code(path: &str, message: &str) -> (String, &'static str, String) {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = named("missing field `") {
        (
            format!("{path}/{}", escape_pointer(&name)),
            "required",
            "is required".into(),
        )
    } else if let Some(name) = named("unknown field `") {
        // The path already ends at the unknown key.
        let suffix = format!("/{}", escape_pointer(&name));
        let field = if path.ends_with(&suffix) {
            path.to_string()
        } else {
            format!("{path}{suffix}")
        };
        (
            field,
            "unknown_field",
            "is not a field of this request".into(),
        )
    } else if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split(", expected ").nth(1).unwrap_or("another type");
        (
            path.to_string(),
            "invalid_type",
            format!("must be {}", plain_type(expected)),
        )
    } else if message.starts_with("invalid length") {
        (
            path.to_string(),
            "length",
            "has the wrong number of items".into(),
        )
    } else if message.starts_with("unknown variant `") {
        let allowed: Vec<&str> = message
            .split(", expected ")
            .nth(1)
            .unwrap_or("")
            .split('`')
            .skip(1)
            .step_by(2)
            .collect();
        let text = if allowed.is_empty() {
            "is not an allowed value".to_string()
        } else {
            format!("must be one of: {}", allowed.join(", "))
        };
        (path.to_string(), "invalid_value", text)
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        // e.g. "invalid value: integer `-1`, expected u32"
        let expected = rest.split(", expected ").nth(1).unwrap_or("");
        let unsigned = ["u8", "u16", "u32", "u64", "usize"].contains(&expected.trim());
        let text = if unsigned {
            "must be a whole number, 0 or more".to_string()
        } else {
            format!("must be {}", plain_type(expected))
        };
        (path.to_string(), "invalid_value", text)
    } else if let Some((code, text)) = crate::error::fields::split_coded(message) {
        // One of our own value types (a gestational age …) named its code.
        (path.to_string(), code, text.to_string())
    } else {
        // A message of one of our own parsers (dates, codes): plain words already; never a
        // quoted Rust value.
        (path.to_string(), "invalid_value", message.replace('`', ""))
    }
}

/// What serde expected, in words a person reads.
fn plain_type(expected: &str) -> &'static str {
    let e = expected.trim();
    if e.contains("string") || e.starts_with("a date") || e.starts_with("a formatted") {
        "text"
    } else if e.contains("bool") {
        "true or false"
    } else if [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "integer",
    ]
    .iter()
    .any(|t| e.contains(t))
    {
        "a whole number"
    } else if e.contains("f32") || e.contains("f64") || e.contains("float") || e.contains("number")
    {
        "a number"
    } else if e.contains("sequence") || e.contains("array") || e.contains("tuple") {
        "a list"
    } else if e.starts_with("struct") || e.contains("map") || e.starts_with("enum") {
        "an object"
    } else {
        "another type"
    }
}

pub(super) fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{}", escape_pointer(key))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}

fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

pub(super) fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}
