//! The family's side: a mother starts her handbook or binds the one her clinic created, keeps
//! her contact details and history, and shares access with her clinic or family.

use crate::error::Code;
use crate::http::pagination::Page;
use actix_web::{get, http::header, patch, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::{
    codes::{self, Purpose},
    home_view::{my_profile, MyProfile},
    profile::{MotherChanges, NewHandbook},
    routes::{redeem_code, CodeRequest, CodeView},
    store,
};
use crate::scope::{self, Relation};
use crate::{
    audit::{Actor, Event},
    auth::{principal::Principal, FamilyCaller},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{etag, IfMatch, RequestCtx, ValidJson},
    state::AppState,
};

fn actor(caller: &FamilyCaller) -> Actor {
    Actor::from(&Principal::Family(caller.0.clone()))
}

/// Start my own handbook in the app. It stays `pending` until a clinic registers me in person;
/// then I bind my account with the binding code the clinic gives me. Whether the identity
/// document is already registered is not told here (a clinic that registered me gives me a
/// binding code instead).
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    request_body = NewHandbook,
    responses(
        (status = 201, description = "Started, pending confirmation by a clinic", body = MyProfile, headers(("ETag" = String))),
        (status = 409, description = "This account already has a handbook", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/handbook")]
pub async fn start_my_handbook(
    caller: FamilyCaller,
    body: ValidJson<NewHandbook>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let checked = store::check_identity(&input)?;
    let st = state.clone();
    let view = db::run_tx(&state.pool, move |conn| {
        if scope::own_handbook(conn, &caller.0).is_ok() {
            return Err(AppError::conflict(
                Code::HandbookExists,
                "this account already has a handbook",
            ));
        }
        // Whether a clinic has registered this document is not told (issue #14: the answer was
        // an oracle of registered identity numbers): the start is pending and claims nothing.
        let row = store::insert(conn, &st.cipher, &input, &checked, None, &caller.0.id)?;
        scope::add_member(
            conn,
            &row.id,
            &row.county_code,
            &caller.0.id,
            Relation::Mother,
        )?;
        Event::new(actor(&caller), "handbook.create", "handbook")
            .resource(&row.id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        my_profile(conn, &row)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Bind my WeChat account to the handbook my clinic created, with the code the clinic gave me.
/// A previously bound account of the same handbook is unlinked (e.g. a new phone number); a
/// handbook I started in the app and no clinic confirmed gives way to it.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Bound; my handbook", body = MyProfile, headers(("ETag" = String))),
        (status = 409, description = "This account already has a different handbook", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong, used or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/handbook/bind")]
pub async fn bind_my_handbook(
    caller: FamilyCaller,
    body: ValidJson<CodeRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    let outcome = db::run_tx(&state.pool, move |conn| {
        let own = scope::find_own_handbook(conn, &caller.0)?;
        let (handbook_id, county) =
            match redeem_code(conn, &st, &ctx, actor(&caller), Purpose::Bind, &body.0.code)? {
                Ok(found) => found,
                Err(e) => return Ok(Err(e)),
            };
        if let Some(own) = own.filter(|h| h.id != handbook_id) {
            if own.status != "pending" {
                return Err(AppError::conflict(
                    Code::HandbookExists,
                    "this account is already bound to another handbook",
                ));
            }
            // Her own start in the app gives way to the record her clinic keeps; it stays,
            // pending, with nobody linked: her, the family and institutions she shared it with.
            scope::end_unverified_links(conn, &own.id, Utc::now().naive_utc())?;
            Event::new(actor(&caller), "handbook.pending_superseded", "handbook")
                .resource(&own.id)
                .county(&own.county_code)
                .detail(serde_json::json!({"bound_to": handbook_id}))
                .record(conn, &ctx)?;
        }
        diesel::update(
            handbook_members::table
                .filter(handbook_members::handbook_id.eq(&handbook_id))
                .filter(handbook_members::relation.eq("mother"))
                .filter(handbook_members::family_account_id.ne(&caller.0.id))
                .filter(handbook_members::revoked_at.is_null()),
        )
        .set(handbook_members::revoked_at.eq(Utc::now().naive_utc()))
        .execute(conn)?;
        scope::add_member(conn, &handbook_id, &county, &caller.0.id, Relation::Mother)?;
        Event::new(actor(&caller), "handbook.bind", "handbook")
            .resource(&handbook_id)
            .county(&county)
            .record(conn, &ctx)?;
        let row = store::load(conn, &handbook_id)?;
        Ok(Ok(my_profile(conn, &row)?))
    })
    .await?;
    let view = outcome?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Change my contact details or self-reported history. Name the version in `If-Match`.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("If-Match" = String, Header, description = "ETag of the version being replaced")),
    request_body = MotherChanges,
    responses(
        (status = 200, description = "The new version", body = MyProfile, headers(("ETag" = String))),
        (status = 404, description = "No handbook yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a field only the clinic may change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me/handbook")]
pub async fn amend_my_handbook(
    caller: FamilyCaller,
    if_match: IfMatch,
    body: ValidJson<MotherChanges>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let view = db::run_tx(&state.pool, move |conn| {
        let id = scope::own_handbook(conn, &caller.0)?;
        let row = store::load(conn, &id)?;
        if_match.check(row.version)?;
        let row = store::amend(conn, row, body.0.into(), &caller.0.id)?;
        Event::new(actor(&caller), "handbook.amend", "handbook")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        my_profile(conn, &row)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag(view.version)))
        .json(view))
}

/// Who a share code is for.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareWith {
    /// A clinic I visit for the first time (30 minutes).
    Clinic,
    /// A family member, who gets read access (24 hours to use it).
    Family,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"share_with": "clinic"}))]
pub struct ShareRequest {
    pub share_with: ShareWith,
}

/// Create a share code for a clinic or a family member. Mothers only.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    request_body = ShareRequest,
    responses(
        (status = 201, description = "The code", body = CodeView),
        (status = 404, description = "No handbook of my own", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/handbook/share-codes")]
pub async fn create_share_code(
    caller: FamilyCaller,
    body: ValidJson<ShareRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let purpose = match body.0.share_with {
        ShareWith::Clinic => Purpose::ShareClinic,
        ShareWith::Family => Purpose::ShareFamily,
    };
    let (code, expires_at) = db::run_tx(&state.pool, move |conn| {
        let mut own = scope::own_handbook_ref(conn, &caller.0)?;
        if scope::lock_handbook(conn, &own.id)? {
            // Read again under the lock: a clinic's confirmation committed meanwhile has ended
            // an unverified account's link (handbook::routes::confirm).
            own = scope::own_handbook_ref(conn, &caller.0)?;
        }
        let issued = codes::issue(conn, purpose, &own.id, &own.county_code, &caller.0.id)?;
        Event::new(actor(&caller), "handbook.share_code", "handbook")
            .resource(&own.id)
            .county(&own.county_code)
            .detail(serde_json::json!({"share_with": body.0.share_with}))
            .record(conn, &ctx)?;
        Ok(issued)
    })
    .await?;
    Ok(HttpResponse::Created().json(CodeView {
        code,
        expires_at: expires_at.and_utc(),
    }))
}

/// Join a family member's handbook (read access) with the code she gave me.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Joined", body = MyHandbookRef),
        (status = 409, description = "Already linked to this handbook", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong, used or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/handbooks/join")]
pub async fn join_handbook(
    caller: FamilyCaller,
    body: ValidJson<CodeRequest>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let st = state.clone();
    let outcome = db::run_tx(&state.pool, move |conn| {
        let (handbook_id, county) = match redeem_code(
            conn,
            &st,
            &ctx,
            actor(&caller),
            Purpose::ShareFamily,
            &body.0.code,
        )? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if scope::family_scope(conn, &caller.0, &handbook_id).is_ok() {
            return Err(AppError::conflict(
                Code::AlreadyMember,
                "this account is already linked to the handbook",
            ));
        }
        scope::add_member(conn, &handbook_id, &county, &caller.0.id, Relation::Family)?;
        Event::new(actor(&caller), "handbook.join", "handbook")
            .resource(&handbook_id)
            .county(&county)
            .record(conn, &ctx)?;
        let name: String = handbooks::table
            .find(&handbook_id)
            .select(handbooks::full_name)
            .first(conn)?;
        Ok(Ok(MyHandbookRef {
            handbook_id,
            relation: Relation::Family,
            full_name: name,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(outcome?))
}

/// A handbook I am linked to.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"handbook_id": "019fe941-5200-752e-89a7-834df2a74de4", "relation": "family", "full_name": "李梅"}))]
pub struct MyHandbookRef {
    pub handbook_id: String,
    pub relation: Relation,
    pub full_name: String,
}

/// The handbooks I am linked to: my own (`mother`) and those shared with me (`family`).
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    responses(
        (status = 200, description = "Linked handbooks", body = Page<MyHandbookRef>),
    )
)]
#[get("/me/handbooks")]
pub async fn list_my_handbooks(
    caller: FamilyCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let rows = db::run(&state.pool, move |conn| {
        Ok(handbook_members::table
            .inner_join(handbooks::table)
            .filter(handbook_members::family_account_id.eq(&caller.0.id))
            .filter(handbook_members::revoked_at.is_null())
            .order(handbook_members::created_at.asc())
            .select((
                handbook_members::handbook_id,
                handbook_members::relation,
                handbooks::full_name,
            ))
            .load::<(String, String, String)>(conn)?)
    })
    .await?;
    let refs: Vec<MyHandbookRef> = rows
        .into_iter()
        .map(|(handbook_id, relation, full_name)| MyHandbookRef {
            handbook_id,
            relation: if relation == "mother" {
                Relation::Mother
            } else {
                Relation::Family
            },
            full_name,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page::whole(refs)))
}
