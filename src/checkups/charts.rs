//! Series for the fetal-development and maternal charts (孕妇胎儿动态发育变化), shaped so the
//! mini-program draws them without computing anything: x is the gestational week (decimal).

use actix_web::{get, web, HttpResponse};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    flags::{self, BpFlag},
    weight_gain::{self, BmiCategory, GainStatus},
};
use crate::{
    audit::{self, Event},
    auth::{roles::RecordReader, FamilyCaller, Staff},
    db::{self, schema::*, DbConn},
    error::AppError,
    http::RequestCtx,
    pregnancy::{dating::GestationalAge, store as pregnancy_store},
    scope,
    state::AppState,
};

fn week(ga_days: i32) -> f64 {
    (f64::from(ga_days) / 7.0 * 100.0).round() / 100.0
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BandPoint {
    pub week: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GainPoint {
    pub week: f64,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub gain_kg: f64,
    pub status: GainStatus,
}

/// Weight gain against the WS/T 801—2022 band (absent without pre-pregnancy height and weight,
/// and for multiple pregnancies).
#[derive(Debug, Serialize, ToSchema)]
pub struct WeightGainChart {
    pub bmi_category: BmiCategory,
    /// The recommended cumulative range, one point per week 0–40.
    pub band: Vec<BandPoint>,
    pub points: Vec<GainPoint>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValuePoint {
    pub week: f64,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub value: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BpPoint {
    pub week: f64,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub systolic: i32,
    pub diastolic: i32,
    pub flag: BpFlag,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BiometryPoint {
    pub week: f64,
    #[schema(pattern = r"^-?[0-9]{1,3}\+[0-6]$")]
    pub ga: String,
    pub bpd_mm: Option<f64>,
    pub hc_mm: Option<f64>,
    pub ac_mm: Option<f64>,
    pub fl_mm: Option<f64>,
    pub efw_g: Option<f64>,
}

/// All chart series of a pregnancy.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = crate::openapi::examples::charts)]
pub struct Charts {
    pub weight_gain: Option<WeightGainChart>,
    /// Fundal height, cm, with the expected band (completed weeks ± 3 cm) from 20 to 36 weeks.
    pub fundal_height: Vec<ValuePoint>,
    pub fundal_height_band: Vec<BandPoint>,
    pub blood_pressure: Vec<BpPoint>,
    /// Lines at 140/90 (hypertensive) and 160/110 (severe), mmHg.
    pub bp_thresholds: [[i32; 2]; 2],
    pub fetal_biometry: Vec<BiometryPoint>,
}

pub fn charts_of(conn: &mut DbConn, pregnancy_id: &str) -> Result<Charts, AppError> {
    let (handbook_id, fetal_count): (String, Option<i32>) = pregnancies::table
        .find(pregnancy_id)
        .select((pregnancies::handbook_id, pregnancies::fetal_count))
        .first(conn)?;
    let (height, before): (Option<f64>, Option<f64>) = handbooks::table
        .find(&handbook_id)
        .select((handbooks::height_cm, handbooks::pre_pregnancy_weight_kg))
        .first(conn)?;
    type Visit = (i32, Option<f64>, Option<i32>, Option<i32>, Option<f64>);
    let visits: Vec<Visit> = checkups::table
        .filter(checkups::pregnancy_id.eq(pregnancy_id))
        .order((checkups::ga_days.asc(), checkups::id.asc()))
        .select((
            checkups::ga_days,
            checkups::weight_kg,
            checkups::bp_systolic,
            checkups::bp_diastolic,
            checkups::fundal_height_cm,
        ))
        .load(conn)?;
    type Scan = (
        i32,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let scans: Vec<Scan> = ultrasounds::table
        .filter(ultrasounds::pregnancy_id.eq(pregnancy_id))
        .order((ultrasounds::ga_days.asc(), ultrasounds::id.asc()))
        .select((
            ultrasounds::ga_days,
            ultrasounds::bpd_mm,
            ultrasounds::hc_mm,
            ultrasounds::ac_mm,
            ultrasounds::fl_mm,
            ultrasounds::efw_g,
        ))
        .load(conn)?;
    let weight_chart = match (height, before, fetal_count.unwrap_or(1)) {
        (Some(h), Some(w0), 1) => {
            let bmi = weight_gain::bmi(h, w0);
            let category = weight_gain::bmi_category(bmi);
            Some(WeightGainChart {
                bmi_category: category,
                band: (0..=40)
                    .map(|wk| {
                        let (lower, upper) =
                            weight_gain::range_at(category, GestationalAge(wk * 7));
                        BandPoint {
                            week: wk as f64,
                            lower,
                            upper,
                        }
                    })
                    .collect(),
                points: visits
                    .iter()
                    .filter_map(|(ga, w, ..)| {
                        let gain = ((w.as_ref()? - w0) * 10.0).round() / 10.0;
                        let (_, _, status) =
                            weight_gain::status_at(bmi, GestationalAge(i64::from(*ga)), gain);
                        Some(GainPoint {
                            week: week(*ga),
                            ga: GestationalAge(i64::from(*ga)).to_string(),
                            gain_kg: gain,
                            status,
                        })
                    })
                    .collect(),
            })
        }
        _ => None,
    };
    let ga_text = |ga: i32| GestationalAge(i64::from(ga)).to_string();
    Ok(Charts {
        weight_gain: weight_chart,
        fundal_height: visits
            .iter()
            .filter_map(|(ga, _, _, _, f)| {
                Some(ValuePoint {
                    week: week(*ga),
                    ga: ga_text(*ga),
                    value: (*f)?,
                })
            })
            .collect(),
        fundal_height_band: (20..=36)
            .map(|wk| BandPoint {
                week: wk as f64,
                lower: (wk - 3) as f64,
                upper: (wk + 3) as f64,
            })
            .collect(),
        blood_pressure: visits
            .iter()
            .filter_map(|(ga, _, s, d, _)| {
                let (s, d) = ((*s)?, (*d)?);
                Some(BpPoint {
                    week: week(*ga),
                    ga: ga_text(*ga),
                    systolic: s,
                    diastolic: d,
                    flag: flags::bp_flag(s, d),
                })
            })
            .collect(),
        bp_thresholds: [[140, 90], [160, 110]],
        fetal_biometry: scans
            .iter()
            .filter(|(_, bpd, hc, ac, fl, efw)| {
                bpd.is_some() || hc.is_some() || ac.is_some() || fl.is_some() || efw.is_some()
            })
            .map(|(ga, bpd, hc, ac, fl, efw)| BiometryPoint {
                week: week(*ga),
                ga: ga_text(*ga),
                bpd_mm: *bpd,
                hc_mm: *hc,
                ac_mm: *ac,
                fl_mm: *fl,
                efw_g: *efw,
            })
            .collect(),
    })
}

/// Chart series of a pregnancy (weight gain with its band, fundal height, blood pressure, fetal
/// biometry by gestational week). Audited.
///
/// Who: clinicians, village doctors and county reviewers, within their scope.
#[utoipa::path(
    tag = "pregnancies",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "Series", body = Charts),
    )
)]
#[get("/pregnancies/{id}/charts")]
pub async fn get_pregnancy_charts(
    staff: Staff<RecordReader>,
    path: web::Path<String>,
    ctx: RequestCtx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let staff = staff.principal;
    let charts = audit::read(&state.pool, ctx, move |conn| {
        let p = pregnancy_store::load_for_staff(conn, &staff, &id)?;
        let event = Event::new(&staff, "pregnancy.read_charts", "pregnancy")
            .resource(&id)
            .county(&p.county_code);
        Ok((charts_of(conn, &id)?, event))
    })
    .await?;
    Ok(HttpResponse::Ok().json(charts))
}

/// Chart series of one of my pregnancies.
///
/// Who: a family member signed in with WeChat.
#[utoipa::path(
    tag = "my handbook",
    params(("id" = String, Path, description = "Pregnancy id")),
    responses(
        (status = 200, description = "Series", body = Charts),
    )
)]
#[get("/me/pregnancies/{id}/charts")]
pub async fn get_my_pregnancy_charts(
    caller: FamilyCaller,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let charts = db::run(&state.pool, move |conn| {
        let handbook: String = pregnancies::table
            .find(&id)
            .select(pregnancies::handbook_id)
            .first(conn)?;
        scope::family_scope(conn, &caller.0, &handbook)?;
        charts_of(conn, &id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(charts))
}
