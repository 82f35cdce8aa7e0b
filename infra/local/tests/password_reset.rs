//! "Forgot your password?" through the real visa-local binary: the emailed
//! link (read from the outbox) sets a new password once and ends every
//! session; the request answers alike for unknown addresses and is
//! throttled per address.

mod common;

use common::{Gateway, assert_problem};
use serde_json::{Value, json};
use std::time::Duration;

const OLD: &str = "correct horse battery";
const NEW: &str = "a brand new passphrase";

/// The reset link emailed to `email`: the newest outbox message for it.
async fn emailed_link(gw: &Gateway, email: &str, not: &[String]) -> String {
    gw.emailed_link(email, "/reset-password#", not).await
}

fn messages_to(gw: &Gateway, email: &str) -> usize {
    std::fs::read_dir(gw.data_dir.join("outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("message-"))
        .filter(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .contains(&format!("To: {email}\r\n"))
        })
        .count()
}

async fn sign_in(gw: &Gateway, email: &str, password: &str) -> (u16, Value) {
    let (status, _, body) = gw
        .send(
            "POST",
            "/api/sessions",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await;
    (status, body)
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_emailed_link_once() {
    let gw = Gateway::start();
    let email = "priya@example.com";
    let first = gw.applicant(email).await;
    let (status, second) = sign_in(&gw, email, OLD).await;
    assert_eq!(status, 201);
    let second = second["token"].as_str().unwrap().to_owned();

    // The same answer, word for word, for an address with no account.
    let ask = |who: &str, lang: &str| json!({"email": who, "lang": lang});
    let known = gw
        .send("POST", "/api/password-resets", None, Some(ask(email, "ru")))
        .await;
    let unknown = gw
        .send(
            "POST",
            "/api/password-resets",
            None,
            Some(ask("nobody@example.com", "ru")),
        )
        .await;
    assert_eq!(known.0, 202, "{}", known.2);
    assert_eq!((known.0, &known.2), (unknown.0, &unknown.2));
    let link = emailed_link(&gw, email, &[]).await;
    let (_, token) = link.split_once('#').unwrap();
    // Nothing goes to an address without an account.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(messages_to(&gw, "nobody@example.com"), 0);
    // In the language asked for.
    let outbox = std::fs::read_dir(gw.data_dir.join("outbox")).unwrap();
    assert!(outbox.flatten().any(|e| {
        std::fs::read_to_string(e.path())
            .unwrap_or_default()
            .contains("пароль")
    }));

    // A short password is refused and spends nothing.
    let confirm = |token: &str, password: &str| json!({"token": token, "password": password});
    let short = gw
        .send(
            "POST",
            "/api/password-resets/confirmation",
            None,
            Some(confirm(token, "short")),
        )
        .await;
    assert_problem(&short, 422, "validation");
    assert_eq!(short.2["errors"][0]["field"], "password");
    assert_eq!(sign_in(&gw, email, OLD).await.0, 201);

    // A made-up token changes nothing.
    let forged = gw
        .send(
            "POST",
            "/api/password-resets/confirmation",
            None,
            Some(confirm("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NEW)),
        )
        .await;
    assert_problem(&forged, 400, "reset-link-invalid");

    let done = gw
        .send(
            "POST",
            "/api/password-resets/confirmation",
            None,
            Some(confirm(token, NEW)),
        )
        .await;
    assert_eq!(done.0, 204, "{}", done.2);
    // Every session ended; the old password is gone, the new one works.
    for t in [&first, &second] {
        let (status, _, _) = gw.send("GET", "/api/applications", Some(t), None).await;
        assert_eq!(status, 401);
    }
    assert_eq!(sign_in(&gw, email, OLD).await.0, 401);
    let (status, fresh) = sign_in(&gw, email, NEW).await;
    assert_eq!(status, 201);
    let fresh = fresh["token"].as_str().unwrap();
    assert_eq!(
        gw.send("GET", "/api/applications", Some(fresh), None)
            .await
            .0,
        200
    );
    // The link works once.
    let again = gw
        .send(
            "POST",
            "/api/password-resets/confirmation",
            None,
            Some(confirm(token, "yet another passphrase")),
        )
        .await;
    assert_problem(&again, 400, "reset-link-invalid");
    assert_eq!(sign_in(&gw, email, NEW).await.0, 201);
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_alike_for_every_address() {
    let gw = Gateway::start();
    gw.applicant("priya@example.com").await;
    for who in ["priya@example.com", "nobody@example.com"] {
        let mut answers = Vec::new();
        for _ in 0..6 {
            let (status, _, body) = gw
                .send(
                    "POST",
                    "/api/password-resets",
                    None,
                    Some(json!({"email": who})),
                )
                .await;
            answers.push((status, body["type"].clone()));
        }
        assert!(
            answers[..5].iter().all(|(s, _)| *s == 202),
            "{who}: {answers:?}"
        );
        assert_eq!(
            answers[5],
            (429, json!("/problems/too-many-requests")),
            "{who}"
        );
    }
    // Another address is not held back by these.
    let (status, _, _) = gw
        .send(
            "POST",
            "/api/password-resets",
            None,
            Some(json!({"email": "someone@example.com"})),
        )
        .await;
    assert_eq!(status, 202);
    // An unknown language is a field error too.
    let german = gw
        .send(
            "POST",
            "/api/password-resets",
            None,
            Some(json!({"email": "someone@example.com", "lang": "de"})),
        )
        .await;
    assert_problem(&german, 422, "validation");
    assert_eq!(german.2["errors"][0]["field"], "lang");
    // A malformed address is a field error, whatever exists.
    let bad = gw
        .send(
            "POST",
            "/api/password-resets",
            None,
            Some(json!({"email": "not an address"})),
        )
        .await;
    assert_problem(&bad, 422, "validation");
    assert_eq!(bad.2["errors"][0]["field"], "email");
}
