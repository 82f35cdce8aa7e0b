//! After payment the visa is issued without any action by the applicant:
//! the PDF downloads through a short link, border control verifies it, and
//! nobody else can fetch it.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn pay(gw: &Gateway, app: &Value) {
    let url = app["payment"]["checkout_url"].as_str().unwrap();
    let res = gw.http.post(format!("{url}/pay")).send().await.unwrap();
    assert_eq!(res.status(), 303);
}

/// Polls `done` for up to 10 s; fails the test with `failure` after that.
async fn wait_until(failure: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "{failure}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_issued(gw: &Gateway, token: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, _, app) = gw
            .send("GET", &format!("/api/applications/{id}"), Some(token), None)
            .await;
        if app["status"] == "issued" {
            return app;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "not issued: {app}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn paid_visa_is_issued_downloaded_and_verified() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let id = app["id"].as_str().unwrap();
    let link_path = format!("/api/applications/{id}/visa");
    assert_problem(
        &gw.send("GET", &link_path, Some(&token), None).await,
        409,
        "visa-not-ready",
    );

    let paid_at = Instant::now();
    pay(&gw, &app).await;
    let issued = wait_issued(&gw, &token, id).await;
    println!("payment to issued: {:?}", paid_at.elapsed());
    let visa = &issued["visa"];
    let number = visa["number"].as_str().unwrap();
    assert_eq!(number.len(), 9);
    assert!(
        number
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert_eq!(visa["entries"], "single");
    assert_eq!(visa["valid_from"], issued["stay"]["valid_from"]);
    assert_eq!(visa["entry_points"].as_array().unwrap().len(), 2);

    let (status, _, link) = gw.send("GET", &link_path, Some(&token), None).await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["visa_number"], number);
    let pdf = gw
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    // A tampered link is refused.
    let forged = link["url"].as_str().unwrap().replace("sig=", "sig=00");
    let refused = gw.http.get(forged).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "/problems/forbidden");

    // Another applicant sees nothing.
    let other = gw.applicant("other@example.com").await;
    assert_problem(
        &gw.send("GET", &link_path, Some(&other), None).await,
        404,
        "not-found",
    );

    // Border control: the right passport finds it, any other is 404. A
    // stay never starts in the past, so a visa just issued is genuine but
    // not valid yet (visa_core::verification tests every standing by day).
    let verify = format!("/api/visas/{number}/verification?passport_number=Z1234567");
    let (status, _, v) = gw.send("GET", &verify, None, None).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["valid"].clone(), v["status"].clone()),
        (json!(false), json!("not_yet_valid"))
    );
    assert_eq!(v["holder"]["surname"], "MULLER");
    assert_eq!(v["visa"]["number"], number);
    let wrong = format!("/api/visas/{number}/verification?passport_number=Z7654321");
    assert_problem(&gw.send("GET", &wrong, None, None).await, 404, "not-found");
    assert_problem(
        &gw.send(
            "GET",
            "/api/visas/AAAAAAAAA/verification?passport_number=Z1234567",
            None,
            None,
        )
        .await,
        404,
        "not-found",
    );
    assert_problem(
        &gw.send(
            "GET",
            &format!("/api/visas/{number}/verification"),
            None,
            None,
        )
        .await,
        404,
        "not-found",
    );

    let (status, _, jwks) = gw
        .send("GET", "/api/.well-known/jwks.json", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert_eq!(jwks["keys"][0]["alg"], "ES256");

    // One visa row, one PDF, one email in the outbox.
    assert_eq!(gw.count("visas"), 1);
    let pdfs = std::fs::read_dir(gw.data_dir.join("blobs/visas"))
        .unwrap()
        .count();
    assert_eq!(pdfs, 1);
    let eml = gw.data_dir.join(format!("outbox/e-visa-{number}.eml"));
    wait_until("no email in the outbox", || eml.exists()).await;
    let eml = std::fs::read_to_string(&eml).unwrap();
    assert!(
        eml.contains("To: priya@example.com")
            && eml.contains("application/pdf")
            && eml.contains(number)
    );
}

#[tokio::test]
async fn a_paid_application_left_by_a_crash_is_issued_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start_in(dir.path());
    let (token, app) = gw.awaiting_payment("lan@example.com").await;
    pay(&gw, &app).await;
    gw.kill();
    let gw = Gateway::start_in(dir.path());
    let issued = wait_issued(&gw, &token, app["id"].as_str().unwrap()).await;
    assert!(issued["visa"]["number"].is_string());
    assert_eq!(gw.count("visas"), 1);
}

#[tokio::test]
async fn an_email_lost_to_a_crash_is_sent_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start_in(dir.path());
    let (token, app) = gw.awaiting_payment("kairat@example.com").await;
    pay(&gw, &app).await;
    let issued = wait_issued(&gw, &token, app["id"].as_str().unwrap()).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let eml = dir.path().join(format!("outbox/e-visa-{number}.eml"));
    wait_until("no email", || eml.exists()).await;
    // The state a crash after the issuing write, before the email, leaves:
    // no email, none recorded.
    gw.kill();
    std::fs::remove_file(&eml).unwrap();
    rusqlite::Connection::open(dir.path().join("visa.sqlite3"))
        .unwrap()
        .execute(
            "UPDATE applications SET doc = json_remove(doc, '$.emailed_at')",
            [],
        )
        .unwrap();
    let gw = Gateway::start_in(dir.path());
    wait_until("the email was not sent again after the restart", || {
        eml.exists()
    })
    .await;
    let text = std::fs::read_to_string(&eml).unwrap();
    assert!(text.contains("To: kairat@example.com") && text.contains("application/pdf"));
    // Sent once: a second restart finds it in the outbox and sends nothing.
    let modified = std::fs::metadata(&eml).unwrap().modified().unwrap();
    drop(gw);
    let (gw, logs) = Gateway::start_logged_in(dir.path());
    wait_until(
        "the start-up check of issued visas' emails finished",
        || logs.text().contains("issued visas' emails checked"),
    )
    .await;
    // The log's fields, without their colours.
    let text = logs.text();
    let mut parts = text.split('\x1b');
    let plain: String = parts
        .next()
        .into_iter()
        .chain(parts.map(|p| p.split_once('m').map_or(p, |(_, rest)| rest)))
        .collect();
    assert!(plain.contains("resent=0"), "nothing resent: {plain}");
    assert_eq!(
        std::fs::metadata(&eml).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(gw.count("visas"), 1);
}
