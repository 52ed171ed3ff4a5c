//! Pregnancy risk screening and five-colour grading (妊娠风险筛查与评估).

pub mod engine;
pub mod input;

pub mod case_routes;
pub mod case_store;
pub mod cases;
pub mod consultations;
#[cfg(test)]
mod domain_examples;
pub mod management;
pub mod notices;
pub mod record;
pub mod registry;
pub mod regrading;
pub mod routes;
pub mod screenings;
pub mod state;
