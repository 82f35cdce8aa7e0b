//! render-visa: the download link, verification, retrieval and keys.

use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use visa_core::notify::EmailRequest;

#[tokio::test]
async fn the_visa_is_downloaded_verified_on_the_clock_and_retrieved() {
    let r = Render::new();
    r.paid_application().await;
    let owner = r.session("acc-1").await;
    let stranger = r.session("acc-2").await;
    let download = "/api/applications/app-1/visa";
    assert_eq!(
        slug(&r.call("GET", download, Some(&owner), Value::Null).await),
        (409, "visa-not-ready")
    );
    assert_eq!(
        slug(&r.call("GET", download, None, Value::Null).await),
        (401, "unauthenticated")
    );

    let issued = visa_render_visa::issue::issue(&r.deps, "app-1")
        .await
        .unwrap();
    let number = issued.visa.as_ref().unwrap().number.clone();
    assert_eq!(
        slug(&r.call("GET", download, Some(&stranger), Value::Null).await),
        (404, "not-found")
    );
    let (status, link) = r.call("GET", download, Some(&owner), Value::Null).await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(
        link["expires_at"], "2026-12-05T09:05:00Z",
        "five minutes on the pinned clock"
    );
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .contains(&format!("/visas/app-1/{number}.pdf"))
    );

    // Border control, by number and passport: not yet in force on 5
    // December, in force from 20 December, expired after the 30th.
    let verify = format!("/api/visas/{number}/verification?passport_number=Z1234567");
    let (status, early) = r.call("GET", &verify, None, Value::Null).await;
    assert_eq!(status, 200, "{early}");
    assert_eq!(
        (early["valid"].clone(), early["status"].clone()),
        (json!(false), json!("not_yet_valid"))
    );
    r.clock.advance(Duration::days(16));
    let (_, during) = r.call("GET", &verify, None, Value::Null).await;
    assert_eq!(
        (during["valid"].clone(), during["status"].clone()),
        (json!(true), json!("issued"))
    );
    r.clock.advance(Duration::days(10));
    let (_, late) = r.call("GET", &verify, None, Value::Null).await;
    assert_eq!(late["status"], "expired");
    let wrong = format!("/api/visas/{number}/verification?passport_number=Z7654321");
    assert_eq!(
        slug(&r.call("GET", &wrong, None, Value::Null).await),
        (404, "not-found")
    );

    // Retrieval by the three details: a link, and a copy queued by email.
    let ask = |n: &str, p: &str, d: &str| json!({"visa_number": n, "passport_number": p, "date_of_birth": d});
    let (status, again) = r
        .call(
            "POST",
            "/api/visa-retrievals",
            None,
            ask(&number.to_lowercase(), " Z1234567 ", "1990-04-12"),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        *r.queued.0.lock().unwrap(),
        [EmailRequest::VisaCopy {
            application_id: "app-1".into()
        }]
    );
    // Every miss is the same 404; the 21st attempt in the hour is refused.
    let misses = [
        ask(&number, "Z1234567", "1990-04-13"),
        ask(&number, "Z7654321", "1990-04-12"),
        ask("K00000000", "Z1234567", "1990-04-12"),
    ];
    let first = r
        .call("POST", "/api/visa-retrievals", None, misses[0].clone())
        .await;
    for n in 1..visa_render_visa::MAX_RETRIEVAL_MISSES as usize {
        let miss = r
            .call("POST", "/api/visa-retrievals", None, misses[n % 3].clone())
            .await;
        assert_eq!(miss, first, "miss {n}");
    }
    assert_eq!(slug(&first), (404, "not-found"));
    let throttled = r
        .call(
            "POST",
            "/api/visa-retrievals",
            None,
            ask(&number, "Z1234567", "1990-04-12"),
        )
        .await;
    assert_eq!(slug(&throttled), (429, "too-many-requests"));
    r.clock.advance(Duration::minutes(
        visa_render_visa::RETRIEVAL_WINDOW_MINUTES,
    ));
    let (status, _) = r
        .call(
            "POST",
            "/api/visa-retrievals",
            None,
            ask(&number, "Z1234567", "1990-04-12"),
        )
        .await;
    assert_eq!(status, 200, "a new window");

    let (status, jwks) = r
        .call("GET", "/api/.well-known/jwks.json", None, Value::Null)
        .await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    assert!(jwks["keys"][0].get("x5c").is_none(), "no certificate yet");
}

#[tokio::test]
async fn an_administrator_gets_a_request_signed_by_the_key_that_a_csca_certifies() {
    let r = Render::new();
    let (status, answer) = r
        .call(
            "POST",
            "/api/admin/seal-certificate-requests",
            Some(OFFICER),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let request = visa_pki::request_from_pem(answer["request"].as_str().unwrap()).unwrap();
    visa_pki::check_request(&request).expect("signed by the key it names");
    let (_, jwks) = r
        .call("GET", "/api/.well-known/jwks.json", None, Value::Null)
        .await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    assert_eq!(answer["key_id"], kid);
    assert_eq!(
        answer["certificate_reference"],
        visa_pki::certificate_reference(kid)
    );
    // The offline CA certifies it; the certificate's key is the JWKS's.
    let csca_key = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
    let now = chrono::Utc::now();
    let csca = visa_pki::new_csca(&csca_key, now, 3650).unwrap();
    let serial = visa_pki::serial_for_key(kid);
    let cert = visa_pki::issue_signer(&csca_key, &csca, &request, &serial, now, 1100).unwrap();
    let point = visa_pki::public_key(&cert).unwrap().to_encoded_point(false);
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    assert_eq!(jwks["keys"][0]["x"], b64.encode(point.x().unwrap()));
    assert_eq!(jwks["keys"][0]["y"], b64.encode(point.y().unwrap()));
}

#[tokio::test]
async fn published_seal_certificates_are_served_as_a_chain_and_in_the_jwks() {
    let r = Render::new();
    r.publish_certificates();
    let res = r
        .handle(request(
            "GET",
            "/api/.well-known/seal-certificates.pem",
            None,
            Value::Null,
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    let chain = std::str::from_utf8(res.body()).unwrap();
    let certs: Vec<visa_pki::Certificate> = chain
        .split_inclusive("-----END CERTIFICATE-----\n")
        .map(|pem| visa_pki::from_pem(pem).unwrap())
        .collect();
    let [signer, csca] = &certs[..] else {
        panic!("signer and CSCA expected: {chain}")
    };
    visa_pki::check_issued_by(signer, csca).unwrap();
    visa_pki::check_issued_by(csca, csca).unwrap();

    let (status, jwks) = r
        .call("GET", "/api/.well-known/jwks.json", None, Value::Null)
        .await;
    assert_eq!(status, 200);
    let key = &jwks["keys"][0];
    let kid = key["kid"].as_str().unwrap();
    assert_eq!(
        visa_pki::serial(signer),
        &visa_pki::serial_for_key(kid)[..],
        "the serial is the seal's certificate reference"
    );
    let b64 = |cert: &visa_pki::Certificate| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(visa_pki::to_der(cert).unwrap())
    };
    assert_eq!(key["x5c"], json!([b64(signer), b64(csca)]));
}

// ------------------------------------------------------------ every problem of every route

cases! {
    download_problems,
    verification_problems,
    retrieval_problems,
    jwks_problems,
    seal_certificates_problems,
    seal_certificate_request_problems,
    what_is_not_render_visas_answers,
}

async fn download_problems() {
    let r = Render::new();
    r.paid_application().await;
    let owner = r.session("acc-1").await;
    let stranger = r.session("acc-2").await;
    let get = |id: &str, token: Option<&str>| {
        request(
            "GET",
            &format!("/api/applications/{id}/visa"),
            token,
            Value::Null,
        )
    };
    refused(&r, get("app-1", None), (401, "unauthenticated")).await;
    refused(
        &r,
        get("app-1", Some("not-a-session")),
        (401, "unauthenticated"),
    )
    .await;
    refused(&r, get("app-1", Some(&owner)), (409, "visa-not-ready")).await;
    refused(&r, get("app-1", Some(&stranger)), (404, "not-found")).await;
    refused(&r, get("app-9", Some(&owner)), (404, "not-found")).await;
    too_large_refused(&r, "GET", "/api/applications/app-1/visa", Some(&owner)).await;
}

async fn verification_problems() {
    let r = Render::new();
    r.paid_application().await;
    let issued = visa_render_visa::issue::issue(&r.deps, "app-1")
        .await
        .unwrap();
    let number = issued.visa.unwrap().number;
    let verify = |number: &str, query: &str| {
        let path = format!("/api/visas/{number}/verification{query}");
        request("GET", &path, None, Value::Null)
    };
    // A visa is found by its number with the passport it was issued for:
    // without one, or with another, or for no visa, the same 404.
    for (visa, query) in [
        (number.as_str(), ""),
        (number.as_str(), "?passport_number="),
        (number.as_str(), "?passport_number=Z7654321"),
        ("K00000000", "?passport_number=Z1234567"),
    ] {
        refused(&r, verify(visa, query), (404, "not-found")).await;
    }
    let path = format!("/api/visas/{number}/verification?passport_number=Z1234567");
    too_large_refused(&r, "GET", &path, None).await;
    assert_eq!(
        send(&r, verify(&number, "?passport_number=Z1234567"))
            .await
            .0,
        200
    );
}

async fn retrieval_problems() {
    let r = Render::new();
    r.paid_application().await;
    let path = "/api/visa-retrievals";
    let post = |body: Value| request("POST", path, None, body);
    let ask = |n: &str, p: &str, d: &str| json!({"visa_number": n, "passport_number": p, "date_of_birth": d});
    let day_first = ask("K00000000", "Z1234567", "12/04/1990");
    invalid(&r, post(day_first), "date_of_birth").await;
    let numberless = json!({"passport_number": "Z1234567", "date_of_birth": "1990-04-12"});
    invalid(&r, post(numberless), "visa_number").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
    // Every miss is the same 404 (a paid visa not yet issued is a miss
    // too); the 21st attempt in the hour is refused.
    let miss = ask("K00000000", "Z1234567", "1990-04-12");
    for _ in 0..visa_render_visa::MAX_RETRIEVAL_MISSES {
        refused(&r, post(miss.clone()), (404, "not-found")).await;
    }
    refused(&r, post(miss), (429, "too-many-requests")).await;
}

async fn jwks_problems() {
    let r = Render::new();
    too_large_refused(&r, "GET", "/api/.well-known/jwks.json", None).await;
}

async fn seal_certificate_request_problems() {
    let r = Render::new();
    let path = "/api/admin/seal-certificate-requests";
    refused(
        &r,
        request("POST", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    refused(
        &r,
        request("POST", path, Some("not-the-token"), Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    too_large_refused(&r, "POST", path, Some(OFFICER)).await;
}

async fn seal_certificates_problems() {
    let r = Render::new();
    let path = "/api/.well-known/seal-certificates.pem";
    // Before an operator publishes them.
    refused(
        &r,
        request("GET", path, None, Value::Null),
        (404, "not-found"),
    )
    .await;
    r.publish_certificates();
    too_large_refused(&r, "GET", path, None).await;
}

async fn what_is_not_render_visas_answers() {
    let r = Render::new();
    no_route_refused(&r, "/api/.well-known/jwks.json", "POST", "GET, HEAD").await;
    no_route_refused(
        &r,
        "/api/.well-known/seal-certificates.pem",
        "PUT",
        "GET, HEAD",
    )
    .await;
    no_route_refused(&r, "/api/applications/app-1/visa", "DELETE", "GET, HEAD").await;
}
