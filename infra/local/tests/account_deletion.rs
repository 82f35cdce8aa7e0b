//! Deleting an account through the real visa-local binary: the password
//! again; refused while a checkout can still be paid; then the account, its
//! sessions and every unpaid application (passport data included) are gone
//! from the store, the issued visa is kept (and still retrievable without
//! an account), and the address can register again.

mod common;

use common::{Gateway, application, assert_problem, invitation};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// An application of `token`'s account for a fresh invitation whose
/// holder has passport `number`.
async fn apply(gw: &Gateway, token: &str, number: &str) -> Value {
    let mut inv = invitation("tourist", "IND");
    inv["invitee"]["passport_number"] = json!(number);
    let inv = gw.create_invitation(inv).await;
    let mut body = application(&inv);
    body["passport"]["number"] = json!(number);
    let (status, _, app) = gw
        .send("POST", "/api/applications", Some(token), Some(body))
        .await;
    assert_eq!(status, 201, "{app}");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_erases_what_is_unpaid_and_keeps_the_visa() {
    // Checkouts close after 3 s, so the wait for one is short.
    let gw = Gateway::start_with(&[("VISA_CHECKOUT_SECONDS", "3")]);
    let email = "aliya@example.com";
    let (token, first) = gw.awaiting_payment(email).await;
    let issued = gw.pay_and_wait_issued(&token, &first).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let unconfirmed = apply(&gw, &token, "U7654321").await;
    let unpaid = apply(&gw, &token, "W5550001").await;
    let path = format!(
        "/api/applications/{}/confirmation",
        unpaid["id"].as_str().unwrap()
    );
    let (status, _, unpaid) = gw
        .send(
            "POST",
            &path,
            Some(&token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_eq!(status, 200, "{unpaid}");
    // The issued visa's email is out, so the store holds still from here.
    let eml = gw.data_dir.join(format!("outbox/e-visa-{number}.eml"));
    let start = Instant::now();
    while !eml.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "no visa email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let me = "/api/accounts/current";
    let before = gw.snapshot();
    let wrong = gw
        .send(
            "DELETE",
            me,
            Some(&token),
            Some(json!({"password": "not my password"})),
        )
        .await;
    assert_problem(&wrong, 401, "invalid-credentials");
    let right = json!({"password": "correct horse battery"});
    let open = gw
        .send("DELETE", me, Some(&token), Some(right.clone()))
        .await;
    assert_problem(&open, 409, "payment-open");
    assert_eq!(open.2["until"], unpaid["payment"]["expires_at"]);
    assert_eq!(gw.snapshot(), before, "a refused deletion changes nothing");

    // Once the checkout has closed, the deletion goes through.
    let start = Instant::now();
    let deleted = loop {
        let got = gw
            .send("DELETE", me, Some(&token), Some(right.clone()))
            .await;
        if got.0 != 409 {
            break got;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "{}", got.2);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(deleted.0, 200, "{}", deleted.2);
    let mut erased: Vec<&str> = deleted.2["deleted"]["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    erased.sort();
    let mut expected = vec![
        unconfirmed["id"].as_str().unwrap(),
        unpaid["id"].as_str().unwrap(),
    ];
    expected.sort();
    assert_eq!(erased, expected);
    let kept = &deleted.2["kept"];
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{kept}");
    assert_eq!(kept[0]["application_id"], first["id"]);
    assert_eq!(kept[0]["status"], "issued");
    assert_eq!(kept[0]["visa_number"], number.as_str());
    assert!(
        kept[0]["reason"]
            .as_str()
            .unwrap()
            .contains("border control")
    );

    // The store: no trace of the unpaid applications' passports, of the
    // account or its sessions and links; the issued application stays.
    let rows = gw.snapshot();
    for passport in ["U7654321", "W5550001", email] {
        let found: Vec<&String> = rows.iter().filter(|r| r.contains(passport)).collect();
        assert!(found.is_empty(), "{passport} still stored: {found:?}");
    }
    assert_eq!(gw.count("applications"), 1);
    for table in ["accounts", "sessions", "email_verifications"] {
        assert_eq!(gw.count(table), 0, "{table}");
    }
    assert_problem(
        &gw.send("GET", "/api/applications", Some(&token), None)
            .await,
        401,
        "unauthenticated",
    );
    // The kept visa: retrievable without an account.
    let (status, _, link) = gw
        .send(
            "POST",
            "/api/visa-retrievals",
            None,
            Some(json!({"visa_number": number, "passport_number": "Z1234567",
                        "date_of_birth": "1990-04-12"})),
        )
        .await;
    assert_eq!(status, 200, "{link}");
    // The address is free again.
    let (status, _, body) = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": email, "password": "a fresh start, please"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}
