//! The monthly reporting chain of the nutrition-pack programme (§9 indicators, §10 reporting):
//! `figures` holds the rules (what each child adds to the counts, rates, logic checks,
//! deadlines, differences), `compile` computes a report from the records, `routes` the draft,
//! submission, list and review, `kpis` the county's indicators.

pub mod compile;
pub mod figures;
pub mod kpis;
pub mod routes;

pub use compile::baseline;
