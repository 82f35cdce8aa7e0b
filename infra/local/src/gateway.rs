//! One process for the whole portal: the site, every `/api` route mounted
//! on the same handler functions the Lambdas run, the sandbox checkout,
//! and the expiring download links.

use crate::blobs::FolderBlobs;
use crate::config::Config;
use crate::sandbox::{self, SandboxPayments};
use crate::sqlite::SqliteStore;
use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path as UrlPath, Query, State};
use axum::routing::{any, get, post};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tower::{ServiceBuilder, service_fn};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use visa_core::annex::Annexes;
use visa_core::clock::{Clock, RandomIds, SystemClock};
use visa_core::http::{Handler, MAX_BODY_BYTES, problem};
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
    /// API Gateway's JWT authorizer on `/api/officer/*`, for local tokens.
    pub staff_tokens: crate::staff::TokenVerifier,
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
        crate::signer::publish_certificates(&config.data_dir, &signer, &blobs)?;
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
            admin: visa_core::auth::AdminAuth::Token(config.admin_token.clone()),
            requests: shared.clone(),
            arrivals: shared.clone(),
            hosts: shared.clone(),
        });
        let staff = Arc::new(crate::staff::LocalStaff::open(
            store.clone(),
            clock.clone(),
            &config.data_dir.join("staff-token-key.pem"),
        )?);
        let staff_tokens = staff.verifier();
        Ok(Arc::new(Gateway {
            staff_tokens,
            register: visa_register::Deps {
                accounts: shared.clone(),
                applications: shared.clone(),
                sessions: shared.clone(),
                emails: Arc::new(crate::mail::LocalMail {
                    render: Arc::downgrade(&render),
                }),
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
                hosts: shared.clone(),
            },
            confirm: visa_confirm_invitation::Deps {
                invitations: shared.clone(),
                applications: shared.clone(),
                sessions: shared.clone(),
                visas: shared.clone(),
                audit: shared.clone(),
                emails: Arc::new(crate::mail::LocalMail {
                    render: Arc::downgrade(&render),
                }),
                payments,
                clock: clock.clone(),
                ids: Arc::new(RandomIds),
                annexes: Annexes::builtin(),
                fees,
                site_origin: config.site_origin.clone(),
                admin: visa_confirm_invitation::AdminAuth::Token(config.admin_token.clone()),
                staff,
                checkout_lifetime: checkout_lifetime()?,
                hosts: shared.clone(),
                requests: shared.clone(),
                arrivals: shared.clone(),
                groups: shared.clone(),
            },
            webhook: visa_pay_webhook::Deps {
                applications: shared.clone(),
                groups: shared.clone(),
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

/// The site's Content Security Policy. CloudFront sends the same one in the
/// cloud (infra/template.yaml's response headers policy; a template test
/// holds the two equal); the pages carry no copy of their own. WebAssembly
/// is allowed for the verify page's barcode reader (site/vendor), and no
/// other script evaluation.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Every route of the local gateway: `/api` to the functions, the sandbox
/// checkout, the download links, and the site's files; the security
/// headers on every response (HSTS is CloudFront's, over TLS).
pub fn router(gw: Arc<Gateway>) -> Router {
    let site = gw.config.site_dir.clone();
    // A page (`/`, `/apply`, `/ru/apply`) arrives with its words in the
    // reader's language (visa_site); every other file is served as it is.
    let files = ServeDir::new(&site)
        .append_index_html_on_directories(false)
        .fallback(service_fn(move |req: http::Request<Body>| {
            let site = site.clone();
            async move { Ok::<_, Infallible>(page(&site, &req)) }
        }));
    // gzip, as CloudFront's site behaviour (`Compress: true`) sends the
    // site to a browser that accepts it.
    let site_files = ServiceBuilder::new()
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .service(files);
    Router::new()
        .route("/api", any(api))
        .route("/api/{*rest}", any(api))
        .route("/sandbox/sandbox.css", get(sandbox_style))
        .route("/sandbox/checkout/{id}", get(sandbox_page))
        .route("/sandbox/checkout/{id}/pay", post(sandbox_pay))
        .route("/files/{*key}", get(download))
        .fallback_service(site_files)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .with_state(gw)
}

fn problem_response(p: Problem) -> Resp {
    problem(&p).map(Body::from)
}

/// The split API Gateway makes in the cloud: the route's owner, else the
/// catch-all. The body is read up to the contract's limit.
async fn api(
    State(gw): State<Arc<Gateway>>,
    parts: http::request::Parts,
    body: Result<Bytes, BytesRejection>,
) -> Resp {
    // API Gateway's JWT authorizer on a staff route comes before anything
    // of the request reaches a function, its body included.
    let mut context = None;
    if let routes::Resolved::Found(m) = routes::resolve(&parts.method, parts.uri.path())
        && m.route.access.is_staff()
    {
        // As API Gateway reads the identity source: a `Bearer ` prefix, if
        // any, is dropped.
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| match v.get(..7) {
                Some(p) if p.eq_ignore_ascii_case("bearer ") => v[7..].trim(),
                _ => v.trim(),
            });
        let Some(claims) = token.and_then(|t| gw.staff_tokens.claims(t)) else {
            return unauthorized();
        };
        context = Some(visa_core::http::GatewayContext {
            route_key: format!("{} {}", parts.method, m.route.path),
            iam_caller: None,
            jwt_claims: Some(claims),
        });
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return problem_response(Problem::body_too_large("bodies may be at most 64 KiB"));
        }
        Err(e) => {
            return problem_response(Problem::bad_request(format!(
                "could not read the body: {}",
                e.body_text()
            )));
        }
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let mut req = http::Request::from_parts(parts, body);
    if let Some(context) = context {
        req.extensions_mut().insert(context);
    }
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(visa_core::http::ClientAddr(peer.ip().to_string()));
    }
    let res = match routes::owner(req.method(), req.uri().path()) {
        Function::Register => gw.register.handle(req).await,
        Function::ConfirmInvitation => gw.confirm.handle(req).await,
        Function::PayWebhook => gw.webhook.handle(req).await,
        Function::RenderVisa => gw.render.handle(req).await,
    };
    res.map(Body::from)
}

/// What API Gateway's JWT authorizer answers without a valid token.
fn unauthorized() -> Resp {
    let mut res = text(
        StatusCode::UNAUTHORIZED,
        "application/json",
        r#"{"message":"Unauthorized"}"#.into(),
    );
    res.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Resp {
    let mut res = http::Response::new(Body::from(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The page a path names, in the language it names or the reader asks
/// for, as CloudFront's viewer-request function maps it in the cloud:
/// `/` is `index`, `/officer/` is `officer`, `/kk/apply` is `apply` in
/// Kazakh.
fn page(site: &Path, req: &http::Request<Body>) -> Resp {
    let path = req.uri().path().trim_matches('/');
    let (explicit, name) = match path.split_once('/').or(Some((path, ""))) {
        Some((lang, rest)) => match visa_site::LANGUAGES.into_iter().find(|l| *l == lang) {
            Some(lang) => (Some(lang), rest),
            None => (None, path),
        },
        _ => (None, path),
    };
    let name = if name.is_empty() { "index" } else { name };
    let well_formed = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !well_formed || !site.join(format!("{name}.html")).is_file() {
        return not_found_page();
    }
    let header = |h: header::HeaderName| req.headers().get(h).and_then(|v| v.to_str().ok());
    let lang = match explicit {
        Some(lang) => lang,
        None => visa_site::negotiate(header(header::COOKIE), header(header::ACCEPT_LANGUAGE)),
    };
    match visa_site::render_page(site, name, lang) {
        Ok(html) => {
            let mut res = text(StatusCode::OK, "text/html; charset=utf-8", html);
            let headers = res.headers_mut();
            headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang));
            headers.insert(
                header::VARY,
                HeaderValue::from_static("Cookie, Accept-Language"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "the page could not be rendered".into(),
            )
        }
    }
}

fn not_found_page() -> Resp {
    text(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "404 page not found".into(),
    )
}

async fn sandbox_style() -> Resp {
    text(
        StatusCode::OK,
        "text/css; charset=utf-8",
        sandbox::STYLE.into(),
    )
}

async fn sandbox_page(State(gw): State<Arc<Gateway>>, UrlPath(id): UrlPath<String>) -> Resp {
    match gw.store.sandbox_session(&id).await {
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

async fn sandbox_pay(State(gw): State<Arc<Gateway>>, UrlPath(id): UrlPath<String>) -> Resp {
    let session = match gw.store.sandbox_session(&id).await {
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
    let res = gw.webhook.handle(webhook).await;
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

/// What a download link carries besides its key.
#[derive(serde::Deserialize)]
struct Link {
    expires: i64,
    sig: String,
}

/// The download links answer errors as the API does (RFC 9457).
async fn download(
    State(gw): State<Arc<Gateway>>,
    UrlPath(key): UrlPath<String>,
    link: Result<Query<Link>, QueryRejection>,
) -> Resp {
    let valid = link.is_ok_and(|Query(link)| {
        gw.blobs
            .check_link(&key, link.expires, &link.sig, gw.clock.now())
    });
    if !valid {
        return problem_response(Problem::forbidden("this link is not valid or has expired"));
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
        Ok(None) => problem_response(Problem::not_found("no such file")),
        Err(e) => problem_response(Problem::unavailable(e.to_string())),
    }
}
