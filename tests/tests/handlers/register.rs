//! register: accounts, sessions, resets and address confirmations.

use crate::support::*;
use chrono::Duration;
use serde_json::{Value, json};
use visa_core::account::{self, EmailVerification, PasswordReset};
use visa_core::clock::Clock;
use visa_core::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use visa_core::notify::EmailRequest;
use visa_core::store::{Accounts, Applications, Invitations};

#[tokio::test]
async fn sign_up_and_sign_in_with_their_refusals() {
    let r = Register::new();
    let token = r.sign_up("aliya@example.com").await;
    let again = r
        .call(
            "POST",
            "/api/accounts",
            None,
            json!({"email": "Aliya@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(slug(&again), (409, "email-taken"));
    assert_eq!(again.1["errors"][0]["field"], "email");
    let short = r
        .call(
            "POST",
            "/api/accounts",
            None,
            json!({"email": "b@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(slug(&short), (422, "validation"));
    assert_eq!(short.1["errors"][0]["field"], "password");
    let junk = r
        .call("POST", "/api/accounts", None, json!("not an object"))
        .await;
    assert_eq!(slug(&junk), (422, "validation"));

    let wrong = json!({"email": "aliya@example.com", "password": "not the password"});
    assert_eq!(
        slug(&r.call("POST", "/api/sessions", None, wrong.clone()).await),
        (401, "invalid-credentials")
    );
    // A miss for an address nobody has reads the same.
    let nobody = json!({"email": "nobody@example.com", "password": "not the password"});
    assert_eq!(
        slug(&r.call("POST", "/api/sessions", None, nobody).await),
        (401, "invalid-credentials")
    );

    let (status, me) = r
        .call("GET", "/api/accounts/current", Some(&token), Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "aliya@example.com");
    assert_eq!(me["email_verified"], false);
    assert_eq!(me["created_at"], "2026-12-05T09:00:00Z");

    assert_eq!(
        r.call("DELETE", "/api/sessions/current", Some(&token), Value::Null)
            .await
            .0,
        204
    );
    let gone = r
        .call("GET", "/api/accounts/current", Some(&token), Value::Null)
        .await;
    assert_eq!(slug(&gone), (401, "unauthenticated"));
    // A route of another function is not register's to answer.
    let elsewhere = r.call("GET", "/api/applications", None, Value::Null).await;
    assert_eq!(slug(&elsewhere), (404, "not-found"));
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_for_their_window_on_the_clock() {
    let r = Register::new();
    r.sign_up("timur@example.com").await;
    let wrong = json!({"email": "timur@example.com", "password": "not the password"});
    for n in 1..account::MAX_FAILED_SIGN_INS {
        let answer = r.call("POST", "/api/sessions", None, wrong.clone()).await;
        assert_eq!(slug(&answer), (401, "invalid-credentials"), "attempt {n}");
    }
    // The tenth failure (the sign-up's own sign-in was forgiven) fills the
    // window; from the next on, even the right password waits.
    assert_eq!(
        r.call("POST", "/api/sessions", None, wrong.clone()).await.0,
        401
    );
    let right = json!({"email": "timur@example.com", "password": PASSWORD});
    let held = r.call("POST", "/api/sessions", None, right.clone()).await;
    assert_eq!(slug(&held), (429, "too-many-attempts"));
    r.clock
        .advance(Duration::minutes(account::SIGN_IN_WINDOW_MINUTES) - Duration::seconds(1));
    assert_eq!(
        r.call("POST", "/api/sessions", None, right.clone()).await.0,
        429
    );
    r.clock.advance(Duration::seconds(2));
    let (status, session) = r.call("POST", "/api/sessions", None, right).await;
    assert_eq!(status, 201, "{session}");
}

#[tokio::test]
async fn password_resets_answer_alike_are_throttled_and_used_once() {
    let r = Register::new();
    let old_session = r.sign_up("priya@example.com").await;
    r.queued.0.lock().unwrap().clear();
    let known = r
        .call(
            "POST",
            "/api/password-resets",
            None,
            json!({"email": "priya@example.com", "lang": "ru"}),
        )
        .await;
    let unknown = r
        .call(
            "POST",
            "/api/password-resets",
            None,
            json!({"email": "nobody@example.com"}),
        )
        .await;
    assert_eq!(
        known, unknown,
        "the answer never says whether an account exists"
    );
    assert_eq!(known.0, 202);
    // Both are queued: render-visa finds no account for the second and
    // sends nothing, off the request's path, so the timing says nothing either.
    assert_eq!(
        *r.queued.0.lock().unwrap(),
        [
            EmailRequest::PasswordReset {
                email: "priya@example.com".into(),
                lang: "ru".into()
            },
            EmailRequest::PasswordReset {
                email: "nobody@example.com".into(),
                lang: "en".into()
            },
        ]
    );
    for _ in 1..account::MAX_RESET_REQUESTS {
        r.call(
            "POST",
            "/api/password-resets",
            None,
            json!({"email": "priya@example.com"}),
        )
        .await;
    }
    let throttled = r
        .call(
            "POST",
            "/api/password-resets",
            None,
            json!({"email": "priya@example.com"}),
        )
        .await;
    assert_eq!(slug(&throttled), (429, "too-many-requests"));

    // The emailed link (render-visa mints it; here the store is given one).
    let account_id = r.account_id("priya@example.com").await;
    let reset = |token: &str, minutes: i64| PasswordReset {
        token_hash: account::token_hash(token),
        account_id: account_id.clone(),
        expires_at: r.clock.now() + Duration::minutes(minutes),
    };
    r.store
        .create_reset(&reset("reset-token-1", account::RESET_MINUTES))
        .await
        .unwrap();
    let new_password = |token: &str| json!({"token": token, "password": "a brand new passphrase"});
    let (status, done) = r
        .call(
            "POST",
            "/api/password-resets/confirmation",
            None,
            new_password("reset-token-1"),
        )
        .await;
    assert!((200..300).contains(&status), "{done}");
    let used = r
        .call(
            "POST",
            "/api/password-resets/confirmation",
            None,
            new_password("reset-token-1"),
        )
        .await;
    assert_eq!(slug(&used), (400, "reset-link-invalid"));
    let old = r
        .call(
            "GET",
            "/api/accounts/current",
            Some(&old_session),
            Value::Null,
        )
        .await;
    assert_eq!(
        slug(&old),
        (401, "unauthenticated"),
        "a reset ends the other sessions"
    );
    // A link past its hour is refused as if it never was.
    r.store
        .create_reset(&reset("reset-token-2", account::RESET_MINUTES))
        .await
        .unwrap();
    r.clock.advance(Duration::minutes(account::RESET_MINUTES));
    let late = r
        .call(
            "POST",
            "/api/password-resets/confirmation",
            None,
            new_password("reset-token-2"),
        )
        .await;
    assert_eq!(slug(&late), (400, "reset-link-invalid"));
    let signed_in = r
        .call(
            "POST",
            "/api/sessions",
            None,
            json!({"email": "priya@example.com", "password": "a brand new passphrase"}),
        )
        .await;
    assert_eq!(signed_in.0, 201, "{}", signed_in.1);
}

#[tokio::test]
async fn an_address_is_confirmed_once_and_links_are_throttled() {
    let r = Register::new();
    let token = r.sign_up("kairat@example.com").await;
    let account_id = r.account_id("kairat@example.com").await;
    assert_eq!(
        r.queued.0.lock().unwrap().first(),
        Some(&EmailRequest::EmailVerification {
            account_id: account_id.clone(),
            lang: "en".into()
        }),
        "the first link is queued at sign-up"
    );
    // Five links a window, the sign-up's included.
    for _ in 1..account::MAX_VERIFICATION_REQUESTS {
        let (status, body) = r
            .call("POST", "/api/email-verifications", Some(&token), json!({}))
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let throttled = r
        .call("POST", "/api/email-verifications", Some(&token), json!({}))
        .await;
    assert_eq!(slug(&throttled), (429, "too-many-requests"));
    let anonymous = r
        .call("POST", "/api/email-verifications", None, json!({}))
        .await;
    assert_eq!(slug(&anonymous), (401, "unauthenticated"));

    r.store
        .create_verification(&EmailVerification {
            token_hash: account::token_hash("verify-token-1"),
            account_id,
            expires_at: r.clock.now() + Duration::hours(account::VERIFICATION_HOURS),
        })
        .await
        .unwrap();
    let confirm = json!({"token": "verify-token-1"});
    let (status, body) = r
        .call(
            "POST",
            "/api/email-verifications/confirmation",
            None,
            confirm.clone(),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");
    let again = r
        .call(
            "POST",
            "/api/email-verifications/confirmation",
            None,
            confirm,
        )
        .await;
    assert_eq!(slug(&again), (400, "verification-link-invalid"));
    let (_, me) = r
        .call("GET", "/api/accounts/current", Some(&token), Value::Null)
        .await;
    assert_eq!(me["email_verified"], true);
    r.clock
        .advance(Duration::minutes(account::VERIFICATION_WINDOW_MINUTES));
    let verified = r
        .call("POST", "/api/email-verifications", Some(&token), json!({}))
        .await;
    assert_eq!(slug(&verified), (409, "email-already-verified"));
}

#[tokio::test]
async fn deleting_an_account_asks_the_password_and_waits_for_an_open_checkout() {
    let r = Register::new();
    let token = r.sign_up("dana@example.com").await;
    let account_id = r.account_id("dana@example.com").await;
    let now = r.clock.now();
    let invitation = Invitation {
        number: "250000000777".into(),
        category: visa_core::Category::Tourist,
        inviter: Inviter {
            name: "Kazakh Tourism JSC".into(),
            bin: "123456789012".into(),
        },
        invitee: Invitee {
            surname: "SHARMA".into(),
            given_names: "PRIYA".into(),
            nationality: "IND".into(),
            date_of_birth: "1990-04-12".parse().unwrap(),
            passport_number: "Z1234567".into(),
        },
        valid_from: "2026-12-20".parse().unwrap(),
        valid_until: "2026-12-30".parse().unwrap(),
        status: InvitationStatus::Approved,
        created_at: now,
        created_by: None,
        revoked_by: None,
        request_id: None,
    };
    r.store.create_invitation(&invitation, None).await.unwrap();
    r.store
        .create_application(&application("app-1", &account_id, "250000000777", now))
        .await
        .unwrap();
    let open_until = now + Duration::hours(23);
    let checkout = checkout("cs_1", open_until, &[]);
    r.store
        .open_checkout("app-1", &checkout, now)
        .await
        .unwrap();

    let me = "/api/accounts/current";
    let wrong = r
        .call(
            "DELETE",
            me,
            Some(&token),
            json!({"password": "not the password"}),
        )
        .await;
    assert_eq!(slug(&wrong), (401, "invalid-credentials"));
    let right = json!({"password": PASSWORD});
    let open = r.call("DELETE", me, Some(&token), right.clone()).await;
    assert_eq!(slug(&open), (409, "payment-open"));
    assert_eq!(open.1["until"], json!(open_until));
    assert!(
        r.store.application("app-1").await.unwrap().is_some(),
        "nothing erased"
    );

    // The checkout closes; the session (12 hours) has ended too: sign in again.
    r.clock.advance(Duration::hours(23));
    let expired = r.call("DELETE", me, Some(&token), right.clone()).await;
    assert_eq!(slug(&expired), (401, "unauthenticated"));
    let (_, session) = r
        .call(
            "POST",
            "/api/sessions",
            None,
            json!({"email": "dana@example.com", "password": PASSWORD}),
        )
        .await;
    let token = session["token"].as_str().unwrap();
    let (status, deleted) = r.call("DELETE", me, Some(token), right).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"]["applications"], json!(["app-1"]));
    assert!(r.store.application("app-1").await.unwrap().is_none());
    assert!(
        r.store
            .account_by_email("dana@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_store_outage_is_a_503_with_fixed_words() {
    let mut r = Register::new();
    let down = visa_local::faults::store(
        r.store.clone(),
        Some(visa_local::faults::Faults {
            share: 1.0,
            timeout: std::time::Duration::from_millis(1),
        }),
    );
    r.deps.accounts = down.clone();
    r.deps.sessions = down;
    let answer = r
        .call(
            "POST",
            "/api/sessions",
            None,
            json!({"email": "a@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(slug(&answer), (503, "unavailable"));
    assert!(
        !answer.1.to_string().contains("injected"),
        "no internals: {}",
        answer.1
    );
}

// ------------------------------------------------------------ every problem of every route

// ------------------------------------------------------------ inviting parties

/// A signed-up account whose address is confirmed: its session.
async fn confirmed(r: &Register, email: &str) -> String {
    let token = r.sign_up(email).await;
    let account_id = r.account_id(email).await;
    let link = format!("verify-{account_id}");
    r.store
        .create_verification(&EmailVerification {
            token_hash: account::token_hash(&link),
            account_id,
            expires_at: r.clock.now() + Duration::hours(1),
        })
        .await
        .unwrap();
    let (status, body) = r
        .call(
            "POST",
            "/api/email-verifications/confirmation",
            None,
            json!({ "token": link }),
        )
        .await;
    assert!((200..300).contains(&status), "{body}");
    token
}

fn resident(iin: &str) -> Value {
    json!({
        "kind": "resident",
        "number": iin,
        "name": "Aigerim  Nurlanovna Sadykova",
        "contact": {"name": "Aigerim Sadykova", "phone": "+7 701 234 56 78"},
    })
}

#[tokio::test]
async fn a_confirmed_account_registers_as_an_inviting_party_and_reads_it_back() {
    let r = Register::new();
    let token = confirmed(&r, "aigerim@example.kz").await;
    let (status, host) = r
        .call("POST", "/api/hosts", Some(&token), resident("061211600012"))
        .await;
    assert_eq!(status, 201, "{host}");
    assert_eq!(host["status"], "pending_approval");
    assert_eq!(host["name"], "Aigerim Nurlanovna Sadykova");
    assert_eq!(host["contact"]["phone"], "+77012345678");
    assert_eq!(host["reason"], Value::Null);
    let (status, current) = r
        .call("GET", "/api/hosts/current", Some(&token), Value::Null)
        .await;
    assert_eq!((status, &current), (200, &host));
    // The same person's account is still an account: it signs in as ever.
    let (_, me) = r
        .call("GET", "/api/accounts/current", Some(&token), Value::Null)
        .await;
    assert_eq!(me["email"], "aigerim@example.kz");
}

async fn host_registration_problems() {
    let r = Register::new();
    let path = "/api/hosts";
    let unconfirmed = r.sign_up("new@example.kz").await;
    refused(
        &r,
        request("POST", path, None, resident("061211600012")),
        (401, "unauthenticated"),
    )
    .await;
    refused(
        &r,
        request("POST", path, Some(&unconfirmed), resident("061211600012")),
        (409, "email-not-verified"),
    )
    .await;
    let token = confirmed(&r, "aigerim@example.kz").await;
    invalid(
        &r,
        request("POST", path, Some(&token), resident("061211600013")),
        "number",
    )
    .await;
    let mut bin_as_iin = resident("061211600012");
    bin_as_iin["kind"] = json!("organisation");
    invalid(
        &r,
        request("POST", path, Some(&token), bin_as_iin),
        "number",
    )
    .await;
    let mut no_phone = resident("061211600012");
    no_phone["contact"]["phone"] = json!("87012345678");
    invalid(
        &r,
        request("POST", path, Some(&token), no_phone),
        "contact.phone",
    )
    .await;
    let mut extra = resident("061211600012");
    extra["status"] = json!("approved");
    invalid(&r, request("POST", path, Some(&token), extra), "status").await;
    malformed_refused(&r, "POST", path, Some(&token)).await;
    too_large_refused(&r, "POST", path, Some(&token)).await;
    let (status, _) = r
        .call("POST", path, Some(&token), resident("061211600012"))
        .await;
    assert_eq!(status, 201);
    // The account again, or its IIN from another account.
    refused(
        &r,
        request("POST", path, Some(&token), resident("900412300127")),
        (409, "host-exists"),
    )
    .await;
    let other = confirmed(&r, "other@example.kz").await;
    refused(
        &r,
        request("POST", path, Some(&other), resident("061211600012")),
        (409, "host-exists"),
    )
    .await;
}

async fn current_host_problems() {
    let r = Register::new();
    let path = "/api/hosts/current";
    refused(
        &r,
        request("GET", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    let token = r.sign_up("applicant@example.com").await;
    refused(
        &r,
        request("GET", path, Some(&token), Value::Null),
        (404, "not-found"),
    )
    .await;
    too_large_refused(&r, "GET", path, Some(&token)).await;
}

cases! {
    host_registration_problems,
    current_host_problems,
    account_creation_problems,
    sign_in_problems,
    sign_out_problems,
    reset_request_problems,
    reset_problems,
    current_account_problems,
    account_deletion_problems,
    verification_request_problems,
    verification_problems,
    what_is_not_registers_answers,
}

async fn account_creation_problems() {
    let r = Register::new();
    r.sign_up("aliya@example.com").await;
    let path = "/api/accounts";
    let post = |body: Value| request("POST", path, None, body);
    let again = json!({"email": "ALIYA@example.com", "password": PASSWORD});
    let taken = refused(&r, post(again), (409, "email-taken")).await;
    assert_eq!(taken["errors"][0]["field"], "email");
    let short = json!({"email": "b@example.com", "password": "short"});
    invalid(&r, post(short), "password").await;
    let bad = json!({"email": "not an address", "password": PASSWORD});
    invalid(&r, post(bad), "email").await;
    let lang = json!({"email": "b@example.com", "password": PASSWORD, "lang": "de"});
    invalid(&r, post(lang), "lang").await;
    invalid(&r, post(json!({"email": "b@example.com"})), "password").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
}

async fn sign_in_problems() {
    let r = Register::new();
    r.sign_up("timur@example.com").await;
    let path = "/api/sessions";
    let post = |body: Value| request("POST", path, None, body);
    let wrong = json!({"email": "timur@example.com", "password": "not the password"});
    refused(&r, post(wrong.clone()), (401, "invalid-credentials")).await;
    invalid(&r, post(json!({"email": "timur@example.com"})), "password").await;
    invalid(&r, post(json!({"password": PASSWORD})), "email").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
    // The window fills (the refusals above that read no credentials
    // counted nothing); then even the right password waits.
    for _ in 1..account::MAX_FAILED_SIGN_INS {
        assert_eq!(send(&r, post(wrong.clone())).await.0, 401);
    }
    let right = json!({"email": "timur@example.com", "password": PASSWORD});
    refused(&r, post(right), (429, "too-many-attempts")).await;
}

async fn sign_out_problems() {
    let r = Register::new();
    let token = r.sign_up("dana@example.com").await;
    let path = "/api/sessions/current";
    refused(
        &r,
        request("DELETE", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    let bogus = request("DELETE", path, Some("not-a-session"), Value::Null);
    refused(&r, bogus, (401, "unauthenticated")).await;
    too_large_refused(&r, "DELETE", path, Some(&token)).await;
    let me = r
        .call("GET", "/api/accounts/current", Some(&token), Value::Null)
        .await;
    assert_eq!(me.0, 200, "the session survived the refusals: {}", me.1);
}

async fn reset_request_problems() {
    let r = Register::new();
    let path = "/api/password-resets";
    let post = |body: Value| request("POST", path, None, body);
    invalid(&r, post(json!({"email": "not an address"})), "email").await;
    let lang = json!({"email": "priya@example.com", "lang": "de"});
    invalid(&r, post(lang), "lang").await;
    invalid(&r, post(json!({})), "email").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
    let asked = json!({"email": "priya@example.com"});
    for _ in 0..account::MAX_RESET_REQUESTS {
        assert_eq!(send(&r, post(asked.clone())).await.0, 202);
    }
    refused(&r, post(asked), (429, "too-many-requests")).await;
}

async fn reset_problems() {
    let r = Register::new();
    r.sign_up("priya@example.com").await;
    let account_id = r.account_id("priya@example.com").await;
    r.store
        .create_reset(&PasswordReset {
            token_hash: account::token_hash("reset-token"),
            account_id,
            expires_at: r.clock.now() + Duration::minutes(account::RESET_MINUTES),
        })
        .await
        .unwrap();
    let path = "/api/password-resets/confirmation";
    let post = |body: Value| request("POST", path, None, body);
    let new_password = |token: &str| json!({"token": token, "password": "a brand new passphrase"});
    refused(
        &r,
        post(new_password("never-issued")),
        (400, "reset-link-invalid"),
    )
    .await;
    let short = json!({"token": "reset-token", "password": "short"});
    invalid(&r, post(short), "password").await;
    let tokenless = json!({"password": "a brand new passphrase"});
    invalid(&r, post(tokenless), "token").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
    // Past its hour, the link is refused as if it never was.
    r.clock.advance(Duration::minutes(account::RESET_MINUTES));
    refused(
        &r,
        post(new_password("reset-token")),
        (400, "reset-link-invalid"),
    )
    .await;
}

async fn current_account_problems() {
    let r = Register::new();
    let token = r.sign_up("kairat@example.com").await;
    let path = "/api/accounts/current";
    refused(
        &r,
        request("GET", path, None, Value::Null),
        (401, "unauthenticated"),
    )
    .await;
    let bogus = request("GET", path, Some("not-a-session"), Value::Null);
    refused(&r, bogus, (401, "unauthenticated")).await;
    too_large_refused(&r, "GET", path, Some(&token)).await;
    // The session's 12 hours end on the clock.
    r.clock.advance(Duration::hours(account::SESSION_HOURS));
    let late = request("GET", path, Some(&token), Value::Null);
    refused(&r, late, (401, "unauthenticated")).await;
}

async fn account_deletion_problems() {
    let r = Register::new();
    let token = r.sign_up("dana@example.com").await;
    let account_id = r.account_id("dana@example.com").await;
    let now = r.clock.now();
    r.store
        .create_invitation(&invitation_record("250000000777", now), None)
        .await
        .unwrap();
    r.store
        .create_application(&application("app-1", &account_id, "250000000777", now))
        .await
        .unwrap();
    let open_until = now + Duration::hours(23);
    r.store
        .open_checkout("app-1", &checkout("cs_1", open_until, &[]), now)
        .await
        .unwrap();
    let path = "/api/accounts/current";
    let delete = |token: Option<&str>, body: Value| request("DELETE", path, token, body);
    let right = json!({"password": PASSWORD});
    refused(&r, delete(None, right.clone()), (401, "unauthenticated")).await;
    let wrong = json!({"password": "not the password"});
    let refusal = refused(
        &r,
        delete(Some(&token), wrong),
        (401, "invalid-credentials"),
    )
    .await;
    assert_eq!(refusal["errors"][0]["field"], "password");
    invalid(&r, delete(Some(&token), json!({})), "password").await;
    malformed_refused(&r, "DELETE", path, Some(&token)).await;
    too_large_refused(&r, "DELETE", path, Some(&token)).await;
    let open = refused(&r, delete(Some(&token), right), (409, "payment-open")).await;
    assert_eq!(open["until"], json!(open_until));
}

async fn verification_request_problems() {
    let r = Register::new();
    let token = r.sign_up("kairat@example.com").await;
    let path = "/api/email-verifications";
    let post = |token: Option<&str>, body: Value| request("POST", path, token, body);
    refused(&r, post(None, json!({})), (401, "unauthenticated")).await;
    invalid(&r, post(Some(&token), json!({"lang": "de"})), "lang").await;
    invalid(&r, post(Some(&token), json!({"lang": 7})), "lang").await;
    malformed_refused(&r, "POST", path, Some(&token)).await;
    too_large_refused(&r, "POST", path, Some(&token)).await;
    // Five links a window, the sign-up's included.
    for _ in 1..account::MAX_VERIFICATION_REQUESTS {
        assert_eq!(send(&r, post(Some(&token), json!({}))).await.0, 202);
    }
    refused(
        &r,
        post(Some(&token), json!({})),
        (429, "too-many-requests"),
    )
    .await;

    r.store
        .create_verification(&EmailVerification {
            token_hash: account::token_hash("verify-token"),
            account_id: r.account_id("kairat@example.com").await,
            expires_at: r.clock.now() + Duration::hours(account::VERIFICATION_HOURS),
        })
        .await
        .unwrap();
    let confirmed = r
        .call(
            "POST",
            "/api/email-verifications/confirmation",
            None,
            json!({"token": "verify-token"}),
        )
        .await;
    assert_eq!(confirmed.0, 204, "{}", confirmed.1);
    let verified = post(Some(&token), json!({}));
    refused(&r, verified, (409, "email-already-verified")).await;
}

async fn verification_problems() {
    let r = Register::new();
    r.sign_up("kairat@example.com").await;
    let path = "/api/email-verifications/confirmation";
    let post = |body: Value| request("POST", path, None, body);
    let unknown = json!({"token": "never-issued"});
    refused(&r, post(unknown), (400, "verification-link-invalid")).await;
    invalid(&r, post(json!({})), "token").await;
    invalid(&r, post(json!({"token": 42})), "token").await;
    malformed_refused(&r, "POST", path, None).await;
    too_large_refused(&r, "POST", path, None).await;
}

async fn what_is_not_registers_answers() {
    let r = Register::new();
    no_route_refused(&r, "/api/accounts", "PUT", "POST").await;
    no_route_refused(&r, "/api/sessions/current", "GET", "DELETE").await;
}
