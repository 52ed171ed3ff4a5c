//! Monthly follow-up cards: Hb, length/height, weight, compliance, counselling — with WHO z-scores,
//! growth classes and the altitude-adjusted anaemia grades computed on save, and the comparison from
//! the first card to the latest.

use crate::error::Code;
use actix_web::{get, post, web, HttpResponse};
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::{
    audit::{self, Event},
    auth::{
        roles::{CareProvider, RecordReader},
        Staff, StaffPrincipal,
    },
    db::{self, schema::*, DbConn},
    error::{AppError, Problem},
    growth::{
        anaemia::{self, AnaemiaGrade},
        who::Sex,
        zscore::{self, GrowthClass, ZScores},
    },
    http::{extract::not_future, RequestCtx, ValidJson},
    scope,
    state::AppState,
};

/// A follow-up card.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"followed_on": "2026-11-20", "hb_g_l": 108, "length_cm": 72.4, "measured_lying": true,
    "weight_kg": 8.6, "remaining_at_home": 3, "counselled": true, "notes": "每天1袋，拌入米糊", "advice": "继续母乳喂养"}))]
#[schema(as = NewNutritionFollowup)]
pub struct NewFollowup {
    #[validate(custom(function = "not_future"))]
    pub followed_on: NaiveDate,
    /// g/L as measured (the altitude adjustment is applied here).
    #[validate(range(min = 30.0, max = 200.0))]
    pub hb_g_l: Option<f64>,
    #[validate(range(min = 40.0, max = 130.0))]
    pub length_cm: Option<f64>,
    /// Recumbent (true) or standing (false); defaults to lying until 730 days.
    pub measured_lying: Option<bool>,
    #[validate(range(min = 1.0, max = 30.0))]
    pub weight_kg: Option<f64>,
    #[validate(range(min = 0, max = 60))]
    pub remaining_at_home: Option<i32>,
    /// The carer was counselled (purpose and use of the pack, feeding).
    pub counselled: bool,
    #[validate(length(max = 2000))]
    pub notes: Option<String>,
    #[validate(length(max = 2000))]
    pub advice: Option<String>,
}

/// Anaemia on one card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnaemiaView {
    pub hb_measured: f64,
    pub altitude_m: i32,
    /// Measured minus the altitude adjustment (WHO 2011 table), one decimal.
    pub hb_adjusted: f64,
    /// WHO 2011 (programme indicators); absent under 6 months.
    pub who2011: Option<AnaemiaGrade>,
    /// China 2012 grading (体弱儿 management).
    pub china: AnaemiaGrade,
}

/// A follow-up card as stored, with what was computed from it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = NutritionFollowupView)]
#[schema(example = crate::openapi::examples::followup_view)]
pub struct FollowupView {
    pub id: String,
    pub followed_on: NaiveDate,
    pub age_days: i32,
    pub length_cm: Option<f64>,
    pub measured_lying: Option<bool>,
    pub weight_kg: Option<f64>,
    pub remaining_at_home: Option<i32>,
    pub counselled: bool,
    pub notes: Option<String>,
    pub advice: Option<String>,
    /// Unrounded z-scores (round for display).
    pub zscores: ZScores,
    pub growth: GrowthClass,
    pub anaemia: Option<AnaemiaView>,
}

/// The card list with the change from the first to the latest.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::followup_history)]
pub struct FollowupHistory {
    pub cards: Vec<FollowupView>,
    /// Latest minus first, where both have the value.
    pub change_hb_adjusted: Option<f64>,
    pub change_lhfa: Option<f64>,
    pub change_wfa: Option<f64>,
}

/// A card's columns, in [`ROW_COLUMNS`] order.
pub type Row = (
    String,
    NaiveDate,
    i32,
    Option<f64>,
    Option<i32>,
    Option<f64>,
    Option<bool>,
    Option<f64>,
    Option<i32>,
    bool,
    Option<String>,
    Option<String>,
);

/// The columns of a [`Row`].
pub const ROW_COLUMNS: (
    nutrition_followups::id,
    nutrition_followups::followed_on,
    nutrition_followups::age_days,
    nutrition_followups::hb_g_l,
    nutrition_followups::altitude_m,
    nutrition_followups::length_cm,
    nutrition_followups::measured_lying,
    nutrition_followups::weight_kg,
    nutrition_followups::remaining_at_home,
    nutrition_followups::counselled,
    nutrition_followups::notes,
    nutrition_followups::advice,
) = (
    nutrition_followups::id,
    nutrition_followups::followed_on,
    nutrition_followups::age_days,
    nutrition_followups::hb_g_l,
    nutrition_followups::altitude_m,
    nutrition_followups::length_cm,
    nutrition_followups::measured_lying,
    nutrition_followups::weight_kg,
    nutrition_followups::remaining_at_home,
    nutrition_followups::counselled,
    nutrition_followups::notes,
    nutrition_followups::advice,
);

/// The WHO table a child is measured against: none for a child whose sex is `undetermined` (no
/// table applies, so its z-scores are left out rather than read from the girls' tables); an
/// unknown stored value is an error.
pub fn table_sex(stored: &str) -> QueryResult<Option<Sex>> {
    match stored {
        "male" => Ok(Some(Sex::Male)),
        "female" => Ok(Some(Sex::Female)),
        "undetermined" => Ok(None),
        other => Err(diesel::result::Error::DeserializationError(
            format!("children.sex {other:?} is not a known sex").into(),
        )),
    }
}

pub fn view(sex: Option<Sex>, r: Row) -> FollowupView {
    let (
        id,
        followed_on,
        age_days,
        hb,
        altitude,
        length,
        lying,
        weight,
        remaining,
        counselled,
        notes,
        advice,
    ) = r;
    let z = sex.map_or_else(zscore::ZScores::default, |sex| {
        zscore::zscores(
            sex,
            i64::from(age_days),
            length.map(|l| (l, lying.unwrap_or(age_days <= 730))),
            weight,
        )
    });
    let anaemia = hb.map(|hb| {
        let altitude_m = altitude.unwrap_or(0);
        let adjusted = anaemia::adjusted_hb(hb, f64::from(altitude_m));
        AnaemiaView {
            hb_measured: hb,
            altitude_m,
            hb_adjusted: adjusted,
            who2011: anaemia::who2011_grade(adjusted, (f64::from(age_days) / 30.4375) as i64),
            china: anaemia::china_grade(adjusted),
        }
    });
    FollowupView {
        id,
        followed_on,
        age_days,
        length_cm: length,
        measured_lying: lying,
        weight_kg: weight,
        remaining_at_home: remaining,
        counselled,
        notes,
        advice,
        growth: zscore::classify(&z),
        zscores: z,
        anaemia,
    }
}

/// `(county, birth date, sex, village altitude)` of a child in scope ([`scope::child`]); 404
/// otherwise.
fn child_with_altitude(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    id: &str,
) -> Result<(String, NaiveDate, Option<Sex>, Option<i32>), AppError> {
    let child = scope::child(conn, staff, id)?;
    let altitude: Option<i32> = handbooks::table
        .inner_join(regions::table.on(regions::code.eq(handbooks::residence_region_code)))
        .filter(handbooks::id.eq(&child.handbook_id))
        .select(regions::elevation_m)
        .first::<Option<i32>>(conn)
        .optional()?
        .flatten();
    let sex = table_sex(&child.sex)?;
    let birth = child.birth_date();
    Ok((child.county_code, birth, sex, altitude))
}

fn history(conn: &mut DbConn, child_id: &str, sex: Option<Sex>) -> QueryResult<FollowupHistory> {
    let rows: Vec<Row> = nutrition_followups::table
        .filter(nutrition_followups::child_id.eq(child_id))
        .order((
            nutrition_followups::followed_on.asc(),
            nutrition_followups::id.asc(),
        ))
        .filter(nutrition_followups::superseded_by.is_null())
        .select(ROW_COLUMNS)
        .load(conn)?;
    let cards: Vec<FollowupView> = rows.into_iter().map(|r| view(sex, r)).collect();
    let change = |f: &dyn Fn(&FollowupView) -> Option<f64>| -> Option<f64> {
        let first = cards.iter().find_map(f)?;
        let last = cards.iter().rev().find_map(f)?;
        (cards.len() > 1).then(|| zscore::round2(last - first))
    };
    Ok(FollowupHistory {
        change_hb_adjusted: change(&|c| c.anaemia.as_ref().map(|a| a.hb_adjusted)),
        change_lhfa: change(&|c| c.zscores.lhfa),
        change_wfa: change(&|c| c.zscores.wfa),
        cards,
    })
}

/// Writes a card (a correction when `corrects` names the card it replaces and why) and returns it
/// as computed.
fn save_card(
    conn: &mut DbConn,
    staff: &StaffPrincipal,
    child_id: &str,
    f: &NewFollowup,
    corrects: Option<(&str, &str)>,
    ctx: &RequestCtx,
) -> Result<FollowupView, AppError> {
    let (county, birth, sex, altitude) = child_with_altitude(conn, staff, child_id)?;
    if f.followed_on < birth {
        let field = if corrects.is_some() {
            "/followup/followed_on"
        } else {
            "/followed_on"
        };
        return Err(AppError::invalid_field(
            field,
            "before_birth",
            "is before the child's birth",
        ));
    }
    let age_days = (f.followed_on - birth).num_days() as i32;
    let card_id = uuid::Uuid::now_v7().to_string();
    let now = Utc::now().naive_utc();
    if let Some((old, _)) = corrects {
        // The old card stays as it was, pointing at its successor; only a current card of this
        // child can be corrected.
        let n = diesel::update(
            nutrition_followups::table
                .find(old)
                .filter(nutrition_followups::child_id.eq(child_id))
                .filter(nutrition_followups::superseded_by.is_null()),
        )
        .set(nutrition_followups::superseded_by.eq(&card_id))
        .execute(conn)?;
        if n == 0 {
            let exists: i64 = nutrition_followups::table
                .find(old)
                .filter(nutrition_followups::child_id.eq(child_id))
                .count()
                .get_result(conn)?;
            return Err(if exists == 0 {
                AppError::NotFound
            } else {
                AppError::conflict(
                    Code::AlreadyCorrected,
                    "this card has been corrected already; correct the current version",
                )
            });
        }
    }
    diesel::insert_into(nutrition_followups::table)
        .values((
            nutrition_followups::id.eq(&card_id),
            nutrition_followups::child_id.eq(child_id),
            nutrition_followups::county_code.eq(&county),
            nutrition_followups::institution_id.eq(&staff.institution_id),
            nutrition_followups::followed_on.eq(f.followed_on),
            nutrition_followups::age_days.eq(age_days),
            nutrition_followups::hb_g_l.eq(f.hb_g_l),
            nutrition_followups::altitude_m.eq(altitude),
            nutrition_followups::length_cm.eq(f.length_cm),
            nutrition_followups::measured_lying.eq(f
                .length_cm
                .map(|_| f.measured_lying.unwrap_or(age_days <= 730))),
            nutrition_followups::weight_kg.eq(f.weight_kg),
            nutrition_followups::remaining_at_home.eq(f.remaining_at_home),
            nutrition_followups::counselled.eq(f.counselled),
            nutrition_followups::notes.eq(&f.notes),
            nutrition_followups::advice.eq(&f.advice),
            nutrition_followups::recorded_by.eq(&staff.id),
            nutrition_followups::recorded_at.eq(now),
            nutrition_followups::correction_reason.eq(corrects.map(|c| c.1)),
        ))
        .execute(conn)?;
    let action = if corrects.is_some() {
        "nutrition.followup_correct"
    } else {
        "nutrition.followup"
    };
    Event::new(staff, action, "child")
        .resource(child_id)
        .county(&county)
        .detail(serde_json::json!({"card": card_id, "replaces": corrects.map(|c| c.0)}))
        .record(conn, ctx)?;
    let h = history(conn, child_id, sex)?;
    h.cards
        .into_iter()
        .find(|c| c.id == card_id)
        .ok_or_else(|| AppError::internal("card just written is missing"))
}

/// A corrected card and why.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Hb 误录为 98，实测 108", "followup": {"followed_on": "2026-11-20", "hb_g_l": 108, "length_cm": 72.4,
    "measured_lying": true, "weight_kg": 8.6, "remaining_at_home": 3, "counselled": true}}))]
pub struct Correction {
    #[validate(length(min = 1, max = 500))]
    pub reason: String,
    #[validate(nested)]
    pub followup: NewFollowup,
}

/// Correct a follow-up card: a new version replaces it; the old card is kept unchanged and marked
/// as superseded. Reports already approved keep their figures and show the difference.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(
        ("id" = String, Path, description = "Child id"),
        ("card" = String, Path, description = "The card to correct"),
    ),
    request_body = Correction,
    responses(
        (status = 201, description = "The new version, computed", body = FollowupView),
        (status = 409, description = "The card was corrected already (correct the current version)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/nutrition/followups/{card}/corrections")]
pub async fn correct_nutrition_followup(
    staff: Staff<CareProvider>,
    path: web::Path<(String, String)>,
    body: ValidJson<Correction>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (id, old) = path.into_inner();
    let c = body.0;
    let staff = staff.principal;
    let card = db::run_tx(&state.pool, move |conn| {
        save_card(
            conn,
            &staff,
            &id,
            &c.followup,
            Some((&old, &c.reason)),
            &ctx,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(card))
}

/// Record a follow-up card. Z-scores, growth classes and anaemia (altitude of her village) come back.
///
/// Who: clinicians and village doctors.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    request_body = NewFollowup,
    responses(
        (status = 201, description = "The card with computed values", body = FollowupView),
        (status = 422, description = "Implausible values or a date before birth (each field named)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/children/{id}/nutrition/followups")]
pub async fn record_nutrition_followup(
    staff: Staff<CareProvider>,
    path: web::Path<String>,
    body: ValidJson<NewFollowup>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let f = body.0;
    let staff = staff.principal;
    let card = db::run_tx(&state.pool, move |conn| {
        save_card(conn, &staff, &id, &f, None, &ctx)
    })
    .await?;
    Ok(HttpResponse::Created().json(card))
}

/// The child's follow-up cards with the change from the first to the latest. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "nutrition",
    params(("id" = String, Path, description = "Child id")),
    responses(
        (status = 200, description = "Cards, oldest first", body = FollowupHistory),
    )
)]
#[get("/children/{id}/nutrition/followups")]
pub async fn list_nutrition_followups(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let h = audit::read(&state.pool, ctx, move |conn| {
        let (county, _, sex, _) = child_with_altitude(conn, &staff, &id)?;
        let event = Event::new(&staff, "nutrition.read_followups", "child")
            .resource(&id)
            .county(county);
        Ok((history(conn, &id, sex)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(h))
}
