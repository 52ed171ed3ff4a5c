//! Access tokens (short-lived HS256 JWTs) and refresh tokens (opaque, stored only as a hash).

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::AppError;

const ISSUER: &str = "mch-handbook";

/// Who a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Staff,
    Family,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Staff => "staff",
            SubjectKind::Family => "family",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Account id.
    pub sub: String,
    pub kind: SubjectKind,
    /// Session id: logout or refresh-token reuse revokes it, and with it this token.
    pub sid: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration, refresh_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    pub fn issue_access(
        &self,
        kind: SubjectKind,
        subject_id: &str,
        session_id: &str,
    ) -> Result<String, AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject_id.to_string(),
            kind,
            sid: session_id.to_string(),
            iss: ISSUER.to_string(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::internal(format!("signing token: {e}")))
    }

    /// Checks signature (HS256 only: `alg: none` and every other algorithm are refused),
    /// issuer and expiry.
    pub fn verify_access(&self, token: &str) -> Result<Claims, AppError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::InvalidToken)
    }
}

/// A new refresh token: 32 random bytes, prefixed so it is recognisable in a leak scan.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("mchr_{}", B64URL.encode(bytes))
}

/// What the database keeps of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &[7u8; 32],
            Duration::from_secs(900),
            Duration::from_secs(86400),
        )
    }

    #[test]
    fn a_token_round_trips() {
        let k = keys();
        let token = k
            .issue_access(SubjectKind::Staff, "staff-1", "session-1")
            .unwrap();
        let claims = k.verify_access(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.kind, claims.sid.as_str()),
            ("staff-1", SubjectKind::Staff, "session-1")
        );
    }

    #[test]
    fn wrong_key_tampered_and_unsigned_tokens_are_refused() {
        let k = keys();
        let token = k.issue_access(SubjectKind::Family, "f-1", "s-1").unwrap();
        let other = TokenKeys::new(
            &[8u8; 32],
            Duration::from_secs(900),
            Duration::from_secs(86400),
        );
        assert!(other.verify_access(&token).is_err());

        let parts: Vec<&str> = token.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = "someone-else".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            B64URL.encode(claims.to_string()),
            parts[2]
        );
        assert!(k.verify_access(&tampered).is_err());

        let none_header = B64URL.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(k.verify_access(&unsigned).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert!(!hash_refresh_token(&a).contains(&a[5..]));
    }
}
