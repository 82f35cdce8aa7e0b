//! Hostile use of the portal through the real visa-local binary: other
//! applicants' ids, password guessing, security headers on every kind of
//! response, tampered or expired download links, and what the logs keep.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Every applicant route of docs/API.md that takes an application id, with the
/// body it needs.
fn id_routes(id: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/api/applications/{id}"), None),
        (
            "POST",
            format!("/api/applications/{id}/confirmation"),
            Some(json!({"details_match_passport": true})),
        ),
        ("GET", format!("/api/applications/{id}/visa"), None),
    ]
}

#[tokio::test]
async fn every_applicant_route_refuses_another_applicants_application() {
    let gw = Gateway::start();
    // The owner has one issued application and one still unconfirmed.
    let (owner, confirmed) = gw.awaiting_payment("owner@example.com").await;
    let issued = gw.pay_and_wait_issued(&owner, &confirmed).await;
    let inv = gw.create_invitation(invitation("business", "SRB")).await;
    let (status, _, fresh) = gw
        .send(
            "POST",
            "/api/applications",
            Some(&owner),
            Some(application(&inv)),
        )
        .await;
    assert_eq!(status, 201, "{fresh}");
    let intruder = gw.applicant("intruder@example.com").await;

    for app in [&issued, &fresh] {
        let id = app["id"].as_str().unwrap();
        let before = gw.snapshot();
        for (method, path, body) in id_routes(id) {
            let got = gw.send(method, &path, Some(&intruder), body.clone()).await;
            assert_problem(&got, 404, "not-found");
            // Indistinguishable from an id that never existed.
            let unknown = path.replace(id, "01JD0000000000000000000000");
            let never = gw.send(method, &unknown, Some(&intruder), body).await;
            assert_eq!(got.2["detail"], never.2["detail"], "{method} {path}");
        }
        assert_eq!(gw.snapshot(), before, "the intruder changed nothing");
    }
    let (_, _, list) = gw
        .send("GET", "/api/applications", Some(&intruder), None)
        .await;
    assert_eq!(list["items"], json!([]), "{list}");

    // The owner still reaches both: the refusals above were about ownership.
    let id = issued["id"].as_str().unwrap();
    for (method, path, body) in id_routes(id) {
        let (status, _, body) = gw.send(method, &path, Some(&owner), body).await;
        let expected = if path.ends_with("/confirmation") {
            409 // issued: invalid-state
        } else {
            200
        };
        assert_eq!(status, expected, "{method} {path}: {body}");
    }
    let (status, _, _) = gw
        .send(
            "GET",
            &format!("/api/applications/{}", fresh["id"].as_str().unwrap()),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn sign_in_is_throttled_per_email_after_ten_failures() {
    let gw = Gateway::start();
    gw.applicant("target@example.com").await;
    let bystander = json!({"email": "bystander@example.com", "password": "correct horse battery"});
    assert_eq!(
        gw.send("POST", "/api/accounts", None, Some(bystander.clone()))
            .await
            .0,
        201
    );
    let wrong = json!({"email": "target@example.com", "password": "guess number n"});
    for _ in 0..10 {
        assert_problem(
            &gw.send("POST", "/api/sessions", None, Some(wrong.clone()))
                .await,
            401,
            "invalid-credentials",
        );
    }
    let right = json!({"email": "TARGET@example.com ", "password": "correct horse battery"});
    assert_problem(
        &gw.send("POST", "/api/sessions", None, Some(right)).await,
        429,
        "too-many-attempts",
    );
    // The limit is per email: another account still signs in.
    let (status, _, body) = gw
        .send("POST", "/api/sessions", None, Some(bystander))
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_burst_of_wrong_passwords_gets_ten_checked_and_right_ones_are_not_counted() {
    let gw = Gateway::start();
    gw.applicant("burst@example.com").await;
    // Twelve right sign-ins in a row: each takes its count back.
    let right = json!({"email": "burst@example.com", "password": "correct horse battery"});
    for _ in 0..12 {
        let (status, _, body) = gw
            .send("POST", "/api/sessions", None, Some(right.clone()))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    // Thirty wrong ones at once: counted before any hash is checked, so
    // exactly ten are checked (401) and the rest refused outright (429).
    let wrong = json!({"email": "burst@example.com", "password": "guess number n"});
    let answers = futures::future::join_all(
        (0..30).map(|_| gw.send("POST", "/api/sessions", None, Some(wrong.clone()))),
    )
    .await;
    let count = |code: u16| answers.iter().filter(|a| a.0 == code).count();
    assert_eq!(
        (count(401), count(429)),
        (10, 20),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    assert_problem(
        &gw.send("POST", "/api/sessions", None, Some(right)).await,
        429,
        "too-many-attempts",
    );
}

#[track_caller]
fn assert_security_headers(what: &str, res: &reqwest::Response) {
    let h = res.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    assert!(
        !csp.contains(" 'unsafe-eval'") && !csp.contains("'unsafe-inline'"),
        "{what}: CSP {csp:?} allows script evaluation"
    );
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: CSP {csp:?} lacks {directive}"
        );
    }
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}"
    );
    let referrer = h
        .get("referrer-policy")
        .unwrap_or_else(|| panic!("{what}: no Referrer-Policy"))
        .to_str()
        .unwrap();
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer),
        "{what}: Referrer-Policy {referrer}"
    );
}

#[tokio::test]
async fn security_headers_on_every_kind_of_response() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("headers@example.com").await;
    let checkout = app["payment"]["checkout_url"].as_str().unwrap().to_owned();
    let sandbox_page = gw.http.get(&checkout).send().await.unwrap();
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let (_, _, link) = gw
        .send(
            "GET",
            &format!("/api/applications/{}/visa", issued["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    let url = link["url"].as_str().unwrap();

    let get = |path: &str| gw.http.get(gw.url(path)).send();
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        (
            "API JSON",
            get("/api/health").await.unwrap(),
            200,
            "application/json",
        ),
        (
            "API problem",
            get("/api/nope").await.unwrap(),
            404,
            "application/problem+json",
        ),
        (
            "405 problem",
            gw.http
                .put(gw.url("/api/applications"))
                .send()
                .await
                .unwrap(),
            405,
            "application/problem+json",
        ),
        (
            "413 problem",
            gw.http
                .post(gw.url("/api/accounts"))
                .body(vec![b' '; 70 * 1024])
                .send()
                .await
                .unwrap(),
            413,
            "application/problem+json",
        ),
        ("static page", get("/").await.unwrap(), 200, "text/html"),
        (
            "missing page",
            get("/no-such-page").await.unwrap(),
            404,
            "text/plain",
        ),
        ("sandbox checkout", sandbox_page, 200, "text/html"),
        (
            "file link",
            gw.http.get(url).send().await.unwrap(),
            200,
            "application/pdf",
        ),
        (
            "refused file link",
            gw.http.get(format!("{url}0")).send().await.unwrap(),
            403,
            "application/problem+json",
        ),
    ];
    for (what, res, status, content_type) in &cases {
        assert_eq!(res.status().as_u16(), *status, "{what}");
        let ct = res.headers()["content-type"].to_str().unwrap();
        assert!(ct.starts_with(content_type), "{what}: {ct}");
        assert_security_headers(what, res);
    }
}

/// The signature the gateway puts on a `/files/<key>` link, from the link
/// key it keeps in its data dir.
fn link_signature(gw: &Gateway, key: &str, expires: i64) -> String {
    let secret = std::fs::read_to_string(gw.data_dir.join("link-key")).expect("link key");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.trim().as_bytes()).unwrap();
    mac.update(format!("{key}\n{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn visa_links_expire_and_refuse_any_alteration() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("links@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let (status, _, link) = gw
        .send(
            "GET",
            &format!("/api/applications/{}/visa", issued["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{link}");
    let expires_at = chrono::DateTime::parse_from_rfc3339(link["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let now = chrono::Utc::now().timestamp();
    assert!(
        expires_at > now && expires_at <= now + 300,
        "links live at most 300 s: {link}"
    );

    let url = reqwest::Url::parse(link["url"].as_str().unwrap()).unwrap();
    let key = url.path().trim_start_matches("/files/").to_owned();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let (expires, sig) = (query["expires"].clone(), query["sig"].clone());
    assert_eq!(expires.parse::<i64>().unwrap(), expires_at);
    // The harness computes the same signature the gateway does, so the
    // refusals below are about expiry and tampering, not a wrong formula.
    assert_eq!(link_signature(&gw, &key, expires_at), sig);

    let gw = &gw;
    let fetch = |key: &str, expires: String, sig: String| {
        let u = gw.url(&format!("/files/{key}?expires={expires}&sig={sig}"));
        async move { gw.http.get(u).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(fetch(&key, expires.clone(), sig.clone()).await, 200);

    // Correctly signed, but expired a second ago.
    let past = now - 1;
    assert_eq!(
        fetch(&key, past.to_string(), link_signature(gw, &key, past)).await,
        403,
        "an expired link is refused"
    );
    // Tampered: one signature character, the expiry, the key.
    let mut altered = sig.clone().into_bytes();
    altered[0] = if altered[0] == b'0' { b'1' } else { b'0' };
    let altered = String::from_utf8(altered).unwrap();
    assert_eq!(fetch(&key, expires.clone(), altered).await, 403);
    assert_eq!(
        fetch(&key, (expires_at + 3600).to_string(), sig.clone()).await,
        403
    );
    let other_key = key.replace(".pdf", "X.pdf");
    assert_eq!(fetch(&other_key, expires.clone(), sig.clone()).await, 403);
    assert_eq!(fetch(&key, expires.clone(), String::new()).await, 403);
    // A valid link to a file that is not there: 404, as a problem document.
    let missing = gw
        .http
        .get(gw.url(&format!(
            "/files/{other_key}?expires={expires_at}&sig={}",
            link_signature(gw, &other_key, expires_at)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

/// Paths that climb out of the site or the blob folder, sent as raw bytes
/// (an HTTP client would resolve the `..` before sending): none is answered
/// with a file from outside, whatever the encoding.
#[tokio::test]
async fn raw_traversal_paths_reach_nothing_outside_the_site() {
    let gw = Gateway::start();
    let link_key = std::fs::read_to_string(gw.data_dir.join("link-key")).unwrap();
    assert!(link_key.trim().len() >= 16, "the link key is a real secret");
    let outside = [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/css/../../Cargo.toml",
        "/css/%2e%2e/%2e%2e/Cargo.toml",
        "/..%2fCargo.toml",
        "/files/../link-key",
        "/files/%2e%2e/link-key",
        "/files/..%2flink-key",
        "/files/visas/../../link-key",
        "/files/../visa.sqlite3",
        "/api/../files/../link-key",
    ];
    for path in outside {
        for query in ["", "?expires=9999999999&sig=00"] {
            let target = format!("{path}{query}");
            let (status, body) = gw.raw_get(&target).await;
            let text = String::from_utf8_lossy(&body);
            assert!((400..500).contains(&status), "{target}: {status} {text}");
            assert!(
                !text.contains("[workspace]")
                    && !text.contains(link_key.trim())
                    && !text.contains("SQLite format"),
                "{target} leaked a file: {text}"
            );
        }
    }
    // The same client reaches a real site file, so the refusals above are
    // the paths', not the client's.
    let (status, body) = gw.raw_get("/index.html").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("<html"));
}

#[tokio::test]
async fn logs_keep_no_passport_number_password_token_or_secret() {
    let (gw, logs) = Gateway::start_logged();
    let password = "correct horse battery";
    let (token, app) = gw.awaiting_payment("logs@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let passport = issued["passport"]["number"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap();
    let visa = issued["visa"]["number"].as_str().unwrap();

    // Everything else that handles these values: a download link, border
    // control's check (passport number in the query), a failed sign-in, a
    // forged webhook and a refused officer call.
    let (status, _, link) = gw
        .send(
            "GET",
            &format!("/api/applications/{id}/visa"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let pdf = gw
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let (status, _, _) = gw
        .send(
            "GET",
            &format!("/api/visas/{visa}/verification?passport_number={passport}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = gw
        .send(
            "POST",
            "/api/sessions",
            None,
            Some(json!({"email": "logs@example.com", "password": "not the password"})),
        )
        .await;
    assert_eq!(status, 401);
    let forged = gw
        .http
        .post(gw.url("/api/webhooks/payment"))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    let (status, _, _) = gw
        .send(
            "POST",
            "/api/admin/invitations",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 401);
    // Sign out last, so the token has been used everywhere above.
    assert_eq!(
        gw.send("DELETE", "/api/sessions/current", Some(&token), None)
            .await
            .0,
        204
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let text = logs.text();
    assert!(text.contains("visa-local listening on"), "logs captured");
    assert!(text.lines().count() > 5, "debug logs captured:\n{text}");
    // The admin token is printed once at start, by design (docs/API.md).
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("admin token: "))
        .collect::<Vec<_>>()
        .join("\n");
    let link_sig = link["url"].as_str().unwrap().rsplit("sig=").next().unwrap();
    let secrets = [
        ("passport number", passport.as_str()),
        ("password", password),
        ("wrong password", "not the password"),
        ("bearer token", token.as_str()),
        ("webhook secret", WEBHOOK_SECRET),
        ("admin token", gw.admin_token.as_str()),
        ("download link signature", link_sig),
    ];
    let upper = text.to_uppercase();
    for (what, value) in secrets {
        assert!(
            !upper.contains(&value.to_uppercase()),
            "the logs contain the {what} {value:?}:\n{text}"
        );
    }
}
