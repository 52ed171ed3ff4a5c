//! The binary's subcommands against a fresh database of the backend under test.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::helpers::*;

fn run(
    dir: &std::path::Path,
    url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mch-handbook"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("MCH_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[actix_web::test]
async fn the_first_administrator_is_created_from_the_command_line_and_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _guard) = fresh_database(dir.path());
    let (ok, _, err) = run(dir.path(), &url, &["migrate"], None);
    assert!(ok, "{err}");
    for (code, name) in [
        ("990000000000", "示范省"),
        ("990100000000", "示范市"),
        ("990101000000", "安康县"),
    ] {
        let (ok, _, err) = run(
            dir.path(),
            &url,
            &["admin", "add-region", "--code", code, "--name", name],
            None,
        );
        assert!(ok, "{err}");
    }
    let (ok, id, err) = run(
        dir.path(),
        &url,
        &[
            "admin",
            "add-institution",
            "--name",
            "安康县妇幼保健院",
            "--level",
            "mch_centre",
            "--region",
            "990101000000",
        ],
        None,
    );
    assert!(ok, "{err}");
    let institution = id.trim().to_string();
    let (ok, out, err) = run(
        dir.path(),
        &url,
        &[
            "admin",
            "create",
            "--username",
            "root",
            "--institution",
            &institution,
        ],
        Some("a strong password 1\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("root"));
    let (ok, _, err) = run(
        dir.path(),
        &url,
        &[
            "admin",
            "create",
            "--username",
            "weak",
            "--institution",
            &institution,
        ],
        Some("sh0rt!\n"),
    );
    assert!(!ok && err.contains("password"), "{err}");
    // The rejected password is not echoed to the terminal or a log (issue #14).
    assert!(!err.contains("sh0rt!"), "{err}");
    let (ok, _, err) = run(
        dir.path(),
        &url,
        &[
            "admin",
            "add-region",
            "--code",
            "990199001001",
            "--name",
            "孤村",
        ],
        None,
    );
    assert!(!ok && err.contains("parent_missing"), "{err}");

    let mut settings = test_settings(dir.path(), url);
    settings.bind = "127.0.0.1:0".into();
    let app = mch_handbook::startup::Application::build(settings).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let mut res = awc::Client::default()
        .post(format!("{address}/api/v1/auth/login"))
        .send_json(&json!({"username": "root", "password": "a strong password 1"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    assert!(tokens["access_token"].is_string());
}

#[actix_web::test]
async fn demo_loads_a_county_once_and_its_printed_passwords_work() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _guard) = fresh_database(dir.path());
    let (ok, out, err) = run(dir.path(), &url, &["demo"], None);
    assert!(ok, "{err}");
    for username in [
        "admin",
        "reviewer",
        "inst.admin",
        "dr.wang",
        "village.zhang",
    ] {
        assert!(out.contains(username), "{out}");
    }
    let (ok, _, err) = run(dir.path(), &url, &["demo"], None);
    assert!(
        !ok && err.contains("--force"),
        "a second run must refuse: {err}"
    );
    let (ok, out, err) = run(dir.path(), &url, &["demo", "--force"], None);
    assert!(ok, "{err}");
    let password = out
        .lines()
        .find(|l| l.trim_start().starts_with("dr.wang "))
        .unwrap()
        .split("password: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();

    let mut settings = test_settings(dir.path(), url);
    settings.demo_mode = true;
    let app = mch_handbook::startup::Application::build(settings).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let client = awc::Client::default();
    let res = client
        .post(format!("{address}/api/v1/auth/login"))
        .send_json(&json!({"username": "dr.wang", "password": password}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut res = client
        .post(format!("{address}/api/v1/auth/wechat"))
        .send_json(&json!({"code": "demo-mother-1"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        tokens["account_created"], false,
        "the demo created the mother's account"
    );
}

/// A backup taken while the server keeps accepting checkups holds every checkup acknowledged
/// before it started; restored into a new place and served, each one is there, intact.
#[actix_web::test]
async fn a_backup_taken_while_serving_restores_every_record() {
    let (app, _) = seeded_app().await;
    let dir = tempfile::tempdir().unwrap();
    let backup_file = dir.path().join("backup.db");
    let backup_arg = backup_file.to_str().unwrap();
    if is_postgres() {
        let (ok, _, err) = run(
            dir.path(),
            &app.settings.database_url,
            &["backup", backup_arg],
            None,
        );
        assert!(!ok && err.contains("pg_dump"), "{err}");
        return;
    }
    let (_, pregnancy) = crate::handbook::registered_pregnancy(&app, "clinician.a").await;
    let a = app.token("clinician.a").await;
    let path = format!("/api/v1/pregnancies/{pregnancy}/checkups");
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let r = app
            .post(
                &path,
                Some(&a),
                json!({
                    "visit_date": crate::handbook::days_ago(i),
                    "bp_systolic": 100 + i,
                    "bp_diastolic": 70,
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        acknowledged.push((r.body["id"].as_str().unwrap().to_string(), 100 + i));
    }
    // Writers keep going while the backup runs.
    let writer = {
        let (address, token, path) = (app.address.clone(), a.clone(), path.clone());
        actix_web::rt::spawn(async move {
            let client = awc::Client::default();
            for i in 20..60 {
                let _ = client
                    .post(format!("{address}{path}"))
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .send_json(&json!({
                        "visit_date": crate::handbook::days_ago(i),
                        "bp_systolic": 120,
                        "bp_diastolic": 80,
                    }))
                    .await;
            }
        })
    };
    let url = app.settings.database_url.clone();
    let args_dir = dir.path().to_path_buf();
    let arg = backup_arg.to_string();
    let (ok, out, err) =
        actix_web::rt::task::spawn_blocking(move || run(&args_dir, &url, &["backup", &arg], None))
            .await
            .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("integrity: ok"), "{out}");
    writer.await.unwrap();
    // Backing up over an existing file is refused.
    let (ok, _, err) = run(
        dir.path(),
        &app.settings.database_url,
        &["backup", backup_arg],
        None,
    );
    assert!(!ok && err.contains("exists"), "{err}");

    // Restore into a new place, serve it with the same keys, and find every checkup.
    let restored = format!("sqlite://{}", dir.path().join("restored/mch.db").display());
    let (ok, out, err) = run(dir.path(), &restored, &["restore", backup_arg], None);
    assert!(ok, "{err}");
    assert!(out.contains("checkups: "), "{out}");
    let (ok, _, err) = run(dir.path(), &restored, &["restore", backup_arg], None);
    assert!(
        !ok && err.contains("--force"),
        "an existing database is not overwritten: {err}"
    );
    // Nor, even forced, one a server is running on (issue #14): the lock a serving process
    // holds, taken here as `serve` takes it.
    let restored_file = dir.path().join("restored/mch.db");
    {
        let _serving = mch_handbook::db::files::ServerLock::acquire(&restored_file).unwrap();
        let (ok, _, err) = run(
            dir.path(),
            &restored,
            &["restore", "--force", backup_arg],
            None,
        );
        assert!(!ok && err.contains("another server"), "{err}");
    }
    // The data are private to the service account (issue #14): the backup, the restored
    // database and the directory restore made.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&backup_file), 0o600, "backup");
        assert_eq!(mode(&restored_file), 0o600, "restored database");
        assert_eq!(
            mode(restored_file.parent().unwrap()),
            0o700,
            "its directory"
        );
    }
    let settings = app.settings.clone();
    let second = spawn_app_with(move |s| {
        *s = settings;
        s.database_url = restored;
        s.bind = "127.0.0.1:0".into();
    })
    .await;
    let a2 = second.token("clinician.a").await;
    for (id, systolic) in &acknowledged {
        let r = second.get(&format!("/api/v1/checkups/{id}"), &a2).await;
        assert_eq!(r.status, 200, "checkup {id} lost: {}", r.body);
        assert_eq!(r.body["bp_systolic"], *systolic);
    }

    // A damaged file is refused.
    let broken = dir.path().join("broken.db");
    let mut bytes = std::fs::read(&backup_file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&broken, bytes).unwrap();
    let (ok, _, err) = run(
        dir.path(),
        &app.settings.database_url,
        &["restore", "--check-only", broken.to_str().unwrap()],
        None,
    );
    assert!(!ok, "a truncated backup must fail the check: {err}");
}

/// Issue #14: the database was created world-readable (the keys were already 0600). A fresh
/// data directory now gets a private folder and a private database file; a file an earlier
/// version left readable is narrowed when the program next opens it.
#[cfg(unix)]
#[actix_web::test]
async fn the_database_is_private_to_the_service_account() {
    use std::os::unix::fs::PermissionsExt;
    if is_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fresh/data/mch.db");
    let url = format!("sqlite://{}", file.display());
    let (ok, _, err) = run(dir.path(), &url, &["migrate"], None);
    assert!(ok, "{err}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = run(dir.path(), &url, &["migrate"], None);
    assert!(ok, "{err}");
    assert_eq!(mode(&file), 0o600);
}

/// Issue #14: a county's ~300 village codes could not be loaded from a file, nor a region's
/// elevation (which adjusts haemoglobin) corrected. The import checks the whole file first and
/// lists every bad row; a correction changes only what it names.
#[actix_web::test]
async fn a_county_loads_its_villages_from_a_file_and_corrects_an_elevation() {
    let (app, _) = seeded_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("villages.csv");
    let url = app.settings.database_url.clone();
    let before = app.count("regions");
    std::fs::write(
        &file,
        "\u{feff}code,name,parent,elevation\n\
         990101001101,东一村,990101001000,1250\n\
         990101001102,东二村,,abc\n\
         990101009001,无主村,,800\n",
    )
    .unwrap();
    let (ok, _, err) = run(
        dir.path(),
        &url,
        &["admin", "import-regions", file.to_str().unwrap()],
        None,
    );
    assert!(!ok);
    assert!(err.contains("line 3: elevation"), "{err}");
    assert_eq!(app.count("regions"), before, "nothing is imported");
    std::fs::write(
        &file,
        "code,name,parent,elevation\n\
         990101001101,东一村,990101001000,1250\n\
         990101001102,东二村,,\n\
         990101009001,无主村,,800\n",
    )
    .unwrap();
    let (ok, _, err) = run(
        dir.path(),
        &url,
        &["admin", "import-regions", file.to_str().unwrap()],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("990101009001: its parent 990101009000"),
        "{err}"
    );
    assert_eq!(app.count("regions"), before);
    // The township comes in the same file, after its village: parents first all the same.
    std::fs::write(
        &file,
        "code,name,parent,elevation\n\
         990101001101,东一村,990101001000,1250\n\
         990101001102,东二村,,\n\
         990101009001,九村,,800\n\
         990101009000,九镇,990101000000,760\n",
    )
    .unwrap();
    let (ok, out, err) = run(
        dir.path(),
        &url,
        &["admin", "import-regions", file.to_str().unwrap()],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("imported 4 regions"), "{out}");
    assert_eq!(app.count("regions"), before + 4);
    // Loaded again: nothing changes.
    let (ok, out, _) = run(
        dir.path(),
        &url,
        &["admin", "import-regions", file.to_str().unwrap()],
        None,
    );
    assert!(
        ok && out.contains("imported 0 regions (4 already present"),
        "{out}"
    );

    let reviewer = app.token("reviewer").await;
    let path = "/api/v1/regions/990101001101";
    let patched = app
        .request_if_match(
            "PATCH",
            path,
            &reviewer,
            "*",
            Some(json!({"elevation_m": 1380})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["elevation_m"], 1380);
    assert_eq!(patched.body["name"], "东一村");
    let code = app
        .request_if_match(
            "PATCH",
            path,
            &reviewer,
            "*",
            Some(json!({"code": "990101001109"})),
        )
        .await;
    assert_eq!(code.error_fields(), vec!["/code"]);
    let other = app.token("other.reviewer").await;
    assert_eq!(
        app.request_if_match("PATCH", path, &other, "*", Some(json!({"elevation_m": 1})))
            .await
            .status,
        404
    );
}
