//! One applicant, the whole way: the officer's invitation, account,
//! session, application, confirmation, the provider's payment webhook,
//! waiting for `issued`, the download link and the PDF. Where a retried
//! request may already have been applied (an earlier attempt got a 5xx or
//! lost its connection) the flow recovers as a real client would: a 409
//! on a retry is its own earlier write, read back.

use crate::client::{Answer, Client, GaveUp};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

pub struct Ctx {
    pub client: Client,
    pub admin_token: String,
    pub webhook_secret: String,
    /// Makes numbers and emails unique per run (several runs, one store).
    pub run_id: u32,
    /// Every k-th flow has its payment event delivered twice at once, as
    /// providers do; 0 never.
    pub duplicate_every: usize,
    /// How long a paid application may take to be issued.
    pub issue_deadline: Duration,
    /// The gateway's outbox: applicants follow the emailed link that
    /// confirms their address, as real ones do.
    pub outbox: std::path::PathBuf,
}

/// What the portal acknowledged to this applicant: after a crash and a
/// restart every acknowledged write must still be there.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub index: usize,
    pub invitation_number: String,
    pub passport_number: String,
    pub email: String,
    pub account_id: Option<String>,
    pub application_id: Option<String>,
    pub checkout_session_id: Option<String>,
    pub paid_acknowledged: bool,
    pub visa_number: Option<String>,
    pub pdf_sha256: Option<String>,
    pub done: bool,
}

const PASSWORD: &str = "correct horse battery staple";

fn date_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

impl Ctx {
    pub fn ledger(&self, index: usize) -> Ledger {
        Ledger {
            index,
            invitation_number: format!("9{:04}{:07}", self.run_id % 10_000, index % 10_000_000),
            passport_number: format!("L{:08}", index % 100_000_000),
            email: format!("load-{}-{index}@example.com", self.run_id),
            ..Ledger::default()
        }
    }
}

fn unexpected(step: &str, a: &Answer) -> String {
    format!("{step}: unexpected {}", a.describe())
}

fn gave_up(e: GaveUp) -> String {
    e.0
}

/// The newest confirmation link's token in the outbox for `email`.
fn emailed_token(outbox: &std::path::Path, email: &str) -> Option<String> {
    let to = format!("To: {email}\r\n");
    let mut found: Vec<(String, String)> = std::fs::read_dir(outbox)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("message-"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            text.contains(&to)
                .then(|| (e.file_name().to_string_lossy().into_owned(), text))
        })
        .collect();
    found.sort();
    let (_, text) = found.pop()?;
    let (_, tail) = text.split_once("/confirm-email#")?;
    tail.split_whitespace().next().map(str::to_owned)
}

/// Follows the link confirming the address, if it arrives within a few
/// seconds (a crash or an injected fault may lose the email; the applicant
/// then goes on unconfirmed and its visa stays in the cabinet, which the
/// audit checks either way).
async fn confirm_email(ctx: &Ctx, email: &str) -> Result<(), String> {
    let started = Instant::now();
    let token = loop {
        if let Some(token) = emailed_token(&ctx.outbox, email) {
            break token;
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let a = ctx
        .client
        .json(
            "POST /api/email-verifications/confirmation",
            Method::POST,
            "/api/email-verifications/confirmation",
            None,
            Some(&json!({ "token": token })),
        )
        .await
        .map_err(gave_up)?;
    match (a.status, a.slug().as_str()) {
        (StatusCode::NO_CONTENT, _) => Ok(()),
        // Our own earlier attempt spent it.
        (StatusCode::BAD_REQUEST, "verification-link-invalid") if a.ambiguous => Ok(()),
        _ => Err(unexpected("email confirmation", &a)),
    }
}

/// Runs the flow, filling `ledger` as the portal acknowledges each step.
pub async fn run(ctx: &Ctx, ledger: &mut Ledger) -> Result<(), String> {
    let c = &ctx.client;

    // The officer records the invitation (number chosen, so a retry is a 409).
    let invitation = json!({
        "number": ledger.invitation_number,
        "category": "tourist",
        "inviter": {"name": "Kazakh Tourism JSC", "bin": "123456789012"},
        "invitee": {"surname": "Load", "given_names": "Test Applicant", "nationality": "IND",
                    "date_of_birth": "1990-04-12", "passport_number": ledger.passport_number},
        "valid_from": date_in(10),
        "valid_until": date_in(39),
    });
    let a = c
        .json(
            "POST /api/admin/invitations",
            Method::POST,
            "/api/admin/invitations",
            Some(&ctx.admin_token),
            Some(&invitation),
        )
        .await
        .map_err(gave_up)?;
    match (a.status, a.slug().as_str()) {
        (StatusCode::CREATED, _) => {}
        (StatusCode::CONFLICT, "invitation-exists") if a.ambiguous => {}
        _ => return Err(unexpected("invitation", &a)),
    }

    let creds = json!({"email": ledger.email, "password": PASSWORD});
    let a = c
        .json(
            "POST /api/accounts",
            Method::POST,
            "/api/accounts",
            None,
            Some(&creds),
        )
        .await
        .map_err(gave_up)?;
    match (a.status, a.slug().as_str()) {
        (StatusCode::CREATED, _) => {
            ledger.account_id = a.json()["account_id"].as_str().map(str::to_owned)
        }
        // Our own account from the lost attempt: signing in proves it.
        (StatusCode::CONFLICT, "email-taken") if a.ambiguous => {}
        _ => return Err(unexpected("account", &a)),
    }

    let a = c
        .json(
            "POST /api/sessions",
            Method::POST,
            "/api/sessions",
            None,
            Some(&creds),
        )
        .await
        .map_err(gave_up)?;
    if a.status != StatusCode::CREATED {
        return Err(unexpected("session", &a));
    }
    let token = a.json()["token"]
        .as_str()
        .ok_or("session: no token")?
        .to_owned();
    let token = Some(token.as_str());
    confirm_email(ctx, &ledger.email).await?;

    let body = json!({
        "invitation_number": ledger.invitation_number,
        "passport": {
            "number": ledger.passport_number, "surname": "LOAD", "given_names": "TEST APPLICANT",
            "nationality": "IND", "sex": "F", "date_of_birth": "1990-04-12",
            "issuing_state": "IND", "expiry_date": date_in(3000),
        },
        "declarations": {"two_blank_pages": true, "passport_undamaged": true}
    });
    let a = c
        .json(
            "POST /api/applications",
            Method::POST,
            "/api/applications",
            token,
            Some(&body),
        )
        .await
        .map_err(gave_up)?;
    let app = match (a.status, a.slug().as_str()) {
        (StatusCode::CREATED, _) => a.json(),
        // The lost attempt claimed the invitation: find it in our list.
        (StatusCode::CONFLICT, "invitation-already-used") if a.ambiguous => {
            let list = c
                .json(
                    "GET /api/applications",
                    Method::GET,
                    "/api/applications",
                    token,
                    None,
                )
                .await
                .map_err(gave_up)?;
            if list.status != StatusCode::OK {
                return Err(unexpected("list after a lost create", &list));
            }
            list.json()["items"]
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .find(|i| i["invitation_number"] == ledger.invitation_number.as_str())
                })
                .cloned()
                .ok_or("application: invitation used, but not by us")?
        }
        _ => return Err(unexpected("application", &a)),
    };
    let id = app["id"].as_str().ok_or("application: no id")?.to_owned();
    ledger.application_id = Some(id.clone());

    let a = c
        .json(
            "POST /api/applications/{id}/confirmation",
            Method::POST,
            &format!("/api/applications/{id}/confirmation"),
            token,
            Some(&json!({"details_match_passport": true})),
        )
        .await
        .map_err(gave_up)?;
    if a.status != StatusCode::OK {
        return Err(unexpected("confirmation", &a));
    }
    let app = a.json();
    let session = app["payment"]["checkout_session_id"]
        .as_str()
        .ok_or("confirmation: no checkout session")?
        .to_owned();
    ledger.checkout_session_id = Some(session.clone());

    // The provider's delivery, as the sandbox's Pay button sends it.
    let event = json!({
        "id": format!("evt_load_{}_{}", ctx.run_id, ledger.index),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "created": chrono::Utc::now().timestamp(),
        "livemode": false,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": session,
            "object": "checkout.session",
            "client_reference_id": id,
            "amount_total": app["fee"]["amount_minor"],
            "currency": app["fee"]["currency"].as_str().unwrap_or("").to_ascii_lowercase(),
            "payment_status": "paid",
            "status": "complete",
            "mode": "payment",
        }},
    })
    .to_string();
    let twice = ctx.duplicate_every > 0 && ledger.index.is_multiple_of(ctx.duplicate_every);
    let answers = if twice {
        let (a, b) = tokio::join!(deliver(ctx, &event), deliver(ctx, &event));
        vec![a, b]
    } else {
        vec![deliver(ctx, &event).await]
    };
    for a in answers {
        let a = a.map_err(gave_up)?;
        if a.status != StatusCode::OK {
            return Err(unexpected("webhook", &a));
        }
    }
    ledger.paid_acknowledged = true;

    // The issuer works in the background: poll as the site does.
    let started = Instant::now();
    loop {
        let a = c
            .json(
                "GET /api/applications/{id}",
                Method::GET,
                &format!("/api/applications/{id}"),
                token,
                None,
            )
            .await
            .map_err(gave_up)?;
        if a.status != StatusCode::OK {
            return Err(unexpected("poll", &a));
        }
        match a.json()["status"].as_str() {
            Some("issued") => break,
            Some("paid") => {}
            other => return Err(format!("poll: status {other:?} after payment")),
        }
        if started.elapsed() > ctx.issue_deadline {
            return Err(format!(
                "poll: not issued {} s after payment",
                ctx.issue_deadline.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let a = c
        .json(
            "GET /api/applications/{id}/visa",
            Method::GET,
            &format!("/api/applications/{id}/visa"),
            token,
            None,
        )
        .await
        .map_err(gave_up)?;
    if a.status != StatusCode::OK {
        return Err(unexpected("visa link", &a));
    }
    let link = a.json();
    let number = link["visa_number"].as_str().ok_or("visa: no number")?;
    ledger.visa_number = Some(number.to_owned());
    let url = link["url"].as_str().ok_or("visa: no url")?.to_owned();
    let a = c
        .send("GET /files/{key} (PDF)", |http| http.get(&url))
        .await
        .map_err(gave_up)?;
    if a.status != StatusCode::OK || !a.body.starts_with(b"%PDF-") {
        return Err(format!(
            "download: {} {} ({} bytes)",
            a.status,
            a.content_type,
            a.body.len()
        ));
    }
    ledger.pdf_sha256 = Some(hex::encode(Sha256::digest(&a.body)));
    ledger.done = true;
    Ok(())
}

async fn deliver(ctx: &Ctx, event: &str) -> Result<Answer, GaveUp> {
    let url = format!("{}/api/webhooks/payment", ctx.client.base);
    ctx.client
        .send("POST /api/webhooks/payment", |http| {
            http.post(&url)
                .header("content-type", "application/json")
                .header("stripe-signature", sign(&ctx.webhook_secret, event))
                .body(event.to_owned())
        })
        .await
}

/// Stripe's scheme: `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &str, body: &str) -> String {
    let t = chrono::Utc::now().timestamp();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}
