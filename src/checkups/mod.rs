//! Checkups (产检结果): flags, weight gain and the visit plan as plain rules.

pub mod flags;
pub mod schedule;
pub mod weight_gain;

pub mod charts;
pub mod corrections;
#[cfg(test)]
mod domain_examples;
pub mod labs;
pub mod plan;
pub mod results;
pub mod routes;
pub mod store;
pub mod visit_flags;
