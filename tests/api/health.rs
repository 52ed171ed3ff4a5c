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
