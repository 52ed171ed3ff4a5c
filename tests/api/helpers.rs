//! Test harness: the real app on port 0 over a fresh database per test — a temporary SQLite
//! file, or, when `TEST_DATABASE_URL` is set, a new PostgreSQL database cloned from a migrated
//! template and dropped afterwards.

use std::sync::OnceLock;

use actix_web::dev::ServerHandle;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use diesel::{prelude::*, sql_query, sql_types::Text};
use mch_handbook::{
    auth::{password, Role},
    config::{Secret, Settings},
    db::{self, DbConn, Pool},
    org::{
        institutions::{self, NewInstitution},
        regions::{self, NewRegion},
        rules::InstitutionLevel,
        staff::{self, NewStaff},
    },
    startup::Application,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const JWT_KEY: [u8; 32] = [42u8; 32];
pub const PASSWORD: &str = "test-password-123";

/// The database a test runs on; a PostgreSQL one is dropped when the test ends.
pub enum TestDb {
    Sqlite,
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ = sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn);
            }
        }
    }
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

pub fn is_postgres() -> bool {
    postgres_url().is_some()
}

fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let cut = base.rfind('/').map_or(base.len(), |i| i);
    format!("{}/{name}", &base[..cut])
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The migrated template database, created once per migration set (named by their hash) under an
/// advisory lock, so parallel test processes share it.
fn postgres_template(admin_url: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let name = format!("mch_template_{}", migrations_hash("postgres"));
            let mut conn =
                PgConnection::establish(admin_url).expect("TEST_DATABASE_URL must be reachable");
            sql_query("SELECT pg_advisory_lock(8675309)")
                .execute(&mut conn)
                .unwrap();
            let exists = sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
                .bind::<Text, _>(&name)
                .get_result::<Count>(&mut conn)
                .unwrap()
                .n
                > 0;
            if !exists {
                let building = format!("{name}_building");
                sql_query(format!(
                    "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
                ))
                .execute(&mut conn)
                .unwrap();
                sql_query(format!("CREATE DATABASE \"{building}\""))
                    .execute(&mut conn)
                    .unwrap();
                {
                    let mut t = db::establish(&with_database(admin_url, &building)).unwrap();
                    db::run_migrations(&mut t).unwrap();
                }
                sql_query(format!(
                    "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
                ))
                .execute(&mut conn)
                .unwrap();
            }
            sql_query("SELECT pg_advisory_unlock(8675309)")
                .execute(&mut conn)
                .unwrap();
            name
        })
        .clone()
}

/// A hash of one backend's migration files (names and contents): templates are named by it.
fn migrations_hash(backend: &str) -> String {
    let mut hasher = Sha256::new();
    let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = walk(std::path::Path::new(&dir));
    files.sort();
    for f in files {
        hasher.update(f.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&f).unwrap());
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

/// The migrated SQLite template file, made once per migration set (named by their hash, in the
/// system's temporary directory, shared by test processes); each test copies it instead of
/// migrating a new file. Built under a unique name and renamed into place, so a reader never
/// sees a half-built one; its WAL is checkpointed into the file first.
fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: OnceLock<std::path::PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("mch_template_{}.db", migrations_hash("sqlite")));
        if !path.exists() {
            let building = path.with_extension(format!("{}.building", uuid::Uuid::now_v7()));
            {
                let url = format!("sqlite://{}", building.display());
                let mut conn = db::establish(&url).unwrap();
                db::run_migrations(&mut conn).unwrap();
                sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(&mut conn)
                    .unwrap();
            }
            std::fs::rename(&building, &path).unwrap();
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
            }
        }
        path
    })
}

/// The Rust source files under `dir`, for the closed-world tests that read the source.
pub fn rust_files(dir: &str) -> Vec<std::path::PathBuf> {
    walk(std::path::Path::new(dir))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A fresh database: `(url, guard)`.
pub fn fresh_database(dir: &std::path::Path) -> (String, TestDb) {
    match postgres_url() {
        Some(admin_url) => {
            let template = postgres_template(&admin_url);
            let name = format!("mch_test_{}", uuid::Uuid::now_v7().simple());
            let mut conn = PgConnection::establish(&admin_url).unwrap();
            let mut tries = 0;
            while let Err(e) = sql_query(format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .execute(&mut conn)
            {
                tries += 1;
                assert!(tries < 20, "cannot create test database: {e}");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            (
                with_database(&admin_url, &name),
                TestDb::Postgres { admin_url, name },
            )
        }
        None => {
            let file = dir.join("test.db");
            std::fs::copy(sqlite_template(), &file).unwrap();
            (format!("sqlite://{}", file.display()), TestDb::Sqlite)
        }
    }
}

#[allow(dead_code)]
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub pool: Pool,
    pub handle: ServerHandle,
    pub settings: Settings,
    pub client: awc::Client,
    // Dropped last: the database outlives the server handle.
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// The `field` of each entry of a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"].as_array().map_or(Vec::new(), |a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
    }
}

pub fn test_settings(dir: &std::path::Path, database_url: String) -> Settings {
    let mut s = Settings::with_data_dir(dir);
    s.database_url = database_url;
    s.bind = "127.0.0.1:0".into();
    s.workers = 2;
    s.db_pool_size = 8;
    s.jwt_secret = Some(Secret::new(B64.encode(JWT_KEY)));
    // Nothing listens on port 9 (discard): WeChat is "down" unless a test starts the fake.
    s.wechat.api_base = "http://127.0.0.1:9".into();
    s.wechat.timeout = std::time::Duration::from_secs(2);
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let (url, guard) = fresh_database(dir.path());
    let mut settings = test_settings(dir.path(), url);
    customize(&mut settings);
    let app = Application::build(settings.clone()).expect("app builds");
    let port = app.port();
    let pool = app.pool().clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        pool,
        handle,
        settings,
        client: awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish(),
        _db: guard,
        _dir: dir,
    }
}

impl TestApp {
    /// A connection of the test's own, which may write (setup, and changes made behind the
    /// app's back); the app's pooled connections are read-only on SQLite.
    pub fn conn(&self) -> db::DbConn {
        db::establish(&self.settings.database_url).unwrap()
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.request_with(method, path, token, &[], body).await
    }

    /// A request naming the version it replaces (`If-Match`).
    pub async fn request_if_match(
        &self,
        method: &str,
        path: &str,
        token: &str,
        if_match: &str,
        body: Option<Value>,
    ) -> Reply {
        self.request_with(method, path, Some(token), &[("If-Match", if_match)], body)
            .await
    }

    /// A request with extra headers: what every other request helper sends through.
    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        let mut res = match body {
            Some(body) => req.send_json(&body).await,
            None => req.send().await,
        }
        .expect("request sent");
        let bytes = res.body().limit(16 * 1024 * 1024).await.expect("body read");
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A POST to an operation of a record that names its current version in `If-Match`, read
    /// first from `record` (the record's own address; its `version`).
    pub async fn post_current(&self, record: &str, path: &str, token: &str, body: Value) -> Reply {
        let current = self.get(record, token).await;
        let etag = format!("\"v{}\"", current.body["version"]);
        self.request_if_match("POST", path, token, &etag, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request("POST", path, token, Some(body)).await
    }

    /// Signs a staff member in with [`PASSWORD`]; returns the token reply body.
    pub async fn login(&self, username: &str) -> Value {
        let reply = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(reply.status, 200, "login of {username}: {}", reply.body);
        reply.body
    }

    pub async fn token(&self, username: &str) -> String {
        self.login(username).await["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Signs a family account in with a demo WeChat code (the app must be in demo mode).
    pub async fn family_login(&self, demo_code: &str) -> String {
        let reply = self
            .post(
                "/api/v1/auth/wechat",
                None,
                serde_json::json!({"code": demo_code}),
            )
            .await;
        assert_eq!(reply.status, 200, "WeChat login: {}", reply.body);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    /// A clinician issues a binding code for `handbook` and the family account of `demo_code`
    /// binds it as the mother; returns the mother's access token.
    pub async fn bind_mother(&self, clinician: &str, handbook: &str, demo_code: &str) -> String {
        let code = self
            .request(
                "POST",
                &format!("/api/v1/handbooks/{handbook}/binding-codes"),
                Some(clinician),
                None,
            )
            .await;
        assert_eq!(code.status, 201, "binding code: {}", code.body);
        let mother = self.family_login(demo_code).await;
        let bound = self
            .post(
                "/api/v1/me/handbook/bind",
                Some(&mother),
                serde_json::json!({"code": code.body["code"]}),
            )
            .await;
        assert_eq!(bound.status, 200, "bind: {}", bound.body);
        mother
    }

    /// Adds an institution; returns its id.
    pub fn add_institution(&self, name: &str, level: InstitutionLevel, region: &str) -> String {
        create_institution(&mut self.conn(), name, level, region)
    }

    /// Adds a staff account (password [`PASSWORD`]) to an institution; returns its id.
    pub fn add_staff(&self, username: &str, institution_id: &str, role: Role) -> String {
        let input = NewStaff {
            username: username.into(),
            password: PASSWORD.into(),
            full_name: username.into(),
            phone: None,
            institution_id: institution_id.into(),
            roles: vec![role],
        };
        staff::create(&mut self.conn(), &input, password_hash())
            .unwrap()
            .id
    }

    /// Counts rows with a plain SQL query (same text on both backends).
    pub fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        sql_query(format!("SELECT count(*) AS n FROM {sql}"))
            .get_result::<N>(&mut self.conn())
            .unwrap()
            .n
    }
}

/// Password hash computed once per test process (argon2 is slow on purpose).
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| password::hash(PASSWORD).unwrap())
}

/// A small world: county 990101 with two township centres (A, B) and an MCH centre; county 990102
/// with one township centre (C). Staff usernames say who they are.
#[allow(dead_code)]
pub struct World {
    pub inst_a: String,
    pub inst_b: String,
    pub inst_c: String,
    pub mch: String,
    pub staff: std::collections::HashMap<&'static str, String>,
}

pub const STAFF: &[(&str, &str, Role)] = &[
    ("admin", "mch", Role::SystemAdmin),
    ("reviewer", "mch", Role::CountyReviewer),
    ("other.reviewer", "c", Role::CountyReviewer),
    ("admin.a", "a", Role::InstitutionAdmin),
    ("clinician.a", "a", Role::Clinician),
    ("clinician.b", "b", Role::Clinician),
    ("clinician.c", "c", Role::Clinician),
    ("village.a", "a", Role::VillageDoctor),
];

fn create_institution(
    conn: &mut DbConn,
    name: &str,
    level: InstitutionLevel,
    region: &str,
) -> String {
    institutions::create(
        conn,
        &NewInstitution {
            name: name.into(),
            level,
            region_code: region.into(),
        },
    )
    .unwrap()
    .id
}

pub fn seed(conn: &mut DbConn) -> World {
    for (code, name) in [
        ("990000000000", "示范省"),
        ("990100000000", "示范市"),
        ("990101000000", "安康县"),
        ("990101001000", "城关镇"),
        ("990101002000", "河西乡"),
        ("990102000000", "平安县"),
        ("990102001000", "平安镇"),
    ] {
        regions::create(
            conn,
            &NewRegion {
                code: code.into(),
                name: name.into(),
                elevation_m: None,
            },
        )
        .unwrap();
    }
    let mut inst = |name: &str, level, region: &str| create_institution(conn, name, level, region);
    let inst_a = inst(
        "城关镇卫生院",
        InstitutionLevel::TownshipCentre,
        "990101001000",
    );
    let inst_b = inst(
        "河西乡卫生院",
        InstitutionLevel::TownshipCentre,
        "990101002000",
    );
    let inst_c = inst(
        "平安镇卫生院",
        InstitutionLevel::TownshipCentre,
        "990102001000",
    );
    let mch = inst(
        "安康县妇幼保健院",
        InstitutionLevel::MchCentre,
        "990101000000",
    );
    let mut ids = std::collections::HashMap::new();
    for (username, at, role) in STAFF {
        let institution_id = match *at {
            "a" => &inst_a,
            "b" => &inst_b,
            "c" => &inst_c,
            _ => &mch,
        };
        let input = NewStaff {
            username: username.to_string(),
            password: PASSWORD.into(),
            full_name: username.to_string(),
            phone: None,
            institution_id: institution_id.clone(),
            roles: vec![*role],
        };
        ids.insert(
            *username,
            staff::create(conn, &input, password_hash()).unwrap().id,
        );
    }
    World {
        inst_a,
        inst_b,
        inst_c,
        mch,
        staff: ids,
    }
}

pub async fn seeded_app() -> (TestApp, World) {
    let app = spawn_app().await;
    let world = seed(&mut app.conn());
    (app, world)
}
