//! pay-webhook: the payment provider tells us a fee was paid.
//!
//! Deliveries come at least once, in any order, sometimes concurrently,
//! and forged ones will be tried. So: verify the signature over the raw
//! body, check session, amount and currency against the application, then
//! record the event and move the application to `paid` in ONE conditional
//! transaction. A repeated event changes nothing and still gets 200.

pub mod event;
pub mod signature;

use event::{Action, CheckoutSession, Event};
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;
use visa_core::clock::Clock;
use visa_core::group::{Group, GroupStatus};
use visa_core::http::{Request, Response, json, respond, within_body_limit};
use visa_core::money::Money;
use visa_core::payment::PaymentProvider;
use visa_core::problem::Problem;
use visa_core::routes::{self, Function, Op};
use visa_core::store::{Applications, Groups, PaymentEvent, PaymentRecorded, Payments, StoreError};

pub struct Deps {
    pub applications: Arc<dyn Applications>,
    /// Families and groups: a group's checkout names the group.
    pub groups: Arc<dyn Groups>,
    pub payments: Arc<dyn Payments>,
    /// The provider, for refunds of a second payment.
    pub provider: Arc<dyn PaymentProvider>,
    pub clock: Arc<dyn Clock>,
    /// Webhook signing secrets; more than one while rotating.
    pub secrets: Vec<String>,
    /// Called with the application id once it is paid (the local gateway
    /// wakes its issuer; in the cloud the table stream does that).
    pub on_paid: Box<dyn Fn(&str) + Send + Sync>,
}

impl visa_core::http::Handler for Deps {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        handle(self, req)
    }
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let m = match routes::dispatch(Function::PayWebhook, &req) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match m.route.op {
        Op::ReceivePaymentWebhook => respond(receive(deps, &req).await),
        // routes::dispatch hands this function only its own routes.
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}

fn received() -> Response {
    json(StatusCode::OK, &json!({"received": true}))
}

async fn receive(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    within_body_limit(req.body())?;
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    signature::verify(
        header,
        req.body(),
        &deps.secrets,
        deps.clock.now().timestamp(),
    )
    .map_err(|e| {
        tracing::warn!(anomaly = true, error = %e, "webhook refused: bad signature");
        Problem::bad_signature(e.to_string())
    })?;
    // Signed, so from the provider. Not JSON: 400 `malformed-body`. JSON
    // that is no event, or an event whose checkout session lacks what the
    // application is matched on: nothing to match, 422 `payment-mismatch`.
    let event: Event = serde_json::from_slice(req.body()).map_err(|e| {
        if e.is_data() {
            Problem::payment_mismatch(format!("not a payment event: {e}"))
        } else {
            Problem::malformed_body(format!("the body is not valid JSON: {e}"))
        }
    })?;
    let action = event::action(&event).map_err(|e| {
        Problem::payment_mismatch(format!(
            "event {}: unreadable checkout session: {e}",
            event.id
        ))
    })?;
    match action {
        Action::Ignore => {
            tracing::info!(event_id = %event.id, kind = %event.kind, "event ignored");
            Ok(received())
        }
        Action::Disputed {
            application_id,
            payment_intent,
        } => disputed(deps, &event, application_id, payment_intent).await,
        Action::Paid(session) => paid(deps, &event, session).await,
        Action::Expired(session) => expired(deps, &event, session).await,
    }
}

/// A checkout session expired unpaid: recorded (once); the applicant's
/// next confirmation opens a new one.
async fn expired(
    deps: &Deps,
    event: &Event,
    session: CheckoutSession,
) -> Result<Response, Problem> {
    let Some(application_id) = session.client_reference_id.as_deref() else {
        tracing::warn!(anomaly = true, event_id = %event.id, "expired session naming no application");
        return Ok(received());
    };
    let first = deps
        .payments
        .record_event(&event.id, application_id, "expired", deps.clock.now())
        .await?;
    tracing::info!(%application_id, session = %session.id, first, "checkout session expired");
    Ok(received())
}

async fn paid(deps: &Deps, event: &Event, session: CheckoutSession) -> Result<Response, Problem> {
    let mismatch = |why: &str| {
        tracing::warn!(anomaly = true, event_id = %event.id, session = %session.id, why, "payment does not match");
        Problem::payment_mismatch(format!("event {}: {why}", event.id))
    };
    let reference = session
        .client_reference_id
        .as_deref()
        .ok_or_else(|| mismatch("no client_reference_id"))?;
    // The reference is an application's id, or a group's for a checkout
    // paying for several.
    let (fee, payment, group) = match deps.applications.application(reference).await? {
        // A member is paid for only by its group's checkout.
        Some(app) if app.group_id.is_some() => {
            return Err(mismatch("the application is paid for by its group"));
        }
        Some(app) => (app.fee, app.payment, false),
        None => match deps.groups.group(reference).await? {
            Some(group) => (group.total, group.payment, true),
            None => return Err(mismatch("unknown application")),
        },
    };
    // The current session, or one an expired session's replacement
    // replaced (a late payment, honoured or refunded below).
    if !payment.as_ref().is_some_and(|p| p.knows(&session.id)) {
        return Err(mismatch("checkout session is not the application's"));
    }
    check_amount(&session, &fee).map_err(&mismatch)?;
    let record = PaymentEvent {
        event_id: event.id.clone(),
        application_id: reference.to_owned(),
        checkout_session_id: session.id.clone(),
        amount_minor: fee.amount_minor,
        currency: fee.currency.clone(),
        event_type: event.kind.clone(),
        payment_intent: session.payment_intent.clone(),
    };
    let recorded = if group {
        deps.payments
            .record_group_payment(&record, deps.clock.now())
            .await
    } else {
        deps.payments
            .record_payment(&record, deps.clock.now())
            .await
    };
    match recorded {
        Ok(PaymentRecorded::Paid(app)) => {
            tracing::info!(application_id = %app.id, event_id = %event.id, "application paid");
            (deps.on_paid)(&app.id);
            Ok(received())
        }
        Ok(PaymentRecorded::GroupPaid(members)) => {
            tracing::info!(group_id = %reference, members = members.len(), event_id = %event.id, "group paid");
            for app in &members {
                (deps.on_paid)(&app.id);
            }
            Ok(received())
        }
        Ok(PaymentRecorded::DuplicateEvent) => {
            tracing::info!(event_id = %event.id, "duplicate delivery acknowledged");
            Ok(received())
        }
        Ok(PaymentRecorded::AlreadyPaid) => {
            tracing::info!(event_id = %event.id, reference, "already paid by another event");
            Ok(received())
        }
        Ok(PaymentRecorded::PaidByAnotherSession) => refund(deps, event, reference, &record).await,
        Err(StoreError::StatusConflict | StoreError::NotFound) => {
            Err(mismatch("application is not awaiting payment"))
        }
        Err(e) => Err(Problem::from(e)),
    }
}

/// The session's amount and currency (lower case from Stripe) against
/// what is owed: the fee, or a group's total.
fn check_amount(session: &CheckoutSession, owed: &Money) -> Result<(), &'static str> {
    if session.amount_total != Some(owed.amount_minor) {
        return Err("amount differs from the fee");
    }
    let currency = session.currency.as_deref().map(str::to_ascii_uppercase);
    if currency.as_deref() != Some(owed.currency.as_str()) {
        return Err("currency differs from the fee");
    }
    Ok(())
}

async fn disputed(
    deps: &Deps,
    event: &Event,
    application_id: Option<String>,
    payment_intent: Option<String>,
) -> Result<Response, Problem> {
    // Fees are not refundable (seed): a dispute only flags the application.
    let application_id = match (application_id, payment_intent) {
        (Some(id), _) => id,
        (None, Some(pi)) => match deps.payments.application_paid_by(&pi).await? {
            Some(id) => id,
            None => {
                tracing::warn!(anomaly = true, event_id = %event.id, payment_intent = %pi, "dispute for a payment we never recorded");
                return Ok(received());
            }
        },
        (None, None) => {
            tracing::warn!(anomaly = true, event_id = %event.id, "dispute naming no payment");
            return Ok(received());
        }
    };
    // A group's payment disputed: each member it paid for is reviewed.
    if deps
        .applications
        .application(&application_id)
        .await?
        .is_none()
        && let Some(group) = deps.groups.group(&application_id).await?
    {
        return disputed_group(deps, event, &group).await;
    }
    match deps
        .payments
        .flag_for_review(&event.id, &application_id, deps.clock.now())
        .await
    {
        Ok(changed) => {
            tracing::warn!(anomaly = true, %application_id, changed, "payment disputed: flagged for review");
            Ok(received())
        }
        Err(StoreError::NotFound) => {
            tracing::warn!(anomaly = true, %application_id, "dispute for an unknown application");
            Ok(received())
        }
        Err(e) => Err(Problem::from(e)),
    }
}

async fn disputed_group(deps: &Deps, event: &Event, group: &Group) -> Result<Response, Problem> {
    if group.status != GroupStatus::Paid {
        tracing::warn!(anomaly = true, event_id = %event.id, group_id = %group.id, "dispute for an unpaid group");
        return Ok(received());
    }
    for member in &group.members {
        // One record per member, so a redelivery flags none twice.
        let changed = deps
            .payments
            .flag_for_review(&format!("{}#{member}", event.id), member, deps.clock.now())
            .await;
        match changed {
            Ok(changed) => {
                tracing::warn!(anomaly = true, group_id = %group.id, application_id = %member, changed, "group payment disputed: flagged for review");
            }
            Err(StoreError::NotFound) => {
                tracing::warn!(anomaly = true, group_id = %group.id, application_id = %member, "disputed group's member is gone");
            }
            Err(e) => return Err(Problem::from(e)),
        }
    }
    Ok(received())
}

/// A second payment for an application another of its sessions paid (a
/// late payment in an expired session): given back through the provider,
/// then recorded. The refund's idempotency key is the event's, so a
/// redelivery before the record refunds nothing more.
async fn refund(
    deps: &Deps,
    event: &Event,
    application_id: &str,
    record: &PaymentEvent,
) -> Result<Response, Problem> {
    let Some(pi) = record.payment_intent.as_deref() else {
        tracing::error!(anomaly = true, event_id = %event.id, %application_id, "second payment without a payment id: refund by hand");
        return Err(Problem::payment_mismatch(format!(
            "event {}: a second payment names no payment to refund",
            event.id
        )));
    };
    deps.provider
        .refund(pi, &format!("refund-{}", event.id))
        .await
        .map_err(|e| Problem::payment_provider_unavailable(e.to_string()))?;
    deps.payments
        .record_event(&event.id, application_id, "refunded", deps.clock.now())
        .await?;
    tracing::warn!(anomaly = true, %application_id, event_id = %event.id, payment_intent = pi, "second payment refunded");
    Ok(received())
}
