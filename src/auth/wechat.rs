//! Exchanging a mini-program `wx.login` code for the user's `openid` at WeChat's
//! `/sns/jscode2session`, and the documented fake used in demo mode.

use crate::error::Code;
use serde::Deserialize;

use crate::{config::WechatSettings, error::AppError};

/// Who WeChat says the user is. The `session_key` WeChat returns is dropped, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatIdentity {
    pub openid: String,
    pub unionid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Jscode2Session {
    openid: Option<String>,
    unionid: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

pub struct WechatClient {
    settings: WechatSettings,
    demo_mode: bool,
    agent: ureq::Agent,
}

/// Demo codes look like `demo-mother-1`: `demo-` and 1–40 of `[a-z0-9-]`.
pub fn demo_identity(code: &str) -> Option<WechatIdentity> {
    let rest = code.strip_prefix("demo-")?;
    let ok = (1..=40).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| WechatIdentity {
        openid: format!("demo-openid-{rest}"),
        unionid: None,
    })
}

impl WechatClient {
    pub fn new(settings: WechatSettings, demo_mode: bool) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(settings.timeout).build();
        WechatClient {
            settings,
            demo_mode,
            agent,
        }
    }

    /// Blocking: call from `web::block`.
    pub fn exchange(&self, code: &str) -> Result<WechatIdentity, AppError> {
        if self.demo_mode {
            if let Some(identity) = demo_identity(code) {
                return Ok(identity);
            }
        }
        let (Some(app_id), Some(secret)) = (&self.settings.app_id, &self.settings.app_secret)
        else {
            return Err(if self.demo_mode {
                AppError::WechatCodeInvalid
            } else {
                AppError::Unavailable {
                    code: Code::WechatNotConfigured,
                    detail: "WeChat login is not configured on this server \
                         (MCH_WECHAT_APP_ID, MCH_WECHAT_APP_SECRET)"
                        .into(),
                }
            });
        };
        let url = format!("{}/sns/jscode2session", self.settings.api_base);
        let response = self
            .agent
            .get(&url)
            .query("appid", app_id)
            .query("secret", secret.expose())
            .query("js_code", code)
            .query("grant_type", "authorization_code")
            .call();
        let body: Jscode2Session = match response {
            Ok(r) => r
                .into_json()
                .map_err(|e| unavailable(format!("unreadable reply: {e}")))?,
            // WeChat answers errors with 200 and an errcode; any HTTP error status is an outage.
            Err(ureq::Error::Status(status, _)) => {
                return Err(unavailable(format!("HTTP {status}")))
            }
            Err(e) => return Err(unavailable(format!("unreachable: {}", e.kind()))),
        };
        interpret(body)
    }
}

fn unavailable(why: String) -> AppError {
    tracing::warn!(reason = %why, "WeChat API call failed");
    AppError::Unavailable {
        code: Code::WechatUnavailable,
        detail: "WeChat could not be reached; try again".into(),
    }
}

/// WeChat's error codes: <https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/user-login/code2Session.html>
fn interpret(body: Jscode2Session) -> Result<WechatIdentity, AppError> {
    match (body.errcode, body.openid) {
        (0, Some(openid)) if !openid.is_empty() => Ok(WechatIdentity {
            openid,
            unionid: body.unionid.filter(|u| !u.is_empty()),
        }),
        // invalid code, code already used, user blocked for risk
        (40029 | 40163 | 40226, _) => Err(AppError::WechatCodeInvalid),
        // rate limited or system busy
        (45011 | -1, _) => Err(AppError::Unavailable {
            code: Code::WechatBusy,
            detail: "WeChat is busy; try again in a moment".into(),
        }),
        (code, _) => {
            tracing::error!(
                errcode = code,
                errmsg = %body.errmsg,
                "WeChat refused the server's credentials or request"
            );
            Err(unavailable(format!("errcode {code}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(json: &str) -> Result<WechatIdentity, AppError> {
        interpret(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn wechat_replies_map_to_identities_and_problems() {
        assert_eq!(
            reply(r#"{"openid":"o1","session_key":"k","unionid":"u1"}"#).unwrap(),
            WechatIdentity {
                openid: "o1".into(),
                unionid: Some("u1".into())
            }
        );
        assert!(matches!(
            reply(r#"{"errcode":40029,"errmsg":"invalid code"}"#),
            Err(AppError::WechatCodeInvalid)
        ));
        assert!(matches!(
            reply(r#"{"errcode":40163,"errmsg":"code been used"}"#),
            Err(AppError::WechatCodeInvalid)
        ));
        assert!(matches!(
            reply(r#"{"errcode":-1,"errmsg":"system busy"}"#),
            Err(AppError::Unavailable {
                code: Code::WechatBusy,
                ..
            })
        ));
        assert!(matches!(
            reply(r#"{"errcode":40013,"errmsg":"invalid appid"}"#),
            Err(AppError::Unavailable {
                code: Code::WechatUnavailable,
                ..
            })
        ));
    }

    #[test]
    fn demo_codes_are_narrow() {
        assert_eq!(
            demo_identity("demo-mother-1").unwrap().openid,
            "demo-openid-mother-1"
        );
        assert!(demo_identity("demo-").is_none());
        assert!(demo_identity("demo-Mother").is_none());
        assert!(demo_identity("0a1b2c").is_none());
    }
}
