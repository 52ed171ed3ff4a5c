//! Field encryption for identity numbers: AES-256-GCM with a random nonce per value, and a keyed
//! hash (blind index) for exact lookup without decrypting. Both keys are derived from the one
//! field key (`MCH_FIELD_KEY` or `data/keys/field.key`) with HMAC-SHA256 and distinct labels.

use aes_gcm::{
    aead::{Aead, KeyInit},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const VERSION: &str = "v1";

pub struct FieldCipher {
    aead: Aes256Gcm,
    index_key: [u8; 32],
}

fn derive(key: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

#[derive(Debug, thiserror::Error)]
#[error("an encrypted field could not be decrypted (wrong key or damaged value)")]
pub struct DecryptError;

impl FieldCipher {
    pub fn new(field_key: &[u8; 32]) -> Self {
        let enc = derive(field_key, "mch-handbook field encryption v1");
        FieldCipher {
            aead: Aes256Gcm::new_from_slice(&enc).expect("32-byte key"),
            index_key: derive(field_key, "mch-handbook blind index v1"),
        }
    }

    /// `v1:<base64(nonce ‖ ciphertext ‖ tag)>`.
    pub fn encrypt(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .aead
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("AES-GCM encryption cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{VERSION}:{}", B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, DecryptError> {
        let body = stored.strip_prefix("v1:").ok_or(DecryptError)?;
        let bytes = B64.decode(body).map_err(|_| DecryptError)?;
        if bytes.len() < 12 + 16 {
            return Err(DecryptError);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain).map_err(|_| DecryptError)
    }

    /// Deterministic keyed hash of a normalised value, for equality lookup.
    pub fn blind_index(&self, kind: &str, normalised: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(kind.as_bytes());
        mac.update(b"\x00");
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_round_trips_and_hides_the_value() {
        let c = FieldCipher::new(&[1u8; 32]);
        let a = c.encrypt("11010519491231002X");
        let b = c.encrypt("11010519491231002X");
        assert_ne!(a, b, "random nonce");
        assert!(!a.contains("1949"));
        assert_eq!(c.decrypt(&a).unwrap(), "11010519491231002X");
        let other = FieldCipher::new(&[2u8; 32]);
        assert!(other.decrypt(&a).is_err());
        let mut tampered = a.clone();
        tampered.pop();
        tampered.push(if a.ends_with('A') { 'B' } else { 'A' });
        assert!(c.decrypt(&tampered).is_err());
    }

    #[test]
    fn the_blind_index_is_deterministic_keyed_and_typed() {
        let c = FieldCipher::new(&[1u8; 32]);
        assert_eq!(
            c.blind_index("resident_id", "X1"),
            c.blind_index("resident_id", "X1")
        );
        assert_ne!(
            c.blind_index("resident_id", "X1"),
            c.blind_index("passport", "X1")
        );
        assert_ne!(
            c.blind_index("resident_id", "X1"),
            FieldCipher::new(&[2u8; 32]).blind_index("resident_id", "X1")
        );
    }
}
