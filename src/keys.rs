//! Key material: the JWT signing key and the field-encryption key.
//!
//! Each is taken from its environment variable (base64 of 32 bytes) when given; otherwise the first
//! run generates one and keeps it in `<data dir>/keys/<name>.key` with 0600 permissions, so a
//! restart keeps existing tokens and encrypted fields readable. There is no built-in default key.

use std::{fs, io::Write, path::Path};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rand::RngCore;

use crate::config::{Secret, Settings};

pub const KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct Keys {
    pub jwt: [u8; KEY_LEN],
    pub field: [u8; KEY_LEN],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} must be base64 of exactly 32 bytes")]
    Malformed(&'static str),
    #[error("key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl Keys {
    pub fn load(settings: &Settings) -> Result<Self, KeyError> {
        let dir = settings.data_dir.join("keys");
        Ok(Keys {
            jwt: load_or_create(&dir, "jwt", "MCH_JWT_SECRET", settings.jwt_secret.as_ref())?,
            field: load_or_create(&dir, "field", "MCH_FIELD_KEY", settings.field_key.as_ref())?,
        })
    }
}

fn decode(var: &'static str, text: &str) -> Result<[u8; KEY_LEN], KeyError> {
    B64.decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; KEY_LEN]>::try_from(bytes).ok())
        .ok_or(KeyError::Malformed(var))
}

fn load_or_create(
    dir: &Path,
    name: &str,
    var: &'static str,
    given: Option<&Secret>,
) -> Result<[u8; KEY_LEN], KeyError> {
    if let Some(secret) = given {
        return decode(var, secret.expose());
    }
    let path = dir.join(format!("{name}.key"));
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) => return decode(var, &text),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    let mut key = [0u8; KEY_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(B64.encode(key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %path.display(), "generated a new {name} key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            decode(var, &fs::read_to_string(&path).map_err(io)?)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_persist_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::with_data_dir(dir.path());
        let first = Keys::load(&settings).unwrap();
        let second = Keys::load(&settings).unwrap();
        assert_eq!(first.jwt, second.jwt);
        assert_ne!(first.jwt, first.field);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("keys/jwt.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_given_key_must_be_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::with_data_dir(dir.path());
        settings.jwt_secret = Some(Secret::new("c2hvcnQ="));
        assert!(matches!(
            Keys::load(&settings),
            Err(KeyError::Malformed("MCH_JWT_SECRET"))
        ));
    }
}
