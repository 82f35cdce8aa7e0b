//! Handlers called as plain functions: no process, no socket, a pinned
//! clock and ids, the embedded store on a temp file. The inner ring of the
//! tests (the subprocess suites drive the same handlers through visa-local
//! and the Lambda binaries). Here: register, every route and problem slug,
//! with the windows and expiries reached by moving the clock, not by waiting.
//!
//! `cargo test -p visa-tests --test handlers`

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use visa_core::account::{self, EmailVerification, PasswordReset};
use visa_core::application::{Application, Payment, Stay};
use visa_core::clock::{Clock, Ids};
use visa_core::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use visa_core::notify::{EmailQueue, EmailRequest, NotifyError};
use visa_core::passport::{Declarations, Passport, Sex};
use visa_core::store::{Accounts, Applications, Invitations};
use visa_local::sqlite::SqliteStore;

/// A clock that moves only when the test says.
struct PinnedClock(Mutex<DateTime<Utc>>);

impl PinnedClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for PinnedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Ids in order: 26 characters, like the ULIDs they stand for.
struct CountingIds(AtomicU64);

impl Ids for CountingIds {
    fn new_id(&self) -> String {
        format!("01TEST{:020}", self.0.fetch_add(1, Ordering::Relaxed))
    }
    fn invitation_number(&self) -> String {
        format!(
            "{:012}",
            250_000_000_000 + self.0.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The email queue as the handler sees it; what was queued, kept.
#[derive(Default)]
struct Queued(Mutex<Vec<EmailRequest>>);

#[async_trait::async_trait]
impl EmailQueue for Queued {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(request.clone());
        Ok(())
    }
}

struct Register {
    deps: visa_register::Deps,
    store: SqliteStore,
    clock: Arc<PinnedClock>,
    queued: Arc<Queued>,
    _dir: tempfile::TempDir,
}

const PASSWORD: &str = "correct horse battery";

impl Register {
    fn new() -> Register {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let queued = Arc::new(Queued::default());
        let shared = Arc::new(store.clone());
        Register {
            deps: visa_register::Deps {
                accounts: shared.clone(),
                applications: shared.clone(),
                sessions: shared,
                emails: queued.clone(),
                clock: clock.clone(),
                ids: Arc::new(CountingIds(AtomicU64::new(1))),
            },
            store,
            clock,
            queued,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        answer(visa_register::handle(&self.deps, request(method, path, token, body)).await)
    }

    async fn sign_up(&self, email: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/api/accounts",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, session) = self
            .call(
                "POST",
                "/api/sessions",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 201, "{session}");
        session["token"].as_str().unwrap().to_owned()
    }

    async fn account_id(&self, email: &str) -> String {
        self.store
            .account_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

/// A JSON request as the gateway hands it to a handler.
fn request(method: &str, path: &str, token: Option<&str>, body: Value) -> visa_core::http::Request {
    let mut req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    req.body(body).unwrap()
}

/// The status and the JSON body (`null` for none).
fn answer(res: visa_core::http::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(res.body()).unwrap_or(Value::Null),
    )
}

/// 5 December 2026, 09:00 UTC, until the test moves it.
fn pinned_clock() -> Arc<PinnedClock> {
    Arc::new(PinnedClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap(),
    )))
}

/// A signed-in applicant's token: the session put straight in the store.
async fn session(store: &SqliteStore, clock: &PinnedClock, account_id: &str) -> String {
    use visa_core::store::Sessions;
    let token = format!("token-of-{account_id}");
    store
        .create_session(&visa_core::account::Session {
            token_hash: account::token_hash(&token),
            account_id: account_id.into(),
            expires_at: clock.now() + Duration::hours(12),
        })
        .await
        .unwrap();
    token
}

/// An approved tourist invitation for SHARMA PRIYA (IND, Z1234567), stay
/// 20 to 30 December 2026.
fn invitation_record(number: &str, created_at: DateTime<Utc>) -> Invitation {
    Invitation {
        number: number.into(),
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
        created_at,
        created_by: None,
        revoked_by: None,
    }
}

/// A checkout session open until `expires_at`.
fn checkout(session: &str, expires_at: DateTime<Utc>, replaced: &[&str]) -> Payment {
    Payment {
        checkout_session_id: session.into(),
        checkout_url: format!("https://checkout.example/{session}"),
        paid_at: None,
        payment_intent: None,
        expires_at: Some(expires_at),
        replaced_sessions: replaced.iter().map(|s| s.to_string()).collect(),
    }
}

/// The problem's status and slug, after checking it is a problem at all.
fn slug(answer: &(u16, Value)) -> (u16, &str) {
    let (status, body) = answer;
    let kind = body["type"]
        .as_str()
        .unwrap_or_else(|| panic!("not a problem: {body}"));
    assert_eq!(body["status"], *status, "{body}");
    (*status, kind.trim_start_matches("/problems/"))
}

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

fn application(id: &str, account_id: &str, number: &str, at: DateTime<Utc>) -> Application {
    let day = |s: &str| s.parse().unwrap();
    Application {
        id: id.into(),
        account_id: account_id.into(),
        status: visa_core::Status::InvitationConfirmed,
        category: visa_core::Category::Tourist,
        invitation_number: number.into(),
        passport: Passport {
            number: "Z1234567".into(),
            surname: "SHARMA".into(),
            given_names: "PRIYA".into(),
            nationality: "IND".into(),
            sex: Sex::F,
            date_of_birth: day("1990-04-12"),
            issuing_state: "IND".into(),
            expiry_date: day("2031-01-01"),
        },
        declarations: Declarations {
            two_blank_pages: true,
            passport_undamaged: true,
        },
        inviter: Inviter {
            name: "Kazakh Tourism JSC".into(),
            bin: "123456789012".into(),
        },
        stay: Stay {
            valid_from: day("2026-12-20"),
            valid_until: day("2026-12-30"),
        },
        fee: visa_core::Money::new(6000, "USD"),
        details_confirmed_at: None,
        payment: None,
        visa: None,
        under_review: false,
        emailed_at: None,
        created_at: at,
        updated_at: at,
    }
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
    };
    r.store.create_invitation(&invitation).await.unwrap();
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

// ------------------------------------------------------------ confirm-invitation

const OFFICER: &str = "officer-token-for-handler-tests";

/// A payment provider that is down: the one way to reach 502 here.
struct ProviderDown;

#[async_trait::async_trait]
impl visa_core::payment::PaymentProvider for ProviderDown {
    async fn open_checkout(
        &self,
        _: &visa_core::payment::CheckoutRequest,
    ) -> Result<visa_core::payment::Checkout, visa_core::payment::PaymentError> {
        Err(visa_core::payment::PaymentError::Unavailable(
            "connection refused".into(),
        ))
    }
    async fn refund(&self, _: &str, _: &str) -> Result<(), visa_core::payment::PaymentError> {
        Err(visa_core::payment::PaymentError::Unavailable(
            "connection refused".into(),
        ))
    }
}

struct Confirm {
    deps: visa_confirm_invitation::Deps,
    store: SqliteStore,
    clock: Arc<PinnedClock>,
    _dir: tempfile::TempDir,
}

impl Confirm {
    fn new() -> Confirm {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let shared = Arc::new(store.clone());
        Confirm {
            deps: visa_confirm_invitation::Deps {
                invitations: shared.clone(),
                applications: shared.clone(),
                sessions: shared,
                payments: Arc::new(visa_local::sandbox::SandboxPayments {
                    store: store.clone(),
                    origin: "http://127.0.0.1:8080".into(),
                }),
                clock: clock.clone(),
                ids: Arc::new(CountingIds(AtomicU64::new(1))),
                annexes: visa_core::annex::Annexes::builtin(),
                fees: visa_core::money::Fees::default(),
                site_origin: "http://127.0.0.1:8080".into(),
                admin: visa_confirm_invitation::AdminAuth::Token(OFFICER.into()),
                checkout_lifetime: Duration::hours(1),
            },
            store,
            clock,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        answer(
            visa_confirm_invitation::handle(&self.deps, request(method, path, token, body)).await,
        )
    }

    /// A signed-in applicant's token (the session put straight in the store).
    async fn applicant(&self, account_id: &str) -> String {
        session(&self.store, &self.clock, account_id).await
    }

    /// The officer's invitation for a `nationality` holder, stay 15 to 29
    /// days ahead of the pinned clock.
    async fn invitation(&self, category: &str, nationality: &str) -> Value {
        let (status, inv) = self
            .call(
                "POST",
                "/api/admin/invitations",
                Some(OFFICER),
                json!({
                    "category": category,
                    "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
                    "invitee": {"surname": "Sharma", "given_names": "Priya", "nationality": nationality,
                                "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
                    "valid_from": "2026-12-20", "valid_until": "2027-01-03",
                }),
            )
            .await;
        assert_eq!(status, 201, "{inv}");
        inv
    }
}

fn new_application(inv: &Value, expiry: &str) -> Value {
    json!({
        "invitation_number": inv["number"],
        "passport": {"number": "Z1234567", "surname": "SHARMA", "given_names": "PRIYA",
                     "nationality": inv["invitee"]["nationality"], "sex": "F",
                     "date_of_birth": "1990-04-12", "issuing_state": "IND", "expiry_date": expiry},
        "declarations": {"two_blank_pages": true, "passport_undamaged": true},
    })
}

#[tokio::test]
async fn officers_create_and_revoke_invitations_with_their_refusals() {
    let c = Confirm::new();
    let body = json!({
        "number": "250000000001", "category": "tourist",
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Sharma", "given_names": "Priya", "nationality": "IND",
                    "date_of_birth": "1990-04-12", "passport_number": "Z1234567"},
        "valid_from": "2026-12-20", "valid_until": "2027-01-03",
    });
    let path = "/api/admin/invitations";
    assert_eq!(
        slug(&c.call("POST", path, None, body.clone()).await),
        (401, "unauthenticated")
    );
    assert_eq!(
        slug(&c.call("POST", path, Some("guess"), body.clone()).await),
        (401, "unauthenticated")
    );
    let (status, made) = c.call("POST", path, Some(OFFICER), body.clone()).await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["status"], "approved");
    assert_eq!(
        slug(&c.call("POST", path, Some(OFFICER), body.clone()).await),
        (409, "invitation-exists")
    );
    // A stay that started yesterday on the pinned clock (Astana's day).
    let mut past = body.clone();
    past["number"] = json!("250000000002");
    past["valid_from"] = json!("2026-12-04");
    let refused = c.call("POST", path, Some(OFFICER), past).await;
    assert_eq!(slug(&refused), (422, "validation"));
    assert_eq!(refused.1["errors"][0]["field"], "valid_from");

    let revoke = "/api/admin/invitations/250000000001";
    let (status, revoked) = c.call("DELETE", revoke, Some(OFFICER), Value::Null).await;
    assert_eq!(status, 204, "{revoked}");
    let stored = c.store.invitation("250000000001").await.unwrap().unwrap();
    assert_eq!(stored.status, InvitationStatus::Revoked);
    assert!(stored.revoked_by.is_some());
    let missing = c
        .call(
            "DELETE",
            "/api/admin/invitations/250000000009",
            Some(OFFICER),
            Value::Null,
        )
        .await;
    assert_eq!(slug(&missing), (404, "not-found"));
}

#[tokio::test]
async fn applying_and_confirming_with_every_refusal_on_a_pinned_clock() {
    let mut c = Confirm::new();
    let token = c.applicant("acc-1").await;
    let inv = c.invitation("tourist", "IND").await;
    // The visa ends 3 January 2027: the passport must last to 3 April.
    let good = new_application(&inv, "2027-04-03");
    let post = |body: Value, token: Option<&str>| {
        let token = token.map(str::to_owned);
        let c = &c;
        async move {
            c.call("POST", "/api/applications", token.as_deref(), body)
                .await
        }
    };
    assert_eq!(
        slug(&post(good.clone(), None).await),
        (401, "unauthenticated")
    );
    let mut unknown = good.clone();
    unknown["invitation_number"] = json!("999999999999");
    assert_eq!(
        slug(&post(unknown, Some(&token)).await),
        (404, "invitation-not-found")
    );
    let mut other = good.clone();
    other["passport"]["given_names"] = json!("ANNA");
    assert_eq!(
        slug(&post(other, Some(&token)).await),
        (422, "invitation-mismatch")
    );
    let short = post(new_application(&inv, "2027-04-02"), Some(&token)).await;
    assert_eq!(slug(&short), (422, "passport-expires-too-soon"));
    let mut undeclared = good.clone();
    undeclared["declarations"]["passport_undamaged"] = json!(false);
    assert_eq!(
        slug(&post(undeclared, Some(&token)).await),
        (422, "declarations-missing")
    );
    let business = c.invitation("business", "IND").await;
    let ineligible = post(new_application(&business, "2027-04-03"), Some(&token)).await;
    assert_eq!(slug(&ineligible), (422, "not-eligible"));

    let (status, app) = post(good.clone(), Some(&token)).await;
    assert_eq!(status, 201, "{app}");
    assert_eq!(app["created_at"], "2026-12-05T09:00:00Z");
    assert_eq!(
        slug(&post(good, Some(&token)).await),
        (409, "invitation-already-used")
    );
    let id = app["id"].as_str().unwrap();

    // Not yours: 404, as for what does not exist.
    let stranger = c.applicant("acc-2").await;
    let theirs = c
        .call(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&stranger),
            Value::Null,
        )
        .await;
    assert_eq!(slug(&theirs), (404, "not-found"));
    let confirm = format!("/api/applications/{id}/confirmation");
    let yes = json!({"details_match_passport": true});
    let not_yet = c
        .call(
            "POST",
            &confirm,
            Some(&token),
            json!({"details_match_passport": false}),
        )
        .await;
    assert_eq!(slug(&not_yet), (422, "validation"));

    // The provider is down: 502, and the application still waits.
    let sandbox = std::mem::replace(&mut c.deps.payments, Arc::new(ProviderDown));
    let down = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(slug(&down), (502, "payment-provider-unavailable"));
    c.deps.payments = sandbox;
    let (_, waiting) = c
        .call(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&token),
            Value::Null,
        )
        .await;
    assert_eq!(waiting["status"], "invitation_confirmed");

    let (status, first) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["payment"]["expires_at"], "2026-12-05T10:00:00Z");
    let (_, again) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(
        again["payment"], first["payment"],
        "the same checkout while it is open"
    );
    // An hour on, the checkout has expired: confirming opens a new one.
    c.clock.advance(Duration::hours(1));
    let (status, renewed) = c.call("POST", &confirm, Some(&token), yes.clone()).await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(
        renewed["payment"]["checkout_session_id"],
        first["payment"]["checkout_session_id"]
    );
    assert_eq!(renewed["payment"]["expires_at"], "2026-12-05T11:00:00Z");

    // Paid (as the webhook records it): confirming again is a state error.
    use visa_core::store::Payments;
    let session = renewed["payment"]["checkout_session_id"].as_str().unwrap();
    c.store
        .record_payment(
            &visa_core::store::PaymentEvent {
                event_id: "evt_1".into(),
                application_id: id.into(),
                checkout_session_id: session.into(),
                amount_minor: 6000,
                currency: "USD".into(),
                event_type: "checkout.session.completed".into(),
                payment_intent: None,
            },
            c.clock.now(),
        )
        .await
        .unwrap();
    let paid = c.call("POST", &confirm, Some(&token), yes).await;
    assert_eq!(slug(&paid), (409, "invalid-state"));
}

// ------------------------------------------------------------ pay-webhook

const WEBHOOK_SECRET: &str = "whsec_handler_tests";

struct Webhook {
    deps: visa_pay_webhook::Deps,
    store: SqliteStore,
    clock: Arc<PinnedClock>,
    woken: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Webhook {
    /// One application awaiting payment in checkout `cs_1` (6000 USD), and
    /// a replaced session `cs_0` of it.
    async fn new() -> Webhook {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let woken = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(store.clone());
        let seen = woken.clone();
        let now = clock.now();
        store
            .create_invitation(&invitation_record("250000000555", now))
            .await
            .unwrap();
        store
            .create_application(&application("app-1", "acc-1", "250000000555", now))
            .await
            .unwrap();
        let checkout = checkout("cs_1", now + Duration::hours(23), &["cs_0"]);
        store.open_checkout("app-1", &checkout, now).await.unwrap();
        Webhook {
            deps: visa_pay_webhook::Deps {
                applications: shared.clone(),
                payments: shared,
                provider: Arc::new(ProviderDown),
                clock: clock.clone(),
                secrets: vec!["whsec_retired".into(), WEBHOOK_SECRET.into()],
                on_paid: Box::new(move |id| seen.lock().unwrap().push(id.to_owned())),
            },
            store,
            clock,
            woken,
            _dir: dir,
        }
    }

    async fn deliver(&self, body: &[u8], signature: Option<String>) -> (u16, Value) {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("/api/webhooks/payment")
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            req = req.header("stripe-signature", signature);
        }
        let res =
            visa_pay_webhook::handle(&self.deps, req.body(Bytes::copy_from_slice(body)).unwrap())
                .await;
        let status = res.status().as_u16();
        (
            status,
            serde_json::from_slice(res.body()).unwrap_or(Value::Null),
        )
    }

    fn signed(&self, body: &[u8], secret: &str, age_secs: i64) -> Option<String> {
        Some(visa_pay_webhook::signature::sign(
            secret,
            self.clock.now().timestamp() - age_secs,
            body,
        ))
    }
}

fn completed(event_id: &str, session: &str, amount: i64) -> Vec<u8> {
    json!({
        "id": event_id, "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": session, "object": "checkout.session", "client_reference_id": "app-1",
                            "amount_total": amount, "currency": "usd", "payment_status": "paid",
                            "payment_intent": format!("pi_{session}")}},
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn webhook_signatures_are_checked_on_the_clock_and_events_apply_once() {
    let w = Webhook::new().await;
    let body = completed("evt_1", "cs_1", 6000);
    assert_eq!(slug(&w.deliver(&body, None).await), (400, "bad-signature"));
    let forged = w.signed(&body, "whsec_someone_else", 0);
    assert_eq!(
        slug(&w.deliver(&body, forged).await),
        (400, "bad-signature")
    );
    // Stripe's tolerance: 300 s old is accepted, 301 s is a replay.
    let stale = w.signed(&body, WEBHOOK_SECRET, 301);
    assert_eq!(slug(&w.deliver(&body, stale).await), (400, "bad-signature"));
    let junk = b"{not json".to_vec();
    let junk_sig = w.signed(&junk, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&junk, junk_sig).await),
        (400, "malformed-body")
    );
    let short = completed("evt_2", "cs_1", 5999);
    let short_sig = w.signed(&short, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&short, short_sig).await),
        (422, "payment-mismatch")
    );
    assert!(w.woken.lock().unwrap().is_empty());
    assert_eq!(
        w.store.application("app-1").await.unwrap().unwrap().status,
        visa_core::Status::AwaitingPayment,
        "refusals changed nothing"
    );

    // Signed with the secret being retired during a rotation, 300 s old.
    let sig = w.signed(&body, "whsec_retired", 300);
    let (status, ack) = w.deliver(&body, sig.clone()).await;
    assert_eq!(status, 200, "{ack}");
    let paid = w.store.application("app-1").await.unwrap().unwrap();
    assert_eq!(paid.status, visa_core::Status::Paid);
    assert_eq!(paid.payment.unwrap().paid_at, Some(w.clock.now()));
    // Stripe delivers again: acknowledged, applied once.
    assert_eq!(w.deliver(&body, sig).await.0, 200);
    assert_eq!(*w.woken.lock().unwrap(), ["app-1"]);

    // A second payment in the replaced session is refunded; the provider
    // is down, so 502 and Stripe retries later; nothing recorded.
    let late = completed("evt_3", "cs_0", 6000);
    let late_sig = w.signed(&late, WEBHOOK_SECRET, 0);
    assert_eq!(
        slug(&w.deliver(&late, late_sig).await),
        (502, "payment-provider-unavailable")
    );
    assert_eq!(*w.woken.lock().unwrap(), ["app-1"], "never a second visa");
}

// ------------------------------------------------------------ render-visa

struct Render {
    deps: visa_render_visa::Deps,
    store: SqliteStore,
    clock: Arc<PinnedClock>,
    queued: Arc<Queued>,
    _dir: tempfile::TempDir,
}

impl Render {
    fn new() -> Render {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let queued = Arc::new(Queued::default());
        let shared = Arc::new(store.clone());
        let origin = "http://127.0.0.1:8080".to_owned();
        Render {
            deps: visa_render_visa::Deps {
                applications: shared.clone(),
                visas: shared.clone(),
                accounts: shared.clone(),
                sessions: shared,
                blobs: Arc::new(
                    visa_local::blobs::FolderBlobs::new(
                        dir.path().join("blobs"),
                        "link-key".into(),
                        origin.clone(),
                    )
                    .unwrap(),
                ),
                signer: Arc::new(
                    visa_local::signer::LocalSigner::load_or_create(&dir.path().join("key.pem"))
                        .unwrap(),
                ),
                notifier: Arc::new(visa_local::outbox::Outbox {
                    dir: dir.path().join("outbox"),
                    from: "e-visa@vmp.gov.kz".into(),
                }),
                emails: queued.clone(),
                renderer: Arc::new(visa_pdf::Renderer::new()),
                clock: clock.clone(),
                annexes: visa_core::annex::Annexes::builtin(),
                site_origin: origin,
            },
            store,
            clock,
            queued,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        answer(visa_render_visa::handle(&self.deps, request(method, path, token, body)).await)
    }

    async fn session(&self, account_id: &str) -> String {
        session(&self.store, &self.clock, account_id).await
    }

    /// `app-1` of `acc-1`, paid (stay 20 to 30 December 2026).
    async fn paid_application(&self) {
        use visa_core::store::Payments;
        let now = self.clock.now();
        self.store
            .create_invitation(&invitation_record("250000000666", now))
            .await
            .unwrap();
        self.store
            .create_application(&application("app-1", "acc-1", "250000000666", now))
            .await
            .unwrap();
        let checkout = checkout("cs_1", now + Duration::hours(23), &[]);
        self.store
            .open_checkout("app-1", &checkout, now)
            .await
            .unwrap();
        self.store
            .record_payment(
                &visa_core::store::PaymentEvent {
                    event_id: "evt_1".into(),
                    application_id: "app-1".into(),
                    checkout_session_id: "cs_1".into(),
                    amount_minor: 6000,
                    currency: "USD".into(),
                    event_type: "checkout.session.completed".into(),
                    payment_intent: Some("pi_1".into()),
                },
                now,
            )
            .await
            .unwrap();
    }
}

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
}
