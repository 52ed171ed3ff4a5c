//! What the document builder adds to every operation it applies to, so handlers annotate only
//! what is their own (success bodies, 409s, and 403/422s with rules of their own):
//!
//! - `security`: bearer by default; `security: []` on the operations anyone may call.
//! - 401 on every secured operation, 403 on those not open to every signed-in account; 503 on
//!   every operation that reads the database.
//! - 404 on every operation with a path parameter; 422 on every operation with a body, a query
//!   or an `Idempotency-Key`. An operation documents its own 403/404/422 only where it says more
//!   than the named answer (a rule of its own); who may call it is in its description (`Who:`).
//! - 400/413/415 on every operation with a body or checked headers.
//! - 412/428 where `If-Match` is taken; 304 and `If-None-Match` on every GET under `/api/`.
//! - `Idempotency-Key` with its 409/422 on every signed-in POST.
//!
//! The shared answers are named responses under `components/responses`, referenced by each
//! operation, so a client generator sees one type per answer.

use utoipa::openapi::{
    path::{Operation, ParameterBuilder, ParameterIn},
    schema::{ObjectBuilder, Type},
    security::SecurityRequirement,
    server::Server,
    ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder,
};

/// Operations anyone may call: no bearer token.
const PUBLIC: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/wechat"),
    ("get", "/healthz"),
    ("get", "/readyz"),
];

/// Signed-in operations open to every kind of account (staff and family): no 403.
const ANY_SIGNED_IN: &[(&str, &str)] = &[
    ("get", "/api/v1/me"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me/sessions"),
    ("delete", "/api/v1/me/sessions/{id}"),
];

/// The named responses: `(name, status, description, has a problem body)`.
const SHARED: &[(&str, &str, &str, bool)] = &[
    (
        "Forbidden",
        "403",
        "Your role may not do this (`forbidden`; the operation's description says who may), \
         or a rule of the operation refuses it (`code` says which)",
        true,
    ),
    (
        "NotFound",
        "404",
        "No such record, or not one you may see: the two answers are the same, so that an id \
         tells nothing to someone outside its scope",
        true,
    ),
    (
        "Unprocessable",
        "422",
        "The request cannot be accepted as it stands: `errors` names each invalid field with \
         its code, or `code` names the rule it breaks (an Idempotency-Key used with another \
         request among them)",
        true,
    ),
    (
        "BadRequest",
        "400",
        "A body that does not parse, a malformed Idempotency-Key or If-Match header, \
         or a NUL character (%00) in the path or query",
        true,
    ),
    (
        "Unauthenticated",
        "401",
        "Not signed in, or the session has ended (signed out, revoked, expired)",
        true,
    ),
    (
        "PreconditionFailed",
        "412",
        "The record changed since the version named in If-Match: read it again \
         (the ETag header names the current version)",
        true,
    ),
    (
        "PayloadTooLarge",
        "413",
        "The body is larger than the configured limit",
        true,
    ),
    (
        "UnsupportedMediaType",
        "415",
        "The body is not application/json",
        true,
    ),
    (
        "PreconditionRequired",
        "428",
        "Name the version being replaced in If-Match",
        true,
    ),
    (
        "ServiceUnavailable",
        "503",
        "The database is busy or unreachable: retry after Retry-After seconds",
        true,
    ),
    (
        "NotModified",
        "304",
        "Not modified: If-None-Match named the current ETag",
        false,
    ),
];

/// Fields of answers that are left out when empty (`skip_serializing_if`): every other field of
/// a schema that only answers use is always sent, so [`require_what_is_always_sent`] marks it
/// required (a nullable one as `required` with `null` allowed). `tests/api/openapi.rs` checks
/// that every `skip_serializing_if` in the source is listed here or belongs to a request type.
pub const OMITTED_WHEN_EMPTY: &[(&str, &str)] = &[
    ("Health", "database"),
    ("TokenResponse", "account_created"),
    ("Problem", "detail"),
    ("Problem", "errors"),
    ("Page_*", "next_cursor"),
];

/// Applies every shared part to the document.
pub fn apply(api: &mut OpenApi) {
    require_what_is_always_sent(api);
    api.servers = Some(vec![
        server("/", "The server that serves this document"),
        server(
            "http://127.0.0.1:8080",
            "A local `cargo run` with the default MCH_BIND",
        ),
    ]);
    api.security = Some(vec![SecurityRequirement::new::<_, _, String>("bearer", [])]);
    let components = api.components.get_or_insert_with(Default::default);
    page_items_by_reference(components);
    for (name, status, description, body) in SHARED {
        let mut response = ResponseBuilder::new().description(*description);
        if *body {
            response = response.content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
        }
        let header = match *status {
            "503" => Some((
                "Retry-After",
                Type::Integer,
                "Seconds to wait before retrying",
            )),
            "412" => Some(("ETag", Type::String, "The current version")),
            _ => None,
        };
        if let Some((name, kind, description)) = header {
            response = response.header(
                name,
                HeaderBuilder::new()
                    .schema(ObjectBuilder::new().schema_type(kind))
                    .description(Some(description))
                    .build(),
            );
        }
        components
            .responses
            .insert(name.to_string(), RefOr::T(response.build()));
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for (method, op) in [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ] {
            let Some(op) = op else { continue };
            let public = PUBLIC.contains(&(method, path.as_str()));
            op.security = if public {
                Some(Vec::new())
            } else {
                Some(vec![SecurityRequirement::new::<_, _, String>("bearer", [])])
            };
            let api_path = path.starts_with("/api/");
            if !public {
                shared(op, "401", "Unauthenticated");
                if !ANY_SIGNED_IN.contains(&(method, path.as_str())) {
                    shared(op, "403", "Forbidden");
                }
            }
            if api_path {
                shared(op, "503", "ServiceUnavailable");
            }
            // The Idempotency-Key header first: request_errors documents the 400 a malformed
            // header gets.
            if method == "post" && !public && !path.ends_with("/nutrition/distributions") {
                idempotency(op);
            }
            request_errors(op);
            if method == "get" && api_path {
                conditional_get(op);
            }
        }
    }
}

/// utoipa inlines the item type of the generic `Page<T>` into each `Page_T`: point `items` at the
/// named schema instead, so a client generator gives the page and a lone item one type.
fn page_items_by_reference(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for name in names {
        let Some(item) = name.strip_prefix("Page_") else {
            continue;
        };
        if !components.schemas.contains_key(item) {
            continue;
        }
        let item = item.to_string();
        if let Some(RefOr::T(Schema::Object(page))) = components.schemas.get_mut(&name) {
            if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
                items.items = ArrayItems::RefOrSchema(Box::new(Ref::from_schema_name(item).into()));
            }
        }
    }
}

/// A schema that only answers use lists every field the server always sends as `required`, so a
/// generated client types it `T` or `T | null`, not `T | undefined`. Schemas that a request body
/// or parameter reaches (directly or through another schema) are left as they are: there an
/// optional field may be left out.
fn require_what_is_always_sent(api: &mut OpenApi) {
    let Ok(json) = serde_json::to_value(&*api) else {
        return;
    };
    let schemas = &json["components"]["schemas"];
    let mut input = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = Vec::new();
    for item in json["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            refs(&op["requestBody"], &mut todo);
            refs(&op["parameters"], &mut todo);
        }
    }
    while let Some(name) = todo.pop() {
        if input.insert(name.clone()) {
            refs(&schemas[&name], &mut todo);
        }
    }
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        if input.contains(name) {
            continue;
        }
        let RefOr::T(utoipa::openapi::schema::Schema::Object(object)) = schema else {
            continue;
        };
        let omitted = |field: &str| {
            OMITTED_WHEN_EMPTY.iter().any(|(s, f)| {
                *f == field
                    && (s == name || (s.ends_with('*') && name.starts_with(&s[..s.len() - 1])))
            })
        };
        for field in object.properties.keys() {
            if !omitted(field) && !object.required.contains(field) {
                object.required.push(field.clone());
            }
        }
    }
}

/// The schema names a JSON fragment of the document refers to.
fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                if let Some(name) = r.strip_prefix("#/components/schemas/") {
                    out.push(name.to_string());
                }
            }
            map.values().for_each(|v| refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

fn server(url: &str, description: &str) -> Server {
    let mut s = Server::new(url);
    s.description = Some(description.into());
    s
}

/// References the named response `name` for `status`, unless the operation gives its own.
fn shared(op: &mut Operation, status: &str, name: &str) {
    op.responses
        .responses
        .entry(status.into())
        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
}

/// A `Problem` response with a description of the operation's own.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// The answers the request plumbing gives before a handler runs: a body that is not JSON (415),
/// too large (413) or does not parse (400); a malformed `Idempotency-Key` or `If-Match` header
/// (400); `If-Match` missing (428) or stale (412). `If-Match` names a version (`"v3"`).
fn request_errors(op: &mut Operation) {
    let mut headers = false;
    let mut if_match = false;
    for p in op.parameters.iter_mut().flatten() {
        if p.parameter_in == ParameterIn::Header {
            headers = true;
            if p.name == "If-Match" {
                if_match = true;
                p.required = Required::True;
                p.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^(W/)?\"v[0-9]+\"$"))
                        .examples(["\"v1\""])
                        .into(),
                );
            }
        }
    }
    let body = op.request_body.is_some();
    if body {
        shared(op, "413", "PayloadTooLarge");
        shared(op, "415", "UnsupportedMediaType");
    }
    // Any path or query parameter can carry `%00`, refused before routing
    // (http::middleware::refuse_nul_in_address).
    let address = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Path || p.parameter_in == ParameterIn::Query);
    if body || headers || address {
        shared(op, "400", "BadRequest");
    }
    let in_path = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Path);
    if in_path {
        shared(op, "404", "NotFound");
    }
    let in_query = op
        .parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == ParameterIn::Query);
    if body || in_query {
        shared(op, "422", "Unprocessable");
    }
    if if_match {
        shared(op, "412", "PreconditionFailed");
        shared(op, "428", "PreconditionRequired");
    }
}

/// Every successful GET under `/api/` carries an `ETag`; `If-None-Match` with it answers 304
/// (see [`crate::http::conditional`]).
fn conditional_get(op: &mut Operation) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    if !params.iter().any(|p| p.name == "If-None-Match") {
        params.push(
            ParameterBuilder::new()
                .name("If-None-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The ETag of the copy you hold: 304 with no body when it is still current",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        );
    }
    shared(op, "304", "NotModified");
}

/// Every signed-in POST takes an `Idempotency-Key` (see [`crate::http::idempotency`]): the header,
/// and the 409 (still running) and 422 (reused with another request) it can answer.
fn idempotency(op: &mut Operation) {
    let params = op.parameters.get_or_insert_with(Vec::new);
    params.push(
        ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "Repeat it on a retry to get the first answer (Idempotent-Replayed: true) instead of a second record; kept 24 hours",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(128))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build(),
    );
    op.responses
        .responses
        .entry("409".into())
        .or_insert_with(|| {
            problem("A request with the same Idempotency-Key is still running").into()
        });
    shared(op, "422", "Unprocessable");
}
