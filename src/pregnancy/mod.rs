//! Pregnancy episodes: dating, status, delivery.

pub mod dating;
pub mod routes;
pub mod store;
