//! Liveness and readiness probes.

use crate::error::Code;
use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    db::{self, DbConn},
    error::{AppError, Problem},
    state::AppState,
};

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok` (alive) or `ready` (database reachable, migrations applied).
    pub status: String,
    /// `sqlite` or `postgresql` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// The process is alive. Touches nothing else.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn check_liveness() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: None,
    })
}

/// The database is reachable, every migration is applied, and a write transaction commits (on
/// SQLite, through the database's writer thread).
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable, migrations pending, or writes not going through", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn check_readiness(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    let not_ready = |detail: String| AppError::Unavailable {
        code: Code::NotReady,
        detail,
    };
    let result = web::block(move || -> Result<&'static str, String> {
        let mut conn = pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        let backend = match &*conn {
            DbConn::Sqlite(_) => "sqlite",
            DbConn::Postgresql(_) => "postgresql",
        };
        match db::migrations_applied(&mut conn) {
            Ok(true) => Ok(backend),
            Ok(false) => Err("migrations are pending".into()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?;
    // Writes too: an empty write transaction, which on SQLite goes through the database's one
    // writer thread (src/db/writer.rs), so a writer that has stopped or is backed up past the
    // checkout timeout shows here. It writes nothing, so it costs no fsync.
    let result = match result {
        Ok(backend) => db::run_tx(&state.pool, |_| Ok(()))
            .await
            .map(|()| backend)
            .map_err(|e| format!("write transaction: {e}")),
        failed => failed,
    };
    match result {
        Ok(backend) => Ok(HttpResponse::Ok().json(Health {
            status: "ready".into(),
            database: Some(backend.into()),
        })),
        Err(why) => {
            tracing::warn!(reason = %why, "not ready");
            Err(not_ready(
                "the database is unreachable or not migrated".into(),
            ))
        }
    }
}
