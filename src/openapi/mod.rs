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

pub mod examples;
mod shared;
pub use shared::OMITTED_WHEN_EMPTY;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mch-handbook",
        description = "Electronic Mother-Child Health Handbook (母子健康手册) API.\n\nErrors are RFC 9457 `application/problem+json` with a stable `code`; validation errors (422) list every invalid field as a JSON pointer. Resources outside the caller's scope answer 404, roles that may never call an endpoint 403.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
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
    shared::apply(&mut api);
    api
}

/// The document as committed under `openapi/`: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
