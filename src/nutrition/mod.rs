//! The child nutrition-pack programme (营养包): enrolment rules, distribution and stock, follow-up
//! cards, the village doctor's work list and the monthly reporting chain.

pub mod plan;
pub mod rules;

pub mod distributions;
#[cfg(test)]
mod domain_examples;
pub mod followups;
pub mod force_majeure;
pub mod reports;
pub mod roster;
pub mod routes;
pub mod stock;
pub mod storage;
pub mod worklist;
