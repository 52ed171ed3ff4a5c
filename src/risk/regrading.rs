//! The re-grading work list: ongoing pregnancies in scope whose grading is due again.

use crate::db::stored;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::engine::{self};
use crate::{
    audit::{self, Event},
    auth::{roles::RecordReader, Staff},
    db::schema::*,
    error::AppError,
    http::{Page, RequestCtx},
    state::AppState,
};

/// A pregnancy whose proposal changed since its last grading.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "pregnancy_id": "019fe945-e5e0-7651-8317-1ff4a6a3a450",
    "handbook_id": "019fe941-5200-752e-89a7-834df2a74de4", "full_name": "李梅",
    "current_label": "yellow", "since": "2026-11-19T02:50:00.000Z"
}))]
pub struct RegradingItem {
    pub pregnancy_id: String,
    pub handbook_id: String,
    pub full_name: String,
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub current_label: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub since: DateTime<Utc>,
}

/// Pregnancies that need re-grading (new results changed the proposal), in the caller's scope.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "risk",
    responses(
        (status = 200, description = "To re-grade", body = Page<RegradingItem>),
    )
)]
#[get("/worklist/regrading")]
pub async fn get_regrading_worklist(
    staff: Staff<RecordReader>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let staff = staff.principal;
    let page = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = pregnancy_risk::table
            .inner_join(handbooks::table.on(handbooks::id.eq(pregnancy_risk::handbook_id)))
            .filter(pregnancy_risk::needs_regrading.eq(true))
            .select((
                pregnancy_risk::pregnancy_id,
                pregnancy_risk::handbook_id,
                handbooks::full_name,
                pregnancy_risk::current_base,
                pregnancy_risk::current_purple,
                pregnancy_risk::updated_at,
            ))
            .into_boxed();
        sql = crate::scope::Listing::of(&staff).apply(
            sql,
            pregnancy_risk::handbook_id,
            pregnancy_risk::county_code,
        );
        let rows: Vec<(String, String, String, String, bool, NaiveDateTime)> = sql
            .order(pregnancy_risk::pregnancy_id.asc())
            .limit(101)
            .load(conn)?;
        let event = Event::new(&staff, "worklist.read_regrading", "pregnancy")
            .detail(serde_json::json!({"returned": rows.len()}));
        let page = Page::from_rows(rows, 100, |r| r.0.clone()).try_map(
            |(pregnancy_id, handbook_id, full_name, base, purple, since)| {
                Ok::<_, diesel::result::Error>(RegradingItem {
                    pregnancy_id,
                    handbook_id,
                    full_name,
                    current_label: engine::label(
                        stored::from_text("pregnancy_risk.current_base", &base)?,
                        purple,
                    ),
                    since: since.and_utc(),
                })
            },
        )?;
        Ok((page, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
