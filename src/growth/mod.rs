//! Child growth and anaemia: WHO 2006 z-scores from the LMS tables, and haemoglobin grading with
//! the altitude adjustment — `shared/domain/child/anaemia-growth.md`. Plain functions.

pub mod anaemia;
pub mod who;
pub mod zscore;
