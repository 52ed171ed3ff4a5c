//! The engine's input as far as the record already knows it, and the re-grading flag.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::stored;

use super::{
    engine::{self, Grading},
    input::RiskInput,
};
use crate::{
    checkups::{flags::Dipstick, labs::LabTest},
    db::{schema::*, DbConn},
    handbook::profile,
    pregnancy::{dating, store::PregnancyRow},
};

/// Facts from the profile, the pregnancy, its latest checkup values and lab results. Infection
/// fields come from the laboratory's reported result (positive/negative); a clinician may tick a
/// code by hand for a diagnosis made elsewhere.
pub fn from_record(conn: &mut DbConn, pregnancy: &PregnancyRow) -> QueryResult<RiskInput> {
    let hb = handbooks::table
        .find(&pregnancy.handbook_id)
        .first::<profile::HandbookRow>(conn)?;
    let today = crate::time::china_today();
    // The rules' gestational week is when the values were taken: the latest checkup's, else today's.
    let latest_visit_ga: Option<i32> = checkups::table
        .filter(checkups::pregnancy_id.eq(&pregnancy.id))
        .order((checkups::visit_date.desc(), checkups::id.desc()))
        .select(checkups::ga_days)
        .first(conn)
        .optional()?;
    let ga = latest_visit_ga.map_or_else(
        || dating::ga_on(pregnancy.edd, today),
        |g| dating::GestationalAge(i64::from(g)),
    );
    // A fasting glucose taken before 24 weeks diagnoses only from 7.0 (pre-existing diabetes); the
    // 5.1 threshold applies to values taken from 24 weeks, so an early value below 7.0 is left out.
    let fasting: Option<(Option<f64>, i32)> = lab_results::table
        .filter(lab_results::pregnancy_id.eq(&pregnancy.id))
        .filter(lab_results::test.eq(LabTest::FastingGlucose.as_str()))
        .order(lab_results::id.desc())
        .select((lab_results::value_num, lab_results::ga_days))
        .first(conn)
        .optional()?;
    let fasting_glucose = fasting.and_then(|(v, at)| v.filter(|v| at >= 24 * 7 || *v >= 7.0));
    let labs: Vec<(String, Option<f64>, Option<String>)> = lab_results::table
        .filter(lab_results::pregnancy_id.eq(&pregnancy.id))
        .order(lab_results::id.asc())
        .select((
            lab_results::test,
            lab_results::value_num,
            lab_results::value_text,
        ))
        .load(conn)?;
    let latest = |test: LabTest| labs.iter().rev().find(|l| l.0 == test.as_str());
    let num = |test: LabTest| latest(test).and_then(|l| l.1);
    let positive = |test: LabTest| {
        latest(test)
            .and_then(|l| l.2.as_deref())
            .map(|r| r == "positive")
    };
    let bp: Option<(Option<i32>, Option<i32>)> = checkups::table
        .filter(checkups::pregnancy_id.eq(&pregnancy.id))
        .filter(checkups::bp_systolic.is_not_null())
        .order((checkups::visit_date.desc(), checkups::id.desc()))
        .select((checkups::bp_systolic, checkups::bp_diastolic))
        .first(conn)
        .optional()?;
    let dipstick: Option<Option<String>> = checkups::table
        .filter(checkups::pregnancy_id.eq(&pregnancy.id))
        .filter(checkups::urine_protein.is_not_null())
        .order((checkups::visit_date.desc(), checkups::id.desc()))
        .select(checkups::urine_protein)
        .first(conn)
        .optional()?;
    let dipstick = dipstick.flatten().as_deref().and_then(Dipstick::parse);
    let protein_24h = num(LabTest::UrineProtein24h);
    let upcr = num(LabTest::Upcr);
    let proteinuria = (dipstick.is_some() || protein_24h.is_some() || upcr.is_some())
        .then(|| crate::checkups::flags::proteinuria(dipstick, protein_24h, upcr));
    let scan_fetuses: Option<Option<i32>> = ultrasounds::table
        .filter(ultrasounds::pregnancy_id.eq(&pregnancy.id))
        .filter(ultrasounds::fetal_count.is_not_null())
        .order(ultrasounds::id.desc())
        .select(ultrasounds::fetal_count)
        .first(conn)
        .optional()?;
    // Pre-pregnancy weight when known, else the weight at a first visit before 14 weeks (§3.3).
    let early_weight: Option<Option<f64>> = checkups::table
        .filter(checkups::pregnancy_id.eq(&pregnancy.id))
        .filter(checkups::ga_days.lt(98))
        .filter(checkups::weight_kg.is_not_null())
        .order((checkups::visit_date.asc(), checkups::id.asc()))
        .select(checkups::weight_kg)
        .first(conn)
        .optional()?;
    let bmi = match (
        hb.height_cm,
        hb.pre_pregnancy_weight_kg.or(early_weight.flatten()),
    ) {
        (Some(h), Some(w)) => Some(crate::checkups::weight_gain::bmi(h, w)),
        _ => None,
    };
    let rh_negative = hb
        .rh
        .as_deref()
        .map(|r| r == "negative")
        .or_else(|| positive(LabTest::Rh).map(|p| !p));
    // A pregnancy dated by an IVF transfer is an assisted-reproduction pregnancy (yellow:
    // `yellow_art_pregnancy`, shared/domain/maternal/risk-rules.json), also after a clinician re-dated it (issue #14: it counted only when a
    // clinician ticked it again).
    let ivf = crate::pregnancy::dating::DatingSource::IvfTransfer.as_str();
    let art_pregnancy = pregnancy.dating_source == ivf || {
        let snapshots: Vec<String> = pregnancy_versions::table
            .filter(pregnancy_versions::pregnancy_id.eq(&pregnancy.id))
            .select(pregnancy_versions::snapshot)
            .load(conn)?;
        let mut earlier = false;
        for s in &snapshots {
            let v: serde_json::Value =
                crate::db::stored::json_from_db("pregnancy_versions.snapshot", s)?;
            earlier |= v["dating_source"].as_str() == Some(ivf);
        }
        earlier
    };
    Ok(RiskInput {
        art_pregnancy: art_pregnancy.then_some(true),
        age_years: Some(i64::from(profile::age_on(hb.birth_date, today))),
        height_cm: hb.height_cm,
        bmi,
        rh_negative,
        gestational_weeks: (ga.days() >= 0).then(|| ga.weeks()),
        hb_g_l: num(LabTest::Hb),
        plt_10e9_l: num(LabTest::Plt),
        ferritin_ug_l: num(LabTest::Ferritin),
        sbp_mmhg: bp.and_then(|b| b.0).map(i64::from),
        dbp_mmhg: bp.and_then(|b| b.1).map(i64::from),
        proteinuria,
        fasting_glucose_mmol_l: fasting_glucose,
        ogtt_fasting_mmol_l: num(LabTest::Ogtt0h),
        ogtt_1h_mmol_l: num(LabTest::Ogtt1h),
        ogtt_2h_mmol_l: num(LabTest::Ogtt2h),
        fetal_count: scan_fetuses
            .flatten()
            .or(pregnancy.fetal_count)
            .map(i64::from),
        hbsag_positive: positive(LabTest::Hbsag),
        hcv_positive: positive(LabTest::Hcv),
        syphilis_positive: positive(LabTest::Syphilis),
        hiv_positive: positive(LabTest::Hiv),
        ..Default::default()
    })
}

/// `base` with every field the clinician gave in `facts` taking precedence.
pub fn merge(base: &RiskInput, facts: &RiskInput) -> RiskInput {
    let mut merged = serde_json::to_value(base).unwrap_or_default();
    if let (Some(target), serde_json::Value::Object(given)) = (
        merged.as_object_mut(),
        serde_json::to_value(facts).unwrap_or_default(),
    ) {
        for (k, v) in given {
            target.insert(k, v);
        }
    }
    serde_json::from_value(merged).unwrap_or_default()
}

/// The fired codes as stored: sorted, comma-separated.
pub fn codes_text(g: &Grading) -> String {
    g.codes.iter().cloned().collect::<Vec<_>>().join(",")
}

pub fn split(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// After new checkup values or results: when the engine's proposal for the pregnancy (with the
/// clinician's facts and ticks of the last grading) differs from that grading's proposal, the
/// pregnancy needs re-grading and shows on the clinic's list.
pub fn refresh_regrading_flag(conn: &mut DbConn, pregnancy_id: &str) -> QueryResult<bool> {
    let last: Option<(String, String, String)> = pregnancy_risk::table
        .inner_join(risk_gradings::table.on(risk_gradings::id.eq(pregnancy_risk::last_grading_id)))
        .filter(pregnancy_risk::pregnancy_id.eq(pregnancy_id))
        .select((
            risk_gradings::facts,
            risk_gradings::ticked,
            risk_gradings::proposed_codes,
        ))
        .first(conn)
        .optional()?;
    let Some((facts, ticked, proposed)) = last else {
        return Ok(false);
    };
    let pregnancy: PregnancyRow = pregnancies::table.find(pregnancy_id).first(conn)?;
    let facts: RiskInput = stored::json_from_db("risk_gradings.facts", &facts)?;
    let input = merge(&from_record(conn, &pregnancy)?, &facts);
    let Ok(now) = engine::grade(&input, &split(&ticked)) else {
        return Ok(false);
    };
    let changed = codes_text(&now) != proposed;
    if changed {
        diesel::update(pregnancy_risk::table.find(pregnancy_id))
            .set((
                pregnancy_risk::needs_regrading.eq(true),
                pregnancy_risk::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
    }
    Ok(changed)
}
