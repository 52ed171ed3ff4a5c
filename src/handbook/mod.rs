//! The handbook (母子健康手册): a woman's record — profile, access, codes.

pub mod codes;
pub mod home_cache;
pub mod home_view;
pub mod identity;
pub mod me;
pub mod members;
pub mod mine;
pub mod profile;
pub mod registration;
pub mod routes;
pub mod store;
