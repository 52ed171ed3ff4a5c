//! GETs carry an ETag and answer 304 to If-None-Match while nothing changed; bodies are
//! compressed for clients that accept it.

use crate::handbook::new_handbook;
use crate::helpers::*;

pub async fn get_with(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Vec<u8>, Option<String>) {
    let mut req = app
        .client
        .get(format!("{}{path}", app.address))
        .insert_header(("Authorization", format!("Bearer {token}")));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send().await.unwrap();
    let body = res.body().limit(16 * 1024 * 1024).await.unwrap().to_vec();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    (
        res.status().as_u16(),
        header("etag"),
        body,
        header("content-encoding"),
    )
}

#[actix_web::test]
async fn unchanged_records_and_lists_answer_304() {
    let (app, _) = seeded_app().await;
    let a = app.token("clinician.a").await;
    let hb = app
        .post("/api/v1/handbooks", Some(&a), new_handbook(1, "李娟"))
        .await;
    let id = hb.body["id"].as_str().unwrap();

    // A record: its version is the tag.
    let path = format!("/api/v1/handbooks/{id}");
    let (status, tag, body, _) = get_with(&app, &path, &a, &[]).await;
    assert_eq!(status, 200);
    let tag = tag.expect("an ETag");
    assert!(!body.is_empty());
    let (status, again, body, _) = get_with(&app, &path, &a, &[("If-None-Match", &tag)]).await;
    assert_eq!(
        (status, again.as_deref(), body.len()),
        (304, Some(tag.as_str()), 0)
    );

    // A list: a hash of the body; a new handbook changes it.
    let (status, list_tag, _, _) = get_with(&app, "/api/v1/handbooks", &a, &[]).await;
    assert_eq!(status, 200);
    let list_tag = list_tag.unwrap();
    assert!(list_tag.starts_with("W/\""), "{list_tag}");
    let (status, _, _, _) = get_with(
        &app,
        "/api/v1/handbooks",
        &a,
        &[("If-None-Match", &list_tag)],
    )
    .await;
    assert_eq!(status, 304);
    app.post("/api/v1/handbooks", Some(&a), new_handbook(2, "王芳"))
        .await;
    let (status, new_tag, body, _) = get_with(
        &app,
        "/api/v1/handbooks",
        &a,
        &[("If-None-Match", &list_tag)],
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(new_tag.unwrap(), list_tag);
    let page: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    // A stale tag does not hide an error or another caller's view: out of scope stays 404.
    let c = app.token("clinician.c").await;
    let (status, _, _, _) = get_with(&app, &path, &c, &[("If-None-Match", &tag)]).await;
    assert_eq!(status, 404);

    // Compressed when the client accepts it.
    for n in 3..30 {
        app.post("/api/v1/handbooks", Some(&a), new_handbook(n, "张敏"))
            .await;
    }
    let path = "/api/v1/handbooks?limit=100";
    let (_, _, plain, none) = get_with(&app, path, &a, &[]).await;
    assert_eq!(none, None);
    let (status, _, gzipped, encoding) =
        get_with(&app, path, &a, &[("Accept-Encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(&gzipped[..2], &[0x1f, 0x8b], "gzip magic");
    assert!(
        gzipped.len() * 3 < plain.len(),
        "{} vs {}",
        gzipped.len(),
        plain.len()
    );
}
