//! A pass-through proxy in front of moto that counts AWS calls by service
//! and operation (`dynamodb:GetItem`, `secretsmanager:GetSecretValue`,
//! `s3:PUT`...) and the time during which at least one call was waiting
//! for moto (calls made at once count once), so a test can say how many
//! calls one issued visa costs and how much of a cold start was the
//! network. Point a process at it with `AWS_ENDPOINT_URL`.

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
}

struct Upstream {
    base: String,
    http: reqwest::Client,
    tally: Arc<Mutex<Tally>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> CountingProxy {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            tally: tally.clone(),
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
        }
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
            other => other,
        };
        return format!("{service}:{op}");
    }
    if uri.path().starts_with("/v2/email/") {
        return "ses:SendEmail".into();
    }
    format!("s3:{method}")
}

async fn forward(
    State(up): State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&method, &uri, &headers);
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
