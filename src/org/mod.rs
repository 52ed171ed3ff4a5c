//! Organisations and people: regions (statistical division codes), institutions, staff accounts.

pub mod counties;
pub mod institutions;
pub mod region_import;
pub mod regions;
pub mod rules;
pub mod staff;
