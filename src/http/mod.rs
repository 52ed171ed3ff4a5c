//! HTTP plumbing shared by every module: extractors, middleware, pagination, fallbacks.

pub mod conditional;
pub mod csv;
pub mod extract;
pub mod fallback;
pub mod field_errors;
pub mod idempotency;
pub mod middleware;
pub mod pagination;
pub mod versioning;

pub use extract::{RequestCtx, ValidJson, ValidQuery};
pub use pagination::{Page, PageQuery};
pub use versioning::{etag, IfMatch};
