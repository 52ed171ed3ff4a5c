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

pub mod codes;
pub mod fields;
pub use codes::{Code, Lang};

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"field": "/username", "code": "length", "message": "must be 3 to 64 characters"}))]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the field in the request body, or `/<name>` of a query parameter.
    pub field: String,
    /// Stable machine-readable reason (the document lists every code with its meaning).
    #[schema(schema_with = field_code_schema)]
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
#[schema(example = crate::openapi::examples::problem)]
pub struct Problem {
    /// `urn:mch-handbook:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    /// Stable snake_case error code (the document lists every code with its meaning).
    #[schema(schema_with = problem_code_schema)]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every invalid field, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

fn problem_code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    codes::document().0
}

fn field_code_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    codes::document().1
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
    /// 403 for a reason the caller can act on (a code of status 403 other than `forbidden`).
    #[error("{detail}")]
    Refused { code: Code, detail: String },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(Vec<String>),
    #[error("{detail}")]
    Conflict { code: Code, detail: String },
    #[error("the record changed since the version named in If-Match")]
    PreconditionFailed { current_version: i64 },
    #[error("If-Match with the version being replaced is required")]
    PreconditionRequired,
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("the database is unavailable")]
    DatabaseUnavailable,
    #[error("{detail}")]
    Unavailable { code: Code, detail: String },
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

    /// The same error with a field error on `from` reported on `to` (a shared check called by
    /// a request whose body names the field differently).
    pub fn at_field(mut self, from: &str, to: &str) -> Self {
        if let AppError::Validation(fields) = &mut self {
            for f in fields.iter_mut().filter(|f| f.field == from) {
                f.field = to.to_string();
            }
        }
        self
    }

    pub fn conflict(code: Code, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            detail: detail.into(),
        }
    }

    /// The stable code of each error; its status and titles are in [`codes`].
    pub fn code(&self) -> Code {
        match self {
            AppError::Validation(_) => Code::ValidationFailed,
            AppError::MalformedBody(_) => Code::MalformedBody,
            AppError::BadRequest(_) => Code::BadRequest,
            AppError::UnsupportedMediaType => Code::UnsupportedMediaType,
            AppError::PayloadTooLarge(_) => Code::PayloadTooLarge,
            AppError::Unauthenticated => Code::Unauthenticated,
            AppError::InvalidToken => Code::InvalidToken,
            AppError::InvalidCredentials => Code::InvalidCredentials,
            AppError::InvalidRefreshToken => Code::InvalidRefreshToken,
            AppError::WechatCodeInvalid => Code::WechatCodeInvalid,
            AppError::Forbidden => Code::Forbidden,
            AppError::NotFound => Code::NotFound,
            AppError::MethodNotAllowed(_) => Code::MethodNotAllowed,
            AppError::Conflict { code, .. }
            | AppError::Unavailable { code, .. }
            | AppError::Refused { code, .. } => *code,
            AppError::PreconditionFailed { .. } => Code::VersionMismatch,
            AppError::PreconditionRequired => Code::IfMatchRequired,
            AppError::TooManyRequests { .. } => Code::TooManyRequests,
            AppError::DatabaseUnavailable => Code::DatabaseUnavailable,
            AppError::Internal(_) => Code::InternalError,
        }
    }

    fn detail(&self, lang: Lang) -> Option<String> {
        let zh = lang == Lang::Zh;
        match self {
            AppError::Validation(errors) => Some(match (zh, errors.len()) {
                (true, n) => format!("有 {n} 项填写有误"),
                (false, 1) => "1 field is invalid".to_string(),
                (false, n) => format!("{n} fields are invalid"),
            }),
            AppError::PayloadTooLarge(limit) if zh => {
                Some(format!("请求内容不能超过 {limit} 字节"))
            }
            AppError::PayloadTooLarge(limit) => Some(format!("the limit is {limit} bytes")),
            AppError::MethodNotAllowed(allow) if zh => {
                Some(format!("允许的方法：{}", allow.join(", ")))
            }
            AppError::MethodNotAllowed(allow) => Some(format!("allowed: {}", allow.join(", "))),
            AppError::PreconditionFailed { current_version } if zh => {
                Some(format!("当前版本为 v{current_version}，请重新读取后再修改"))
            }
            AppError::PreconditionFailed { current_version } => Some(format!(
                "the current version is {current_version}; read it again and reapply your change"
            )),
            _ if zh => Some(self.code().zh_detail().to_string()),
            AppError::MalformedBody(d) | AppError::BadRequest(d) => Some(d.clone()),
            AppError::Conflict { detail, .. }
            | AppError::Unavailable { detail, .. }
            | AppError::Refused { detail, .. } => Some(detail.clone()),
            _ => None,
        }
    }

    /// The problem document in English.
    pub fn problem(&self) -> Problem {
        self.problem_in(Lang::En)
    }

    /// The problem document in `lang`: title, detail and each field's message.
    pub fn problem_in(&self, lang: Lang) -> Problem {
        let code = self.code();
        Problem {
            type_: format!("urn:mch-handbook:problem:{}", code.as_str()),
            title: code.title(lang).to_string(),
            status: code.status(),
            code: code.as_str().to_string(),
            detail: self.detail(lang),
            errors: match self {
                AppError::Validation(errors) => errors
                    .iter()
                    .map(|e| match lang {
                        Lang::En => e.clone(),
                        Lang::Zh => FieldError {
                            message: fields::field_message_zh(&e.code).to_string(),
                            ..e.clone()
                        },
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::conflict(Code::AlreadyExists, {
                    tracing::warn!(
                        error = info.message(),
                        "unique violation answered as already_exists"
                    );
                    "a record with these values already exists".to_string()
                })
            }
            // A reference to a row that does not exist (an id a handler did not check): the
            // request's fault, not the server's.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                tracing::warn!(
                    error = info.message(),
                    "foreign key violation answered as 422"
                );
                AppError::Validation(vec![FieldError::new(
                    "",
                    "not_found",
                    "a record this request names does not exist",
                )])
            }
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
    fn a_foreign_key_violation_is_the_request_s_fault_and_names_no_table() {
        struct Info;
        impl diesel::result::DatabaseErrorInformation for Info {
            fn message(&self) -> &str {
                "insert or update on table \"risk_cases\" violates foreign key constraint"
            }
            fn details(&self) -> Option<&str> {
                None
            }
            fn hint(&self) -> Option<&str> {
                None
            }
            fn table_name(&self) -> Option<&str> {
                None
            }
            fn column_name(&self) -> Option<&str> {
                None
            }
            fn constraint_name(&self) -> Option<&str> {
                None
            }
            fn statement_position(&self) -> Option<i32> {
                None
            }
        }
        let e = AppError::from(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ForeignKeyViolation,
            Box::new(Info),
        ));
        let p = e.problem();
        assert_eq!((p.status, p.code.as_str()), (422, "validation_failed"));
        assert_eq!(p.errors[0].code, "not_found");
        assert!(!serde_json::to_string(&p).unwrap().contains("risk_cases"));
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
