//! Pregnancy episodes: dating, status, delivery.

pub mod dating;
