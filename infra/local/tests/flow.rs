//! The foundation's acceptance over real HTTP: the walk from invitation to
//! application, the claim race, and a restart after kill -9.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn invitation_to_application_walk() {
    let gw = Gateway::start();
    let (status, _, health) = gw.send("GET", "/api/health", None, None).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    // HEAD is answered as GET, without the body.
    let head = gw.http.head(gw.url("/api/countries")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.bytes().await.unwrap().is_empty());
    let post = gw.http.post(gw.url("/api/health")).send().await.unwrap();
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD");
    let (_, _, countries) = gw.send("GET", "/api/countries", None, None).await;
    assert!(
        countries["tourist"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "IND")
    );
    assert!(
        countries["business"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "SRB")
    );
    let (_, _, req) = gw
        .send(
            "GET",
            "/api/requirements?nationality=IND&category=tourist",
            None,
            None,
        )
        .await;
    assert_eq!(req["eligible"], true);
    assert_eq!(req["fee"], json!({"amount_minor": 6000, "currency": "USD"}));
    let (_, _, req) = gw
        .send(
            "GET",
            "/api/requirements?nationality=IND&category=business",
            None,
            None,
        )
        .await;
    assert_eq!(req["eligible"], false);

    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let token = gw.applicant("priya@example.com").await;
    let (status, _, app) = gw
        .send(
            "POST",
            "/api/applications",
            Some(&token),
            Some(application(&inv)),
        )
        .await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["status"], "invitation_confirmed");
    assert_eq!(app["passport"]["surname"], "MULLER");
    assert_eq!(app["passport"]["given_names"], "ANNA MARIA");
    assert_eq!(app["stay"]["valid_from"], inv["valid_from"]);
    assert_eq!(app["inviter"], inv["inviter"]);
    assert_eq!(app["fee"]["amount_minor"], 6000);
    assert!(app.get("account_id").is_none());
    // The MRZ as it will print (visa_core::mrz): fillers for the number
    // until issued, the stay's last day as the expiry.
    let until = inv["valid_until"].as_str().unwrap().replace('-', "");
    assert_eq!(
        app["mrz"][0], "V<KAZMULLER<<ANNA<MARIA<<<<<<<<<<<<<",
        "{app}"
    );
    let line2 = app["mrz"][1].as_str().unwrap();
    assert!(line2.starts_with("<<<<<<<<<0IND"), "{line2}");
    assert_eq!(&line2[21..27], &until[2..]);

    let id = app["id"].as_str().unwrap();
    let (_, _, list) = gw
        .send("GET", "/api/applications", Some(&token), None)
        .await;
    assert_eq!(list["items"][0]["id"], id);
    let (status, _, one) = gw
        .send(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!((status, &one), (200, &app));

    // Confirmation opens one checkout; asking again returns the same one.
    let path = format!("/api/applications/{id}/confirmation");
    let (status, _, first) = gw
        .send(
            "POST",
            &path,
            Some(&token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "awaiting_payment");
    assert!(first["details_confirmed_at"].is_string());
    let (_, _, second) = gw
        .send(
            "POST",
            &path,
            Some(&token),
            Some(json!({"details_match_passport": true})),
        )
        .await;
    assert_eq!(second["payment"], first["payment"]);
    assert_eq!(gw.count("sandbox_checkouts"), 1);
}

#[tokio::test]
async fn fifty_concurrent_applications_on_one_invitation_create_one() {
    let gw = Gateway::start();
    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let mut tokens = Vec::new();
    for i in 0..5 {
        tokens.push(gw.applicant(&format!("racer{i}@example.com")).await);
    }
    let body = application(&inv);
    let results = futures::future::join_all((0..50).map(|i| {
        let (gw, token, body) = (&gw, tokens[i % 5].clone(), body.clone());
        async move {
            gw.send("POST", "/api/applications", Some(&token), Some(body))
                .await
        }
    }))
    .await;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let conflicts = results
        .iter()
        .filter(|r| r.0 == 409 && r.2["type"] == "/problems/invitation-already-used")
        .count();
    assert_eq!((created, conflicts), (1, 49));
    assert_eq!(gw.count("applications"), 1);
}

#[tokio::test]
async fn everything_survives_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = Gateway::start_in(dir.path());
    let inv = gw.create_invitation(invitation("medical", "VNM")).await;
    let token = gw.applicant("lan@example.com").await;
    let (status, _, app) = gw
        .send(
            "POST",
            "/api/applications",
            Some(&token),
            Some(application(&inv)),
        )
        .await;
    assert_eq!(status, 201);
    let admin = gw.admin_token.clone();
    gw.kill();

    let gw = Gateway::start_in(dir.path());
    assert_eq!(gw.admin_token, admin, "the generated admin token is kept");
    let (status, _, again) = gw
        .send(
            "GET",
            &format!("/api/applications/{}", app["id"].as_str().unwrap()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "the session survived");
    assert_eq!(again, app);
    let creds = json!({"email": "lan@example.com", "password": "correct horse battery"});
    assert_eq!(
        gw.send("POST", "/api/sessions", None, Some(creds)).await.0,
        201,
        "the account survived"
    );
    let got = gw
        .send(
            "POST",
            "/api/applications",
            Some(&token),
            Some(application(&inv)),
        )
        .await;
    assert_problem(&got, 409, "invitation-already-used");
}

#[tokio::test]
async fn serves_the_site_with_security_headers() {
    let gw = Gateway::start();
    let res = gw.http.get(gw.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let res = gw.http.get(gw.url("/api/health")).send().await.unwrap();
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
}
