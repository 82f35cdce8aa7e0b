//! One process for the whole portal: the site, every `/api` route mounted
//! on the same handler functions the Lambdas run, the sandbox checkout,
//! and the expiring download links.

use crate::blobs::FolderBlobs;
use crate::config::Config;
use crate::sandbox::{self, SandboxPayments};
use crate::sqlite::SqliteStore;
use axum::body::Body;
use axum::extract::State;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use std::path::{Component, Path};
use std::sync::Arc;
use visa_core::annex::Annexes;
use visa_core::clock::{Clock, RandomIds, SystemClock};
use visa_core::http::{MAX_BODY_BYTES, problem};
use visa_core::money::Fees;
use visa_core::problem::Problem;
use visa_core::routes::{self, Function};

pub struct Gateway {
    pub config: Config,
    pub store: SqliteStore,
    pub blobs: FolderBlobs,
    pub clock: Arc<dyn Clock>,
    pub register: visa_register::Deps,
    pub confirm: visa_confirm_invitation::Deps,
    pub webhook: visa_pay_webhook::Deps,
    pub render: Arc<visa_render_visa::Deps>,
}

impl Gateway {
    /// Opens the store and builds every function's dependencies; `wake`
    /// receives the ids of applications as they are paid.
    pub fn open(
        config: Config,
        wake: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> std::io::Result<Arc<Gateway>> {
        let store = SqliteStore::open(&config.data_dir.join("visa.sqlite3"))
            .map_err(std::io::Error::other)?;
        let blobs = FolderBlobs::new(
            config.data_dir.join("blobs"),
            config.link_key.clone(),
            config.site_origin.clone(),
        )?;
        let fees = Fees::from_env()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let refunds: Arc<dyn visa_core::payment::PaymentProvider> = Arc::new(SandboxPayments {
            store: store.clone(),
            origin: config.site_origin.clone(),
        });
        let shared = crate::faults::store(store.clone(), config.faults);
        let payments = Arc::new(SandboxPayments {
            store: store.clone(),
            origin: config.site_origin.clone(),
        });
        let outbox: Arc<dyn visa_core::notify::Notifier> = Arc::new(crate::outbox::Outbox {
            dir: crate::outbox::dir_in(&config.data_dir),
            from: "e-visa@vmp.gov.kz".into(),
        });
        let signer = Arc::new(crate::signer::LocalSigner::load_or_create(
            &config.data_dir.join("visa-signing-key.pem"),
        )?);
        // The email queue's handler is render-visa itself (a task per
        // request), so the two point at each other: a weak link back.
        let render = Arc::new_cyclic(|render| visa_render_visa::Deps {
            applications: shared.clone(),
            visas: shared.clone(),
            accounts: shared.clone(),
            sessions: shared.clone(),
            blobs: crate::faults::blobs(blobs.clone(), config.faults),
            signer,
            notifier: outbox,
            emails: Arc::new(crate::mail::LocalMail {
                render: render.clone(),
            }),
            renderer: Arc::new(visa_pdf::Renderer::new()),
            clock: clock.clone(),
            annexes: Annexes::builtin(),
            site_origin: config.site_origin.clone(),
        });
        Ok(Arc::new(Gateway {
            register: visa_register::Deps {
                accounts: shared.clone(),
                applications: shared.clone(),
                sessions: shared.clone(),
                emails: Arc::new(crate::mail::LocalMail {
                    render: Arc::downgrade(&render),
                }),
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
            },
            confirm: visa_confirm_invitation::Deps {
                invitations: shared.clone(),
                applications: shared.clone(),
                sessions: shared.clone(),
                payments,
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
                annexes: Annexes::builtin(),
                fees,
                site_origin: config.site_origin.clone(),
                admin: visa_confirm_invitation::AdminAuth::Token(config.admin_token.clone()),
                checkout_lifetime: checkout_lifetime()?,
            },
            webhook: visa_pay_webhook::Deps {
                applications: shared.clone(),
                payments: shared.clone(),
                provider: refunds,
                clock: clock.clone(),
                secrets: vec![config.webhook_secret.clone()],
                on_paid: Box::new(move |id| {
                    // A closed channel only means shutdown; the sweep at start catches up.
                    let _ = wake.send(id.to_owned());
                }),
            },
            render,
            config,
            store,
            blobs,
            clock,
        }))
    }
}

/// How long a sandbox checkout takes payment: `VISA_CHECKOUT_SECONDS`
/// (tests make it short), else what the cloud uses.
fn checkout_lifetime() -> std::io::Result<chrono::Duration> {
    match std::env::var("VISA_CHECKOUT_SECONDS") {
        Err(_) => Ok(chrono::Duration::minutes(
            visa_confirm_invitation::DEFAULT_CHECKOUT_MINUTES,
        )),
        Ok(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|s| *s > 0)
            .map(chrono::Duration::seconds)
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("VISA_CHECKOUT_SECONDS={raw}: a positive number of seconds"),
                )
            }),
    }
}

type Resp = http::Response<Body>;

fn into_axum(res: http::Response<Bytes>) -> Resp {
    res.map(Body::from)
}

fn problem_response(p: Problem) -> Resp {
    into_axum(problem(&p))
}

/// Every request comes here: `/api` to the functions, the rest to the
/// sandbox, the download links or the site.
pub async fn dispatch(State(gw): State<Arc<Gateway>>, req: http::Request<Body>) -> Resp {
    let mut res = route(&gw, req).await;
    let h = res.headers_mut();
    // Security headers on every response (HSTS is CloudFront's, over TLS).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

async fn route(gw: &Gateway, req: http::Request<Body>) -> Resp {
    let path = req.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return problem_response(Problem::body_too_large("bodies may be at most 64 KiB"));
            }
            Err(e) => {
                return problem_response(Problem::bad_request(format!(
                    "could not read the body: {e}"
                )));
            }
        };
        let mut req = http::Request::from_parts(parts, body);
        if let Some(peer) = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        {
            let client = visa_core::http::ClientAddr(peer.0.ip().to_string());
            req.extensions_mut().insert(client);
        }
        // The split API Gateway makes in the cloud: the route's owner, else
        // the catch-all.
        let res = match routes::owner(req.method(), &path) {
            Function::Register => visa_register::handle(&gw.register, req).await,
            Function::ConfirmInvitation => visa_confirm_invitation::handle(&gw.confirm, req).await,
            Function::PayWebhook => visa_pay_webhook::handle(&gw.webhook, req).await,
            Function::RenderVisa => visa_render_visa::handle(&gw.render, req).await,
        };
        return into_axum(res);
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["sandbox", "sandbox.css"]) => text(
            StatusCode::OK,
            "text/css; charset=utf-8",
            sandbox::STYLE.into(),
        ),
        (&Method::GET, ["sandbox", "checkout", id]) => sandbox_page(gw, id).await,
        (&Method::POST, ["sandbox", "checkout", id, "pay"]) => sandbox_pay(gw, id).await,
        (&Method::GET | &Method::HEAD, ["files", ..]) => download(gw, req.uri().clone()).await,
        (&Method::GET | &Method::HEAD, _) => static_file(&gw.config.site_dir, &path).await,
        _ => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "method not allowed".into(),
        ),
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Resp {
    let mut res = http::Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn not_found_page() -> Resp {
    text(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "404 page not found".into(),
    )
}

async fn sandbox_page(gw: &Gateway, id: &str) -> Resp {
    match gw.store.sandbox_session(id).await {
        Ok(Some(session)) => text(
            StatusCode::OK,
            "text/html; charset=utf-8",
            sandbox::checkout_page(&session),
        ),
        Ok(None) => not_found_page(),
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            e.to_string(),
        ),
    }
}

/// The download links answer errors as the API does (RFC 9457).
fn file_problem(p: Problem) -> Resp {
    problem(&p).map(Body::from)
}

async fn sandbox_pay(gw: &Gateway, id: &str) -> Resp {
    let session = match gw.store.sandbox_session(id).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found_page(),
        Err(e) => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain; charset=utf-8",
                e.to_string(),
            );
        }
    };
    if session.expired(gw.clock.now()) || session.refunded {
        return text(
            StatusCode::GONE,
            "text/plain; charset=utf-8",
            "this checkout session has expired: start a new payment from the portal".into(),
        );
    }
    let now = gw.clock.now().timestamp();
    let event_id = format!("evt_sandbox_{}", &crate::config::random_secret()[..24]);
    let body = serde_json::to_vec(&sandbox::completed_event(&session, &event_id, now))
        .expect("event serialises");
    let signature = visa_pay_webhook::signature::sign(&gw.config.webhook_secret, now, &body);
    // Delivered as Stripe delivers: raw body, signature header, same handler.
    let webhook = http::Request::post("/api/webhooks/payment")
        .header(header::CONTENT_TYPE, "application/json")
        .header("stripe-signature", signature)
        .body(Bytes::from(body))
        .expect("valid request");
    let res = visa_pay_webhook::handle(&gw.webhook, webhook).await;
    if res.status() != StatusCode::OK {
        let detail = String::from_utf8_lossy(res.body()).into_owned();
        return text(
            StatusCode::BAD_GATEWAY,
            "text/plain; charset=utf-8",
            format!("the webhook refused the payment: {detail}"),
        );
    }
    let mut redirect = http::Response::new(Body::empty());
    *redirect.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(location) = HeaderValue::from_str(&session.success_url) {
        redirect.headers_mut().insert(header::LOCATION, location);
    }
    redirect
}

async fn download(gw: &Gateway, uri: http::Uri) -> Resp {
    let key = uri.path().trim_start_matches("/files/").to_owned();
    let query = |name: &str| {
        uri.query()
            .unwrap_or("")
            .split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let expires = query("expires")
        .and_then(|e| e.parse::<i64>().ok())
        .unwrap_or(0);
    let sig = query("sig").unwrap_or_default();
    if !gw.blobs.check_link(&key, expires, &sig, gw.clock.now()) {
        return file_problem(Problem::forbidden("this link is not valid or has expired"));
    }
    use visa_core::store::Blobs;
    match gw.blobs.get(&key).await {
        Ok(Some(bytes)) => {
            let mut res = http::Response::new(Body::from(bytes));
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{}\"",
                key.rsplit('/').next().unwrap_or("visa.pdf")
            )) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Ok(None) => file_problem(Problem::not_found("no such file")),
        Err(e) => file_problem(Problem::unavailable(e.to_string())),
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Files of `site/` at their paths; `/x` serves `x.html`, `/` `index.html`.
async fn static_file(site: &Path, path: &str) -> Resp {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return not_found_page();
    }
    let mut candidates = vec![site.join(relative)];
    if path.ends_with('/') || path.is_empty() {
        candidates = vec![site.join(relative).join("index.html")];
    } else if relative.extension().is_none() {
        candidates.insert(0, site.join(relative).with_extension("html"));
    }
    for file in candidates {
        if let Ok(bytes) = tokio::fs::read(&file).await {
            let mut res = http::Response::new(Body::from(bytes));
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&file)),
            );
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return res;
        }
    }
    not_found_page()
}
