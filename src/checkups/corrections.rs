//! Corrections of a recorded visit: a JSON merge patch with a reason makes a new version; the
//! old one is kept with who, when and why, and listed.

use crate::http::pagination::Page;
use crate::http::versioning::{version_views, VersionView};
use actix_web::{get, patch, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use utoipa::ToSchema;

use super::routes::{apply, check, load_for_staff, require_own, respond, CheckupInput};
use super::{
    flags::Dipstick,
    store::{self, CheckupView, Oedema, Presentation, Symptom},
};
use crate::{
    audit::{self, Event},
    auth::{
        roles::{Clinical, RecordReader},
        Staff,
    },
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{versioning::MergePatch, IfMatch, RequestCtx, ValidJson},
    state::AppState,
};

/// A correction of a visit: only the fields to change (a JSON merge patch, RFC 7396 — `null`
/// clears a value, a field left out keeps it) and why. The values are those of a visit
/// ([`CheckupInput`]); this schema documents the body of `PATCH /checkups/{id}`.
#[derive(ToSchema)]
#[schema(example = json!({"bp_systolic": 128, "bp_diastolic": 80, "reason": "血压读数记错"}))]
#[allow(dead_code)] // documents the merge patch the handler applies (`MergePatch`)
pub struct CheckupCorrection {
    /// Why the visit is corrected.
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    visit_date: Option<NaiveDate>,
    weight_kg: Option<f64>,
    bp_systolic: Option<i32>,
    bp_diastolic: Option<i32>,
    fundal_height_cm: Option<f64>,
    abdominal_circumference_cm: Option<f64>,
    fetal_heart_rates: Option<Vec<i32>>,
    fetal_presentation: Option<Presentation>,
    oedema: Option<Oedema>,
    urine_protein: Option<Dipstick>,
    urine_glucose: Option<Dipstick>,
    symptoms: Option<Vec<Symptom>>,
    complaints: Option<String>,
    advice: Option<String>,
    next_appointment: Option<NaiveDate>,
}

/// Correct a recorded visit: send only what changes (a JSON merge patch: `null` clears a value)
/// and `reason`. The result is a new version; the old one is kept with who, when and why. Name
/// the version in `If-Match`.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Checkup id"), ("If-Match" = String, Header, description = "ETag being replaced")),
    request_body = CheckupCorrection,
    responses(
        (status = 200, description = "The new version", body = CheckupView, headers(("ETag" = String))),
        (status = 403, description = "Only the recording institution's clinicians correct a visit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid values, or no reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/checkups/{id}")]
pub async fn correct_checkup(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    if_match: IfMatch,
    body: ValidJson<MergePatch>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let patch = body.0;
    let staff = staff.principal;
    let view = db::run_tx(&state.pool, move |conn| {
        let old = load_for_staff(conn, &staff, &id)?;
        require_own(&staff, &old)?;
        if_match.check(old.version)?;
        let old_view = store::view(conn, &old)?;
        let input = patch.apply_to(&CheckupInput::recorded(&old_view))?;
        let Some(reason) = input.reason.clone() else {
            return Err(AppError::invalid_field(
                "/reason",
                "required",
                "say why the visit is corrected",
            ));
        };
        let edd: NaiveDate = pregnancies::table
            .find(&old.pregnancy_id)
            .select(pregnancies::edd)
            .first(conn)?;
        let ga_days = check(&input, edd)?;
        let now = Utc::now().naive_utc();
        diesel::insert_into(checkup_versions::table)
            .values((
                checkup_versions::checkup_id.eq(&old.id),
                checkup_versions::version.eq(old.version),
                checkup_versions::county_code.eq(&old.county_code),
                checkup_versions::snapshot.eq(crate::db::stored::json_to_db(&old_view)?),
                checkup_versions::changed_by.eq(&staff.id),
                checkup_versions::changed_at.eq(now),
                checkup_versions::reason.eq(&reason),
            ))
            .execute(conn)?;
        let mut row = old.clone();
        apply(&mut row, &input, ga_days);
        row.version = old.version + 1;
        row.updated_at = now;
        // A corrected visit is news for the mother again.
        row.mother_seen_at = None;
        let n = diesel::update(
            checkups::table
                .find(&id)
                .filter(checkups::version.eq(old.version)),
        )
        .set(&row)
        .execute(conn)?;
        if n == 0 {
            return Err(AppError::PreconditionFailed {
                current_version: old.version + 1,
            });
        }
        Event::new(&staff, "checkup.amend", "checkup")
            .resource(&id)
            .county(&row.county_code)
            .record(conn, &ctx)?;
        crate::risk::record::refresh_regrading_flag(conn, &row.pregnancy_id)?;
        Ok(store::view(conn, &row)?)
    })
    .await?;
    Ok(respond(&mut HttpResponse::Ok(), view))
}

/// The earlier versions of a checkup, oldest first. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "checkups",
    params(("id" = String, Path, description = "Checkup id")),
    responses(
        (status = 200, description = "Earlier versions", body = Page<VersionView>),
    )
)]
#[get("/checkups/{id}/versions")]
pub async fn list_checkup_versions(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let rows = audit::read(&state.pool, ctx, move |conn| {
        let row = load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "checkup.read_versions", "checkup")
            .resource(&id)
            .county(&row.county_code);
        let versions = checkup_versions::table
            .filter(checkup_versions::checkup_id.eq(&id))
            .order(checkup_versions::version.asc())
            .select((
                checkup_versions::version,
                checkup_versions::changed_by,
                checkup_versions::changed_at,
                checkup_versions::reason,
                checkup_versions::snapshot,
            ))
            .load::<(i64, String, chrono::NaiveDateTime, Option<String>, String)>(conn)?;
        Ok((versions, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(Page::whole(version_views(rows)?)))
}
