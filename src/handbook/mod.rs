//! The handbook (母子健康手册): a woman's record — profile, access, codes.

pub mod identity;
pub mod access;
pub mod profile;
pub mod codes;
pub mod routes;
