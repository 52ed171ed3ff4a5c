//! The one route table: every path of the service, in one place.

use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::{audit, auth, health, org};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(
            scope::scope("/api/v1")
                // identity
                .service(auth::routes::login)
                .service(auth::routes::wechat_login)
                .service(auth::routes::refresh)
                .service(auth::routes::logout)
                .service(auth::routes::me)
                .service(auth::routes::my_sessions)
                .service(auth::routes::revoke_my_session)
                // organisations and people
                .service(org::regions::create_region)
                .service(org::regions::list_regions)
                .service(org::regions::get_region)
                .service(org::institutions::create_institution)
                .service(org::institutions::list_institutions)
                .service(org::institutions::get_institution)
                .service(org::institutions::disable_institution)
                .service(org::staff::create_staff)
                .service(org::staff::list_staff)
                .service(org::staff::get_staff)
                .service(org::staff::disable_staff)
                // audit
                .service(audit::routes::list_audit_events),
        );
}
