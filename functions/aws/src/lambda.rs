//! What every Lambda main shares: JSON logs carrying the request id, the
//! cold start's set-up, and the bridge between the Lambda events (the
//! `aws_lambda_events` types) and the handlers' plain `http` types.

use crate::origin::OriginGuard;
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use bytes::Bytes;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, service_fn};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use visa_core::http::{ClientAddr, GatewayContext, Handler};

pub use lambda_http::Error;

/// JSON lines on stdout (CloudWatch's JSON log format). lambda_runtime
/// opens a span per invocation carrying `requestId`; the span list puts it
/// on every line logged while handling that request. The level comes from
/// `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else INFO.
fn init_tracing() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter.to_lowercase()))
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .init();
}

/// A cold start's set-up, logged if it failed: the error goes out as a
/// JSON line before the process exits with it (Lambda then reports
/// Runtime.ExitError and retries the cold start).
fn started<T>(setup: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = &setup {
        tracing::error!(error = %e, "cold start failed");
    }
    setup
}

/// What API Gateway's request context says of the route and the caller.
fn gateway_context(req: &lambda_http::Request) -> Option<GatewayContext> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => Some(GatewayContext {
            route_key: context.route_key.clone().unwrap_or_default(),
            iam_caller: context
                .authorizer
                .as_ref()
                .and_then(|a| a.iam.as_ref())
                .and_then(|iam| iam.user_arn.clone()),
            jwt_claims: context
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| {
                    jwt.claims
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                }),
        }),
        // lambda_http is built for HTTP API events only.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The viewer's address: behind CloudFront, API Gateway's source IP is an
/// edge's, so CloudFront's own `CloudFront-Viewer-Address` (ip:port; the
/// origin request policy forwards it, and CloudFront sets it itself) comes
/// first. Only requests that carried the origin secret get this far.
fn client_addr(req: &lambda_http::Request) -> Option<String> {
    if let Some(viewer) = req
        .headers()
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
    {
        // IPv6 addresses hold colons too: the port is after the last one.
        let ip = viewer.rsplit_once(':').map_or(viewer, |(ip, _)| ip);
        return Some(ip.to_owned());
    }
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The request as the handlers take it: method, path and query, headers,
/// the body bytes exactly as received (webhook signatures are over the
/// raw body; lambda_http has already undone API Gateway's base64), and
/// the gateway's context (route key, IAM caller) as an extension.
pub fn into_plain(req: lambda_http::Request) -> http::Request<Bytes> {
    let context = gateway_context(&req);
    let client = client_addr(&req);
    // The raw path: API Gateway's, without the stage lambda_http may add.
    let raw_path = req.raw_http_path();
    let path = if raw_path.is_empty() {
        req.uri().path().to_owned()
    } else {
        raw_path.to_owned()
    };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let (mut parts, body) = req.into_parts();
    // Only what the handlers read travels on: the gateway's context.
    parts.extensions = http::Extensions::new();
    if let Some(context) = context {
        parts.extensions.insert(context);
    }
    if let Some(client) = client {
        parts.extensions.insert(ClientAddr(client));
    }
    parts.uri = path_and_query
        .parse()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    let body = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        // Body is non-exhaustive upstream.
        #[allow(unreachable_patterns)]
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    http::Request::from_parts(parts, body)
}

fn is_text(res: &http::Response<Bytes>) -> bool {
    let content_type = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("xml")
}

/// Text bodies go back as text, anything else (a PDF) as base64 binary.
pub fn from_plain(res: http::Response<Bytes>) -> lambda_http::Response<Body> {
    let text = is_text(&res);
    let (parts, body) = res.into_parts();
    let body = if body.is_empty() {
        Body::Empty
    } else if text {
        match String::from_utf8(body.to_vec()) {
            Ok(s) => Body::Text(s),
            Err(e) => Body::Binary(e.into_bytes()),
        }
    } else {
        Body::Binary(body.to_vec())
    };
    lambda_http::Response::from_parts(parts, body)
}

/// The whole of a function's main when it answers HTTP API (payload v2)
/// requests only: JSON logs, its dependencies built once per cold start
/// (a failure logged, and the process ends with it), then requests until
/// the runtime stops, each admitted by the origin guard first.
pub async fn serve<D: Handler>(deps: impl Future<Output = Result<D, Error>>) -> Result<(), Error> {
    init_tracing();
    let deps = Arc::new(started(deps.await)?);
    let guard = Arc::new(OriginGuard::from_env());
    lambda_http::run(service_fn(move |req: lambda_http::Request| {
        let deps = deps.clone();
        let guard = guard.clone();
        async move {
            let mut req = into_plain(req);
            let res = match guard.admit(&mut req) {
                Ok(()) => deps.handle(req).await,
                Err(refused) => *refused,
            };
            Ok::<_, Error>(from_plain(res))
        }
    }))
    .await
}

/// An HTTP API (payload v2) response, for functions that take more than
/// one kind of event and so cannot hand the answer to lambda_http. HTTP
/// APIs take one value per header: repeated ones are joined with commas,
/// cookies go in their own list.
pub fn v2_response(res: http::Response<Bytes>) -> ApiGatewayV2httpResponse {
    let text = is_text(&res);
    let (parts, body) = res.into_parts();
    let mut headers = http::HeaderMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values = parts.headers.get_all(name).iter();
        if name == http::header::SET_COOKIE {
            cookies.extend(values.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()));
            continue;
        }
        let joined = values
            .map(|v| v.as_bytes())
            .collect::<Vec<_>>()
            .join(&b", "[..]);
        if let Ok(value) = http::HeaderValue::from_bytes(&joined) {
            headers.insert(name.clone(), value);
        }
    }
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = i64::from(parts.status.as_u16());
    answer.headers = headers;
    answer.cookies = cookies;
    let body = match std::str::from_utf8(&body) {
        _ if body.is_empty() => None,
        Ok(s) if text => Some(Body::Text(s.to_owned())),
        _ => Some(Body::Binary(body.to_vec())),
    };
    answer.is_base64_encoded = matches!(body, Some(Body::Binary(_)));
    answer.body = body;
    answer
}

/// A table stream record as the function sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<T> {
    /// Put or updated: its `NewImage`.
    Written(T),
    /// Deleted (by TTL when its retention ended, or by a transaction): its
    /// `OldImage` (the stream's view type is NEW_AND_OLD_IMAGES).
    Erased(T),
}

/// An event this function may be sent: a batch of records, or an HTTP
/// API request (which lambda_http reads).
#[derive(Deserialize)]
#[serde(untagged)]
enum Incoming {
    Batch {
        #[serde(rename = "Records")]
        records: Vec<Value>,
    },
    Http(Value),
}

/// One record of a batch, by the service that sent it.
#[derive(Deserialize)]
#[serde(tag = "eventSource")]
enum Record {
    #[serde(rename = "aws:dynamodb")]
    Stream(Box<EventRecord>),
    #[serde(rename = "aws:sqs")]
    Queue(QueueMessage),
}

/// The part of an SQS message a queue handler reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueueMessage {
    message_id: String,
    body: String,
}

fn decode_change<T: DeserializeOwned>(record: EventRecord) -> Result<Change<T>, String> {
    let erased = record.event_name == "REMOVE";
    let image = if erased {
        record.change.old_image
    } else {
        record.change.new_image
    };
    let item = serde_dynamo::from_item::<_, T>(image).map_err(|e| e.to_string())?;
    Ok(if erased {
        Change::Erased(item)
    } else {
        Change::Written(item)
    })
}

/// One event of a function that serves HTTP API requests, DynamoDB
/// Streams batches and SQS batches (render-visa: issue on the stream, email
/// from the queue). A stream record is decoded from its image into `T`
/// and handed to `stream` as a `Change`; a queue message's JSON body is decoded into `M`
/// and handed to `queue`; one by one. The answer names the records that
/// failed (`batchItemFailures`: a stream record by sequence number, so
/// Lambda retries from the first failure; a message by id, so SQS
/// redelivers only it). A record whose image or body does not decode fails
/// too: retried, then sent to the stream mapping's on-failure destination
/// or the queue's dead-letter queue. A record no service would send fails
/// the whole event.
pub async fn dispatch<T, M, H, HF, S, SF, Q, QF>(
    event: Value,
    guard: &OriginGuard,
    http: &H,
    stream: &S,
    queue: &Q,
) -> Result<Value, Error>
where
    T: DeserializeOwned,
    M: DeserializeOwned,
    H: Fn(http::Request<Bytes>) -> HF,
    HF: Future<Output = http::Response<Bytes>>,
    S: Fn(Change<T>) -> SF,
    SF: Future<Output = Result<(), String>>,
    Q: Fn(M) -> QF,
    QF: Future<Output = Result<(), String>>,
{
    let records = match serde_json::from_value::<Incoming>(event)? {
        Incoming::Batch { records } => records,
        Incoming::Http(event) => {
            let request = lambda_http::request::from_str(&event.to_string())?;
            let mut req = into_plain(request);
            let res = match guard.admit(&mut req) {
                Ok(()) => http(req).await,
                Err(refused) => *refused,
            };
            return Ok(serde_json::to_value(v2_response(res))?);
        }
    };
    let mut failures = Vec::new();
    for record in records {
        let (id, outcome) = match serde_json::from_value::<Record>(record)? {
            Record::Queue(message) => {
                let outcome = match serde_json::from_str::<M>(&message.body) {
                    Ok(message) => queue(message).await,
                    Err(e) => Err(format!("undecodable queue message: {e}")),
                };
                (message.message_id, outcome)
            }
            Record::Stream(record) => {
                let id = record.change.sequence_number.clone().unwrap_or_default();
                let outcome = match decode_change::<T>(*record) {
                    Ok(change) => stream(change).await,
                    Err(e) => Err(format!("undecodable stream record: {e}")),
                };
                (id, outcome)
            }
        };
        if let Err(e) = outcome {
            tracing::error!(record = %id, error = %e, "record failed");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(id);
            failures.push(failure);
        }
    }
    // SQS's partial batch answer has the same shape.
    let mut answer = DynamoDbEventResponse::default();
    answer.batch_item_failures = failures;
    Ok(serde_json::to_value(answer)?)
}

/// The whole of a function's main when it also takes DynamoDB Streams and
/// SQS batches (see `dispatch`): `stream` and `queue` get the dependencies
/// with each record.
pub async fn serve_with_records<D, T, M, S, SF, Q, QF>(
    deps: impl Future<Output = Result<D, Error>>,
    stream: S,
    queue: Q,
) -> Result<(), Error>
where
    D: Handler,
    T: DeserializeOwned + Send + 'static,
    M: DeserializeOwned + Send + 'static,
    S: Fn(Arc<D>, Change<T>) -> SF + Send + Sync + 'static,
    SF: Future<Output = Result<(), String>> + Send + 'static,
    Q: Fn(Arc<D>, M) -> QF + Send + Sync + 'static,
    QF: Future<Output = Result<(), String>> + Send + 'static,
{
    init_tracing();
    let deps = Arc::new(started(deps.await)?);
    let shared = Arc::new((OriginGuard::from_env(), deps, stream, queue));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let shared = shared.clone();
            async move {
                let (guard, deps, stream, queue) = &*shared;
                dispatch(
                    event.payload,
                    guard,
                    &|req| {
                        let deps = deps.clone();
                        async move { deps.handle(req).await }
                    },
                    &|change| stream(deps.clone(), change),
                    &|message| queue(deps.clone(), message),
                )
                .await
            }
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::json;

    fn event(body: &str, base64: bool) -> lambda_http::Request {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/api/webhooks/payment",
            "rawQueryString": "a=1&b=%20x",
            "headers": {"content-type": "application/json", "stripe-signature": "t=1,v1=ab", "host": "api.example"},
            "requestContext": {
                "accountId": "123456789012", "apiId": "api", "domainName": "api.example", "domainPrefix": "api",
                "http": {"method": "POST", "path": "/api/webhooks/payment", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "Stripe/1.0"},
                "requestId": "req-1", "routeKey": "$default", "stage": "$default",
                "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390u64
            },
            "body": body,
            "isBase64Encoded": base64
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn requests_keep_method_path_query_headers_and_raw_body() {
        // Whitespace and key order matter to a signature: bytes must survive.
        let raw = "{\"id\": \"evt_1\",  \"b\":1}";
        let plain = into_plain(event(raw, false));
        assert_eq!(plain.method(), http::Method::POST);
        assert_eq!(plain.uri().to_string(), "/api/webhooks/payment?a=1&b=%20x");
        assert_eq!(plain.headers()["stripe-signature"], "t=1,v1=ab");
        assert_eq!(plain.body().as_ref(), raw.as_bytes());

        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode([0u8, 159, 146, 150]);
        let plain = into_plain(event(&encoded, true));
        assert_eq!(plain.body().as_ref(), [0u8, 159, 146, 150]);
    }

    #[test]
    fn responses_are_text_for_json_and_binary_for_pdf() {
        let json = http::Response::builder()
            .status(201)
            .header("content-type", "application/problem+json")
            .body(Bytes::from_static(b"{\"a\":1}"))
            .unwrap();
        let res = from_plain(json);
        assert_eq!(res.status(), 201);
        assert!(matches!(res.body(), Body::Text(t) if t == "{\"a\":1}"));
        let pdf = http::Response::builder()
            .header("content-type", "application/pdf")
            .body(Bytes::from_static(b"%PDF\xff"))
            .unwrap();
        assert!(matches!(from_plain(pdf).body(), Body::Binary(b) if b == b"%PDF\xff"));
        let empty = http::Response::builder()
            .status(204)
            .body(Bytes::new())
            .unwrap();
        assert!(matches!(from_plain(empty).body(), Body::Empty));
    }

    #[derive(serde::Deserialize)]
    struct Paid {
        id: String,
        status: String,
    }

    fn stream_record(sequence: &str, image: Value) -> Value {
        json!({
            "eventID": format!("e{sequence}"), "eventName": "MODIFY", "eventSource": "aws:dynamodb",
            "awsRegion": "eu-central-1",
            "dynamodb": {"Keys": {"pk": {"S": "APP#x"}, "sk": {"S": "APP"}}, "NewImage": image,
                         "SequenceNumber": sequence, "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })
    }

    /// A TTL deletion: the service's identity, the old image only.
    fn removal_record(sequence: &str, image: Value) -> Value {
        json!({
            "eventID": format!("e{sequence}"), "eventName": "REMOVE", "eventSource": "aws:dynamodb",
            "awsRegion": "eu-central-1",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"Keys": {"pk": {"S": "APP#x"}, "sk": {"S": "APP"}}, "OldImage": image,
                         "SequenceNumber": sequence, "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        })
    }

    #[tokio::test]
    async fn stream_batches_report_the_records_that_failed() {
        let batch = json!({"Records": [
            stream_record("100", json!({"id": {"S": "app-1"}, "status": {"S": "paid"}})),
            stream_record("200", json!({"id": {"S": "app-bad"}, "status": {"S": "paid"}})),
            stream_record("300", json!({"status": {"S": "paid"}})),
            stream_record("400", json!({"id": {"S": "app-4"}, "status": {"S": "paid"}, "extra": {"N": "1"}})),
            removal_record("500", json!({"id": {"S": "app-5"}, "status": {"S": "issued"}})),
        ]});
        let seen = std::sync::Mutex::new(Vec::new());
        let no_queue = |_: Value| async { Err("not a queue batch".to_owned()) };
        let http = |_: http::Request<Bytes>| async {
            http::Response::new(Bytes::from_static(b"not a stream"))
        };
        let stream = |change: Change<Paid>| {
            let p = match change {
                Change::Written(p) => p,
                Change::Erased(p) => Paid {
                    status: format!("erased {}", p.status),
                    ..p
                },
            };
            seen.lock().unwrap().push(format!("{}:{}", p.id, p.status));
            async move {
                if p.id == "app-bad" {
                    Err("render failed".to_owned())
                } else {
                    Ok(())
                }
            }
        };
        let answer = dispatch(batch, &OriginGuard::default(), &http, &stream, &no_queue)
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "200"}, {"itemIdentifier": "300"}]})
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "app-1:paid",
                "app-bad:paid",
                "app-4:paid",
                "app-5:erased issued"
            ]
        );

        let none = dispatch(
            json!({"Records": []}),
            &OriginGuard::default(),
            &http,
            &stream,
            &no_queue,
        )
        .await
        .unwrap();
        assert_eq!(none, json!({"batchItemFailures": []}));
    }

    #[tokio::test]
    async fn queue_batches_report_the_messages_that_failed() {
        let message = |id: &str, body: &str| {
            json!({"messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
                   "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                   "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:emails", "awsRegion": "eu-central-1"})
        };
        let batch = json!({"Records": [
            message("m1", r#"{"kind": "visa", "application_id": "app-1"}"#),
            message("m2", r#"{"kind": "visa", "application_id": "app-bad"}"#),
            message("m3", "not json"),
            message("m4", r#"{"kind": "visa", "application_id": "app-4"}"#),
        ]});
        let seen = std::sync::Mutex::new(Vec::new());
        let http = |_: http::Request<Bytes>| async { http::Response::new(Bytes::new()) };
        let stream = |_: Change<Paid>| async { Err("not a stream batch".to_owned()) };
        let queue = |m: visa_core::notify::EmailRequest| {
            let visa_core::notify::EmailRequest::Visa { application_id } = m else {
                panic!("only visa requests here")
            };
            seen.lock().unwrap().push(application_id.clone());
            async move {
                if application_id == "app-bad" {
                    Err("SES refused".to_owned())
                } else {
                    Ok(())
                }
            }
        };
        let answer = dispatch(batch, &OriginGuard::default(), &http, &stream, &queue)
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]})
        );
        assert_eq!(*seen.lock().unwrap(), ["app-1", "app-bad", "app-4"]);
    }

    #[tokio::test]
    async fn http_events_get_http_api_responses() {
        let event: Value = serde_json::from_str(
            &serde_json::to_string(&json!({
                "version": "2.0", "routeKey": "$default", "rawPath": "/api/applications/a1/visa", "rawQueryString": "",
                "headers": {"authorization": "Bearer t"},
                "requestContext": {"accountId": "1", "apiId": "api", "domainName": "api.example", "domainPrefix": "api",
                    "http": {"method": "GET", "path": "/api/applications/a1/visa", "protocol": "HTTP/1.1",
                             "sourceIp": "192.0.2.1", "userAgent": "t"},
                    "requestId": "r", "routeKey": "$default", "stage": "$default",
                    "time": "12/Mar/2020:19:03:58 +0000", "timeEpoch": 1583348638390u64},
                "isBase64Encoded": false
            }))
            .unwrap(),
        )
        .unwrap();
        let http = |req: http::Request<Bytes>| async move {
            assert_eq!(req.uri().path(), "/api/applications/a1/visa");
            assert_eq!(req.headers()["authorization"], "Bearer t");
            http::Response::builder()
                .status(200)
                .header("content-type", "application/pdf")
                .header("set-cookie", "a=1")
                .header("vary", "a")
                .header("vary", "b")
                .body(Bytes::from_static(b"%PDF\xff"))
                .unwrap()
        };
        let stream = |_: Change<Paid>| async { Ok(()) };
        let no_queue = |_: Value| async { Ok(()) };
        let answer = dispatch(event, &OriginGuard::default(), &http, &stream, &no_queue)
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], 200);
        assert_eq!(answer["isBase64Encoded"], true);
        assert_eq!(
            answer["body"],
            base64::engine::general_purpose::STANDARD.encode(b"%PDF\xff")
        );
        assert_eq!(answer["headers"]["vary"], "a, b");
        assert_eq!(answer["cookies"], json!(["a=1"]));
        let json_answer = serde_json::to_value(v2_response(
            http::Response::builder()
                .status(404)
                .header("content-type", "application/problem+json")
                .body(Bytes::from("{}"))
                .unwrap(),
        ))
        .unwrap();
        assert_eq!(
            (
                json_answer["body"].as_str(),
                json_answer["isBase64Encoded"].as_bool()
            ),
            (Some("{}"), Some(false))
        );
    }
}
