//! Children of the handbook: birth record and growth measurements. Child checkup schedules,
//! vaccination and nutrition packs attach to `children.id` in later modules.

pub mod routes;
