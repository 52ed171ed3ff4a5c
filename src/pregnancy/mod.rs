//! Pregnancy episodes: dating, status, delivery.

pub mod dating;
pub mod outcomes;
pub mod redating;
pub mod routes;
pub mod store;
