//! Integration tests: the real HTTP app over a real database (SQLite by default; PostgreSQL when
//! `TEST_DATABASE_URL=postgres://…` is set), one fresh database per test.

mod helpers;
mod nutrition_setup;

mod audit;
mod auth;
mod authz;
mod cases;
mod checkups;
mod cli;
mod conditional;
mod errors;
mod handbook;
mod health;
mod home_cache;
mod idempotency;
mod mass_assignment;
mod migrations;
mod nutrition;
mod nutrition_reports;
mod openapi;
mod plan;
mod referrals;
mod risk;
mod schema;
mod scope;
mod shutdown;
mod source;
mod wechat;
