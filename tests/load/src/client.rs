//! The applicants' HTTP client: every attempt timed per route, every
//! problem counted by slug, 5xx and dropped connections retried (with a
//! check that every 5xx is RFC 9457 problem+json), as a careful client
//! of a service that may be briefly unavailable would.

use hdrhistogram::Histogram;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a request keeps being retried (a restart after kill -9 fits).
const RETRY_BUDGET: Duration = Duration::from_secs(90);

pub struct RouteStats {
    pub latency_us: Histogram<u64>,
    pub errors: u64,
}

#[derive(Default)]
pub struct Stats {
    pub routes: BTreeMap<&'static str, RouteStats>,
    /// Non-2xx answers and transport failures, by problem slug.
    pub slugs: BTreeMap<String, u64>,
    /// 5xx answers whose body is not problem+json: must stay empty.
    pub bad_5xx: Vec<String>,
    pub retries: u64,
}

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub stats: Mutex<Stats>,
}

pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Vec<u8>,
    /// An earlier attempt failed in a way that may have applied it (5xx
    /// or a lost connection): a 409 now may be our own earlier write.
    pub ambiguous: bool,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn slug(&self) -> String {
        problem_slug(&self.json())
    }

    /// "409 invitation-already-used: detail", for error reports.
    pub fn describe(&self) -> String {
        let v = self.json();
        format!(
            "{} {}: {}",
            self.status.as_u16(),
            problem_slug(&v),
            v["detail"].as_str().unwrap_or("")
        )
    }
}

fn problem_slug(v: &Value) -> String {
    v["type"]
        .as_str()
        .and_then(|t| t.strip_prefix("/problems/"))
        .unwrap_or("(no problem body)")
        .to_owned()
}

#[derive(Debug)]
pub struct GaveUp(pub String);

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            stats: Mutex::new(Stats::default()),
        }
    }

    fn record(&self, route: &'static str, took: Duration, outcome: Result<&Answer, &str>) {
        let mut stats = self.stats.lock().expect("stats lock");
        let entry = stats.routes.entry(route).or_insert_with(|| RouteStats {
            latency_us: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            errors: 0,
        });
        match outcome {
            Ok(answer) => {
                entry
                    .latency_us
                    .saturating_record(took.as_micros().max(1) as u64);
                if !answer.status.is_success() && !answer.status.is_redirection() {
                    entry.errors += 1;
                    let slug = answer.slug();
                    *stats.slugs.entry(slug).or_default() += 1;
                    if answer.status.is_server_error()
                        && answer.content_type != "application/problem+json"
                    {
                        stats.bad_5xx.push(format!(
                            "{route}: {} with content type {:?}",
                            answer.status, answer.content_type
                        ));
                    }
                }
            }
            Err(kind) => {
                entry.errors += 1;
                *stats
                    .slugs
                    .entry(format!("(transport: {kind})"))
                    .or_default() += 1;
            }
        }
    }

    /// Sends until the answer is not a 5xx and the connection held, or
    /// the retry budget is spent. `route` names the route for the stats;
    /// `build` makes each attempt afresh (a webhook is re-signed each time,
    /// as the provider re-signs each delivery).
    pub async fn send(
        &self,
        route: &'static str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answer, GaveUp> {
        let started = Instant::now();
        let mut ambiguous = false;
        let mut backoff = Duration::from_millis(10);
        loop {
            let t0 = Instant::now();
            let result = async {
                let res = build(&self.http).send().await?;
                let status = res.status();
                let content_type = res
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let body = res.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>(Answer {
                    status,
                    content_type,
                    body,
                    ambiguous,
                })
            }
            .await;
            let took = t0.elapsed();
            let why = match result {
                Ok(answer) => {
                    self.record(route, took, Ok(&answer));
                    if !answer.status.is_server_error() {
                        return Ok(answer);
                    }
                    answer.describe()
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timeout"
                    } else if e.is_connect() {
                        "connect"
                    } else {
                        "connection lost"
                    };
                    self.record(route, took, Err(kind));
                    format!("{kind}: {e}")
                }
            };
            ambiguous = true;
            if started.elapsed() > RETRY_BUDGET {
                return Err(GaveUp(format!("{route}: gave up after retries: {why}")));
            }
            self.stats.lock().expect("stats lock").retries += 1;
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_millis(500));
        }
    }

    pub async fn json(
        &self,
        route: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, GaveUp> {
        let url = format!("{}{path}", self.base);
        self.send(route, |http| {
            let mut req = http.request(method.clone(), &url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            req
        })
        .await
    }
}
