//! A pass-through proxy in front of moto that counts AWS calls by service
//! and operation (`dynamodb:GetItem`, `secretsmanager:GetSecretValue`,
//! `s3:PUT`...) and the time during which at least one call was waiting
//! for moto (calls made at once count once), so a test can say how many
//! calls one issued visa costs and how much of a cold start was the
//! network. Point a process at it with `AWS_ENDPOINT_URL`.
//!
//! With roles (`start_with_roles`), it is also IAM, which moto is not: a
//! call signed with a function's access key is held against that
//! function's role policy (`iam`), refused as AWS would refuse it
//! (nothing reaches moto) and recorded; and S3's rule that a missing key
//! is 403, not 404, for a caller without `s3:ListBucket` is applied.

use crate::iam::{Access, Decision, Effect, Policy};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Calls per `service:operation`, and the time at least one of them was
/// upstream.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub calls: BTreeMap<String, u64>,
    pub upstream: Duration,
    in_flight: usize,
    busy_since: Option<Instant>,
}

impl Tally {
    /// Calls to one service (`dynamodb`), by operation.
    pub fn of(&self, service: &str) -> BTreeMap<String, u64> {
        let prefix = format!("{service}:");
        self.calls
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|op| (op.to_owned(), *v)))
            .collect()
    }
}

#[derive(Clone)]
pub struct CountingProxy {
    pub endpoint: String,
    tally: Arc<Mutex<Tally>>,
    audit: Arc<Mutex<Audit>>,
    roles: Roles,
}

/// A function as IAM sees it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub function: String,
    /// Its role's ARN (`aws:PrincipalArn`).
    pub principal: String,
    /// Its role's policy.
    pub policy: Policy,
}

/// The functions' roles, by the access key each function signs with, and
/// the key policies of the KMS keys (by key ARN).
#[derive(Clone, Debug, Default)]
pub struct Roles {
    pub by_key: BTreeMap<String, Caller>,
    pub key_policies: BTreeMap<String, Policy>,
    pub region: String,
    pub account: String,
    /// Share of the functions' calls answered with a fault, 0 for none.
    pub fault_share: f64,
    /// Time added to each of the functions' calls, by operation
    /// (`dynamodb:GetItem`, `kms:Sign`, `s3:PUT`, `ses:SendEmail`): AWS's
    /// latencies in a region, where moto on loopback answers at once.
    pub latencies: BTreeMap<String, std::time::Duration>,
}

/// Faults injected so far, by kind.
#[derive(Clone, Debug, Default)]
pub struct Injected {
    /// Throttling answers (the call never reached moto).
    pub throttled: u64,
    /// 5xx answers before the call reached moto.
    pub failed_before: u64,
    /// 5xx answers after moto had applied the call (a lost reply).
    pub failed_after: u64,
}

impl Roles {
    /// AWS's decision on `caller` doing `access`: for a KMS key with a key
    /// policy, that policy grants (to the caller, or to the account root,
    /// which delegates to the identity policy); an explicit Deny in either
    /// policy wins.
    pub fn decide(&self, caller: &Caller, access: &Access) -> Decision {
        let identity = caller.policy.decide_access(&caller.principal, access);
        let Some(key) = self.key_policies.get(&access.resource) else {
            return identity;
        };
        let on_key = key.decide_access(&caller.principal, access);
        match (on_key, identity) {
            (Decision::Denied(sid), _) => Decision::Denied(format!("key policy {sid}")),
            (_, Decision::Denied(sid)) => Decision::Denied(sid),
            (Decision::Allowed(sid), _) => Decision::Allowed(format!("key policy {sid}")),
            (Decision::NotAllowed, Decision::Allowed(sid)) => {
                let root = format!("arn:aws:iam::{}:root", self.account);
                let delegated = key.statements.iter().any(|s| {
                    s.effect == Effect::Allow
                        && s.principals.as_ref().is_some_and(|p| p.contains(&root))
                        && key
                            .without_others(&s.sid)
                            .decide_access(&root, access)
                            .is_allowed()
                });
                if delegated {
                    Decision::Allowed(sid)
                } else {
                    Decision::NotAllowed
                }
            }
            (Decision::NotAllowed, Decision::NotAllowed) => Decision::NotAllowed,
        }
    }
}

/// What the roles let through and what they refused.
#[derive(Clone, Debug, Default)]
pub struct Audit {
    /// (function, access) for every authorisation granted.
    pub granted: Vec<(String, Access)>,
    /// One line per refused call, naming function, action and resource.
    pub refused: Vec<String>,
    pub injected: Injected,
}

/// A fault for this call, drawn at the roles' share: throttling, a 5xx
/// before the call, or (DynamoDB only, whose writes are conditional) a 5xx
/// after it was applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Throttle,
    FailBefore,
    FailAfter,
}

fn draw_fault(share: f64, op: &str) -> Option<Fault> {
    if share <= 0.0 || rand::random::<f64>() >= share {
        return None;
    }
    Some(match rand::random::<u8>() % 3 {
        0 => Fault::Throttle,
        1 if op.starts_with("dynamodb:") => Fault::FailAfter,
        _ => Fault::FailBefore,
    })
}

/// The service's throttling or internal-error answer, in its protocol.
fn fault_response(op: &str, throttle: bool) -> Response {
    if op.starts_with("s3:") {
        let (status, code) = if throttle {
            (StatusCode::SERVICE_UNAVAILABLE, "SlowDown")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>"
        );
        return (status, [("content-type", "application/xml")], xml).into_response();
    }
    if op.starts_with("ses:") {
        let (status, kind) = if throttle {
            (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceErrorException",
            )
        };
        let body = serde_json::json!({"message": "injected"}).to_string();
        return (
            status,
            [
                ("content-type", "application/json"),
                ("x-amzn-errortype", kind),
            ],
            body,
        )
            .into_response();
    }
    let (status, kind) = match (throttle, op.starts_with("dynamodb:")) {
        (true, true) => (
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        ),
        (true, false) => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        (false, true) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
        ),
        (false, false) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"),
    };
    let body = serde_json::json!({"__type": kind, "message": "injected"}).to_string();
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", kind),
        ],
        body,
    )
        .into_response()
}

struct Upstream {
    base: String,
    http: reqwest::Client,
    tally: Arc<Mutex<Tally>>,
    roles: Roles,
    audit: Arc<Mutex<Audit>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> CountingProxy {
        CountingProxy::start_with_roles(upstream, Roles::default()).await
    }

    /// A proxy that also authorises every call signed with one of the
    /// roles' access keys.
    pub async fn start_with_roles(upstream: &str, roles: Roles) -> CountingProxy {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let audit = Arc::new(Mutex::new(Audit::default()));
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            tally: tally.clone(),
            roles: roles.clone(),
            audit: audit.clone(),
        });
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("bound");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy serves") });
        CountingProxy {
            endpoint: format!("http://{addr}"),
            tally,
            audit,
            roles,
        }
    }

    /// The roles this proxy enforces.
    pub fn roles(&self) -> Roles {
        self.roles.clone()
    }

    /// What the roles granted and refused so far.
    pub fn audit(&self) -> Audit {
        self.audit.lock().expect("audit").clone()
    }

    /// What was seen since the last `take`, which starts a new tally.
    pub fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().expect("tally"))
    }
}

/// `service:operation`: JSON protocols name it in `X-Amz-Target`
/// (`DynamoDB_20120810.GetItem`, `TrentService.Sign`); the REST ones
/// (S3, SES v2) by method and path.
fn operation(method: &Method, uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let service = match service {
            s if s.starts_with("DynamoDB") => "dynamodb",
            "TrentService" => "kms",
            "secretsmanager" => "secretsmanager",
            "AmazonSQS" => "sqs",
            "AWSCognitoIdentityProviderService" => "cognito-idp",
            other => other,
        };
        return format!("{service}:{op}");
    }
    if uri.path().starts_with("/v2/email/") {
        return "ses:SendEmail".into();
    }
    format!("s3:{method}")
}

/// The access key a request is signed with: SigV4's `Credential=` in the
/// Authorization header, or `X-Amz-Credential` of a presigned URL.
fn access_key(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        let credential = auth.split("Credential=").nth(1)?;
        return credential.split('/').next().map(str::to_owned);
    }
    let query = uri.query()?;
    let credential = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("X-Amz-Credential="))?;
    let decoded = percent_encoding::percent_decode_str(credential)
        .decode_utf8()
        .ok()?;
    decoded.split('/').next().map(str::to_owned)
}

/// AWS's refusal, in the shape of the service's protocol.
fn refusal(op: &str, action: &str) -> Response {
    let message = format!("not authorized to perform: {action}");
    if op.starts_with("s3:") {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        );
        return (
            StatusCode::FORBIDDEN,
            [("content-type", "application/xml")],
            xml,
        )
            .into_response();
    }
    if op.starts_with("ses:") {
        let body = serde_json::json!({"message": message}).to_string();
        return (
            StatusCode::FORBIDDEN,
            [
                ("content-type", "application/json"),
                ("x-amzn-errortype", "AccessDeniedException"),
            ],
            body,
        )
            .into_response();
    }
    let body =
        serde_json::json!({"__type": "AccessDeniedException", "message": message}).to_string();
    (
        StatusCode::BAD_REQUEST,
        [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amzn-errortype", "AccessDeniedException"),
        ],
        body,
    )
        .into_response()
}

async fn forward(
    State(up): State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers);
    let caller = access_key(&uri, &headers).and_then(|k| up.roles.by_key.get(&k));
    let mut needs = Vec::new();
    if let Some(caller) = caller {
        let function = &caller.function;
        let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
        needs = crate::iam::accesses(
            method.as_str(),
            uri.path(),
            target,
            &body,
            &up.roles.region,
            &up.roles.account,
        );
        let mut audit = up.audit.lock().expect("audit");
        for need in &needs {
            let decision = up.roles.decide(caller, need);
            if !decision.is_allowed() {
                audit.refused.push(format!(
                    "{function}: {} on {} ({decision:?})",
                    need.action, need.resource
                ));
                return refusal(&op, &need.action);
            }
            audit.granted.push((function.clone(), need.clone()));
        }
    }
    // Presigned downloads (no Authorization header) are the applicant's,
    // not the function's: only the functions' own calls fail.
    let signed_call = headers.contains_key("authorization");
    let fault = caller
        .filter(|_| signed_call)
        .and_then(|_| draw_fault(up.roles.fault_share, &op));
    match fault {
        Some(Fault::Throttle) => {
            up.audit.lock().expect("audit").injected.throttled += 1;
            return fault_response(&op, true);
        }
        Some(Fault::FailBefore) => {
            up.audit.lock().expect("audit").injected.failed_before += 1;
            return fault_response(&op, false);
        }
        _ => {}
    }
    if let Some(latency) = caller.and(up.roles.latencies.get(&op)) {
        tokio::time::sleep(*latency).await;
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = up.http.request(method, format!("{}{path}", up.base));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    {
        let mut tally = up.tally.lock().expect("tally");
        if tally.in_flight == 0 {
            tally.busy_since = Some(Instant::now());
        }
        tally.in_flight += 1;
    }
    let response = match request.body(body).send().await {
        Ok(res) => {
            let status = res.status();
            let mut out = HeaderMap::new();
            for (name, value) in res.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    out.insert(name, value.clone());
                }
            }
            let bytes = res.bytes().await.unwrap_or_default();
            (status, out, bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    };
    // S3 answers a missing key with 403 unless the caller may list the
    // bucket (GetObject's documentation): moto always says 404.
    let response = match (caller, needs.first()) {
        (Some(caller), Some(get))
            if get.action == "s3:GetObject" && response.status() == StatusCode::NOT_FOUND =>
        {
            let function = &caller.function;
            let bucket = get.resource.split('/').next().unwrap_or_default();
            let list = Access {
                action: "s3:ListBucket".into(),
                resource: bucket.into(),
                leading_keys: Vec::new(),
            };
            if up.roles.decide(caller, &list).is_allowed() {
                // The statement that grants it is needed, like any other.
                up.audit
                    .lock()
                    .expect("audit")
                    .granted
                    .push((function.clone(), list));
                response
            } else {
                up.audit.lock().expect("audit").refused.push(format!(
                    "{function}: s3:GetObject of a missing key {} is 403 AccessDenied without s3:ListBucket",
                    get.resource
                ));
                refusal("s3:GET", "s3:GetObject")
            }
        }
        _ => response,
    };
    // The call was applied upstream; its reply is lost.
    let response = if fault == Some(Fault::FailAfter) {
        up.audit.lock().expect("audit").injected.failed_after += 1;
        fault_response(&op, false)
    } else {
        response
    };
    let mut tally = up.tally.lock().expect("tally");
    *tally.calls.entry(op).or_default() += 1;
    // A tally taken while this call was out has started afresh.
    tally.in_flight = tally.in_flight.saturating_sub(1);
    if tally.in_flight == 0
        && let Some(since) = tally.busy_since.take()
    {
        tally.upstream += since.elapsed();
    }
    response
}
