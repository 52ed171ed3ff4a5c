//! The child nutrition-pack programme (营养包): enrolment rules as plain functions.

pub mod rules;

#[cfg(test)]
mod domain_examples;
pub mod followups;
pub mod routes;
pub mod storage;
