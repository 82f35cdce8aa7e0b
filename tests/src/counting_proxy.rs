//! A pass-through proxy in front of moto that counts DynamoDB calls by
//! operation (the `X-Amz-Target` header), so a test can say how many
//! calls one issued visa costs. Point a process at it with
//! `AWS_ENDPOINT_URL_DYNAMODB`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct CountingProxy {
    pub endpoint: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct Upstream {
    base: String,
    http: reqwest::Client,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CountingProxy {
    pub async fn start(upstream: &str) -> CountingProxy {
        let counts = Arc::new(Mutex::new(BTreeMap::new()));
        let state = Arc::new(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            counts: counts.clone(),
        });
        let app = Router::new().fallback(forward).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("bound");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("proxy serves") });
        CountingProxy {
            endpoint: format!("http://{addr}"),
            counts,
        }
    }

    /// Calls per operation since the last `take`, which starts a new count.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().expect("counts"))
    }
}

async fn forward(
    State(up): State<Arc<Upstream>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let operation = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
        .unwrap_or_else(|| format!("{method} {}", uri.path()));
    *up.counts
        .lock()
        .expect("counts")
        .entry(operation)
        .or_default() += 1;
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = up.http.request(method, format!("{}{path}", up.base));
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
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
    }
}
