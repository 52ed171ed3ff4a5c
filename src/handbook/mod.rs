//! The handbook (母子健康手册): a woman's record — profile, access, codes.

pub mod identity;
