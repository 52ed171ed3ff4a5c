//! Every worked example of `shared/domain/maternal/checkup-examples.json` (copied to
//! `tests/fixtures/domain/maternal/`) through the rule functions.

use chrono::NaiveDate;
use serde_json::Value;

use super::{flags, weight_gain};
use crate::pregnancy::dating::{self, GestationalAge};

const EXAMPLES: &str = include_str!("../../tests/fixtures/domain/maternal/checkup-examples.json");

fn date(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

fn ga(v: &Value) -> GestationalAge {
    GestationalAge::parse(v.as_str().unwrap()).unwrap()
}

fn snake<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_checkup_example_holds() {
    let doc: Value = serde_json::from_str(EXAMPLES).unwrap();
    let examples = doc["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 17);
    for ex in examples {
        let (id, i, e) = (&ex["id"], &ex["inputs"], &ex["expected"]);
        match ex["kind"].as_str().unwrap() {
            "gestational_age" => {
                let g = dating::ga_from_lmp(date(&i["lmp"]), date(&i["on_date"]));
                assert_eq!(g.days(), e["ga_days"].as_i64().unwrap(), "{id}");
                assert_eq!(g.to_string(), e["ga"].as_str().unwrap(), "{id}");
                assert_eq!(
                    dating::edd_from_lmp(date(&i["lmp"])),
                    date(&e["edd"]),
                    "{id}"
                );
                // Computed from the EDD, as the service does, the GA is the same.
                assert_eq!(
                    dating::ga_on(date(&e["edd"]), date(&i["on_date"])),
                    g,
                    "{id}"
                );
            }
            "dating" => {
                let d = dating::date_by_ultrasound(
                    Some(date(&i["lmp"])),
                    date(&i["ultrasound_date"]),
                    ga(&i["ultrasound_ga"]),
                );
                assert_eq!(
                    d.lmp_ga_on_scan.to_string(),
                    e["lmp_ga_on_scan"].as_str().unwrap(),
                    "{id}"
                );
                assert_eq!(
                    d.difference_days,
                    e["difference_days"].as_i64().unwrap(),
                    "{id}"
                );
                assert_eq!(
                    d.tolerance_days,
                    e["tolerance_days"].as_i64().unwrap(),
                    "{id}"
                );
                assert_eq!(
                    d.source.as_str(),
                    e["dating_source"].as_str().unwrap(),
                    "{id}"
                );
                assert_eq!(d.edd, date(&e["edd"]), "{id}");
            }
            "ogtt" => {
                let f = |k: &str| i[k].as_f64();
                let gdm = flags::ogtt_gdm(
                    f("ogtt_fasting_mmol_l"),
                    f("ogtt_1h_mmol_l"),
                    f("ogtt_2h_mmol_l"),
                );
                assert_eq!(gdm, e["gdm"].as_bool().unwrap(), "{id}");
            }
            "fasting_glucose" => {
                let pgdm =
                    flags::pregestational_diabetes(i["fasting_glucose_mmol_l"].as_f64().unwrap());
                assert_eq!(
                    pgdm,
                    e["pregestational_diabetes"].as_bool().unwrap(),
                    "{id}"
                );
            }
            "anaemia_band" => {
                let bands: Vec<String> = i["hb_g_l"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|hb| snake(flags::anaemia_band(hb.as_f64().unwrap())))
                    .collect();
                let expected: Vec<String> = e["bands"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(bands, expected, "{id}");
            }
            "weight_gain" => {
                let (category, range, status) = weight_gain::status_at(
                    i["pre_pregnancy_bmi"].as_f64().unwrap(),
                    ga(&i["ga"]),
                    i["gain_kg"].as_f64().unwrap(),
                );
                assert_eq!(snake(category), e["bmi_category"].as_str().unwrap(), "{id}");
                assert_eq!(
                    [range.0, range.1],
                    [
                        e["range_kg"][0].as_f64().unwrap(),
                        e["range_kg"][1].as_f64().unwrap()
                    ],
                    "{id}"
                );
                assert_eq!(snake(status), e["status"].as_str().unwrap(), "{id}");
            }
            "weight_gain_total" => {
                let (category, range, status) = weight_gain::total_status(
                    i["pre_pregnancy_bmi"].as_f64().unwrap(),
                    i["total_gain_kg"].as_f64().unwrap(),
                );
                assert_eq!(snake(category), e["bmi_category"].as_str().unwrap(), "{id}");
                assert_eq!(
                    [range.0, range.1],
                    [
                        e["range_kg"][0].as_f64().unwrap(),
                        e["range_kg"][1].as_f64().unwrap()
                    ],
                    "{id}"
                );
                assert_eq!(snake(status), e["status"].as_str().unwrap(), "{id}");
            }
            "bp_flag" => {
                let got: Vec<String> = i["readings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        snake(flags::bp_flag(
                            r[0].as_i64().unwrap() as i32,
                            r[1].as_i64().unwrap() as i32,
                        ))
                    })
                    .collect();
                let expected: Vec<String> = e["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got, expected, "{id}");
            }
            "fhr_flag" => {
                let got: Vec<String> = i["fhr_bpm"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| snake(flags::fhr_flag(b.as_i64().unwrap() as i32)))
                    .collect();
                let expected: Vec<String> = e["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|b| b.as_str().unwrap().to_string())
                    .collect();
                assert_eq!(got, expected, "{id}");
            }
            other => panic!("{id}: no test for kind {other}"),
        }
    }
}

/// The copy in the repository is the shared specification, when the specification is beside it.
#[test]
fn the_fixture_is_the_shared_specification() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/domain/maternal/checkup-examples.json"
    );
    if let Ok(spec) = std::fs::read_to_string(shared) {
        assert_eq!(
            spec, EXAMPLES,
            "copy shared/domain/maternal/checkup-examples.json \
             into tests/fixtures/domain/maternal/"
        );
    }
}
