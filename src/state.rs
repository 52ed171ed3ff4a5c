//! What every handler can reach: the pool, token keys, the WeChat client, configuration.

use crate::{
    auth::tokens::TokenKeys, auth::wechat::WechatClient, config::Settings, crypto::FieldCipher,
    db::Pool, handbook::home_cache::HomePages, keys::Keys,
};

pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    pub wechat: WechatClient,
    pub keys: Keys,
    /// Encrypts identity numbers and computes their blind index.
    pub cipher: FieldCipher,
    pub settings: Settings,
    /// The mothers' rendered home pages.
    pub home_pages: HomePages,
}
