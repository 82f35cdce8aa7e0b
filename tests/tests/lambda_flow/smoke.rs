//! tests/smoke.sh, the post-deploy smoke test, against the emulated stack:
//! the four Lambda binaries behind HTTP stand-ins for the distribution
//! (the site's files, and /api forwarded with the origin secret, as
//! CloudFront does) and for the HTTP API's own execute-api endpoint (SigV4
//! checked on the AWS_IAM routes, as API Gateway's IAM authorisation does),
//! with the table's stream and the email queue fed to render-visa as
//! Lambda's pollers feed them. The script is run unchanged, as an operator
//! runs it after a deploy: officer calls signed by curl, the webhook signed
//! with the stack's secret.

use super::*;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;
use visa_tests::sigv4::{Identity, Verifier};

/// The operator's IAM user, who runs the smoke test with its own keys.
const OFFICER_KEY: &str = "AKIAOFFICERAIGERIM01";
const OFFICER_SECRET: &str = "officer-aigerim-secret-access-key-0123";

/// Which front door a listener stands in for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    /// The distribution: the site from its bucket, /api/* to the HTTP API
    /// with the origin secret added.
    CloudFront,
    /// `https://<id>.execute-api.<region>.amazonaws.com`: the API alone.
    ExecuteApi,
}

struct Front {
    portal: Arc<Portal>,
    verifier: Verifier,
    edge: Edge,
}

fn gateway_refusal(status: u16, message: &str) -> Response {
    answer_response(Answer::gateway(status, message))
}

fn answer_response(answer: Answer) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).expect("a status code");
    if let Some(headers) = answer.headers.as_object() {
        for (name, value) in headers {
            let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(name.as_str()),
                value.as_str().map(HeaderValue::from_str),
            ) else {
                continue;
            };
            response.headers_mut().append(name, value);
        }
    }
    response
}

/// The site bucket behind the distribution: `/` is index.html.
fn site_file(path: &str) -> Response {
    let relative = match path.trim_start_matches('/') {
        "" => "index.html",
        p => p,
    };
    let file = apigw::repo_root().join("site").join(relative);
    let allowed = !relative.split('/').any(|s| s == ".." || s.is_empty());
    let content_type = match relative.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    match std::fs::read(&file) {
        Ok(bytes) if allowed && file.is_file() => Response::builder()
            .header("content-type", content_type)
            .body(Body::from(bytes))
            .unwrap(),
        // S3 behind an origin access control answers a missing key 403.
        _ => gateway_refusal(403, "AccessDenied"),
    }
}

async fn serve(
    State(front): State<Arc<Front>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let method = request.method().as_str().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let path = path_and_query.split('?').next().unwrap_or("/").to_owned();
    let mut headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = axum::body::to_bytes(request.into_body(), 10 << 20)
        .await
        .unwrap_or_default();
    match front.edge {
        Edge::CloudFront if !path.starts_with("/api/") => return site_file(&path),
        Edge::CloudFront => {
            headers.retain(|(k, _)| k != "x-origin-verify");
            headers.push(("x-origin-verify".into(), ORIGIN_SECRET.into()));
            headers.push(("cloudfront-viewer-address".into(), peer.to_string()));
        }
        // Straight to execute-api: no origin secret unless the caller has it.
        Edge::ExecuteApi => {
            if !headers.iter().any(|(k, _)| k == "x-origin-verify") {
                headers.push(("x-origin-verify".into(), String::new()));
            }
        }
    }
    let Some(route) = front.portal.gateway.select(&method, &path) else {
        return gateway_refusal(404, "Not Found");
    };
    let caller = if route.iam {
        match front
            .verifier
            .verify(&method, &path_and_query, &headers, &body, SystemTime::now())
        {
            Ok(arn) => Some(arn),
            Err(refusal) => return gateway_refusal(403, &refusal.to_string()),
        }
    } else {
        None
    };
    let extra: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(k, _)| k != "host" && k != "content-length")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = (!body.is_empty()).then_some(&body[..]);
    let answer = front
        .portal
        .call_raw(
            caller.as_deref(),
            &method,
            &path_and_query,
            None,
            body,
            &extra,
        )
        .await;
    answer_response(answer)
}

/// Starts a listener for `edge` on a free loopback port; its base URL.
async fn start_front(portal: Arc<Portal>, verifier: Verifier, edge: Edge) -> String {
    let front = Arc::new(Front {
        portal,
        verifier,
        edge,
    });
    let app = Router::new().fallback(serve).with_state(front);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    url
}

/// DynamoDB Streams in moto, by its JSON protocol (the SDK has no streams
/// crate in this workspace). Lambda's poller reads the stream with the
/// function's role; the proxy's ARNs for streams are the template's fixed
/// ones, so these calls go to moto directly.
async fn streams(moto: &str, action: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(moto)
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{action}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
            ),
        )
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let status = answer.status();
    let json: Value = answer.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{action}: {status} {json}");
    json
}

/// Lambda's event source mapping for the table's stream: reads from the
/// trim horizon, passes on only the records the template's filters match,
/// hands render-visa batches of 10, and on a reported failure retries from
/// the first failed record (ReportBatchItemFailures), 5 times at most.
struct StreamPoller {
    moto: String,
    arn: String,
    iterators: Vec<String>,
    filters: Vec<Value>,
}

/// The stream mapping's filter patterns, from the template.
fn stream_filters() -> Vec<Value> {
    let template = apigw::read_yaml("infra/template.yaml");
    let filters = &template["Resources"]["RenderVisaStreamMapping"]["Properties"]["FilterCriteria"]
        ["Filters"];
    filters
        .as_sequence()
        .expect("the stream mapping has filters")
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().expect("a pattern")).unwrap())
        .collect()
}

/// Lambda's event filtering as the template uses it: every key of the
/// pattern is in the record; a list holds the values allowed.
fn filter_matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Array(allowed) => allowed.contains(record),
        Value::Object(keys) => keys
            .iter()
            .all(|(k, p)| record.get(k).is_some_and(|r| filter_matches(p, r))),
        _ => false,
    }
}

impl StreamPoller {
    async fn open(moto: &str, ddb: &aws_sdk_dynamodb::Client, table: &str) -> StreamPoller {
        let arn = ddb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .and_then(|t| t.latest_stream_arn)
            .expect("the table has a stream");
        let described = streams(moto, "DescribeStream", json!({"StreamArn": arn})).await;
        let mut iterators = Vec::new();
        for shard in described["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let it = streams(
                moto,
                "GetShardIterator",
                json!({"StreamArn": arn, "ShardId": shard["ShardId"],
                       "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .await;
            iterators.push(it["ShardIterator"].as_str().unwrap().to_owned());
        }
        StreamPoller {
            moto: moto.to_owned(),
            arn,
            iterators,
            filters: stream_filters(),
        }
    }

    /// One pass over every shard.
    async fn pump(&mut self, render: &Function) {
        for iterator in &mut self.iterators {
            let got = streams(
                &self.moto,
                "GetRecords",
                json!({"ShardIterator": iterator, "Limit": 10}),
            )
            .await;
            if let Some(next) = got["NextShardIterator"].as_str() {
                *iterator = next.to_owned();
            }
            let mut records: Vec<Value> = got["Records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|r| self.filters.iter().any(|f| filter_matches(f, r)))
                .map(|mut r| {
                    r["eventSourceARN"] = json!(self.arn);
                    r
                })
                .collect();
            for _ in 0..6 {
                if records.is_empty() {
                    break;
                }
                let failed: Vec<String> = match render.invoke(json!({"Records": records})).await {
                    Ok(answer) => answer["batchItemFailures"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                        .collect(),
                    Err(_) => vec![
                        records[0]["dynamodb"]["SequenceNumber"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    ],
                };
                let Some(first) = records
                    .iter()
                    .position(|r| failed.iter().any(|f| r["dynamodb"]["SequenceNumber"] == *f))
                else {
                    break;
                };
                records.drain(..first);
            }
        }
    }
}

/// What one run of the script printed: each step's verdict, in order.
struct SmokeRun {
    code: Option<i32>,
    verdicts: Vec<(String, bool, String)>,
    output: String,
}

impl SmokeRun {
    fn verdict(&self, step: &str) -> Option<bool> {
        self.verdicts
            .iter()
            .find(|(s, _, _)| s == step)
            .map(|(_, pass, _)| *pass)
    }
}

async fn smoke(base: &str, env: &[(&str, &str)]) -> SmokeRun {
    let script = apigw::repo_root().join("tests/smoke.sh");
    let out = tokio::process::Command::new("bash")
        .arg(script)
        .arg(base)
        .env_remove("VISA_ADMIN_TOKEN")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("WEBHOOK_SECRET_ID")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("running tests/smoke.sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let verdicts = stdout
        .lines()
        .filter_map(|line| {
            let (verdict, rest) = line.split_once(' ')?;
            let (step, why) = rest.split_once(": ").unwrap_or((rest, ""));
            matches!(verdict, "PASS" | "FAIL")
                .then(|| (step.to_owned(), verdict == "PASS", why.to_owned()))
        })
        .collect();
    SmokeRun {
        code: out.status.code(),
        verdicts,
        output: format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)),
    }
}

const STEPS: [&str; 17] = [
    "site",
    "health",
    "register",
    "sign-in",
    "invitation",
    "application",
    "confirmation",
    "payment-webhook",
    "issued",
    "download",
    "verification",
    "jwks",
    "admin-no-credentials",
    "admin-bogus-bearer",
    "admin-bogus-sigv4",
    "admin-applicant-token",
    "sign-out",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn smoke_script_passes_against_the_emulated_stack_through_the_lambda_binaries() {
    let bins = function_binaries();
    let stack = stack().await;
    let logs = tempfile::tempdir().unwrap();
    let mut functions = BTreeMap::new();
    for name in FUNCTIONS {
        let log = logs.path().join(format!("{name}.log"));
        let mut f = Function::spawn(name, &bins.join(name), &env_for(&stack.env, name), &log).await;
        f.init_time(Duration::from_secs(60))
            .await
            .unwrap_or_else(|e| {
                panic!("{e}\n{}", std::fs::read_to_string(&log).unwrap_or_default())
            });
        functions.insert(name, f);
    }
    let portal = Arc::new(Portal {
        functions,
        gateway: apigw::Gateway::from_template(),
        staff: stack.staff.clone(),
    });
    let officers = || {
        Verifier::new(
            REGION,
            [(
                OFFICER_KEY.to_owned(),
                Identity {
                    secret_access_key: OFFICER_SECRET.into(),
                    arn: OFFICER_ARN.into(),
                },
            )],
        )
    };
    let site = start_front(portal.clone(), officers(), Edge::CloudFront).await;
    let api = start_front(portal.clone(), officers(), Edge::ExecuteApi).await;

    // Lambda's two pollers, until the test ends.
    let stop = Arc::new(AtomicBool::new(false));
    let pollers = {
        let (portal, stop) = (portal.clone(), stop.clone());
        let ddb = aws_sdk_dynamodb::Client::new(&stack.cloud.sdk);
        let mut stream = StreamPoller::open(&stack.moto.endpoint(), &ddb, &stack.table).await;
        let poller = sqs_as(&stack.cloud.sdk, &stack.aws.endpoint, "render-visa");
        let queues = EmailQueues {
            url: stack.emails.url.clone(),
            arn: stack.emails.arn.clone(),
            dead_letter_url: stack.emails.dead_letter_url.clone(),
        };
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let render = &portal.functions["render-visa"];
                stream.pump(render).await;
                pump_emails(&poller, &queues, render).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let operator = [
        ("ADMIN_API_URL", api.as_str()),
        ("AWS_ACCESS_KEY_ID", OFFICER_KEY),
        ("AWS_SECRET_ACCESS_KEY", OFFICER_SECRET),
        ("AWS_REGION", REGION),
        ("STRIPE_WEBHOOK_SECRET", stack.webhook_secret.as_str()),
        ("SMOKE_TIMEOUT", "60"),
    ];
    let run = smoke(&site, &operator).await;
    let passed: Vec<&str> = STEPS
        .iter()
        .copied()
        .filter(|s| run.verdict(s) == Some(true))
        .collect();
    assert_eq!(passed, STEPS, "{}", run.output);
    assert_eq!(run.code, Some(0), "{}", run.output);
    // What it reported happened, as far as mail shows it: the smoke
    // applicant was sent the link confirming the address, and (the script
    // follows no link) its visa was held back, not emailed.
    let to_smoke = || async {
        ses_messages(&stack.moto.endpoint())
            .await
            .iter()
            .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
            .filter(|raw| raw.contains("To: smoke+"))
            .collect::<Vec<_>>()
    };
    let mut mails = Vec::new();
    for _ in 0..50 {
        mails = to_smoke().await;
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        mails.len(),
        1,
        "one email to the smoke applicant: {mails:?}"
    );
    assert!(
        !mails[0].contains("application/pdf"),
        "a visa to an unconfirmed address"
    );

    // It can fail: an operator whose signature API Gateway refuses gets no
    // invitation, so nothing after it that needs one passes; the probes of
    // the officer routes still pass (they are refused either way).
    let wrong = operator.map(|(k, v)| {
        if k == "AWS_SECRET_ACCESS_KEY" {
            (k, "not-the-officer-secret-key")
        } else {
            (k, v)
        }
    });
    let refused = smoke(&site, &wrong).await;
    assert_ne!(refused.code, Some(0), "{}", refused.output);
    for step in [
        "invitation",
        "application",
        "confirmation",
        "payment-webhook",
        "issued",
    ] {
        assert_eq!(
            refused.verdict(step),
            Some(false),
            "{step}\n{}",
            refused.output
        );
    }
    for step in [
        "site",
        "register",
        "sign-in",
        "admin-bogus-sigv4",
        "sign-out",
    ] {
        assert_eq!(
            refused.verdict(step),
            Some(true),
            "{step}\n{}",
            refused.output
        );
    }
    stop.store(true, Ordering::Relaxed);
    pollers.await.unwrap();
}
