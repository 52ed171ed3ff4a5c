//! Identity: staff passwords, WeChat login for families, tokens and sessions, and the caller
//! extractors through which every handler says who may call it.

pub mod family_login;
pub mod me;
pub mod password;
pub mod principal;
pub mod roles;
pub mod routes;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod wechat;

pub use principal::{AnyCaller, FamilyCaller, FamilyPrincipal, Principal, Staff, StaffPrincipal};
pub use roles::Role;
