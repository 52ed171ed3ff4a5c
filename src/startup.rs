//! Building and running the server: the same [`create_app`] serves `main` and the tests.

use std::net::TcpListener;

use actix_web::{
    body::MessageBody,
    dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse},
    middleware::{from_fn, Compress},
    web, App, HttpResponse, HttpServer,
};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    auth::{tokens::TokenKeys, wechat::WechatClient},
    config::Settings,
    db::{self, Pool},
    http::{
        extract::BodyLimit,
        fallback::{self, RouteTable},
        middleware::request_context,
    },
    keys::Keys,
    openapi,
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
}

/// Everything a worker's app needs, built once.
#[derive(Clone)]
pub struct Shared {
    pub state: web::Data<AppState>,
    pub routes: web::Data<RouteTable>,
    pub api: utoipa::openapi::OpenApi,
}

impl Shared {
    /// Opens the pool, applies pending migrations and loads the keys.
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let keys = Keys::load(&settings)?;
        db::migrate(&settings.database_url)?;
        let pool = db::build_pool(
            &settings.database_url,
            settings.db_pool_size,
            settings.db_pool_timeout,
        )?;
        let api = openapi::document();
        let state = AppState {
            tokens: TokenKeys::new(
                &keys.jwt,
                settings.access_token_ttl,
                settings.refresh_token_ttl,
            ),
            wechat: WechatClient::new(settings.wechat.clone(), settings.demo_mode),
            cipher: crate::crypto::FieldCipher::new(&keys.field),
            home_pages: crate::handbook::home_cache::HomePages::new(settings.home_cache_bytes),
            pool,
            keys,
            settings,
        };
        Ok(Shared {
            state: web::Data::new(state),
            routes: web::Data::new(RouteTable::from_openapi(&api)),
            api,
        })
    }
}

/// The application: routes, API docs, fallbacks and middleware.
pub fn create_app(
    shared: &Shared,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, _) = App::new()
        .into_utoipa_app()
        .configure(crate::routes::routes)
        .split_for_parts();
    let limit = shared.state.settings.max_body_bytes;
    app.app_data(shared.state.clone())
        .app_data(shared.routes.clone())
        .app_data(BodyLimit(limit))
        .app_data(web::PayloadConfig::new(limit))
        .service(web::resource("/docs").to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("Location", "/docs/"))
                .finish()
        }))
        // Served offline: no call to the public validator (which would also tell it where
        // this document lives).
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", shared.api.clone())
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .default_service(web::to(fallback::not_matched))
        // Idempotency keys belong to the caller that resolve_caller (outside it) authenticated.
        .wrap(from_fn(crate::http::idempotency::idempotency))
        .wrap(from_fn(crate::audit::record_refusals))
        .wrap(from_fn(crate::auth::principal::resolve_caller))
        .wrap(from_fn(crate::http::conditional::conditional_get))
        .wrap(from_fn(crate::http::middleware::refuse_nul_in_address))
        .wrap(from_fn(crate::http::middleware::docs_not_found_as_problem))
        .wrap(from_fn(crate::http::middleware::localise_errors))
        .wrap(Compress::default())
        .wrap(from_fn(request_context))
}

/// A bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
}

impl Application {
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let bind = settings.bind.clone();
        let listener = TcpListener::bind(&bind).map_err(|e| StartupError::Bind(bind.clone(), e))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Bind(bind.clone(), e))?
            .port();
        let workers = settings.workers;
        let shutdown = settings.shutdown_timeout.as_secs();
        let shared = Shared::build(settings)?;
        let pool = shared.state.pool.clone();
        actix_web::rt::spawn(crate::housekeeping::run(
            pool.clone(),
            shared.state.settings.clone(),
        ));
        let server = HttpServer::new(move || create_app(&shared))
            .workers(workers)
            .shutdown_timeout(shutdown)
            .listen(listener)
            .map_err(|e| StartupError::Bind(bind, e))?
            .run();
        Ok(Application { port, server, pool })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until SIGINT/SIGTERM (or `handle().stop()`): then stops accepting, lets in-flight
    /// requests finish (up to the shutdown timeout) and returns; dropping the pool closes it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
