//! Every case of `shared/domain/child/nutrition-examples.json` through [`super::rules::evaluate`].

use chrono::NaiveDate;
use serde_json::Value;

use super::rules::{evaluate, Context, Event, EventKind};

const EXAMPLES: &str = include_str!("../../tests/fixtures/domain/child/nutrition-examples.json");

fn d(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

fn snake<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn every_nutrition_example_holds() {
    let doc: Value = serde_json::from_str(EXAMPLES).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let events: Vec<Event> = case["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| Event {
                date: d(&e["date"]),
                kind: match e["type"].as_str().unwrap() {
                    "consent" => EventKind::Consent,
                    "issue" => EventKind::Issue {
                        sachets: e["sachets"].as_i64().unwrap_or(30),
                    },
                    "medical_clearance" => EventKind::MedicalClearance {
                        suitable: e["decision"] == "suitable",
                    },
                    "withdraw" => EventKind::Withdraw,
                    "moved_out" => EventKind::MovedOut,
                    "died" => EventKind::Died,
                    "legacy_stopped_at_24" => EventKind::LegacyStoppedAt24,
                    other => panic!("{id}: unknown event {other}"),
                },
            })
            .collect();
        let ctx = Context {
            force_majeure: case["context"]["force_majeure"]
                .as_array()
                .map(|ranges| ranges.iter().map(|r| (d(&r[0]), d(&r[1]))).collect())
                .unwrap_or_default(),
        };
        let needs = case["flags"]["needs_medical_clearance"]
            .as_bool()
            .unwrap_or(false);
        let got = evaluate(
            d(&case["birth_date"]),
            needs,
            &events,
            d(&case["today"]),
            &ctx,
        );
        let e = &case["expected"];
        assert_eq!(snake(got.state), e["state"], "{id} state");
        assert_eq!(
            got.age_months,
            e["age_months"].as_i64().unwrap(),
            "{id} age"
        );
        assert_eq!(
            got.stop_count,
            e["stop_count"].as_i64().unwrap(),
            "{id} stop_count"
        );
        assert_eq!(
            got.may_issue,
            e["may_issue"].as_bool().unwrap(),
            "{id} may_issue"
        );
        assert_eq!(got.sachets, e["sachets"].as_i64().unwrap(), "{id} sachets");
        assert_eq!(
            got.refusal.map(snake).unwrap_or(Value::Null),
            e.get("refusal").cloned().unwrap_or(Value::Null),
            "{id} refusal"
        );
        assert_eq!(
            got.reason.map(Value::from).unwrap_or(Value::Null),
            e.get("reason").cloned().unwrap_or(Value::Null),
            "{id} reason"
        );
        assert_eq!(
            got.stop_due
                .map(|s| Value::from(s.to_string()))
                .unwrap_or(Value::Null),
            e.get("stop_due").cloned().unwrap_or(Value::Null),
            "{id} stop_due"
        );
    }
}
