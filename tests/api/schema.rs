//! `src/db/schema.rs` (written by hand) matches what the migrations create, on the backend under test.

use std::collections::BTreeSet;

use diesel::{prelude::*, sql_query, sql_types::Text};
use mch_handbook::db::schema::*;

use crate::helpers::*;

/// Column names diesel will use for a table, read from the SQL it generates.
fn diesel_columns<Q: diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite>>(
    query: Q,
) -> BTreeSet<String> {
    let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
    let select = sql.split(" FROM ").next().unwrap();
    select
        .split(", ")
        .map(|c| {
            c.rsplit('.')
                .next()
                .unwrap()
                .trim_matches('`')
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
}

fn database_columns(app: &TestApp, table: &str) -> BTreeSet<String> {
    let sql = if is_postgres() {
        format!(
            "SELECT column_name::text AS name FROM information_schema.columns WHERE \
            table_schema = 'public' AND table_name = '{table}'"
        )
    } else {
        format!("SELECT name FROM pragma_table_info('{table}')")
    };
    sql_query(sql)
        .load::<Column>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

macro_rules! check {
    ($app:expr, $($table:ident),+ $(,)?) => {
        $(
            let expected = diesel_columns($table::table.select($table::all_columns));
            let actual = database_columns(&$app, stringify!($table));
            assert_eq!(expected, actual, "table {}", stringify!($table));
        )+
    };
}

#[actix_web::test]
async fn schema_matches_the_migrations() {
    let app = spawn_app().await;
    check!(
        app,
        regions,
        institutions,
        staff_accounts,
        staff_roles,
        family_accounts,
        sessions,
        refresh_tokens,
        audit_events,
        handbooks,
        handbook_versions,
        handbook_members,
        handbook_access,
        access_codes,
        pregnancies,
        pregnancy_versions,
        checkups,
        checkup_versions,
        lab_results,
        ultrasounds,
        children,
        child_growth,
        risk_screenings,
        risk_gradings,
        pregnancy_risk,
        risk_cases,
        risk_notices,
        referrals,
        case_followups,
        consultations,
        county_settings,
        nutrition_events,
        nutrition_flags,
        stock_lots,
        stock_movements,
        idempotency_keys,
        nutrition_followups,
        storage_checks,
        nutrition_reports,
    );
}
