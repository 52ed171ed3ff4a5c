//! Typed configuration, read once from environment variables at start-up.
//!
//! Every variable has a default that runs out of the box; secrets (the JWT signing key and the
//! field-encryption key) are never defaulted to a constant: when not given they are generated on
//! first run and kept in the data directory (see [`crate::keys`]).

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

/// A value that must never be printed (logs, panics, debug output).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct WechatSettings {
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    /// Base URL of the WeChat API; tests point it at a local fake.
    pub api_base: String,
    pub timeout: Duration,
}

impl WechatSettings {
    pub fn configured(&self) -> bool {
        self.app_id.is_some() && self.app_secret.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct ThrottleSettings {
    /// Failed logins for one account within `window` before further attempts answer 429.
    pub max_failures_per_account: i64,
    /// Failed logins from one client address within `window` before further attempts answer 429.
    pub max_failures_per_address: i64,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub bind: String,
    pub workers: usize,
    pub db_pool_size: u32,
    pub db_pool_timeout: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub jwt_secret: Option<Secret>,
    pub field_key: Option<Secret>,
    pub wechat: WechatSettings,
    pub demo_mode: bool,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub throttle: ThrottleSettings,
    pub shutdown_timeout: Duration,
    /// Behind a reverse proxy: take the client address from the last `X-Forwarded-For` entry
    /// (the one the proxy appended) instead of the TCP peer. Only enable behind a proxy you run.
    pub trust_forwarded_for: bool,
    /// Memory for the mothers' rendered home pages (`handbook::home_cache`), in bytes; 0 turns
    /// the cache off.
    pub home_cache_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Settings {
    /// Defaults for a data directory: an embedded SQLite file inside it, everything else standard.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Settings {
            database_url: format!("sqlite://{}", data_dir.join("mch-handbook.db").display()),
            data_dir,
            bind: "127.0.0.1:8080".into(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            db_pool_size: 16,
            db_pool_timeout: Duration::from_secs(5),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            jwt_secret: None,
            field_key: None,
            wechat: WechatSettings {
                app_id: None,
                app_secret: None,
                api_base: "https://api.weixin.qq.com".into(),
                timeout: Duration::from_secs(5),
            },
            demo_mode: false,
            log_format: LogFormat::Text,
            max_body_bytes: 256 * 1024,
            throttle: ThrottleSettings {
                max_failures_per_account: 5,
                max_failures_per_address: 20,
                window: Duration::from_secs(15 * 60),
            },
            shutdown_timeout: Duration::from_secs(30),
            trust_forwarded_for: false,
            home_cache_bytes: 16 << 20,
        }
    }

    /// Reads the configuration from the process environment (see `.env.example`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    /// Reads the configuration through `get`, so tests can supply variables without touching
    /// the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let data_dir = get("MCH_DATA_DIR").unwrap_or_else(|| "./data".into());
        let mut s = Settings::with_data_dir(data_dir);
        if let Some(url) = get("DATABASE_URL") {
            s.database_url = url;
        }
        if let Some(bind) = get("MCH_BIND") {
            s.bind = bind;
        }
        parse_into(&get, "MCH_WORKERS", &mut s.workers)?;
        parse_into(&get, "MCH_DB_POOL_SIZE", &mut s.db_pool_size)?;
        secs_into(&get, "MCH_DB_POOL_TIMEOUT_SECS", &mut s.db_pool_timeout)?;
        secs_into(&get, "MCH_ACCESS_TOKEN_TTL_SECS", &mut s.access_token_ttl)?;
        secs_into(&get, "MCH_REFRESH_TOKEN_TTL_SECS", &mut s.refresh_token_ttl)?;
        s.jwt_secret = get("MCH_JWT_SECRET").map(Secret::new);
        s.field_key = get("MCH_FIELD_KEY").map(Secret::new);
        s.wechat.app_id = get("MCH_WECHAT_APP_ID");
        s.wechat.app_secret = get("MCH_WECHAT_APP_SECRET").map(Secret::new);
        if let Some(base) = get("MCH_WECHAT_API_BASE") {
            s.wechat.api_base = base.trim_end_matches('/').to_string();
        }
        secs_into(&get, "MCH_WECHAT_TIMEOUT_SECS", &mut s.wechat.timeout)?;
        parse_into(&get, "MCH_DEMO_MODE", &mut s.demo_mode)?;
        if let Some(format) = get("MCH_LOG_FORMAT") {
            s.log_format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(err("MCH_LOG_FORMAT", "expected `text` or `json`")),
            };
        }
        parse_into(&get, "MCH_MAX_BODY_BYTES", &mut s.max_body_bytes)?;
        parse_into(
            &get,
            "MCH_LOGIN_MAX_FAILURES",
            &mut s.throttle.max_failures_per_account,
        )?;
        parse_into(
            &get,
            "MCH_LOGIN_MAX_FAILURES_PER_ADDRESS",
            &mut s.throttle.max_failures_per_address,
        )?;
        secs_into(&get, "MCH_LOGIN_WINDOW_SECS", &mut s.throttle.window)?;
        secs_into(&get, "MCH_SHUTDOWN_TIMEOUT_SECS", &mut s.shutdown_timeout)?;
        parse_into(&get, "MCH_TRUST_FORWARDED_FOR", &mut s.trust_forwarded_for)?;
        let mut home_cache_mb = s.home_cache_bytes >> 20;
        parse_into(&get, "MCH_HOME_CACHE_MB", &mut home_cache_mb)?;
        s.home_cache_bytes = home_cache_mb
            .checked_mul(1 << 20)
            .ok_or_else(|| err("MCH_HOME_CACHE_MB", "too large"))?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.db_pool_size == 0 {
            return Err(err("MCH_DB_POOL_SIZE", "must be at least 1"));
        }
        if self.workers == 0 {
            return Err(err("MCH_WORKERS", "must be at least 1"));
        }
        if self.access_token_ttl.is_zero() || self.refresh_token_ttl <= self.access_token_ttl {
            return Err(err(
                "MCH_REFRESH_TOKEN_TTL_SECS",
                "token lifetimes must be positive, the refresh token outliving the access token",
            ));
        }
        Ok(())
    }
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

fn parse_into<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    slot: &mut T,
) -> Result<(), ConfigError>
where
    T::Err: fmt::Display,
{
    if let Some(raw) = get(var) {
        *slot = raw
            .trim()
            .parse()
            .map_err(|e: T::Err| err(var, e.to_string()))?;
    }
    Ok(())
}

fn secs_into(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    slot: &mut Duration,
) -> Result<(), ConfigError> {
    let mut secs = slot.as_secs();
    parse_into(get, var, &mut secs)?;
    *slot = Duration::from_secs(secs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_run_out_of_the_box_on_sqlite_under_data() {
        let s = from(&[]).unwrap();
        assert_eq!(s.database_url, "sqlite://./data/mch-handbook.db");
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert!(s.jwt_secret.is_none() && !s.wechat.configured() && !s.demo_mode);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = from(&[("MCH_DB_POOL_SIZE", "many")]).unwrap_err();
        assert_eq!(e.var, "MCH_DB_POOL_SIZE");
        let e = from(&[("MCH_LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(e.var, "MCH_LOG_FORMAT");
    }

    #[test]
    fn secrets_are_not_printed() {
        let s = from(&[
            ("MCH_JWT_SECRET", "hunter2-very-secret"),
            ("MCH_WECHAT_APP_SECRET", "wxsecret"),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("wxsecret"));
    }
}
