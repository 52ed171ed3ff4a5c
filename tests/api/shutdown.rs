//! Graceful shutdown: a request in flight when the stop signal arrives is finished and answered.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

#[actix_web::test]
async fn an_in_flight_request_completes_after_stop_and_new_connections_are_refused() {
    let app = spawn_app().await;
    let body = br#"{"username":"nobody","password":"whatever-it-is"}"#;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: \
            application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Stop gracefully while the request is half sent.
    let handle = app.handle.clone();
    let stopping = actix_web::rt::spawn(async move { handle.stop(true).await });
    // The listener closes promptly; poll (a loaded CI machine may take a moment).
    let mut refused = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .is_err()
        {
            refused = true;
            break;
        }
    }
    assert!(refused, "a stopping server must not accept new connections");

    stream.write_all(&body[10..]).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("invalid_credentials"));
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
    // The login attempt was fully processed: its audit row is there.
    assert_eq!(
        app.count("audit_events WHERE action = 'auth.login' AND actor_label = 'nobody'"),
        1
    );
}
