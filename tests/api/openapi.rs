//! The committed OpenAPI document is what the code generates, and it is complete.

use crate::helpers::*;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn committed_openapi_matches_the_code() {
    let generated = mch_handbook::openapi::document_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is stale; regenerate it with:\n    cargo run -- openapi > openapi/openapi.json"
    );
}

#[test]
fn every_operation_documents_its_errors_security_and_examples() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let secured = op.get("security").is_some();
            if secured {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} must document 401"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("422"),
                    "{method} {path} must document 422"
                );
            }
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} has no success response"
            );
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} has no description"
            );
        }
    }
    assert!(operations >= 19, "{operations}");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Problem",
        "TokenResponse",
        "StaffView",
        "NewStaff",
        "InstitutionView",
        "RegionView",
    ] {
        assert!(
            schemas[name].get("example").is_some(),
            "{name} needs an example"
        );
    }
}

#[actix_web::test]
async fn the_server_serves_the_document_and_offline_docs() {
    let app = spawn_app().await;
    let served = app.request("GET", "/openapi.json", None, None).await;
    assert_eq!(served.status, 200);
    let committed: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(served.body, committed);

    let mut docs = app
        .client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = String::from_utf8(docs.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("swagger-ui"));
    assert!(
        !html.contains("https://"),
        "the docs page must not load anything from the internet"
    );
    let mut bundle = app
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    assert!(bundle.body().limit(10 * 1024 * 1024).await.unwrap().len() > 100_000);
    let no_follow = awc::Client::builder().disable_redirects().finish();
    let redirect = no_follow
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(redirect.headers().get("location").unwrap(), "/docs/");
}
