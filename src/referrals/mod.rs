//! Referrals (转诊) between institutions: a state machine, access for the receiving institution,
//! turnaround figures.

pub mod routes;
pub mod rules;
pub mod turnaround;
