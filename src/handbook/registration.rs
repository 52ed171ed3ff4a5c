//! Registration (建档) of a woman by a clinic: a new handbook, the existing one for her identity
//! document (shared with this clinic), or the one she started in the app, confirmed and cut
//! loose from every link an unverified app account made (issue #14). A name that does not match
//! the one on record is a throttled, audited guess.

use actix_web::{http::header, post, web, HttpResponse};
use chrono::Utc;
use diesel::prelude::*;

use super::{
    profile::{self, HandbookView, NewHandbook},
    routes::with_etag,
    store,
};
use crate::scope::{self, Grant};
use crate::{
    audit::{Event, Outcome},
    auth::{roles::Clinical, throttle, Staff},
    db::{self, schema::*, DbConn},
    error::{AppError, Code, Problem},
    http::{RequestCtx, ValidJson},
    state::AppState,
};

/// Register a woman (建档). When a handbook with the same identity document exists (registered
/// elsewhere, or started by the mother), it is returned instead of a duplicate — provided the name
/// matches — and this clinic gains access to it; a handbook the mother started is thereby confirmed.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "handbooks",
    request_body = NewHandbook,
    responses(
        (status = 201, description = "A new handbook", body = HandbookView, headers(("ETag" = String))),
        (status = 200, description = "The existing handbook for this identity document", body = HandbookView, headers(("ETag" = String))),
        (status = 409, description = "A handbook with this identity document exists under another name", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (identity check digit, birth date, region …)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many identity documents that did not match their name; see Retry-After", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/handbooks")]
pub async fn register_handbook(
    staff: Staff<Clinical>,
    body: ValidJson<NewHandbook>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let checked = store::check_identity(&input)?;
    let st = state.clone();
    let staff = staff.principal;
    let outcome = db::run_tx(&state.pool, move |conn| {
        // Reserved before the registry is consulted: a clinician past the limit of names that
        // did not match is refused whatever the number (a 429 for registered numbers only would
        // be the oracle again).
        let attempt = match throttle::reserve(
            conn,
            "handbook.identity_check",
            &staff.id,
            None,
            &st.settings.throttle,
        )? {
            Ok(attempt) => attempt,
            Err(wait) => {
                Event::new(&staff, "handbook.create", "handbook")
                    .outcome(Outcome::Denied)
                    .detail(serde_json::json!({"reason": "throttled"}))
                    .record(conn, &ctx)?;
                return Ok(Err(AppError::TooManyRequests {
                    retry_after_secs: wait,
                }));
            }
        };
        let existing = match store::find_by_identity(conn, &st.cipher, &checked)? {
            Some(registered) => Some(registered),
            None => store::pending_with_identity(conn, &st.cipher, &checked)?
                .into_iter()
                .next(),
        };
        let (row, created) = match existing {
            Some(existing) if existing.status == "pending" => {
                // Started in the app by an account nobody has verified: the clinic, with the
                // woman and her document in front of it, registers her; the app's entries and
                // links give way (see `confirm`). Other app starts with her number stay as they
                // are, pending and unlinked from her record.
                let row = confirm(conn, &st, existing, &input, &checked, &staff, &ctx)?;
                (row, false)
            }
            Some(existing) if existing.full_name != input.full_name.trim() => {
                return name_differs(conn, attempt, &staff, &existing, &ctx);
            }
            Some(existing) => (existing, false),
            None => {
                let row = store::insert(
                    conn,
                    &st.cipher,
                    &input,
                    &checked,
                    Some(&staff.institution_id),
                    &staff.id,
                )?;
                (row, true)
            }
        };
        scope::grant(
            conn,
            &row.id,
            &staff.institution_id,
            &row.county_code,
            Grant::Registration,
            None,
        )?;
        let action = if created {
            "handbook.create"
        } else {
            "handbook.register_existing"
        };
        Event::new(&staff, action, "handbook")
            .resource(&row.id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        throttle::succeeded(conn, attempt)?;
        Ok(Ok((row, created)))
    })
    .await?;
    let (row, created) = outcome?;
    let view = row.view()?;
    let builder = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let mut builder = builder;
    builder.insert_header((header::LOCATION, format!("/api/v1/handbooks/{}", view.id)));
    Ok(with_etag(builder, &view))
}

/// A registration whose identity document is registered under another name. The clinician
/// learns only that (the name on record, its county and institution stay hidden), and each such
/// answer is a failed guess: audited as denied for the county to see, and throttled per
/// clinician like a password, so a list of identity numbers cannot be checked against the
/// registry (issue #14). The refusal and the guess's record are committed (the inner `Err`).
fn name_differs(
    conn: &mut DbConn,
    attempt: throttle::Reserved,
    staff: &crate::auth::StaffPrincipal,
    existing: &profile::HandbookRow,
    ctx: &RequestCtx,
) -> Result<Result<(profile::HandbookRow, bool), AppError>, AppError> {
    throttle::failed(conn, attempt)?;
    Event::new(staff, "handbook.register_existing", "handbook")
        .outcome(Outcome::Denied)
        .resource(&existing.id)
        .county(&existing.county_code)
        .detail(serde_json::json!({"reason": "name_differs"}))
        .record(conn, ctx)?;
    Ok(Err(AppError::conflict(
        Code::IdentityMismatch,
        "a handbook with this identity document exists under another name; check the \
         document, or ask the mother for a share code",
    )))
}

/// Confirms a handbook started in the app, at the woman's registration by a clinic.
///
/// Nobody has verified the account that started it: anyone can type an identity number into the
/// app. So the clinic's registration replaces what the app entered (a new version; the old one is
/// kept), and every link the app made ends: the starting account and any family it shared with
/// lose access, share codes not yet used stop working, and institutions it shared with lose
/// their share grants. The woman binds her own account with the clinic's binding code, as for a
/// handbook the clinic created (issue #14: a stranger who started a handbook with her number
/// read her checkups and an HIV result once her clinic registered her).
fn confirm(
    conn: &mut DbConn,
    state: &AppState,
    existing: profile::HandbookRow,
    input: &profile::NewHandbook,
    checked: &store::CheckedIdentity,
    staff: &crate::auth::StaffPrincipal,
    ctx: &RequestCtx,
) -> Result<profile::HandbookRow, AppError> {
    let old = existing.view()?;
    let now = Utc::now().naive_utc();
    diesel::insert_into(handbook_versions::table)
        .values((
            handbook_versions::handbook_id.eq(&existing.id),
            handbook_versions::version.eq(existing.version),
            handbook_versions::county_code.eq(&existing.county_code),
            handbook_versions::snapshot.eq(crate::db::stored::json_to_db(&old)?),
            handbook_versions::changed_by.eq(&staff.id),
            handbook_versions::changed_at.eq(now),
            handbook_versions::reason
                .eq("registered by the clinic in person; the app's entries replaced"),
        ))
        .execute(conn)?;
    let registered = store::build(
        conn,
        &state.cipher,
        input,
        checked,
        Some(&staff.institution_id),
        &existing.created_by,
    )?;
    let row = profile::HandbookRow {
        id: existing.id.clone(),
        version: existing.version + 1,
        created_at: existing.created_at,
        revision: existing.revision,
        registered_at: Some(now),
        updated_at: now,
        ..registered
    };
    diesel::update(handbooks::table.find(&row.id))
        .set(&row)
        .execute(conn)?;
    if row.county_code != existing.county_code {
        store::move_county(conn, &row.id, &row.county_code)?;
    }
    if row.residence_region_code != existing.residence_region_code {
        scope::sync_residence(conn, &row.id)?;
    }
    let ended = scope::end_unverified_links(conn, &row.id, now)?;
    Event::new(staff, "handbook.unverified_links_ended", "handbook")
        .resource(&row.id)
        .county(&row.county_code)
        .detail(serde_json::json!({
            "family_accounts": ended.members,
            "share_grants": ended.grants,
            "share_codes": ended.codes,
            "name_differed": existing.full_name != row.full_name,
        }))
        .record(conn, ctx)?;
    Ok(row)
}
