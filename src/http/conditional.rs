//! Conditional GETs: every successful GET answer carries an `ETag` (the record's version where it
//! has one, otherwise a hash of the body), and `If-None-Match` with that tag answers
//! `304 Not Modified` without the body — a mini-program that keeps its copy of the handbook
//! re-downloads it only when it changed.

use actix_web::{
    body::{self, BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        header::{self, HeaderValue},
        Method, StatusCode,
    },
    middleware::Next,
    Error, HttpResponse,
};
use sha2::{Digest, Sha256};

/// A weak tag of a body: `W/"<first 16 bytes of SHA-256, hex>"`.
pub fn body_tag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("W/\"{}\"", hex::encode(&digest[..16]))
}

/// Does an `If-None-Match` value name `tag`? Weak comparison (RFC 9110 §13.1.2).
pub fn matches(if_none_match: &str, tag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let tag = opaque(tag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || opaque(t) == tag)
}

pub async fn conditional_get(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::GET || !req.path().starts_with("/api/") {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let existing = response.headers().get(header::ETAG).cloned();
    let (mut head, body) = response.into_parts();
    let bytes = match body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(ServiceResponse::new(
                http_req,
                HttpResponse::InternalServerError().finish(),
            ))
        }
    };
    let tag = match existing {
        Some(t) => t,
        None => {
            let t = HeaderValue::from_str(&body_tag(&bytes))
                .unwrap_or_else(|_| HeaderValue::from_static("W/\"\""));
            head.headers_mut().insert(header::ETAG, t.clone());
            t
        }
    };
    let unchanged = if_none_match
        .as_deref()
        .zip(tag.to_str().ok())
        .is_some_and(|(inm, tag)| matches(inm, tag));
    if unchanged {
        let mut not_modified = HttpResponse::NotModified();
        not_modified.insert_header((header::ETAG, tag));
        return Ok(ServiceResponse::new(http_req, not_modified.finish()));
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison_and_lists() {
        let tag = body_tag(b"{}");
        assert!(tag.starts_with("W/\""));
        assert!(matches(&tag, &tag));
        assert!(matches(&tag[2..], &tag), "strong form of the same tag");
        assert!(matches(&format!("\"x\", {tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert_eq!(body_tag(b"{}"), tag, "stable");
        assert_ne!(body_tag(b"{ }"), tag);
    }
}
