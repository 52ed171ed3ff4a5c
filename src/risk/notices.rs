//! Reminder notices of a high-risk case: issued by the clinic (the standard text names the
//! colour in Chinese), read and acknowledged by the mother.

use crate::db::stored;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::case_store::load_for_staff;
use super::engine::{self, Colour};
use crate::{
    audit::{Actor, Event},
    auth::{principal::Principal, roles::Clinical, FamilyCaller, Staff},
    db::{self, schema::*},
    error::{AppError, Problem},
    http::{
        pagination::{Page, PageQuery},
        RequestCtx, ValidJson, ValidQuery,
    },
    scope::{self, Relation},
    state::AppState,
};

/// A reminder notice (温馨提示书).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01a1f6d7-cbe0-7392-a827-ddada170b338", "case_id": "01a1f1c3-bf60-73d9-a344-5bb31738f7d9",
    "handbook_id": "019fe941-5200-752e-89a7-834df2a74de4", "colour": "orange",
    "content": "温馨提示：您的妊娠风险评估为橙色（较高风险）。请在三级医院或危重孕产妇救治中心接受孕期保健和分娩。如出现阴道流血、腹痛、头痛、视物模糊、胎动减少等情况，请立即就医。",
    "issued_at": "2026-11-20T02:45:00.000Z", "acknowledged_at": null
}))]
pub struct NoticeView {
    pub id: String,
    pub case_id: String,
    pub handbook_id: String,
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub colour: String,
    pub content: String,
    #[serde(serialize_with = "crate::time::rfc3339_ms")]
    pub issued_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::time::rfc3339_ms_opt")]
    pub acknowledged_at: Option<DateTime<Utc>>,
}

type NoticeRow = (
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn notice_view(r: NoticeRow) -> NoticeView {
    NoticeView {
        id: r.0,
        case_id: r.1,
        handbook_id: r.2,
        colour: r.3,
        content: r.4,
        issued_at: r.5.and_utc(),
        acknowledged_at: r.6.map(|t| t.and_utc()),
    }
}

const NOTICE_COLUMNS: (
    risk_notices::id,
    risk_notices::case_id,
    risk_notices::handbook_id,
    risk_notices::colour_label,
    risk_notices::content,
    risk_notices::issued_at,
    risk_notices::acknowledged_at,
) = (
    risk_notices::id,
    risk_notices::case_id,
    risk_notices::handbook_id,
    risk_notices::colour_label,
    risk_notices::content,
    risk_notices::issued_at,
    risk_notices::acknowledged_at,
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content": "温馨提示：您的妊娠风险评估为橙色（较高风险）。请于12月3日前到市危重孕产妇救治中心产科门诊评估分娩计划。如出现阴道流血、腹痛，请立即就医。"}))]
pub struct NewNotice {
    /// The text; defaults to the standard reminder for the case's colour.
    #[validate(length(min = 1, max = 4000))]
    pub content: Option<String>,
}

fn standard_notice(base: Colour, purple: bool) -> String {
    let label = engine::label_zh(base, purple);
    let place = match base {
        Colour::Red => "请在危重孕产妇救治中心接受孕期保健和分娩",
        Colour::Orange => "请在三级医院或危重孕产妇救治中心接受孕期保健和分娩",
        _ => "请按医生建议在指定医疗机构接受孕期保健和分娩",
    };
    format!(
        "温馨提示：您的妊娠风险评估为{label}。{place}。\
         如出现阴道流血、腹痛、头痛、视物模糊、胎动减少等情况，请立即就医。"
    )
}

/// Issue a reminder notice to the woman (orange and above, purple). She sees it in the app and
/// acknowledges it.
///
/// Who: clinicians.
#[utoipa::path(
    tag = "cases",
    params(("id" = String, Path, description = "Case id")),
    request_body = NewNotice,
    responses(
        (status = 201, description = "The notice", body = NoticeView),
    )
)]
#[post("/cases/{id}/notices")]
pub async fn issue_case_notice(
    staff: Staff<Clinical>,
    path: web::Path<String>,
    body: ValidJson<NewNotice>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let input = body.0;
    let staff = staff.principal;
    let v = db::run_tx(&state.pool, move |conn| {
        let c = load_for_staff(conn, &staff, &id)?;
        let base: Colour = stored::from_text("risk_cases.current_base", &c.current_base)?;
        let label = engine::label(base, c.current_purple);
        let notice_id = uuid::Uuid::now_v7().to_string();
        diesel::insert_into(risk_notices::table)
            .values((
                risk_notices::id.eq(&notice_id),
                risk_notices::case_id.eq(&id),
                risk_notices::handbook_id.eq(&c.handbook_id),
                risk_notices::county_code.eq(&c.county_code),
                risk_notices::institution_id.eq(&staff.institution_id),
                risk_notices::colour_label.eq(&label),
                risk_notices::content.eq(input
                    .content
                    .clone()
                    .unwrap_or_else(|| standard_notice(base, c.current_purple))),
                risk_notices::issued_by.eq(&staff.id),
                risk_notices::issued_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Event::new(&staff, "case.notice", "case")
            .resource(&id)
            .county(&c.county_code)
            .record(conn, &ctx)?;
        Ok(notice_view(
            risk_notices::table
                .find(&notice_id)
                .select(NOTICE_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// My reminder notices (and those of handbooks shared with me), newest first, a page at a time.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of notices, newest first", body = Page<NoticeView>),
    )
)]
#[get("/me/notices")]
pub async fn list_my_notices(
    caller: FamilyCaller,
    query: ValidQuery<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let page = query.0;
    let limit = page.limit();
    let list = db::run(&state.pool, move |conn| {
        let mine = handbook_members::table
            .filter(handbook_members::family_account_id.eq(caller.0.id.clone()))
            .filter(handbook_members::revoked_at.is_null())
            .select(handbook_members::handbook_id);
        let mut sql = risk_notices::table
            .filter(risk_notices::handbook_id.eq_any(mine))
            .into_boxed();
        if let Some(cursor) = page.cursor {
            sql = sql.filter(risk_notices::id.lt(cursor));
        }
        let rows: Vec<NoticeRow> = sql
            .order(risk_notices::id.desc())
            .limit(limit + 1)
            .select(NOTICE_COLUMNS)
            .load(conn)?;
        Ok(Page::from_rows(rows, limit, |r| r.0.clone()).map(notice_view))
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Acknowledge a notice (the mother only); the time is kept.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Notice id")),
    responses(
        (status = 200, description = "Acknowledged", body = NoticeView),
        (status = 403, description = "Only the mother acknowledges", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/notices/{id}/acknowledge")]
pub async fn acknowledge_notice(
    caller: FamilyCaller,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let v = db::run_tx(&state.pool, move |conn| {
        let (handbook_id, county): (String, String) = risk_notices::table
            .find(&id)
            .select((risk_notices::handbook_id, risk_notices::county_code))
            .first(conn)?;
        if scope::family_scope(conn, &caller.0, &handbook_id)? != Relation::Mother {
            return Err(AppError::Forbidden);
        }
        let n = diesel::update(
            risk_notices::table
                .find(&id)
                .filter(risk_notices::acknowledged_at.is_null()),
        )
        .set((
            risk_notices::acknowledged_at.eq(Utc::now().naive_utc()),
            risk_notices::acknowledged_by.eq(&caller.0.id),
        ))
        .execute(conn)?;
        if n > 0 {
            Event::new(
                Actor::from(&Principal::Family(caller.0.clone())),
                "case.notice_acknowledge",
                "notice",
            )
            .resource(&id)
            .county(county)
            .record(conn, &ctx)?;
        }
        Ok(notice_view(
            risk_notices::table
                .find(&id)
                .select(NOTICE_COLUMNS)
                .first(conn)?,
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mother reads the notice: the colour is named in Chinese, never as `orange`.
    #[test]
    fn the_standard_notice_names_the_colour_in_chinese() {
        let n = standard_notice(Colour::Orange, false);
        assert!(n.contains("您的妊娠风险评估为橙色（较高风险）。"), "{n}");
        assert!(n.contains("三级医院"));
        let n = standard_notice(Colour::Red, true);
        assert!(n.contains("紫色（传染病）和红色（高风险）"), "{n}");
        let n = standard_notice(Colour::Green, true);
        assert!(n.contains("评估为紫色（传染病）。"), "{n}");
        for (base, purple) in [(Colour::Yellow, false), (Colour::Orange, true)] {
            let n = standard_notice(base, purple);
            assert!(!n.chars().any(|c| c.is_ascii_alphabetic()), "{n}");
        }
    }
}
