//! The fixtures every handler test shares: one per function, on a temp-file
//! SQLite store, a pinned clock and counting ids.

use bytes::Bytes;
use chrono::{DateTime, Duration, TimeZone, Utc};
use http::{Method, header};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use visa_core::account;
use visa_core::application::{Application, Payment, Stay};
use visa_core::clock::{Clock, Ids};
use visa_core::http::{MAX_BODY_BYTES, Request, Response};
use visa_core::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use visa_core::notify::{EmailQueue, EmailRequest, NotifyError};
use visa_core::passport::{Declarations, Passport, Sex};
use visa_core::routes::{self, Function, Resolved};
use visa_core::store::{Accounts, Applications, Invitations};
use visa_local::sqlite::SqliteStore;

/// A clock that moves only when the test says.
pub struct PinnedClock(pub Mutex<DateTime<Utc>>);

impl PinnedClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for PinnedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Ids in order: 26 characters, like the ULIDs they stand for.
pub struct CountingIds(pub AtomicU64);

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
pub struct Queued(pub Mutex<Vec<EmailRequest>>);

#[async_trait::async_trait]
impl EmailQueue for Queued {
    async fn enqueue(&self, request: &EmailRequest) -> Result<(), NotifyError> {
        self.0.lock().unwrap().push(request.clone());
        Ok(())
    }
}

pub struct Register {
    pub deps: visa_register::Deps,
    pub store: SqliteStore,
    pub clock: Arc<PinnedClock>,
    pub queued: Arc<Queued>,
    pub dir: tempfile::TempDir,
}

impl Fixture for Register {
    const FUNCTION: Function = Function::Register;

    fn handle(&self, req: Request) -> impl Future<Output = Response> {
        visa_register::handle(&self.deps, req)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn effects(&self) -> usize {
        self.queued.0.lock().unwrap().len()
    }
}

pub const PASSWORD: &str = "correct horse battery";

impl Register {
    pub fn new() -> Register {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let queued = Arc::new(Queued::default());
        let shared = Arc::new(store.clone());
        Register {
            deps: visa_register::Deps {
                accounts: shared.clone(),
                applications: shared.clone(),
                hosts: shared.clone(),
                sessions: shared,
                emails: queued.clone(),
                clock: clock.clone(),
                ids: Arc::new(CountingIds(AtomicU64::new(1))),
            },
            store,
            clock,
            queued,
            dir,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        send(self, request(method, path, token, body)).await
    }

    pub async fn sign_up(&self, email: &str) -> String {
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

    pub async fn account_id(&self, email: &str) -> String {
        self.store
            .account_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

/// A JSON request as the gateway hands it to a handler.
pub fn request(method: &str, path: &str, token: Option<&str>, body: Value) -> Request {
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
pub fn answer(res: &Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (
        status,
        serde_json::from_slice(res.body()).unwrap_or(Value::Null),
    )
}

/// A function under test: its `handle`, and where its state lives.
pub trait Fixture {
    const FUNCTION: Function;

    fn handle(&self, req: Request) -> impl Future<Output = Response>;

    /// The temp dir holding the store (`visa.sqlite3`).
    fn dir(&self) -> &Path;

    /// What the function asked of the world besides the store: emails
    /// queued, issuers woken. A refusal asks nothing.
    fn effects(&self) -> usize {
        0
    }
}

/// What matches no route, or no method of its path: the catch-all's,
/// whichever function answered it.
pub const CATCH_ALL: (&str, &str) = ("ANY", "/api/{proxy+}");

/// Where a request lands in contract.py's terms: its route's (method,
/// template) when `function` owns it; the catch-all for no route or no
/// method; a route of another function (which answers 404) apart.
pub fn route_of(function: Function, method: &Method, path: &str) -> (String, String) {
    match routes::resolve(method, path) {
        Resolved::Found(m) if m.route.function == function => {
            (m.route.method.to_string(), m.route.path.to_owned())
        }
        Resolved::Found(m) => ("MISROUTED".into(), m.route.path.to_owned()),
        Resolved::MethodNotAllowed(_) | Resolved::NotFound => {
            (CATCH_ALL.0.to_owned(), CATCH_ALL.1.to_owned())
        }
    }
}

/// (method, route template, slug).
pub type Answered = BTreeSet<(String, String, String)>;

thread_local! {
    /// The problems answered on this thread. A `#[tokio::test]` runs on
    /// its own thread (a current-thread runtime), so what a test reads
    /// here is what that test itself made the handlers answer.
    static ANSWERED: RefCell<Answered> = const { RefCell::new(BTreeSet::new()) };
}

/// The problems this thread's test has made the handlers answer so far.
pub fn answered() -> Answered {
    ANSWERED.with(|a| a.borrow().clone())
}

/// Every handler call of these tests: the request to `f`'s handler, the
/// answer as status and JSON, and the problem (if one) recorded against
/// the route it answered for.
pub async fn send<F: Fixture>(f: &F, req: Request) -> (u16, Value) {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let res = f.handle(req).await;
    let answer = answer(&res);
    let problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/problem+json");
    if problem {
        let (_, slug) = slug(&answer);
        let (method, template) = route_of(F::FUNCTION, &method, &path);
        ANSWERED.with(|a| a.borrow_mut().insert((method, template, slug.to_owned())));
    }
    answer
}

/// The store's rows, table by table, as text; the throttles' counters
/// left out (a refused sign-in or retrieval counts, by design).
pub fn stored(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let db = rusqlite::Connection::open_with_flags(
        dir.join("visa.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut tables = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'sign_in_failures'",
        )
        .unwrap();
    let tables: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|table| {
            let mut rows = db
                .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY 1"))
                .unwrap();
            let width = rows.column_count();
            let rows = rows
                .query_map([], |row| {
                    Ok((0..width)
                        .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join(" | "))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (table, rows)
        })
        .collect()
}

/// `req` is refused with `expected` (status, slug), and nothing changed:
/// the store holds what it held, nothing was queued or woken. The
/// problem's body, for more checks.
pub async fn refused<F: Fixture>(f: &F, req: Request, expected: (u16, &str)) -> Value {
    let what = format!("{} {}", req.method(), req.uri());
    let (before, effects) = (stored(f.dir()), f.effects());
    let answer = send(f, req).await;
    assert_eq!(slug(&answer), expected, "{what}: {}", answer.1);
    assert_eq!(stored(f.dir()), before, "{what}: the store changed");
    assert_eq!(f.effects(), effects, "{what}: something was sent");
    answer.1
}

/// `req` is refused with 422 `validation` naming `field` (and nothing changed).
pub async fn invalid<F: Fixture>(f: &F, req: Request, field: &str) {
    let what = format!("{} {}", req.method(), req.uri());
    let problem = refused(f, req, (422, "validation")).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no errors: {problem}"))
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(fields.contains(&field), "{what}: {field} not in {fields:?}");
}

/// A request whose body is these bytes exactly (not JSON, or too large).
pub fn raw(method: &str, path: &str, token: Option<&str>, body: impl Into<Bytes>) -> Request {
    let mut req = request(method, path, token, Value::Null);
    *req.body_mut() = body.into();
    req
}

/// A JSON object one byte over `MAX_BODY_BYTES`: too large, not malformed.
pub fn too_large() -> Bytes {
    sized_json(MAX_BODY_BYTES + 1)
}

/// A JSON object of exactly `len` bytes (`{"pad":"xx…"}`).
pub fn sized_json(len: usize) -> Bytes {
    let pad = "x".repeat(len - r#"{"pad":""}"#.len());
    let body = format!(r#"{{"pad":"{pad}"}}"#);
    assert_eq!(body.len(), len);
    Bytes::from(body)
}

/// Not JSON at all.
pub const NOT_JSON: &[u8] = b"{\"email\": ";

/// The route's 413 for a body over the limit, whatever the body would say,
/// with nothing changed.
pub async fn too_large_refused<F: Fixture>(f: &F, method: &str, path: &str, token: Option<&str>) {
    refused(
        f,
        raw(method, path, token, too_large()),
        (413, "body-too-large"),
    )
    .await;
}

/// The route's 400 for a body that is not JSON, with nothing changed.
pub async fn malformed_refused<F: Fixture>(f: &F, method: &str, path: &str, token: Option<&str>) {
    refused(
        f,
        raw(method, path, token, NOT_JSON),
        (400, "malformed-body"),
    )
    .await;
}

/// What each function answers for what is not its route: 404 for an
/// unknown path, 405 naming the allowed methods for a wrong method on a
/// known path (as the catch-all does in the cloud), 413 for a large body
/// to either.
pub async fn no_route_refused<F: Fixture>(f: &F, path: &str, wrong_method: &str, allow: &str) {
    for unknown in ["/api/nope", "/api/applications/a/b", "/api/health/"] {
        refused(
            f,
            request("GET", unknown, None, Value::Null),
            (404, "not-found"),
        )
        .await;
    }
    let problem = refused(
        f,
        request(wrong_method, path, None, Value::Null),
        (405, "method-not-allowed"),
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains(allow),
        "{problem}"
    );
    let res = f
        .handle(request(wrong_method, path, None, Value::Null))
        .await;
    assert_eq!(res.headers()[header::ALLOW], allow);
    too_large_refused(f, "POST", "/api/nope", None).await;
}

/// `req` as a staff route receives it from API Gateway's JWT authorizer:
/// its route key and these claims in the request context.
pub fn with_claims(mut req: Request, claims: BTreeMap<String, String>) -> Request {
    if let visa_core::routes::Resolved::Found(m) =
        visa_core::routes::resolve(req.method(), req.uri().path())
    {
        let route_key = format!("{} {}", req.method(), m.route.path);
        req.extensions_mut()
            .insert(visa_core::http::GatewayContext {
                route_key,
                iam_caller: None,
                jwt_claims: Some(claims),
            });
    }
    req
}

/// 5 December 2026, 09:00 UTC, until the test moves it.
pub fn pinned_clock() -> Arc<PinnedClock> {
    Arc::new(PinnedClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 12, 5, 9, 0, 0).unwrap(),
    )))
}

/// A signed-in applicant's token: the session put straight in the store.
pub async fn session(store: &SqliteStore, clock: &PinnedClock, account_id: &str) -> String {
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
pub fn invitation_record(number: &str, created_at: DateTime<Utc>) -> Invitation {
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
        request_id: None,
    }
}

/// A checkout session open until `expires_at`.
pub fn checkout(session: &str, expires_at: DateTime<Utc>, replaced: &[&str]) -> Payment {
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
pub fn slug(answer: &(u16, Value)) -> (u16, &str) {
    let (status, body) = answer;
    let kind = body["type"]
        .as_str()
        .unwrap_or_else(|| panic!("not a problem: {body}"));
    assert_eq!(body["status"], *status, "{body}");
    (*status, kind.trim_start_matches("/problems/"))
}

pub fn application(id: &str, account_id: &str, number: &str, at: DateTime<Utc>) -> Application {
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
        history: Vec::new(),
        group_id: None,
        invitation_revoked_at: None,
        created_at: at,
        updated_at: at,
    }
}

// ------------------------------------------------------------ confirm-invitation

pub const OFFICER: &str = "officer-token-for-handler-tests";

/// A payment provider that is down: the one way to reach 502 here.
pub struct ProviderDown;

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

pub struct Confirm {
    pub deps: visa_confirm_invitation::Deps,
    /// The local staff directory's token check: what the gateway's JWT
    /// authorizer does before a staff route's handler runs.
    pub staff_tokens: visa_local::staff::TokenVerifier,
    pub store: SqliteStore,
    pub clock: Arc<PinnedClock>,
    /// What the function asked the email queue to send.
    pub queued: Arc<Queued>,
    pub dir: tempfile::TempDir,
}

impl Confirm {
    pub fn new() -> Confirm {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let shared = Arc::new(store.clone());
        let queued = Arc::new(Queued::default());
        let staff = Arc::new(
            visa_local::staff::LocalStaff::open(
                store.clone(),
                clock.clone(),
                &dir.path().join("staff-token-key.pem"),
            )
            .unwrap(),
        );
        Confirm {
            staff_tokens: staff.verifier(),
            deps: visa_confirm_invitation::Deps {
                staff,
                invitations: shared.clone(),
                applications: shared.clone(),
                visas: shared.clone(),
                audit: shared.clone(),
                hosts: shared.clone(),
                requests: shared.clone(),
                arrivals: shared.clone(),
                groups: shared.clone(),
                emails: queued.clone(),
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
            queued,
            dir,
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let req = self.authorize(request(method, path, token, body));
        send(self, req).await
    }

    /// What the gateway's JWT authorizer does in front of a staff route: a
    /// valid token's claims go in the request context (an invalid one never
    /// reaches the function; here it passes without claims, which the
    /// function must refuse itself).
    pub fn authorize(&self, req: Request) -> Request {
        let claims = visa_core::http::bearer(&req).and_then(|t| self.staff_tokens.claims(t));
        match claims {
            Some(claims) => with_claims(req, claims),
            None => req,
        }
    }

    /// A member of staff in `role`, signed in through the directory with
    /// their password and the authenticator's code of the pinned clock.
    pub async fn staff_token(&self, email: &str, role: visa_core::staff::StaffGroup) -> String {
        let new = visa_local::staff::create(&self.store, email, "Aigerim Sadykova", role)
            .await
            .unwrap();
        let (status, challenge) = self
            .call(
                "POST",
                "/api/officer/sessions",
                None,
                json!({"email": email, "password": new.password}),
            )
            .await;
        assert_eq!(status, 200, "{challenge}");
        let code = visa_local::staff::code_at(&new.totp_secret, self.clock.now()).unwrap();
        let (status, signed_in) = self
            .call(
                "POST",
                "/api/officer/sessions/totp",
                None,
                json!({"email": email, "session": challenge["session"], "code": code}),
            )
            .await;
        assert_eq!(status, 200, "{signed_in}");
        signed_in["token"].as_str().unwrap().to_owned()
    }

    /// `application` made and confirmed through the handler by the
    /// applicant of `token`, then paid (payment event `event_id`) and issued
    /// visa `visa_number` as the webhook and render-visa would: the
    /// application as issued.
    pub async fn apply_pay_issue(
        &self,
        token: &str,
        application: Value,
        event_id: &str,
        visa_number: &str,
    ) -> Application {
        use visa_core::store::{PaymentEvent, Payments, Visas};
        let (status, app) = self
            .call("POST", "/api/applications", Some(token), application)
            .await;
        assert_eq!(status, 201, "{app}");
        let id = app["id"].as_str().unwrap().to_owned();
        let (status, confirmed) = self
            .call(
                "POST",
                &format!("/api/applications/{id}/confirmation"),
                Some(token),
                json!({"details_match_passport": true}),
            )
            .await;
        assert_eq!(status, 200, "{confirmed}");
        let now = self.clock.now();
        let event = PaymentEvent {
            event_id: event_id.into(),
            application_id: id.clone(),
            checkout_session_id: confirmed["payment"]["checkout_session_id"]
                .as_str()
                .unwrap()
                .into(),
            amount_minor: 6000,
            currency: "usd".into(),
            event_type: "checkout.session.completed".into(),
            payment_intent: None,
        };
        self.store.record_payment(&event, now).await.unwrap();
        let paid = self.store.application(&id).await.unwrap().unwrap();
        let visa = visa_core::application::Visa::new(
            visa_number.into(),
            paid.category,
            &paid.stay,
            Vec::new(),
            now,
        );
        self.store.issue_visa(&id, &visa, now).await.unwrap()
    }

    /// A signed-in applicant's token (the session put straight in the store).
    pub async fn applicant(&self, account_id: &str) -> String {
        session(&self.store, &self.clock, account_id).await
    }

    /// The officer's invitation for a `nationality` holder, stay 15 to 29
    /// days ahead of the pinned clock.
    pub async fn invitation(&self, category: &str, nationality: &str) -> Value {
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

impl Fixture for Confirm {
    const FUNCTION: Function = Function::ConfirmInvitation;

    /// Behind the gateway's JWT authorizer, as every staff route is.
    fn handle(&self, req: Request) -> impl Future<Output = Response> {
        visa_confirm_invitation::handle(&self.deps, self.authorize(req))
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

pub fn new_application(inv: &Value, expiry: &str) -> Value {
    json!({
        "invitation_number": inv["number"],
        "passport": {"number": "Z1234567", "surname": "SHARMA", "given_names": "PRIYA",
                     "nationality": inv["invitee"]["nationality"], "sex": "F",
                     "date_of_birth": "1990-04-12", "issuing_state": "IND", "expiry_date": expiry},
        "declarations": {"two_blank_pages": true, "passport_undamaged": true},
    })
}

// ------------------------------------------------------------ pay-webhook

pub const WEBHOOK_SECRET: &str = "whsec_handler_tests";

pub struct Webhook {
    pub deps: visa_pay_webhook::Deps,
    pub store: SqliteStore,
    pub clock: Arc<PinnedClock>,
    pub woken: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
}

impl Webhook {
    /// One application awaiting payment in checkout `cs_1` (6000 USD), and
    /// a replaced session `cs_0` of it.
    pub async fn new() -> Webhook {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        let clock = pinned_clock();
        let woken = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(store.clone());
        let seen = woken.clone();
        let now = clock.now();
        store
            .create_invitation(&invitation_record("250000000555", now), None)
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
                groups: shared.clone(),
                payments: shared,
                provider: Arc::new(ProviderDown),
                clock: clock.clone(),
                secrets: vec!["whsec_retired".into(), WEBHOOK_SECRET.into()],
                on_paid: Box::new(move |id| seen.lock().unwrap().push(id.to_owned())),
            },
            store,
            clock,
            woken,
            dir,
        }
    }

    pub async fn deliver(&self, body: &[u8], signature: Option<String>) -> (u16, Value) {
        send(self, self.delivery(body, signature)).await
    }

    /// A delivery as the provider makes it: the raw body, its signature.
    pub fn delivery(&self, body: &[u8], signature: Option<String>) -> Request {
        let mut req = http::Request::builder()
            .method("POST")
            .uri("/api/webhooks/payment")
            .header("content-type", "application/json");
        if let Some(signature) = signature {
            req = req.header("stripe-signature", signature);
        }
        req.body(Bytes::copy_from_slice(body)).unwrap()
    }

    pub fn signed(&self, body: &[u8], secret: &str, age_secs: i64) -> Option<String> {
        Some(visa_pay_webhook::signature::sign(
            secret,
            self.clock.now().timestamp() - age_secs,
            body,
        ))
    }
}

impl Fixture for Webhook {
    const FUNCTION: Function = Function::PayWebhook;

    fn handle(&self, req: Request) -> impl Future<Output = Response> {
        visa_pay_webhook::handle(&self.deps, req)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn effects(&self) -> usize {
        self.woken.lock().unwrap().len()
    }
}

pub fn completed(event_id: &str, session: &str, amount: i64) -> Vec<u8> {
    json!({
        "id": event_id, "object": "event", "type": "checkout.session.completed",
        "data": {"object": {"id": session, "object": "checkout.session", "client_reference_id": "app-1",
                            "amount_total": amount, "currency": "usd", "payment_status": "paid",
                            "payment_intent": format!("pi_{session}")}},
    })
    .to_string()
    .into_bytes()
}

// ------------------------------------------------------------ render-visa

pub struct Render {
    pub deps: visa_render_visa::Deps,
    pub store: SqliteStore,
    pub clock: Arc<PinnedClock>,
    pub queued: Arc<Queued>,
    pub dir: tempfile::TempDir,
}

impl Render {
    pub fn new() -> Render {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("visa.sqlite3")).unwrap();
        Render::on(store, pinned_clock(), dir)
    }

    /// render-visa over another fixture's store and clock (`dir` holds its
    /// keys, PDFs and outbox).
    pub fn on(store: SqliteStore, clock: Arc<PinnedClock>, dir: tempfile::TempDir) -> Render {
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
                admin: visa_core::auth::AdminAuth::Token(OFFICER.into()),
                requests: Arc::new(store.clone()),
                arrivals: Arc::new(store.clone()),
                hosts: Arc::new(store.clone()),
            },
            store,
            clock,
            queued,
            dir,
        }
    }

    /// Publishes the local trust chain (a CSCA and the signer's
    /// certificate) where render-visa serves it from, as the gateway does
    /// at start.
    pub fn publish_certificates(&self) {
        let signer =
            visa_local::signer::LocalSigner::load_or_create(&self.dir.path().join("key.pem"))
                .unwrap();
        let blobs = visa_local::blobs::FolderBlobs::new(
            self.dir.path().join("blobs"),
            "link-key".into(),
            String::new(),
        )
        .unwrap();
        visa_local::signer::publish_certificates(self.dir.path(), &signer, &blobs).unwrap();
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        send(self, request(method, path, token, body)).await
    }

    pub async fn session(&self, account_id: &str) -> String {
        session(&self.store, &self.clock, account_id).await
    }

    /// `app-1` of `acc-1`, paid (stay 20 to 30 December 2026).
    pub async fn paid_application(&self) {
        paid_application(&self.store, self.clock.now()).await;
    }
}

/// `app-1` of `acc-1` on invitation 250000000666, paid in checkout `cs_1`
/// (stay 20 to 30 December 2026).
pub async fn paid_application(store: &SqliteStore, now: DateTime<Utc>) {
    use visa_core::store::Payments;
    store
        .create_invitation(&invitation_record("250000000666", now), None)
        .await
        .unwrap();
    store
        .create_application(&application("app-1", "acc-1", "250000000666", now))
        .await
        .unwrap();
    let checkout = checkout("cs_1", now + Duration::hours(23), &[]);
    store.open_checkout("app-1", &checkout, now).await.unwrap();
    store
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

impl Fixture for Render {
    const FUNCTION: Function = Function::RenderVisa;

    fn handle(&self, req: Request) -> impl Future<Output = Response> {
        visa_render_visa::handle(&self.deps, req)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn effects(&self) -> usize {
        self.queued.0.lock().unwrap().len()
    }
}

/// A header's RFC 2047 encoded word (`=?UTF-8?B?...?=`), decoded.
pub fn decoded(word: &str) -> String {
    use base64::Engine;
    match word
        .strip_prefix("=?UTF-8?B?")
        .and_then(|w| w.strip_suffix("?="))
    {
        Some(b64) => String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
        )
        .unwrap(),
        None => word.to_owned(),
    }
}

/// The outbox's messages, oldest first, each as "to: subject".
pub fn outbox(render: &Render) -> Vec<String> {
    let dir = render.dir.path().join("outbox");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut names: Vec<_> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(dir.join(n)).unwrap();
            let header = |h: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(h))
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            };
            format!("{}: {}", header("To:"), decoded(&header("Subject:")))
        })
        .collect()
}

/// The text of every part of a raw message (base64 parts decoded, 8bit
/// ones as they are), joined.
pub fn message_text(raw: &str) -> String {
    use base64::Engine;
    raw.split("\r\n\r\n")
        .skip(1)
        .filter_map(|part| {
            let body = part.split("\r\n--").next()?;
            let compact: String = body.split_whitespace().collect();
            match base64::engine::general_purpose::STANDARD.decode(compact) {
                Ok(bytes) => String::from_utf8(bytes).ok(),
                Err(_) => Some(body.to_owned()),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
