//! Email verification through the real visa-local binary: a new account is
//! sent a single-use link (read from the outbox); until it is followed, an
//! issued visa is downloadable but not emailed, and following it sends the
//! visa held back. Links are single use, throttled per account, and
//! refused alike when unknown or spent.

mod common;

use common::{Gateway, application, assert_problem, invitation};
use serde_json::json;
use std::time::{Duration, Instant};

async fn account_view(gw: &Gateway, token: &str) -> serde_json::Value {
    let (status, _, body) = gw
        .send("GET", "/api/accounts/current", Some(token), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn confirm(gw: &Gateway, token: &str) -> (u16, String, serde_json::Value) {
    gw.send(
        "POST",
        "/api/email-verifications/confirmation",
        None,
        Some(json!({ "token": token })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visa_waits_for_the_confirmed_address_then_goes_out_once() {
    let (gw, logs) = Gateway::start_logged();
    let email = "aigul@example.com";
    let token = gw.unverified_applicant(email).await;
    let me = account_view(&gw, &token).await;
    assert_eq!(me["email"], email);
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["lang"], "en");
    let first = gw.emailed_link(email, "/confirm-email#", &[]).await;

    // Applies and pays while unconfirmed: issued, downloadable, not emailed.
    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let (status, _, app) = gw
        .send(
            "POST",
            "/api/applications",
            Some(&token),
            Some(application(&inv)),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    let id = app["id"].as_str().unwrap().to_owned();
    let (status, _, app) = gw
        .send(
            "POST",
            &format!("/api/applications/{id}/confirmation"),
            Some(&token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_eq!(status, 200, "{app}");
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let start = Instant::now();
    while !logs
        .text()
        .lines()
        .any(|l| l.contains("Unverified") && l.contains(&id))
    {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never held back\n{}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let eml = gw.data_dir.join(format!("outbox/e-visa-{number}.eml"));
    assert!(!eml.exists(), "a visa emailed to an unconfirmed address");
    let (status, _, link) = gw
        .send(
            "GET",
            &format!("/api/applications/{id}/visa"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "still downloadable: {link}");

    // A second link; both work until one is used (then the address is confirmed).
    let (status, _, body) = gw
        .send(
            "POST",
            "/api/email-verifications",
            Some(&token),
            Some(json!({"lang": "kk"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let second = gw
        .emailed_link(email, "/confirm-email#", std::slice::from_ref(&first))
        .await;
    assert_ne!(first, second);
    let (status, _, body) = confirm(&gw, second.split_once('#').unwrap().1).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(account_view(&gw, &token).await["email_verified"], true);

    // The held visa goes out, once.
    let start = Instant::now();
    while !eml.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the held visa was never emailed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&eml).unwrap();
    assert!(text.contains(&format!("To: {email}")) && text.contains("application/pdf"));

    // Spent and unknown links alike; a confirmed address needs no link.
    let spent = confirm(&gw, second.split_once('#').unwrap().1).await;
    assert_problem(&spent, 400, "verification-link-invalid");
    let garbage = confirm(&gw, "not-a-token").await;
    assert_problem(&garbage, 400, "verification-link-invalid");
    assert_eq!(spent.2["detail"], garbage.2["detail"]);
    // The first link, still unexpired, changes nothing and sends nothing more.
    let before = gw.snapshot_without(&["sign_in_failures"]);
    let (status, _, _) = confirm(&gw, first.split_once('#').unwrap().1).await;
    assert_eq!(status, 204);
    let again = gw
        .send("POST", "/api/email-verifications", Some(&token), None)
        .await;
    assert_problem(&again, 409, "email-already-verified");
    let modified = std::fs::metadata(&eml).unwrap().modified().unwrap();
    // The AddressVerified request of that second redemption has been
    // handled once its log line is there: the visa was not sent again.
    let start = Instant::now();
    while logs.text().matches("address verified").count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "{}", logs.text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        std::fs::metadata(&eml).unwrap().modified().unwrap(),
        modified
    );
    assert!(
        logs.text()
            .contains("address verified: 0 held visa(s) emailed")
    );
    let after = gw.snapshot_without(&["sign_in_failures"]);
    assert_eq!(
        before
            .iter()
            .filter(|r| !r.starts_with("email_verifications"))
            .collect::<Vec<_>>(),
        after
            .iter()
            .filter(|r| !r.starts_with("email_verifications"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_throttled_per_account_and_bad_requests_change_nothing() {
    let gw = Gateway::start();
    let token = gw.unverified_applicant("dana@example.com").await;
    // The registration's link counts: four more, then 429 with Retry-After.
    for n in 0..4 {
        let (status, _, body) = gw
            .send("POST", "/api/email-verifications", Some(&token), None)
            .await;
        assert_eq!(status, 202, "request {n}: {body}");
    }
    let refused = gw
        .send("POST", "/api/email-verifications", Some(&token), None)
        .await;
    assert_problem(&refused, 429, "too-many-requests");
    // Each link is minted when its email is sent, in the background: the
    // store holds still once all five are there.
    let start = Instant::now();
    while gw.count("email_verifications") < 5 {
        assert!(start.elapsed() < Duration::from_secs(20), "five links");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let before = gw.snapshot();
    let anonymous = gw
        .send("POST", "/api/email-verifications", None, None)
        .await;
    assert_problem(&anonymous, 401, "unauthenticated");
    let me = gw.send("GET", "/api/accounts/current", None, None).await;
    assert_problem(&me, 401, "unauthenticated");
    let lang = gw
        .send(
            "POST",
            "/api/email-verifications",
            Some(&token),
            Some(json!({"lang": "de"})),
        )
        .await;
    assert_problem(&lang, 422, "validation");
    assert_eq!(lang.2["errors"][0]["field"], "lang");
    let missing = gw
        .send(
            "POST",
            "/api/email-verifications/confirmation",
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(missing.0, 422, "{}", missing.2);
    let bad_lang = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": "erlan@example.com", "password": "correct horse battery", "lang": "fr"})),
        )
        .await;
    assert_problem(&bad_lang, 422, "validation");
    assert_eq!(bad_lang.2["errors"][0]["field"], "lang");
    assert_eq!(gw.snapshot(), before);

    // Registered in Russian: the link comes in Russian.
    let (status, _, body) = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": "erlan@example.com", "password": "correct horse battery", "lang": "ru"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let link = gw
        .emailed_link("erlan@example.com", "/confirm-email#", &[])
        .await;
    let outbox = gw.data_dir.join("outbox");
    let russian = std::fs::read_dir(&outbox)
        .unwrap()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .find(|t| t.contains(&link))
        .unwrap();
    assert!(russian.contains("To: erlan@example.com"), "{russian}");
    assert!(
        !russian.contains("Subject: Confirm your email"),
        "{russian}"
    );
}
