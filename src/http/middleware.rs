//! The request middleware: request id, client address, security headers, structured access log.

use std::time::Instant;

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
    Error, HttpMessage,
};
use tracing::Instrument;

use super::extract::RequestCtx;
use crate::error::{AppError, Lang};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// An incoming `X-Request-Id` is echoed when it is 1–64 characters of `[A-Za-z0-9._-]`;
/// anything else is replaced by a fresh UUIDv7.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(&REQUEST_ID)?.to_str().ok()?;
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then(|| value.to_string())
}

/// The TCP peer, or — when configured to trust a reverse proxy — the address the proxy put last
/// in `X-Forwarded-For`.
fn client_address(req: &ServiceRequest) -> Option<String> {
    let trust = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .is_some_and(|s| s.settings.trust_forwarded_for);
    if trust {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<std::net::IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(ip.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_string())
}

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = incoming_request_id(&req).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let client_addr = client_address(&req);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(256).collect());
    req.extensions_mut().insert(RequestCtx {
        request_id: request_id.clone(),
        client_addr: client_addr.clone(),
        user_agent,
    });
    let method = req.method().to_string();
    let path = req.path().to_string();
    let is_docs = path.starts_with("/docs");

    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %request_id);

    let mut res = next.call(req).instrument(span.clone()).await?;

    let status = res.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            let error = res
                .response()
                .error()
                .map(|e| e.to_string())
                .unwrap_or_default();
            let client = client_addr.as_deref().unwrap_or("-");
            tracing::error!(%method, %path, status, latency_ms, client, %error, "request failed");
        } else {
            let client = client_addr.as_deref().unwrap_or("-");
            tracing::info!(%method, %path, status, latency_ms, client, "request");
        }
    });

    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    let fixed: [(HeaderName, &str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !is_docs {
        // API responses carry personal data: no script, no framing, no caching.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Error answers in the client's language (`Accept-Language`): the problem document is rendered
/// again from the error that made it (titles, details and field messages from
/// [`crate::error::codes`]). Wrapped inside `Compress`, so the body it replaces is not yet encoded.
pub async fn localise_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let res = next.call(req).await?;
    Ok(localise(res, lang))
}

fn localise<B>(res: ServiceResponse<B>, lang: Lang) -> ServiceResponse<EitherBody<B, String>> {
    let error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>());
    let is_problem = error.is_some();
    let localised = match (lang, error) {
        (Lang::Zh, Some(e)) => Some(serde_json::to_string(&e.problem_in(lang)).unwrap_or_default()),
        _ => None,
    };
    let mut res = match localised {
        None => res.map_into_left_body(),
        Some(body) => {
            let mut res = res.map_body(|_, _| EitherBody::right(body));
            // The Chinese text is Simplified Chinese, whichever zh tag was asked for.
            res.headers_mut()
                .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("zh-CN"));
            res
        }
    };
    if is_problem {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
    res
}

/// An address with a NUL character (`%00`) in its path or query is refused with 400 before
/// routing: no field of ours holds one, and PostgreSQL text cannot (it answered 500).
pub async fn refuse_nul_in_address(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let uri = req.uri();
    let nul = uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00"));
    if nul {
        let error = AppError::BadRequest("the address may not contain NUL characters (%00)".into());
        return Ok(req
            .into_response(actix_web::HttpResponse::from_error(error))
            .map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// A 404 from the API documentation's files (`/docs/…`) is a problem document like every other
/// (issue #14: Swagger UI's own 404 was plain text).
pub async fn docs_not_found_as_problem(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let under_docs = req.path().starts_with("/docs/");
    let res = next.call(req).await?;
    if under_docs
        && res.status() == actix_web::http::StatusCode::NOT_FOUND
        && res.response().error().is_none()
    {
        let (req, _) = res.into_parts();
        let res = actix_web::HttpResponse::from_error(AppError::NotFound);
        return Ok(ServiceResponse::new(req, res).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}
