//! The two migration sets make one schema. Each backend's tests read the schema the migrations
//! made, normalised (tables, columns with their type and nullability, primary keys, foreign keys,
//! indexes, the number of CHECK constraints, the events that fire triggers), and compare it with
//! one committed snapshot, `tests/fixtures/schema.txt`; and every down migration runs, leaving
//! nothing behind, after which the up migrations make the same schema again.
//!
//! After changing a migration pair: `MCH_WRITE_SCHEMA_SNAPSHOT=1 cargo test --test api
//! migrations::` rewrites the snapshot; review the diff, then run the test on the other backend.

use std::collections::BTreeSet;

use diesel::{sql_query, sql_types::Text, QueryableByName, RunQueryDsl};
use mch_handbook::db::{self, DbConn};

use crate::helpers::*;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema.txt");

#[derive(QueryableByName)]
struct V {
    #[diesel(sql_type = Text)]
    v: String,
}

fn texts(conn: &mut DbConn, sql: &str) -> Vec<String> {
    sql_query(sql)
        .load::<V>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.v)
        .collect()
}

/// One name for a type on both backends.
fn canonical_type(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "text" | "character varying" | "varchar" => "text",
        "integer" | "int" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "boolean" | "bool" => "bool",
        "double" | "double precision" | "float8" => "float8",
        "real" | "float4" => "float4",
        "date" => "date",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => return format!("unknown:{other}"),
    }
    .to_string()
}

/// The events that fire triggers on a table. PostgreSQL's TRUNCATE counts as DELETE: SQLite has
/// no TRUNCATE (a DELETE without WHERE empties a table, and the DELETE trigger sees it). SQLite's
/// `*_no_replace` guards are left out: they close `INSERT OR REPLACE`, which PostgreSQL does
/// not have (its primary key refuses the same row).
fn trigger_events(conn: &mut DbConn, table: &str, sqlite: bool) -> BTreeSet<&'static str> {
    let mut events = BTreeSet::new();
    if sqlite {
        for sql in texts(
            conn,
            &format!(
                "SELECT sql AS v FROM sqlite_master WHERE type = 'trigger' AND tbl_name = \
                '{table}' AND name NOT LIKE '%no_replace'"
            ),
        ) {
            let head = sql.to_ascii_uppercase();
            let head = head.split(" ON ").next().unwrap_or_default();
            for (word, event) in [
                (" INSERT", "insert"),
                (" UPDATE", "update"),
                (" DELETE", "delete"),
            ] {
                if head.contains(word) {
                    events.insert(event);
                }
            }
        }
    } else {
        for bits in texts(
            conn,
            &format!(
                "SELECT tgtype::text AS v FROM pg_trigger WHERE tgrelid = \
                '{table}'::regclass AND NOT tgisinternal"
            ),
        ) {
            let bits: i32 = bits.parse().unwrap();
            for (bit, event) in [(4, "insert"), (8, "delete"), (16, "update"), (32, "delete")] {
                if bits & bit != 0 {
                    events.insert(event);
                }
            }
        }
    }
    events
}

/// The normalised schema of the database `conn` is connected to.
fn schema(conn: &mut DbConn) -> String {
    let sqlite = matches!(conn, DbConn::Sqlite(_));
    let tables = if sqlite {
        texts(
            conn,
            "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE \
            'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY name",
        )
    } else {
        texts(
            conn,
            "SELECT table_name::text AS v FROM information_schema.tables WHERE \
            table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> \
                '__diesel_schema_migrations' ORDER BY 1",
        )
    };
    let mut out = String::new();
    for t in tables {
        out.push_str(&format!("table {t}\n"));
        let (columns, pk, fks, indexes, checks) = if sqlite {
            (
                texts(
                    conn,
                    &format!(
                        "SELECT name || '|' || type || '|' || CASE WHEN \
                    \"notnull\" = 1 THEN 'not null' ELSE 'null' END AS v FROM \
                        pragma_table_info('{t}') ORDER BY cid"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT name AS v FROM pragma_table_info('{t}') WHERE pk > \
                    0 ORDER BY pk"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT \"from\" || ' -> ' || \"table\" || '.' || \"to\" \
                    AS v FROM pragma_foreign_key_list('{t}')"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT il.name || CASE WHEN il.\"unique\" THEN ' unique' \
                    ELSE '' END || ' (' || (SELECT group_concat(name, ',') FROM (SELECT name \
                    FROM pragma_index_info(il.name) ORDER BY seqno)) || ')' AS v \
                    FROM pragma_index_list('{t}') il WHERE il.origin = 'c'"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT sql AS v FROM sqlite_master WHERE type = 'table' \
                    AND name = '{t}'"
                    ),
                )
                .iter()
                .map(|sql| {
                    let upper = sql.to_ascii_uppercase();
                    upper
                        .match_indices("CHECK")
                        .filter(|(i, _)| {
                            let before = upper[..*i].chars().last().unwrap_or(' ');
                            let after = upper[i + 5..].trim_start();
                            let word_starts = !before.is_ascii_alphanumeric() && before != '_';
                            word_starts && after.starts_with('(')
                        })
                        .count()
                })
                .sum::<usize>(),
            )
        } else {
            (
                texts(
                    conn,
                    &format!(
                        "SELECT column_name || '|' || data_type || '|' || CASE \
                    WHEN is_nullable = 'YES' THEN 'null' ELSE 'not null' END AS v FROM \
                        information_schema.columns WHERE table_schema = 'public' AND table_name \
                            = '{t}' ORDER BY ordinal_position"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT a.attname::text AS v FROM pg_index i JOIN \
                    pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                        WHERE i.indrelid = '{t}'::regclass AND i.indisprimary ORDER BY \
                            array_position(i.indkey::int2[], a.attnum)"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT a.attname || ' -> ' || rt.relname || '.' || \
                    ra.attname AS v FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = \
                        c.conrelid AND a.attnum = c.conkey[1] JOIN pg_class rt ON rt.oid = \
                            c.confrelid JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND \
                                ra.attnum = c.confkey[1] WHERE c.conrelid = '{t}'::regclass AND \
                                    c.contype = 'f'"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT ic.relname || CASE WHEN i.indisunique THEN ' \
                    unique' ELSE '' END || ' (' || string_agg(a.attname, ',' ORDER BY \
                    array_position(i.indkey::int2[], a.attnum)) || ')' AS v FROM pg_index i \
                    JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_attribute a \
                    ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                    WHERE i.indrelid = '{t}'::regclass AND NOT i.indisprimary AND NOT EXISTS \
                    (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) \
                    GROUP BY ic.relname, i.indisunique"
                    ),
                ),
                texts(
                    conn,
                    &format!(
                        "SELECT count(*)::text AS v FROM pg_constraint WHERE \
                    conrelid = '{t}'::regclass AND contype = 'c'"
                    ),
                )[0]
                .parse()
                .unwrap(),
            )
        };
        for c in columns {
            let mut parts = c.splitn(3, '|');
            let (name, ty, null) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            out.push_str(&format!("  column {name} {} {null}\n", canonical_type(ty)));
        }
        out.push_str(&format!("  primary key ({})\n", pk.join(",")));
        let fks: BTreeSet<String> = fks.into_iter().collect();
        for f in fks {
            out.push_str(&format!("  foreign key {f}\n"));
        }
        let indexes: BTreeSet<String> = indexes.into_iter().collect();
        for i in indexes {
            out.push_str(&format!("  index {i}\n"));
        }
        out.push_str(&format!("  checks {checks}\n"));
        let events: Vec<_> = trigger_events(conn, &t, sqlite).into_iter().collect();
        out.push_str(&format!("  triggers on [{}]\n", events.join(",")));
    }
    out
}

fn assert_snapshot(actual: &str) {
    if std::env::var("MCH_WRITE_SCHEMA_SNAPSHOT").is_ok_and(|v| v == "1") {
        std::fs::write(SNAPSHOT, actual).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    if committed != actual {
        let diff: Vec<String> = diff_lines(&committed, actual);
        panic!(
            "the {} migrations do not make the committed schema (tests/fixtures/schema.txt):\n{}",
            if is_postgres() {
                "PostgreSQL"
            } else {
                "SQLite"
            },
            diff.join("\n")
        );
    }
}

/// Lines only in one of the two texts (`-` committed, `+` actual).
fn diff_lines(committed: &str, actual: &str) -> Vec<String> {
    let a: BTreeSet<&str> = committed.lines().collect();
    let b: BTreeSet<&str> = actual.lines().collect();
    a.difference(&b)
        .map(|l| format!("- {l}"))
        .chain(b.difference(&a).map(|l| format!("+ {l}")))
        .collect()
}

#[actix_web::test]
async fn both_migration_sets_make_the_committed_schema() {
    let app = spawn_app().await;
    let actual = schema(&mut app.conn());
    assert!(actual.matches("table ").count() >= 30, "{actual}");
    assert!(!actual.contains("unknown:"), "{actual}");
    assert_snapshot(&actual);
}

#[actix_web::test]
async fn every_down_migration_runs_and_up_again_makes_the_same_schema() {
    let app = spawn_app().await;
    let mut conn = app.conn();
    let before = schema(&mut conn);
    db::revert_all_migrations(&mut conn).expect("every down migration runs");
    assert_eq!(
        schema(&mut conn),
        "",
        "the down migrations leave tables behind"
    );
    if is_postgres() {
        let left = texts(
            &mut conn,
            "SELECT p.proname::text AS v FROM pg_proc p JOIN pg_namespace n ON n.oid = \
                p.pronamespace WHERE n.nspname = 'public'",
        );
        assert!(left.is_empty(), "functions left behind: {left:?}");
    } else {
        let left = texts(
            &mut conn,
            "SELECT type || ' ' || name AS v FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' \
                AND name NOT LIKE '__diesel%'",
        );
        assert!(left.is_empty(), "left behind: {left:?}");
    }
    db::run_migrations(&mut conn).expect("the up migrations run again");
    assert_eq!(schema(&mut conn), before);
}

/// Issue #14: two servers migrating one PostgreSQL at once failed (`duplicate key …
/// pg_type_typname_nsp_index`, 3 of 3 tries). Three processes' worth of migrations at once on
/// an empty database: all succeed, and the schema is the committed one.
#[actix_web::test]
async fn servers_starting_together_migrate_one_after_another() {
    let app = spawn_app().await;
    db::revert_all_migrations(&mut app.conn()).expect("every down migration runs");
    let url = app.settings.database_url.clone();
    let runs: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || db::migrate(&url))
        })
        .collect();
    for run in runs {
        run.join()
            .unwrap()
            .expect("each migrates or finds nothing to do");
    }
    assert_snapshot(&schema(&mut app.conn()));
}
