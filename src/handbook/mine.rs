//! The mother's view of her handbook (and a family member's view of one shared with them).

use actix_web::{get, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;

use super::{
    home_cache::Page,
    home_view::{only_tests_still_to_do, summary, MyHandbook},
    store,
};
use crate::scope::{self, Relation};
use crate::{
    audit::{Actor, Event},
    auth::{principal::Principal, FamilyCaller},
    checkups::store::{self as checkup_store, CheckupRow, CheckupView},
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    http::RequestCtx,
    state::AppState,
};

/// My handbook: profile (identity masked), current pregnancy with gestational week and days to
/// the EDD, next appointment, latest checkup with flags, unread results, children.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    responses(
        (status = 200, description = "My handbook", body = MyHandbook),
        (status = 404, description = "No handbook bound to this account yet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/handbook")]
pub async fn get_my_handbook(
    caller: FamilyCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let lookup = move |conn: &mut DbConn| {
        let own = scope::own_handbook_ref(conn, &caller.0)?;
        Ok((own.id, Relation::Mother, own.revision))
    };
    home_page(&state, lookup).await
}

/// The page from the cache when nothing on it changed since it was rendered for today,
/// otherwise rendered (and kept). `lookup` checks the caller's link to the handbook and reads
/// its revision, which must come before the page's rows ([`home_cache`](super::home_cache)).
async fn home_page<F>(state: &web::Data<AppState>, lookup: F) -> Result<HttpResponse, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<(String, Relation, i64), AppError> + Send + 'static,
{
    let day = crate::time::china_today();
    let app = state.clone();
    let (id, relation, revision, kept) = db::read_now(&state.pool, move |conn| {
        let (id, relation, revision) = lookup(conn)?;
        let kept = app.home_pages.get(&id, relation, revision, day);
        Ok((id, relation, revision, kept))
    })
    .await?;
    let page = match kept {
        Some(page) => page,
        None => {
            let app = state.clone();
            db::run(&state.pool, move |conn| {
                let row = store::load(conn, &id)?;
                let page = Page::render(&summary(conn, row, relation)?, revision, day)?;
                app.home_pages.put(id, relation, page.clone());
                Ok(page)
            })
            .await?
        }
    };
    Ok(page.response())
}

/// A handbook I am linked to (my own, or one shared with me).
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Handbook id")),
    responses(
        (status = 200, description = "The handbook", body = MyHandbook),
    )
)]
#[get("/me/handbooks/{id}")]
pub async fn get_linked_handbook(
    caller: FamilyCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let lookup = move |conn: &mut DbConn| {
        let relation = scope::family_scope(conn, &caller.0, &id)?;
        let revision = handbooks::table
            .find(&id)
            .select(handbooks::revision)
            .first(conn)?;
        Ok((id, relation, revision))
    };
    home_page(&state, lookup).await
}

/// Open one of my checkups with its results. When the mother opens it, it and its results are
/// marked read.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Checkup id")),
    responses(
        (status = 200, description = "The checkup", body = CheckupView),
    )
)]
#[get("/me/checkups/{id}")]
pub async fn get_my_checkup(
    caller: FamilyCaller,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = db::run_tx(&state.pool, move |conn| {
        let row: CheckupRow = checkups::table.find(&id).first(conn)?;
        let relation = scope::family_scope(conn, &caller.0, &row.handbook_id)?;
        let mut view = checkup_store::view(conn, &row)?;
        let (edd, status): (chrono::NaiveDate, String) = pregnancies::table
            .find(&row.pregnancy_id)
            .select((pregnancies::edd, pregnancies::status))
            .first(conn)?;
        let ga_today = (status == "ongoing")
            .then(|| crate::pregnancy::dating::ga_on(edd, crate::time::china_today()));
        only_tests_still_to_do(&mut view, ga_today);
        if relation == Relation::Mother {
            let now = Utc::now().naive_utc();
            let a = diesel::update(
                checkups::table
                    .find(&id)
                    .filter(checkups::mother_seen_at.is_null()),
            )
            .set(checkups::mother_seen_at.eq(now))
            .execute(conn)?;
            let b = diesel::update(
                lab_results::table
                    .filter(lab_results::checkup_id.eq(&id))
                    .filter(lab_results::mother_seen_at.is_null()),
            )
            .set(lab_results::mother_seen_at.eq(now))
            .execute(conn)?;
            let c = diesel::update(
                ultrasounds::table
                    .filter(ultrasounds::checkup_id.eq(&id))
                    .filter(ultrasounds::mother_seen_at.is_null()),
            )
            .set(ultrasounds::mother_seen_at.eq(now))
            .execute(conn)?;
            if a + b + c > 0 {
                Event::new(
                    Actor::from(&Principal::Family(caller.0.clone())),
                    "checkup.open",
                    "checkup",
                )
                .resource(&id)
                .county(&row.county_code)
                .record(conn, &ctx)?;
            }
        }
        Ok(view)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
