//! The committed OpenAPI document is what the code generates, and it is complete.

use crate::helpers::*;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[test]
fn committed_openapi_matches_the_code() {
    let generated = mch_handbook::openapi::document_json();
    assert!(
        generated == COMMITTED,
        "openapi/openapi.json is stale; regenerate it with:\n    cargo run -- openapi > \
            openapi/openapi.json"
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
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
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
            let checked_header = op["parameters"].as_array().is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["in"] == "header" && p["name"] != "If-None-Match")
            });
            if checked_header {
                assert!(
                    responses.contains_key("400"),
                    "{method} {path} takes a checked header and must document 400"
                );
            }
            assert!(
                op["summary"].is_string() || op["description"].is_string(),
                "{method} {path} has no description"
            );
        }
    }
    assert!(operations >= 19, "{operations}");
    let missing = bodies_without_an_example(&doc);
    assert!(
        missing.is_empty(),
        "bodies without an example (add `#[schema(example = json!(...))]` to the schema, or \
            `example = json!(...)` to an inline response):\n{}",
        missing.join("\n")
    );
}

/// The bodies with no example: every response with content, success or error (a named response
/// through its `$ref`), and every request body, whose media type carries no example itself nor on
/// the schema it refers to (for a `Page_X`, on the item schema `X`). One line per media type.
fn bodies_without_an_example(doc: &serde_json::Value) -> Vec<String> {
    let schemas = &doc["components"]["schemas"];
    let has_example =
        |v: &serde_json::Value| v.get("example").is_some() || v.get("examples").is_some();
    let referred = |schema: &serde_json::Value| -> Option<String> {
        let name = schema["$ref"]
            .as_str()?
            .strip_prefix("#/components/schemas/")?;
        if name.starts_with("Page_") {
            let item = schemas[name]["properties"]["items"]["items"]["$ref"].as_str()?;
            return item
                .strip_prefix("#/components/schemas/")
                .map(str::to_string);
        }
        Some(name.to_string())
    };
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut bodies: Vec<(String, &serde_json::Value)> = Vec::new();
            if op.get("requestBody").is_some() {
                bodies.push(("request".into(), &op["requestBody"]));
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(r) => {
                        let name = r.strip_prefix("#/components/responses/").unwrap();
                        &doc["components"]["responses"][name]
                    }
                    None => response,
                };
                bodies.push((status.clone(), response));
            }
            for (what, body) in bodies {
                for (content_type, media) in body["content"].as_object().into_iter().flatten() {
                    let covered = has_example(media)
                        || referred(&media["schema"])
                            .is_some_and(|n| has_example(&schemas[n.as_str()]));
                    if !covered {
                        missing.push(format!("{method} {path} {what} {content_type}"));
                    }
                }
            }
        }
    }
    missing
}

/// The check above finds what it should: a success answer whose schema (or, for a page, whose
/// item schema) has no example, and an inline schema without one on the response.
#[test]
fn a_body_without_an_example_is_found() {
    let doc = serde_json::json!({
        "paths": {"/a": {"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page_Item"}}}},
            "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Bare"}}}},
            "202": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "203": {"content": {"application/json": {"schema": {"type": "object"}, "example": {}}}},
            "204": {"description": "No content"},
            "404": {"$ref": "#/components/responses/NotFound"}
        }}}},
        "components": {
            "schemas": {
                "Page_Item": {"properties": {"items": {"items": {"$ref": "#/components/schemas/Item"}}}},
                "Item": {"type": "object"},
                "Bare": {"type": "object"},
                "Problem": {"type": "object", "example": {"status": 404}}
            },
            "responses": {"NotFound": {"content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}}
        }
    });
    assert_eq!(
        bodies_without_an_example(&doc),
        vec![
            "get /a 200 application/json",
            "get /a 201 application/json",
            "get /a 202 application/json",
        ]
    );
}

/// Every list answers in one shape, `{items, next_cursor}` (a `Page_…` schema): a client reads
/// every list one way, and one that can grow pages in SQL.
#[test]
fn every_list_is_a_page() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let mut lists = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                for (_, media) in response["content"].as_object().into_iter().flatten() {
                    let schema = &media["schema"];
                    assert_ne!(
                        schema["type"], "array",
                        "{method} {path} {status} answers a bare array: make it a Page"
                    );
                    if schema["$ref"]
                        .as_str()
                        .is_some_and(|r| r.starts_with("#/components/schemas/Page_"))
                    {
                        lists += 1;
                    }
                }
            }
        }
    }
    assert!(lists >= 27, "{lists} lists");
}

/// Client generators name a function after each operationId: a duplicate makes them type one
/// operation with another's body (openapi-typescript) or number them in document order.
#[test]
fn operation_ids_are_unique_and_say_verb_and_noun() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.split('_').count() >= 2
                    && id.split('_').all(|w| !w.is_empty()
                        && w.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
                "{method} {path}: operationId {id} is not verb_noun in snake_case"
            );
            if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
        }
    }
}

/// Anyone may call these, and the document says so (`security: []`); every other operation
/// needs the bearer token and documents the 401 it answers without one.
#[test]
fn public_operations_say_so_and_every_other_one_needs_a_token() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    assert!(doc["servers"].as_array().is_some_and(|s| !s.is_empty()));
    let mut public = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"].as_array().unwrap();
            if security.is_empty() {
                public.push(format!("{} {path}", method.to_uppercase()));
            } else {
                assert_eq!(
                    op["responses"]["401"]["$ref"],
                    "#/components/responses/Unauthenticated"
                );
            }
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "GET /healthz",
            "GET /readyz",
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/refresh",
            "POST /api/v1/auth/wechat",
        ]
    );
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

    // Swagger UI validates nothing against the public validator (offline, and the document's
    // address stays here), and a file it does not have is a problem document (issue #14).
    let mut init = app
        .client
        .get(format!("{}/docs/swagger-initializer.js", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    let init = String::from_utf8(init.body().await.unwrap().to_vec()).unwrap();
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    let missing = app
        .request("GET", "/docs/no-such-file.js", None, None)
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(missing.body["code"], "not_found");
}

/// Every schema name is used once: utoipa keeps the last of two types with the same name, which
/// silently documents the wrong body for one of them (a `#[schema(as = …)]` tells them apart).
#[test]
fn schema_names_are_unique() {
    let files = rust_files("src");
    let mut names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line
                .strip_prefix("pub struct ")
                .or_else(|| line.strip_prefix("pub enum "))
            else {
                continue;
            };
            // The attributes right above the item.
            let attrs: Vec<&str> = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.starts_with('#') || l.starts_with("///") || l.starts_with("    "))
                .copied()
                .collect();
            if !attrs.iter().any(|a| a.contains("ToSchema")) {
                continue;
            }
            let name = attrs
                .iter()
                .find_map(|a| a.split("schema(as = ").nth(1))
                .map(|n| n.trim_end_matches(")]").to_string())
                .unwrap_or_else(|| {
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap()
                        .to_string()
                });
            names.entry(name).or_default().push(f.display().to_string());
        }
    }
    let dupes: Vec<_> = names.into_iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(dupes.is_empty(), "schema names used twice: {dupes:?}");
}

/// A field the server leaves out when empty (`skip_serializing_if`) is never `required` in the
/// document, and every other field of an answer is (the builder marks them; see
/// `openapi::OMITTED_WHEN_EMPTY`). Scans the source for each `skip_serializing_if`.
#[test]
fn fields_left_out_when_empty_are_not_required_and_the_rest_of_an_answer_is() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let files = rust_files("src");
    let mut checked = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.contains("#[serde(") && line.contains("skip_serializing_if")) {
                continue;
            }
            let field = lines[i + 1..]
                .iter()
                .find_map(|l| l.trim().strip_prefix("pub "))
                .and_then(|l| l.split(':').next())
                .unwrap()
                .to_string();
            let strukt = lines[..i]
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("pub struct "))
                .and_then(|l| l.split(|c: char| !c.is_alphanumeric() && c != '_').next())
                .unwrap()
                .to_string();
            for (name, schema) in schemas {
                let same = *name == strukt || name.starts_with(&format!("{strukt}_"));
                if !same {
                    continue;
                }
                checked += 1;
                let required = schema["required"].as_array().cloned().unwrap_or_default();
                assert!(
                    !required.iter().any(|r| r == &field),
                    "{name}.{field} is left out when empty ({}) but required in the document",
                    f.display()
                );
            }
        }
    }
    assert!(checked >= 5, "{checked}");
    // An answer's other fields are required, nullable ones included.
    let view = &schemas["CheckupView"];
    for field in [
        "weight_kg",
        "next_appointment",
        "fetal_presentation",
        "labs",
    ] {
        assert!(
            view["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == field),
            "CheckupView.{field} is always sent"
        );
    }
}

/// Issue #13: months (`YYYY-MM`) and gestational ages (`w+d`) are strings with a pattern, so a
/// generated client and a fuzzer know their shape: every parameter or property of those names.
#[test]
fn months_and_gestational_ages_carry_their_pattern() {
    let doc: serde_json::Value = serde_json::from_str(COMMITTED).unwrap();
    let mut missing = Vec::new();
    let mut seen = 0;
    let mut check = |place: String, name: &str, schema: &serde_json::Value| {
        let wanted = match name {
            "month" => "^[0-9]{4}-(0[1-9]|1[0-2])$",
            "ga" | "ga_today" | "ga_from" | "ga_to" | "ga_at_birth" | "window_from"
            | "window_to" => "+[0-6]$",
            _ => return,
        };
        seen += 1;
        let pattern = schema["pattern"].as_str().unwrap_or("");
        if !pattern.ends_with(wanted) {
            missing.push(format!("{place}.{name}"));
        }
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                check(format!("{method} {path}"), name, &p["schema"]);
            }
        }
    }
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for (prop, s) in schema["properties"].as_object().into_iter().flatten() {
            check(name.clone(), prop, s);
        }
    }
    assert!(seen >= 15, "only {seen} months and gestational ages found");
    assert!(missing.is_empty(), "without their pattern: {missing:?}");
}
