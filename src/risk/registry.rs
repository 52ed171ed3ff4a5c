//! The county registry of high-risk cases, with counts per colour and a CSV export.

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::case_store::{view, CaseRow, CaseView};
use super::engine::Colour;
use crate::{
    audit::{self, Event},
    auth::{roles::RecordReader, Staff},
    db::schema::*,
    error::AppError,
    http::{RequestCtx, ValidQuery},
    pregnancy::dating,
    state::AppState,
};

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegistryQuery {
    /// Only this base colour (green … red) or `purple`.
    pub colour: Option<Colour>,
    #[validate(length(max = 64))]
    pub institution_id: Option<String>,
    /// Only women living in this township (or village), 12 digits.
    #[validate(length(equal = 12))]
    pub township: Option<String>,
    /// Gestational weeks today, at least / at most.
    #[validate(range(min = 0, max = 45))]
    pub min_weeks: Option<i64>,
    #[validate(range(min = 0, max = 45))]
    pub max_weeks: Option<i64>,
    /// Only overdue cases (report, follow-up or antenatal visit).
    pub overdue: Option<bool>,
    /// Only cases with a notice the woman has not acknowledged.
    pub unacknowledged: Option<bool>,
    /// `csv` for a spreadsheet; JSON otherwise.
    pub format: Option<String>,
}

/// One open case in the county registry.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryItem {
    pub case: CaseView,
    pub full_name: String,
    pub residence_region_code: String,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga_today: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::registry)]
pub struct Registry {
    /// Open cases by colour label (`orange`, `red`, `purple+yellow` …), after filtering.
    pub counts: std::collections::BTreeMap<String, i64>,
    pub items: Vec<RegistryItem>,
}

/// The county's open high-risk cases (county reviewers; clinics see their own), with counts per
/// colour; `format=csv` gives the same list as CSV. Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "cases",
    params(RegistryQuery),
    responses(
        (status = 200, description = "Open cases", body = Registry, content_type = "application/json"),
    )
)]
#[get("/registry/cases")]
pub async fn list_case_registry(
    staff: Staff<RecordReader>,
    query: ValidQuery<RegistryQuery>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(AppError::invalid_field(
                "/format",
                "invalid_value",
                "json or csv",
            ))
        }
    };
    let township = crate::org::regions::region_filter("township", q.township.as_deref())?;
    let staff = staff.principal;
    let result = audit::read(&state.pool, ctx, move |conn| {
        let mut sql = risk_cases::table
            .inner_join(handbooks::table.on(handbooks::id.eq(risk_cases::handbook_id)))
            .inner_join(pregnancies::table.on(pregnancies::id.eq(risk_cases::pregnancy_id)))
            .filter(risk_cases::stage.ne("closed"))
            .select((
                risk_cases::all_columns,
                handbooks::full_name,
                handbooks::residence_region_code,
                pregnancies::edd,
                pregnancies::status,
            ))
            .into_boxed();
        sql = crate::scope::Listing::of(&staff).apply(
            sql,
            risk_cases::handbook_id,
            risk_cases::county_code,
        );
        match q.colour {
            Some(Colour::Purple) => sql = sql.filter(risk_cases::current_purple.eq(true)),
            Some(c) => sql = sql.filter(risk_cases::current_base.eq(c.as_str())),
            None => {}
        }
        if let Some(inst) = &q.institution_id {
            sql = sql.filter(risk_cases::institution_id.eq(inst.clone()));
        }
        if let Some(t) = &township {
            sql = sql.filter(handbooks::residence_region_code.like(t.like_pattern()));
        }
        let rows: Vec<(CaseRow, String, String, chrono::NaiveDate, String)> =
            sql.order(risk_cases::id.asc()).limit(5000).load(conn)?;
        let today = crate::time::china_today();
        let mut items = Vec::new();
        for (c, full_name, residence_region_code, edd, status) in rows {
            let ga = (status == "ongoing").then(|| dating::ga_on(edd, today));
            if q.min_weeks
                .is_some_and(|w| ga.is_none_or(|g| g.weeks() < w))
                || q.max_weeks
                    .is_some_and(|w| ga.is_none_or(|g| g.weeks() > w))
            {
                continue;
            }
            let case = view(conn, c)?;
            if q.overdue.is_some_and(|o| o != case.overdue)
                || q.unacknowledged
                    .is_some_and(|u| u != (case.open_notices_unacknowledged > 0))
            {
                continue;
            }
            items.push(RegistryItem {
                case,
                full_name,
                residence_region_code,
                ga_today: ga.map(|g| g.to_string()),
            });
        }
        let mut counts = std::collections::BTreeMap::new();
        for i in &items {
            *counts.entry(i.case.colour.clone()).or_insert(0) += 1;
        }
        let event = Event::new(&staff, "registry.read", "case")
            .detail(serde_json::json!({"returned": items.len()}));
        Ok((Registry { counts, items }, event))
    })
    .await?;
    if csv {
        use crate::http::csv::cell;
        let rows = result.items.iter().map(|i| {
            vec![
                cell(&i.case.id),
                cell(i.case.case_number.as_deref().unwrap_or("")),
                cell(&i.full_name),
                cell(&i.residence_region_code),
                cell(&i.case.colour),
                cell(i.case.stage.as_str()),
                cell(i.ga_today.as_deref().unwrap_or("")),
                cell(&i.case.report_due_at.to_rfc3339()),
                cell(&i.case.report_overdue.to_string()),
                cell(&i.case.open_notices_unacknowledged.to_string()),
                cell(&i.case.institution_id),
            ]
        });
        return Ok(crate::http::csv::download(
            "high-risk-registry.csv",
            "case_id,case_number,full_name,residence_region_code,colour,stage,ga_today,\
             report_due_at,report_overdue,unacknowledged_notices,institution_id",
            rows,
        ));
    }
    Ok(HttpResponse::Ok().json(result))
}
