//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! types' doc comments. The route table in [`crate::routes`] is the one source of both the
//! running routes and this document, so a route cannot exist without its entry. The committed
//! copy lives at `openapi/openapi.json`; `cargo run -- openapi > openapi/openapi.json` regenerates it.

use actix_web::App;
use utoipa::{
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_actix_web::AppExt;

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mch-handbook",
        description = "Electronic Mother-Child Health Handbook (母子健康手册) API.\n\nErrors are RFC 9457 `application/problem+json` with a stable `code`; validation errors (422) list every invalid field as a JSON pointer. Resources outside the caller's scope answer 404, roles that may never call an endpoint 403.",
        license(name = "Apache-2.0"),
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem, FieldError)),
    tags(
        (name = "auth", description = "Sign-in for staff (password) and families (WeChat); tokens and sessions"),
        (name = "regions", description = "Statistical division codes, province to village"),
        (name = "institutions", description = "Clinics, health centres, hospitals, MCH centres"),
        (name = "staff", description = "Staff accounts and roles"),
        (name = "handbooks", description = "The handbook (母子健康手册) for clinics: registration, profile, identity, codes"),
        (name = "my handbook", description = "The handbook for mothers and their families (WeChat)"),
        (name = "pregnancies", description = "Pregnancy episodes: dating, end, delivery"),
        (name = "checkups", description = "Antenatal checkups (产检) with lab results, ultrasounds and computed flags"),
        (name = "risk", description = "Pregnancy risk screening and five-colour grading (妊娠风险筛查与评估)"),
        (name = "cases", description = "High-risk case management (专案管理): stages, designation, notices, the county registry"),
        (name = "referrals", description = "Referrals (转诊) between institutions"),
        (name = "children", description = "Children: birth record and growth"),
        (name = "nutrition", description = "The nutrition-pack programme (营养包): enrolment state, distribution, stock"),
        (name = "audit", description = "The append-only audit log"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        scheme.description =
            Some("Access token from /api/v1/auth/login or /api/v1/auth/wechat".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The whole document, as the running server serves it at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::routes)
        .split_for_parts();
    let mut api = api;
    document_idempotency(&mut api);
    document_conditional_get(&mut api);
    document_request_errors(&mut api);
    api
}

/// The answers the request plumbing gives before a handler runs, on every operation they apply
/// to: a body that is not JSON (415) or does not parse (400); a malformed `Idempotency-Key` or
/// `If-Match` header (400). `If-Match` names a version (`"v3"`): its schema says so.
fn document_request_errors(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        path::{Operation, ParameterIn},
        schema::{ObjectBuilder, Type},
    };
    let fix = |op: &mut Operation| {
        let mut headers = false;
        for p in op.parameters.iter_mut().flatten() {
            if p.parameter_in == ParameterIn::Header {
                headers = true;
                if p.name == "If-Match" {
                    p.schema = Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some("^(W/)?\"v[0-9]+\"$"))
                            .into(),
                    );
                }
            }
        }
        let body = op.request_body.is_some();
        let responses = &mut op.responses.responses;
        if body {
            responses
                .entry("415".into())
                .or_insert_with(|| problem("The body is not application/json").into());
        }
        if body || headers {
            responses.entry("400".into()).or_insert_with(|| {
                problem(
                    "A body that does not parse, or a malformed Idempotency-Key or If-Match header",
                )
                .into()
            });
        }
    };
    for item in api.paths.paths.values_mut() {
        for op in [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            fix(op);
        }
    }
}

/// Every successful GET under `/api/` carries an `ETag`; `If-None-Match` with it answers 304
/// (see [`crate::http::conditional`]).
fn document_conditional_get(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::ResponseBuilder;
    for (path, item) in api.paths.paths.iter_mut() {
        let Some(op) = item.get.as_mut() else {
            continue;
        };
        if !path.starts_with("/api/") {
            continue;
        }
        op.responses
            .responses
            .entry("304".into())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description("Not modified: If-None-Match named the current ETag")
                    .build()
                    .into()
            });
    }
}

/// A `Problem` response with a description.
fn problem(description: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
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

/// Every signed-in POST takes an `Idempotency-Key` (see [`crate::http::idempotency`]): the header,
/// and the 409 (still running) and 422 (reused with another request) it can answer.
fn document_idempotency(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{
        path::{ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Type},
        Required,
    };
    for (path, item) in api.paths.paths.iter_mut() {
        let Some(op) = item.post.as_mut() else {
            continue;
        };
        if op.security.is_none() || path.ends_with("/nutrition/distributions") {
            continue;
        }
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
        let responses = &mut op.responses.responses;
        responses.entry("409".into()).or_insert_with(|| {
            problem("A request with the same Idempotency-Key is still running").into()
        });
        responses
            .entry("422".into())
            .or_insert_with(|| problem("The Idempotency-Key was used with another request").into());
    }
}

/// The document as committed under `openapi/`: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
