//! Every case of `shared/domain/maternal/risk-examples.json` through the engine.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{
    engine::{self, RULES_JSON},
    input::RiskInput,
};

const EXAMPLES: &str = include_str!("../../tests/fixtures/domain/maternal/risk-examples.json");

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn every_risk_example_holds() {
    let doc: Value = serde_json::from_str(EXAMPLES).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let mut inputs = case["inputs"].clone();
        let ticked: Vec<String> = inputs
            .as_object_mut()
            .unwrap()
            .remove("clinician_codes")
            .map(|v| {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let input: RiskInput =
            serde_json::from_value(inputs).unwrap_or_else(|e| panic!("{id}: {e}"));
        let g = engine::grade(&input, &ticked).unwrap();
        assert_eq!(g.label, case["expected_colour"].as_str().unwrap(), "{id}");
        assert_eq!(
            g.base_colour.as_str(),
            case["expected_base_colour"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(g.purple, case["expected_purple"].as_bool().unwrap(), "{id}");
        assert_eq!(g.codes, set(&case["expected_codes"]), "{id}");
        let s = engine::screen(&input, &[]).unwrap();
        assert_eq!(
            s.positive,
            case["expected_screen_positive"].as_bool().unwrap(),
            "{id}"
        );
        assert_eq!(s.codes, set(&case["expected_screen_codes"]), "{id}");
    }
}

/// The embedded table and the fixtures are the shared specification, when it is beside the repo.
#[test]
fn the_embedded_table_is_the_shared_specification() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/domain/maternal/");
    if let Ok(spec) = std::fs::read_to_string(format!("{dir}risk-rules.json")) {
        assert_eq!(
            spec, RULES_JSON,
            "copy shared/domain/maternal/risk-rules.json to src/risk/"
        );
    }
    if let Ok(spec) = std::fs::read_to_string(format!("{dir}risk-examples.json")) {
        assert_eq!(
            spec, EXAMPLES,
            "copy shared/domain/maternal/risk-examples.json to tests/fixtures/domain/maternal/"
        );
    }
}

#[test]
fn the_input_has_every_field_of_the_rule_table() {
    let table: Value = serde_json::from_str(RULES_JSON).unwrap();
    let names: BTreeSet<String> = table["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    // Every field name deserializes into the typed input (deny_unknown_fields would refuse a stranger).
    for name in &names {
        let probe = serde_json::json!({ name.as_str(): null });
        assert!(serde_json::from_value::<RiskInput>(probe).is_ok(), "{name}");
    }
    let all = serde_json::to_value(RiskInput::default()).unwrap();
    assert!(all.as_object().unwrap().is_empty());
}
