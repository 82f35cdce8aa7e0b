//! Every problem slug of docs/API.md for accounts, sessions, applications and
//! invitations, sent over real HTTP: right status, content type and slug,
//! and nothing changed in the store.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn account_problems_change_nothing() {
    let gw = Gateway::start();
    gw.applicant("taken@example.com").await;
    let before = gw.snapshot();

    let got = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": "a@example.com", "password": "short"})),
        )
        .await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "password");
    let got = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": "not-an-email", "password": "long enough pw"})),
        )
        .await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "email");
    let got = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": "a@example.com"})),
        )
        .await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "password");
    let got = gw
        .send(
            "POST",
            "/api/accounts",
            None,
            Some(json!({"email": " TAKEN@example.com", "password": "long enough pw"})),
        )
        .await;
    assert_problem(&got, 409, "email-taken");
    assert_problem(
        &gw.send_raw("POST", "/api/accounts", None, b"{\"email\":".to_vec())
            .await,
        400,
        "malformed-body",
    );
    assert_problem(
        &gw.send_raw("POST", "/api/accounts", None, vec![b' '; 70 * 1024])
            .await,
        413,
        "body-too-large",
    );
    assert_problem(
        &gw.send("GET", "/api/no-such-route", None, None).await,
        404,
        "not-found",
    );
    assert_problem(
        &gw.send("PUT", "/api/accounts", None, None).await,
        405,
        "method-not-allowed",
    );

    assert_eq!(gw.snapshot(), before);
}

#[tokio::test]
async fn sign_in_problems_and_throttling() {
    let gw = Gateway::start();
    let token = gw.applicant("priya@example.com").await;
    let before = gw.snapshot_without(&["sign_in_failures"]);

    let wrong = json!({"email": "priya@example.com", "password": "wrong password!"});
    assert_problem(
        &gw.send("POST", "/api/sessions", None, Some(wrong.clone()))
            .await,
        401,
        "invalid-credentials",
    );
    let nobody = json!({"email": "nobody@example.com", "password": "wrong password!"});
    assert_problem(
        &gw.send("POST", "/api/sessions", None, Some(nobody)).await,
        401,
        "invalid-credentials",
    );
    assert_problem(
        &gw.send("DELETE", "/api/sessions/current", None, None).await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &gw.send("DELETE", "/api/sessions/current", Some("forged"), None)
            .await,
        401,
        "unauthenticated",
    );
    assert_eq!(
        gw.snapshot_without(&["sign_in_failures"]),
        before,
        "only failures are counted"
    );

    // 1 failure above, 9 more reach the limit of 10; the 11th try is refused
    // even with the right password.
    for _ in 0..9 {
        assert_problem(
            &gw.send("POST", "/api/sessions", None, Some(wrong.clone()))
                .await,
            401,
            "invalid-credentials",
        );
    }
    let right = json!({"email": "Priya@Example.com", "password": "correct horse battery"});
    assert_problem(
        &gw.send("POST", "/api/sessions", None, Some(right.clone()))
            .await,
        429,
        "too-many-attempts",
    );
    // 429 says when to come back (at most the 15-minute window); 401 names
    // the scheme it wants.
    let res = gw
        .http
        .post(gw.url("/api/sessions"))
        .json(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u32 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After: {retry}");
    let res = gw
        .http
        .get(gw.url("/api/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    assert_eq!(gw.snapshot_without(&["sign_in_failures"]), before);

    // Signing out ends the session.
    assert_eq!(
        gw.send("DELETE", "/api/sessions/current", Some(&token), None)
            .await
            .0,
        204
    );
    assert_problem(
        &gw.send("GET", "/api/applications", Some(&token), None)
            .await,
        401,
        "unauthenticated",
    );
}

#[tokio::test]
async fn application_problems_change_nothing() {
    let gw = Gateway::start();
    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let usa = gw.create_invitation(invitation("tourist", "USA")).await;
    let token = gw.applicant("priya@example.com").await;
    let good = application(&inv);
    let before = gw.snapshot();

    let post = |body| gw.send("POST", "/api/applications", Some(&token), Some(body));
    assert_problem(
        &gw.send("POST", "/api/applications", None, Some(good.clone()))
            .await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &gw.send("GET", "/api/applications", Some("nope"), None)
            .await,
        401,
        "unauthenticated",
    );

    for unknown in ["999999999999", "123", "INV-2025-0001"] {
        let mut b = good.clone();
        b["invitation_number"] = json!(unknown);
        let got = post(b).await;
        assert_problem(&got, 404, "invitation-not-found");
        assert_eq!(got.2["errors"][0]["field"], "invitation_number");
    }

    let mut b = good.clone();
    b["passport"]["surname"] = json!("SMITH");
    let got = post(b).await;
    assert_problem(&got, 422, "invitation-mismatch");
    assert_eq!(got.2["errors"][0]["field"], "passport.surname");

    let got = post(application(&usa)).await;
    assert_problem(&got, 422, "not-eligible");
    assert_eq!(got.2["errors"][0]["field"], "passport.nationality");

    // The visa ends on day 39; the passport must last 3 months longer.
    let mut b = good.clone();
    b["passport"]["expiry_date"] = json!(date_in(60));
    let got = post(b).await;
    assert_problem(&got, 422, "passport-expires-too-soon");
    assert_eq!(got.2["errors"][0]["field"], "passport.expiry_date");

    let mut b = good.clone();
    b["declarations"]["two_blank_pages"] = json!(false);
    let got = post(b).await;
    assert_problem(&got, 422, "declarations-missing");
    assert_eq!(got.2["errors"][0]["field"], "declarations.two_blank_pages");

    // Declarations left out are declarations not made.
    let mut b = good.clone();
    b["declarations"]
        .as_object_mut()
        .unwrap()
        .remove("passport_undamaged");
    let got = post(b).await;
    assert_problem(&got, 422, "declarations-missing");
    assert_eq!(
        got.2["errors"][0]["field"],
        "declarations.passport_undamaged"
    );
    let mut b = good.clone();
    b.as_object_mut().unwrap().remove("declarations");
    let got = post(b).await;
    assert_problem(&got, 422, "declarations-missing");
    assert_eq!(got.2["errors"].as_array().unwrap().len(), 2);
    let mut b = good.clone();
    b["declarations"]["two_blank_pages"] = json!("yes");
    let got = post(b).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "declarations.two_blank_pages");

    for not_ymd in ["31/01/2031", "+262142-12-01", "2031-1-31"] {
        let mut b = good.clone();
        b["passport"]["expiry_date"] = json!(not_ymd);
        let got = post(b).await;
        assert_problem(&got, 422, "validation");
        assert_eq!(got.2["errors"][0]["field"], "passport.expiry_date");
    }

    let mut b = good.clone();
    b["passport"]["nationality"] = json!("INDIA");
    let got = post(b).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "passport.nationality");

    let mut b = good.clone();
    b["passport"].as_object_mut().unwrap().remove("sex");
    let got = post(b).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "passport.sex");

    assert_problem(
        &gw.send_raw(
            "POST",
            "/api/applications",
            Some(&token),
            b"{not json".to_vec(),
        )
        .await,
        400,
        "malformed-body",
    );
    assert_problem(
        &gw.send(
            "GET",
            "/api/requirements?nationality=IND&category=space",
            None,
            None,
        )
        .await,
        422,
        "validation",
    );
    assert_problem(
        &gw.send("GET", "/api/requirements", None, None).await,
        422,
        "validation",
    );
    assert_eq!(gw.snapshot(), before, "refused applications wrote nothing");

    // Used invitations, others' applications, state errors.
    // Sex in lower case is normalised to upper case like the rest.
    let mut lower = good.clone();
    lower["passport"]["sex"] = json!("f");
    let (status, _, app) = post(lower).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["passport"]["sex"], "F");
    let after_create = gw.snapshot();
    let got = post(good.clone()).await;
    assert_problem(&got, 409, "invitation-already-used");
    let other = gw.applicant("other@example.com").await;
    let id = app["id"].as_str().unwrap();
    assert_problem(
        &gw.send(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&other),
            None,
        )
        .await,
        404,
        "not-found",
    );
    let confirm = format!("/api/applications/{id}/confirmation");
    assert_problem(
        &gw.send(
            "POST",
            &confirm,
            Some(&other),
            Some(json!({"details_match_passport": true})),
        )
        .await,
        404,
        "not-found",
    );
    let got = gw
        .send(
            "POST",
            &confirm,
            Some(&token),
            Some(json!({"details_match_passport": false})),
        )
        .await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "details_match_passport");
    let (_, _, others) = gw
        .send("GET", "/api/applications", Some(&other), None)
        .await;
    assert_eq!(others["items"], json!([]));
    // The other account's own rows (it, its session, its confirmed link).
    let theirs = [
        "accounts",
        "sessions",
        "email_verifications",
        "sign_in_failures",
    ];
    assert_eq!(gw.snapshot_without(&theirs), {
        let c = after_create
            .iter()
            .filter(|r| !theirs.iter().any(|t| r.starts_with(&format!("{t}:"))));
        c.cloned().collect::<Vec<_>>()
    });
}

#[tokio::test]
async fn officer_problems_change_nothing() {
    let gw = Gateway::start();
    let inv = gw.create_invitation(invitation("business", "SRB")).await;
    assert_eq!(inv["status"], "approved");
    assert_eq!(inv["number"].as_str().unwrap().len(), 12);
    let before = gw.snapshot();
    let admin = gw.admin_token.clone();
    let post = |body, token: Option<&str>| {
        let token = token.map(str::to_owned);
        let gw = &gw;
        async move {
            gw.send(
                "POST",
                "/api/admin/invitations",
                token.as_deref(),
                Some(body),
            )
            .await
        }
    };
    assert_problem(
        &post(invitation("tourist", "IND"), None).await,
        401,
        "unauthenticated",
    );
    assert_problem(
        &post(invitation("tourist", "IND"), Some("adm_wrong")).await,
        401,
        "unauthenticated",
    );
    let mut dup = invitation("tourist", "IND");
    dup["number"] = inv["number"].clone();
    assert_problem(&post(dup, Some(&admin)).await, 409, "invitation-exists");
    let mut long = invitation("tourist", "IND");
    long["valid_until"] = json!(date_in(10 + 30));
    let got = post(long, Some(&admin)).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "valid_until");
    let mut past = invitation("tourist", "IND");
    past["valid_from"] = json!(date_in(-1));
    assert_problem(&post(past, Some(&admin)).await, 422, "validation");
    let mut bad = invitation("tourist", "IND");
    bad["category"] = json!("transit");
    let got = post(bad, Some(&admin)).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "category");
    // An inviter the visa could not print would leave a paid application
    // that is never issued.
    let mut unprintable = invitation("tourist", "IND");
    unprintable["inviter"]["name"] = json!("北京旅游有限公司");
    let got = post(unprintable, Some(&admin)).await;
    assert_problem(&got, 422, "validation");
    assert_eq!(got.2["errors"][0]["field"], "inviter.name");
    assert_problem(
        &gw.send(
            "DELETE",
            "/api/admin/invitations/123456789012",
            Some(&admin),
            None,
        )
        .await,
        404,
        "not-found",
    );
    assert_problem(
        &gw.send("DELETE", "/api/admin/invitations/123456789012", None, None)
            .await,
        401,
        "unauthenticated",
    );
    assert_eq!(gw.snapshot(), before);

    // Revoked invitations cannot be used.
    let number = inv["number"].as_str().unwrap();
    assert_eq!(
        gw.send(
            "DELETE",
            &format!("/api/admin/invitations/{number}"),
            Some(&admin),
            None
        )
        .await
        .0,
        204
    );
    let token = gw.applicant("marko@example.com").await;
    let got = gw
        .send(
            "POST",
            "/api/applications",
            Some(&token),
            Some(application(&inv)),
        )
        .await;
    assert_problem(&got, 404, "invitation-not-found");
}
