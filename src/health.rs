//! Liveness and readiness probes.

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
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: None,
    })
}

/// The database is reachable and every migration is applied.
#[utoipa::path(
    tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Database unreachable or migrations pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    let not_ready = |detail: String| AppError::Unavailable {
        code: "not_ready",
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
