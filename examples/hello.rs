//! A bare actix-web server answering `GET /` with `hello`: the ceiling of this machine for the
//! benchmark in `bench/` (same actix-web as the service, same worker count, no database, no
//! middleware).
//!
//! ```sh
//! cargo build --release --example hello
//! target/release/examples/hello 127.0.0.1:8081      # or HELLO_BIND=127.0.0.1:8081
//! ```
//!
//! Workers: `MCH_WORKERS` if set, else the number of cores — the service's own default
//! (`src/config.rs`).

use actix_web::{get, App, HttpResponse, HttpServer, Responder};

#[get("/")]
async fn hello() -> impl Responder {
    HttpResponse::Ok().content_type("text/plain").body("hello")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HELLO_BIND").ok())
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let workers = std::env::var("MCH_WORKERS")
        .ok()
        .and_then(|w| w.parse::<usize>().ok())
        .filter(|w| *w > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    eprintln!("hello: listening on http://{bind} with {workers} workers");
    HttpServer::new(|| App::new().service(hello))
        .workers(workers)
        .bind(&bind)?
        .run()
        .await
}
