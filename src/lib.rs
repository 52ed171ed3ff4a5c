//! mch-handbook: the backend of China's electronic Mother-Child Health Handbook (母子健康手册).
//!
//! Layout by domain: `auth` (identity, tokens), `scope` (who may see what), `org` (regions,
//! institutions, staff), `audit`; shared plumbing in `http`, `db`, `error`, `config`. Rules are plain functions that
//! unit tests call without a database.

pub mod audit;
pub mod auth;
pub mod checkups;
pub mod children;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod growth;
pub mod handbook;
pub mod health;
pub mod housekeeping;
pub mod http;
pub mod keys;
pub mod nutrition;
pub mod openapi;
pub mod org;
pub mod pregnancy;
pub mod referrals;
pub mod risk;
pub mod routes;
pub mod scope;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod time;
