//! A Lambda Runtime API emulator: one per function process, on a free
//! loopback port. It hands the process events through
//! `GET /2018-06-01/runtime/invocation/next` and takes its answers from
//! `.../response` and `.../error`, exactly as Lambda's own endpoint, so
//! the built bootstrap binaries run here unchanged. It also times the cold
//! start: process spawn to the first `next` (the runtime's init).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path as FsPath;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

type Answer = Result<Value, String>;

struct Invocation {
    request_id: String,
    event: Value,
    answer: oneshot::Sender<Answer>,
}

#[derive(Default)]
struct Timing {
    first_next: Option<Instant>,
    init_error: Option<String>,
}

struct Shared {
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
    timing: Mutex<Timing>,
    function_arn: String,
}

/// A function process under the emulator.
pub struct Function {
    pub name: String,
    invoke: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
    child: Child,
    spawned: Instant,
    next_id: Mutex<u64>,
    /// Invocations answered and the time they took, event sent to answer.
    busy: Mutex<(u32, Duration)>,
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the function reported an error: {0}")]
    Function(String),
    #[error("the function process is gone")]
    Gone,
    #[error("no answer in {0:?}")]
    Timeout(Duration),
}

impl Function {
    /// Starts `binary` as Lambda would, with `env` on top of the runtime's
    /// own variables; stdout/stderr are appended to `log`.
    pub async fn spawn(
        name: &str,
        binary: &FsPath,
        env: &[(String, String)],
        log: &FsPath,
    ) -> Function {
        let (invoke, queue) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(queue),
            waiting: Mutex::new(HashMap::new()),
            timing: Mutex::new(Timing::default()),
            function_arn: format!("arn:aws:lambda:eu-central-1:123456789012:function:{name}"),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next))
            .route(
                &format!("{PREFIX}/invocation/{{id}}/response"),
                post(response),
            )
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("bound");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("emulator serves") });

        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut command = Command::new(binary);
        // Lambda's environment, not this shell's (SSL_CERT_DIR, say, would
        // make the TLS stack read hundreds of files at init).
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
            .env("_HANDLER", "bootstrap")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .kill_on_drop(true);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        Function {
            name: name.to_owned(),
            invoke,
            shared,
            child,
            spawned,
            next_id: Mutex::new(0),
            busy: Mutex::new((0, Duration::ZERO)),
        }
    }

    /// Process start to the runtime's first `next`: the function's init.
    /// Waits for it (at most `limit`).
    pub async fn init_time(&mut self, limit: Duration) -> Result<Duration, String> {
        let deadline = Instant::now() + limit;
        loop {
            {
                let timing = self.shared.timing.lock().expect("timing");
                if let Some(e) = &timing.init_error {
                    return Err(format!("{}: init error: {e}", self.name));
                }
                if let Some(at) = timing.first_next {
                    return Ok(at - self.spawned);
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{}: exited during init: {status}", self.name));
            }
            if Instant::now() > deadline {
                return Err(format!("{}: no init in {limit:?}", self.name));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// One invocation with `event`; its answer.
    /// Invocations so far and their total duration (what Lambda bills).
    pub fn busy(&self) -> (u32, Duration) {
        *self.busy.lock().expect("busy")
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, InvokeError> {
        let request_id = {
            let mut n = self.next_id.lock().expect("ids");
            *n += 1;
            format!("{}-{:08}", self.name, *n)
        };
        let (answer, answered) = oneshot::channel();
        self.invoke
            .send(Invocation {
                request_id,
                event,
                answer,
            })
            .await
            .map_err(|_| InvokeError::Gone)?;
        let limit = Duration::from_secs(60);
        let started = Instant::now();
        let answered = tokio::time::timeout(limit, answered).await;
        {
            let mut busy = self.busy.lock().expect("busy");
            busy.0 += 1;
            busy.1 += started.elapsed();
        }
        match answered {
            Err(_) => Err(InvokeError::Timeout(limit)),
            Ok(Err(_)) => Err(InvokeError::Gone),
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(InvokeError::Function(e)),
        }
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared
        .timing
        .lock()
        .expect("timing")
        .first_next
        .get_or_insert_with(Instant::now);
    let Some(invocation) = shared.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    shared
        .waiting
        .lock()
        .expect("waiting")
        .insert(invocation.request_id.clone(), invocation.answer);
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis()
        + 30_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, value.parse().expect("header value"));
    };
    set("lambda-runtime-aws-request-id", invocation.request_id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        shared.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.event.to_string()).into_response()
}

fn answer(shared: &Shared, id: &str, outcome: Answer) -> StatusCode {
    match shared.waiting.lock().expect("waiting").remove(id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let outcome = serde_json::from_slice(&body).map_err(|e| format!("response is not JSON: {e}"));
    answer(&shared, &id, outcome)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    answer(
        &shared,
        &id,
        Err(String::from_utf8_lossy(&body).into_owned()),
    )
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.timing.lock().expect("timing").init_error =
        Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}
