//! `mch-handbook backup <file>` and `restore <file>` for the embedded SQLite database.
//!
//! A backup is a consistent copy taken while the server keeps serving: `VACUUM INTO` reads one
//! snapshot of the database (WAL readers never block the writer) and writes a compact new file.
//! The copy is then checked (`PRAGMA integrity_check`, the migrations it carries). `restore` checks
//! a backup the same way and puts it in place of the configured database — with the server
//! stopped. PostgreSQL is backed up with `pg_dump` (see README).

use std::path::{Path, PathBuf};

use diesel::{prelude::*, sql_query, sql_types::Text, Connection, SqliteConnection};

use crate::{config::Settings, db};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn sqlite_file(settings: &Settings) -> Result<PathBuf, String> {
    db::sqlite_file(&settings.database_url).ok_or_else(|| {
        "backup and restore are for the embedded SQLite database (a file); \
         back up PostgreSQL with pg_dump (see README)"
            .into()
    })
}

/// What a checked backup holds.
pub struct Summary {
    /// Newest migration applied.
    pub schema_version: String,
    /// `(table, rows)` for every table.
    pub tables: Vec<(String, i64)>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "integrity: ok; schema {}", self.schema_version)?;
        for (table, n) in &self.tables {
            writeln!(f, "  {table}: {n}")?;
        }
        Ok(())
    }
}

/// Opens a backup read-only and checks it: SQLite's integrity check, and migrations this binary
/// knows (a backup from a newer version is refused).
pub fn check(file: &Path) -> Result<Summary, String> {
    if !file.is_file() {
        return Err(format!("{} is not a file", file.display()));
    }
    let uri = format!("file:{}?mode=ro", file.display());
    let mut conn = SqliteConnection::establish(&uri).map_err(|e| e.to_string())?;
    let result: Vec<Line> =
        sql_query("SELECT integrity_check AS line FROM pragma_integrity_check()")
            .load(&mut conn)
            .map_err(|e| format!("not a readable SQLite database: {e}"))?;
    let lines: Vec<String> = result.into_iter().map(|l| l.line).collect();
    if lines != ["ok"] {
        return Err(format!("integrity check failed: {}", lines.join("; ")));
    }
    let applied: Vec<Line> =
        sql_query("SELECT version AS line FROM __diesel_schema_migrations ORDER BY version")
            .load(&mut conn)
            .map_err(|_| "not an mch-handbook database (no migrations recorded)".to_string())?;
    let known = db::migration_versions();
    for m in &applied {
        if !known.iter().any(|k| k == &m.line) {
            return Err(format!(
                "the backup has migration {} that this version does not know; \
                 restore it with a newer mch-handbook",
                m.line
            ));
        }
    }
    let tables: Vec<Line> = sql_query(
        "SELECT name AS line FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations' ORDER BY name",
    )
    .load(&mut conn)
    .map_err(|e| e.to_string())?;
    let mut counts = Vec::new();
    for t in tables {
        // Table names come from sqlite_master of this file, quoted as identifiers.
        let n: Count = sql_query(format!(
            "SELECT count(*) AS n FROM \"{}\"",
            t.line.replace('"', "\"\"")
        ))
        .get_result(&mut conn)
        .map_err(|e| e.to_string())?;
        counts.push((t.line, n.n));
    }
    Ok(Summary {
        schema_version: applied.last().map(|m| m.line.clone()).unwrap_or_default(),
        tables: counts,
    })
}

/// Writes a consistent copy of the live database to `target` (which must not exist), then checks
/// the copy.
pub fn backup(settings: &Settings, target: &Path) -> Result<Summary, String> {
    let source = sqlite_file(settings)?;
    if target.exists() {
        return Err(format!("{} exists; choose a new file", target.display()));
    }
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    // The copy is as private as the database: an empty 0600 file in a 0700 directory (if it
    // makes one), which VACUUM INTO fills.
    if let Some(dir) = target.parent() {
        db::files::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    db::files::private_file(target).map_err(|e| format!("{}: {e}", target.display()))?;
    let mut conn = db::establish(&settings.database_url).map_err(|e| e.to_string())?;
    let target_text = target
        .to_str()
        .ok_or_else(|| "the backup path must be UTF-8".to_string())?;
    sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target_text)
        .execute(&mut conn)
        .map_err(|e| format!("backup failed: {e}"))?;
    check(target)
}

/// Checks `file` and puts it in place of the configured database. The server must be stopped;
/// an existing database is replaced only with `force` (it is kept beside as `<name>.before-restore`).
pub fn restore(settings: &Settings, file: &Path, force: bool) -> Result<Summary, String> {
    let summary = check(file)?;
    let target = sqlite_file(settings)?;
    // Held until the restore is done: a server started meanwhile waits for nothing, it fails.
    let _lock = db::files::ServerLock::acquire(&target)?;
    if target.exists() {
        if !force {
            return Err(format!(
                "{} exists; stop the server and use --force to replace it",
                target.display()
            ));
        }
        let kept = target.with_extension("before-restore");
        std::fs::rename(&target, &kept).map_err(|e| e.to_string())?;
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", target.display()));
            if side.exists() {
                std::fs::rename(&side, format!("{}{suffix}", kept.display()))
                    .map_err(|e| e.to_string())?;
            }
        }
    }
    if let Some(dir) = target.parent() {
        db::files::private_dir(dir).map_err(|e| e.to_string())?;
    }
    // Copy beside the target, flush it to disk, then rename into place: never a half-written
    // file. The copy is private from its first byte (std::fs::copy would give it the backup's
    // permissions until narrowed).
    let partial = target.with_extension("restoring");
    let _ = std::fs::remove_file(&partial);
    db::files::private_file(&partial).map_err(|e| e.to_string())?;
    let mut from = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&partial)
        .map_err(|e| e.to_string())?;
    std::io::copy(&mut from, &mut to).map_err(|e| e.to_string())?;
    drop(to);
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &target).map_err(|e| e.to_string())?;
    // Bring the restored copy up to this version's schema.
    let mut conn = db::establish(&settings.database_url).map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    Ok(summary)
}
