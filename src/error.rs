//! The one error type of the service, rendered as RFC 9457 `application/problem+json`.
//!
//! Each variant has a stable snake_case `code` and an explicit HTTP status; clients branch on
//! `code`, people read `title` and `detail`. Internal errors are logged with the request id by
//! the request middleware and never leak detail to the client.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"field": "/username", "code": "length", "message": "must be 3 to 64 characters"}))]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field in the request body, or `/<name>` of a query parameter.
    pub field: String,
    /// Stable machine-readable reason, e.g. `required`, `length`, `range`, `invalid_type`, `unknown_field`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        FieldError {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details, the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:mch-handbook:problem:validation_failed",
    "title": "The request has invalid fields",
    "status": 422,
    "code": "validation_failed",
    "detail": "2 fields are invalid",
    "errors": [
        {"field": "/username", "code": "length", "message": "must be 3 to 64 characters"},
        {"field": "/roles", "code": "length", "message": "must have at least 1 item"}
    ]
}))]
pub struct Problem {
    /// `urn:mch-handbook:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable snake_case error code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every invalid field, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("malformed request body: {0}")]
    MalformedBody(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large (limit {0} bytes)")]
    PayloadTooLarge(usize),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid or expired access token")]
    InvalidToken,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("the WeChat login code was rejected")]
    WechatCodeInvalid,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(Vec<String>),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the record changed since the version named in If-Match")]
    PreconditionFailed { current_version: i64 },
    #[error("If-Match with the version being replaced is required")]
    PreconditionRequired,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    DatabaseUnavailable,
    #[error("{detail}")]
    Unavailable { code: &'static str, detail: String },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(context: impl Into<String>) -> Self {
        AppError::Internal(context.into())
    }

    /// A 422 for one field, for checks that need the database (e.g. a referenced row must exist).
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The stable code, status and title of each error: the one table clients rely on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::MalformedBody(_) => "malformed_body",
            AppError::BadRequest(_) => "bad_request",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidToken => "invalid_token",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidRefreshToken => "invalid_refresh_token",
            AppError::WechatCodeInvalid => "wechat_code_invalid",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict { code, .. } => code,
            AppError::PreconditionFailed { .. } => "version_mismatch",
            AppError::PreconditionRequired => "if_match_required",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::DatabaseUnavailable => "database_unavailable",
            AppError::Unavailable { code, .. } => code,
            AppError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "The request has invalid fields",
            AppError::MalformedBody(_) => "The request body is not valid JSON",
            AppError::BadRequest(_) => "The request is malformed",
            AppError::UnsupportedMediaType => "The request body must be application/json",
            AppError::PayloadTooLarge(_) => "The request body is too large",
            AppError::Unauthenticated => "Authentication is required",
            AppError::InvalidToken => "The access token is invalid or expired",
            AppError::InvalidCredentials => "Invalid username or password",
            AppError::InvalidRefreshToken => {
                "The refresh token is invalid, expired or already used"
            }
            AppError::WechatCodeInvalid => "WeChat rejected the login code",
            AppError::Forbidden => "Your role may not do this",
            AppError::NotFound => "Not found",
            AppError::MethodNotAllowed(_) => "Method not allowed",
            AppError::Conflict { .. } => "Conflict with the current state",
            AppError::PreconditionFailed { .. } => "The record was changed by someone else",
            AppError::PreconditionRequired => "Name the version you are replacing in If-Match",
            AppError::TooManyRequests { .. } => "Too many attempts; try again later",
            AppError::DatabaseUnavailable => "The database is busy or unreachable; try again",
            AppError::Unavailable { .. } => "A service this request needs is unavailable",
            AppError::Internal(_) => "Internal server error",
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            AppError::Validation(errors) => Some(match errors.len() {
                1 => "1 field is invalid".to_string(),
                n => format!("{n} fields are invalid"),
            }),
            AppError::MalformedBody(d) | AppError::BadRequest(d) => Some(d.clone()),
            AppError::PayloadTooLarge(limit) => Some(format!("the limit is {limit} bytes")),
            AppError::MethodNotAllowed(allow) => Some(format!("allowed: {}", allow.join(", "))),
            AppError::PreconditionFailed { current_version } => Some(format!(
                "the current version is {current_version}; read it again and reapply your change"
            )),
            AppError::Conflict { detail, .. } | AppError::Unavailable { detail, .. } => {
                Some(detail.clone())
            }
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let code = self.code();
        Problem {
            type_: format!("urn:mch-handbook:problem:{code}"),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            code: code.to_string(),
            detail: self.detail(),
            errors: match self {
                AppError::Validation(errors) => errors.clone(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::MalformedBody(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unauthenticated
            | AppError::InvalidToken
            | AppError::InvalidCredentials
            | AppError::InvalidRefreshToken
            | AppError::WechatCodeInvalid => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::DatabaseUnavailable | AppError::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            AppError::DatabaseUnavailable | AppError::Unavailable { .. } => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            AppError::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            AppError::PreconditionFailed { current_version } => {
                response.insert_header((
                    header::ETAG,
                    crate::http::versioning::etag(*current_version),
                ));
            }
            AppError::Unauthenticated | AppError::InvalidToken => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => AppError::conflict(
                "already_exists",
                format!("already exists ({})", info.message()),
            ),
            Error::DatabaseError(
                DatabaseErrorKind::SerializationFailure
                | DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => AppError::DatabaseUnavailable,
            // SQLite's busy timeout ran out waiting for the write lock, or PostgreSQL broke a
            // deadlock between two writers of the same handbook (the revision triggers of
            // migration 000013 lock its row): busy, not broken; the retry succeeds.
            Error::DatabaseError(_, info)
                if info.message().contains("database is locked")
                    || info.message().contains("database table is locked")
                    || info.message().contains("deadlock detected") =>
            {
                AppError::DatabaseUnavailable
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn every_error_renders_problem_json_with_its_code() {
        let cases = [
            (AppError::NotFound, 404, "not_found"),
            (AppError::Forbidden, 403, "forbidden"),
            (
                AppError::TooManyRequests {
                    retry_after_secs: 30,
                },
                429,
                "too_many_requests",
            ),
            (AppError::DatabaseUnavailable, 503, "database_unavailable"),
            (
                AppError::internal("secret table name"),
                500,
                "internal_error",
            ),
        ];
        for (error, status, code) in cases {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/problem+json"
            );
            let body = response.into_body().try_into_bytes().unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["code"], code);
            assert_eq!(json["status"], status);
            assert!(!String::from_utf8_lossy(&body).contains("secret table"));
        }
    }

    #[test]
    fn throttling_and_unavailability_say_when_to_retry() {
        let r = AppError::TooManyRequests {
            retry_after_secs: 42,
        }
        .error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "42");
        let r = AppError::DatabaseUnavailable.error_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "1");
    }
}
