use crate::helpers::*;

#[actix_web::test]
async fn healthz_and_readyz_report_the_backend() {
    let app = spawn_app().await;
    let alive = app.request("GET", "/healthz", None, None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body["status"], "ok");
    let ready = app.request("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.body["database"],
        if is_postgres() {
            "postgresql"
        } else {
            "sqlite"
        }
    );
}

#[actix_web::test]
async fn connections_are_set_up_to_keep_every_acknowledged_write() {
    use diesel::{sql_query, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let app = spawn_app().await;
    let mut conn = app.conn();
    let get = |conn: &mut mch_handbook::db::DbConn, sql: &str| {
        sql_query(sql).get_result::<Setting>(conn).unwrap().value
    };
    if is_postgres() {
        assert_eq!(
            get(
                &mut conn,
                "SELECT setting AS value FROM pg_settings WHERE name = 'synchronous_commit'"
            ),
            "on"
        );
        assert_eq!(
            get(
                &mut conn,
                "SELECT setting AS value FROM pg_settings WHERE name = 'fsync'"
            ),
            "on"
        );
    } else {
        assert_eq!(
            get(
                &mut conn,
                "SELECT journal_mode AS value FROM pragma_journal_mode"
            ),
            "wal"
        );
        assert_eq!(
            get(
                &mut conn,
                "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous"
            ),
            "2",
            "FULL"
        );
        assert_eq!(
            get(
                &mut conn,
                "SELECT CAST(foreign_keys AS TEXT) AS value FROM pragma_foreign_keys"
            ),
            "1"
        );
        assert_eq!(
            get(
                &mut conn,
                "SELECT CAST(timeout AS TEXT) AS value FROM pragma_busy_timeout"
            ),
            "10000"
        );
    }
}

#[actix_web::test]
async fn after_postgresql_drops_every_connection_the_app_recovers_by_itself() {
    use diesel::{sql_query, Connection, PgConnection, RunQueryDsl};
    if !is_postgres() {
        return; // SQLite connections are in-process and cannot be dropped by a server.
    }
    let (app, _) = seeded_app().await;
    let token = app.token("admin").await;
    assert_eq!(app.get("/api/v1/regions", &token).await.status, 200);
    // Kill every server backend of this database, as a PostgreSQL restart would.
    let url = app.settings.database_url.clone();
    let mut killer = PgConnection::establish(&url).unwrap();
    sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \
        current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut killer)
    .unwrap();
    drop(killer);
    assert_eq!(app.request("GET", "/readyz", None, None).await.status, 200);
    assert_eq!(app.get("/api/v1/regions", &token).await.status, 200);
    assert_eq!(app.get("/api/v1/staff", &token).await.status, 200);
}

/// The bundled SQLite is built with the query planner stability guarantee (`.cargo/config.toml`):
/// without it every `LIMIT ?` statement diesel sends is re-prepared on each execution (a third of
/// the home page's CPU, bench/RESULTS.md; bench/experiments/limit_reprepare.c shows the effect).
#[actix_web::test]
async fn sqlite_keeps_plans_of_bound_limits() {
    use diesel::{sql_query, QueryableByName, RunQueryDsl};
    #[derive(QueryableByName)]
    struct Opt {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }
    if is_postgres() {
        return;
    }
    let app = spawn_app().await;
    let mut conn = app.conn();
    let options: Vec<String> = sql_query("SELECT compile_options FROM pragma_compile_options")
        .load::<Opt>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|o| o.compile_options)
        .collect();
    assert!(
        options.iter().any(|o| o == "ENABLE_QPSG"),
        "SQLite built without SQLITE_ENABLE_QPSG: {options:?}"
    );
}

/// The single-writer rule is enforced on SQLite: the app's pooled connections refuse to write
/// (every write goes through the writer thread), and the database stays unchanged.
#[actix_web::test]
async fn pooled_sqlite_connections_cannot_write() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    let mut pooled = app.pool.get().unwrap();
    let write = diesel::sql_query(
        "INSERT INTO regions (code, name, level, parent_code, county_code, created_at) \
         VALUES ('980000000000', 'x', 'province', NULL, '980000', '2026-01-01 00:00:00')",
    )
    .execute(&mut *pooled);
    if is_postgres() {
        // PostgreSQL has no single-writer rule: its pool writes (inside transactions).
        return;
    }
    let error = write
        .expect_err("a pooled SQLite connection wrote")
        .to_string();
    assert!(error.contains("readonly"), "{error}");
    assert_eq!(app.count("regions WHERE code = '980000000000'"), 0);
}
