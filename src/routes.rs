//! The one route table: every path of the service, in one place.

use utoipa_actix_web::{scope, service_config::ServiceConfig};

use crate::{
    audit, auth, checkups, children, handbook, health, nutrition, org, pregnancy, referrals, risk,
};

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
                .service(org::counties::get_settings)
                .service(org::counties::put_settings)
                .service(org::staff::create_staff)
                .service(org::staff::list_staff)
                .service(org::staff::get_staff)
                .service(org::staff::disable_staff)
                // the handbook: staff
                .service(handbook::routes::register)
                .service(handbook::routes::list)
                .service(handbook::routes::redeem_share_code)
                .service(handbook::routes::get)
                .service(handbook::routes::read_identity)
                .service(handbook::routes::amend)
                .service(handbook::routes::versions)
                .service(handbook::routes::binding_code)
                // the handbook: the family
                .service(handbook::me::start)
                .service(handbook::me::bind)
                .service(handbook::me::amend)
                .service(handbook::me::share)
                .service(handbook::me::join)
                .service(handbook::me::list_mine)
                .service(handbook::mine::my_handbook)
                .service(handbook::mine::linked_handbook)
                .service(handbook::mine::my_checkup)
                // pregnancies
                .service(pregnancy::routes::create)
                .service(pregnancy::routes::list)
                .service(pregnancy::routes::get)
                .service(pregnancy::routes::redate)
                .service(pregnancy::routes::end)
                .service(pregnancy::routes::deliver)
                // checkups
                .service(checkups::routes::create)
                .service(checkups::routes::list)
                .service(checkups::routes::get)
                .service(checkups::routes::amend)
                .service(checkups::routes::versions)
                .service(checkups::routes::add_labs)
                .service(checkups::routes::add_ultrasound)
                .service(checkups::plan::visit_plan)
                .service(checkups::plan::worklist)
                .service(checkups::charts::staff_charts)
                .service(checkups::charts::my_charts)
                // risk
                .service(risk::routes::risk_state)
                .service(risk::routes::screen)
                .service(risk::routes::grade)
                .service(risk::routes::history)
                .service(risk::routes::regrading_list)
                .service(risk::case_routes::get)
                .service(risk::case_routes::of_pregnancy)
                .service(risk::case_routes::advance)
                .service(risk::case_routes::designate)
                .service(risk::case_routes::close)
                .service(risk::case_routes::issue_notice)
                .service(risk::case_routes::my_notices)
                .service(risk::case_routes::acknowledge)
                .service(risk::case_routes::registry)
                .service(risk::management::add_followup)
                .service(risk::management::request_consultation)
                .service(risk::management::answer)
                .service(risk::management::timeline)
                // referrals
                .service(referrals::routes::send)
                .service(referrals::routes::turnaround)
                .service(referrals::routes::get)
                .service(referrals::routes::transition)
                // children
                .service(children::routes::create)
                .service(children::routes::list)
                .service(children::routes::get)
                .service(children::routes::add_growth)
                .service(children::routes::my_child)
                // nutrition packs
                .service(nutrition::routes::status)
                .service(nutrition::routes::record_event)
                .service(nutrition::routes::distribute)
                .service(nutrition::routes::receive)
                .service(nutrition::routes::stock)
                .service(nutrition::storage::transfer)
                .service(nutrition::storage::adjust)
                .service(nutrition::storage::record_check)
                .service(nutrition::storage::checks)
                .service(nutrition::followups::record)
                .service(nutrition::followups::list)
                // audit
                .service(audit::routes::list_audit_events),
        );
}
