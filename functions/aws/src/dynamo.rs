//! Every store port on ONE DynamoDB table (docs/DESIGN.md, "Data").
//!
//! Each item is its domain record's attributes (serde_dynamo) beside `pk`
//! and `sk`, so the application item has the top-level `status` the
//! table stream's filter keys on, and a stream image reads back as an
//! `Application`. Every state change is a ConditionExpression or one
//! TransactWriteItems; a failed condition becomes the same `StoreError`
//! the embedded store gives.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_attribute_value, to_item};
use std::collections::HashMap;
use std::time::Duration;
use visa_core::Status;
use visa_core::account::{
    Account, EmailVerification, PasswordReset, SIGN_IN_WINDOW_MINUTES, Session,
};
use visa_core::application::{Application, EventFor, Payment, Visa};
use visa_core::audit::AuditEvent;
use visa_core::invitation::{Invitation, InvitationStatus};
use visa_core::retention::{PAYMENT_EVENT_DAYS, PAYMENT_INTENT_DAYS, Retention};
use visa_core::store::{
    Accounts, Applications, AuditTrail, Invitations, PaymentEvent, PaymentRecorded, Payments,
    Sessions, StoreError, VisaRecord, Visas,
};

// One module per port; the shared helpers stay here.
mod accounts;
mod applications;
mod arrivals;
mod audit;
mod groups;
mod hosts;
mod invitation_requests;
mod invitations;
mod payments;
mod sessions;
mod visas;

type Item = HashMap<String, AttributeValue>;

/// The index of an account's applications: `ACCOUNT#<id>` / `APP#<created>#<id>`.
pub const GSI1: &str = "GSI1";
/// Applications by passport number and by surname (`visa_core::search`):
/// keys set once, when the application is created.
pub const GSI_PASSPORT: &str = "GSI2";
pub const GSI_SURNAME: &str = "GSI3";
/// The disputed payments officers decide: a sparse index, its keys set by
/// the dispute and removed by the decision. Invitations are in it too, by
/// their inviting party's BIN (`INVITER#...` partitions).
pub const GSI_REVIEW: &str = "GSI4";
pub const GSI_INVITER: &str = GSI_REVIEW;
/// Applications by status, newest first: `gsi5pk` moves with each status
/// change (`STATUS#paid`), `gsi5sk` is the creation order.
pub const GSI_STATUS: &str = "GSI5";

/// The status index's partition of `status`.
fn status_key(status: Status) -> String {
    format!("STATUS#{}", status.as_str())
}
const REVIEW_QUEUE: &str = "REVIEW";
/// Attempts for a transaction DynamoDB cancelled only because another
/// transaction held one of its items (`TransactionConflict`).
const TRANSACTION_ATTEMPTS: u32 = 8;
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Written as each item's `ttl`: DynamoDB erases it past that.
    retention: Retention,
}

fn epoch(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp())
}

fn unavailable(e: impl std::error::Error) -> StoreError {
    StoreError::Unavailable(DisplayErrorContext(e).to_string())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn attribute<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    to_attribute_value(value).map_err(corrupt)
}

/// The record's attributes under its key.
fn record_item<T: Serialize>(pk: String, sk: &str, record: &T) -> Result<Item, StoreError> {
    let mut item: Item = to_item(record).map_err(corrupt)?;
    item.extend(key(pk, sk));
    Ok(item)
}

fn record<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    from_item(item).map_err(corrupt)
}

fn number(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().map_err(corrupt),
        _ => Err(StoreError::Corrupt(format!("{name} is not a number"))),
    }
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Corrupt(format!("{name} is not a string"))),
    }
}

/// Every attribute an expression names goes through a placeholder:
/// DynamoDB reserves hundreds of words (`status`, `ttl`, ...).
const NAMES: [(&str, &str); 20] = [
    ("#used", "used_at"),
    ("#verified", "email_verified_at"),
    ("#ttl", "ttl"),
    ("#hash", "password_hash"),
    ("#emailed", "emailed_at"),
    ("#status", "status"),
    ("#payment", "payment"),
    ("#updated", "updated_at"),
    ("#confirmed", "details_confirmed_at"),
    ("#visa", "visa"),
    ("#review", "under_review"),
    ("#failures", "failures"),
    ("#window", "window_start"),
    ("#pk", "pk"),
    ("#revision", "revision"),
    ("#history", "history"),
    ("#notice", "notice"),
    ("#reminded", "reminded_at"),
    ("#group", "group_id"),
    ("#revoked", "invitation_revoked_at"),
];

/// The placeholders `expressions` use (DynamoDB refuses unused ones).
fn names(expressions: &[&str]) -> Option<HashMap<String, String>> {
    let used: HashMap<String, String> = NAMES
        .iter()
        .filter(|(alias, _)| expressions.iter().any(|e| e.contains(alias)))
        .map(|(alias, name)| ((*alias).to_owned(), (*name).to_owned()))
        .collect();
    (!used.is_empty()).then_some(used)
}

fn failed(codes: &[String], index: usize) -> bool {
    codes.get(index).is_some_and(|c| c == CONDITION_FAILED)
}

fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

fn account_pk(id: &str) -> String {
    format!("ACCOUNT#{id}")
}
fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}
fn session_pk(token_hash: &str) -> String {
    format!("SESSION#{token_hash}")
}
fn reset_pk(token_hash: &str) -> String {
    format!("RESET#{token_hash}")
}
fn verification_pk(token_hash: &str) -> String {
    format!("VERIFY#{token_hash}")
}
/// Sessions sit in their account's GSI1 partition beside its applications
/// (`APP#...`), so a password reset can find and end them all.
const SESSION_GSI1SK: &str = "SESSION#";
const APP_GSI1SK: &str = "APP#";
fn throttle_pk(email: &str) -> String {
    format!("THROTTLE#{email}")
}
fn invitation_pk(number: &str) -> String {
    format!("INVITATION#{number}")
}
fn app_pk(id: &str) -> String {
    format!("APP#{id}")
}
fn event_pk(event_id: &str) -> String {
    format!("PAYEVT#{event_id}")
}
fn payment_intent_pk(payment_intent: &str) -> String {
    format!("PI#{payment_intent}")
}
fn group_pk(id: &str) -> String {
    format!("GROUP#{id}")
}
fn visa_pk(number: &str) -> String {
    format!("VISA#{number}")
}

/// Sorts an account's applications by creation time (RFC 3339 in UTC with
/// a fixed number of digits sorts as text), ties broken by id as SQLite does.
/// The search indexes' sort key of an invitation (applications sort by
/// `gsi1sk`, under `APP#`, in the same partitions).
fn invitation_search_sk(inv: &Invitation) -> String {
    format!(
        "INVITATION#{}#{}",
        inv.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        inv.number
    )
}

/// The index and its key attribute names for a search key.
fn search_index(kind: visa_core::search::SearchKind) -> (&'static str, &'static str, &'static str) {
    use visa_core::search::SearchKind;
    match kind {
        SearchKind::PassportNumber => (GSI_PASSPORT, "gsi2pk", "gsi2sk"),
        SearchKind::Surname => (GSI_SURNAME, "gsi3pk", "gsi3sk"),
        SearchKind::InviterBin => (GSI_INVITER, "gsi4pk", "gsi4sk"),
    }
}

/// One partition of an officers' index, in sort-key order: at most
/// `limit` items (one page), only those whose sort key starts with `kind`
/// (`APP#`, `INVITATION#`) when given.
struct IndexPage<'a> {
    index: &'static str,
    pk: &'static str,
    sk: &'static str,
    key: String,
    kind: Option<&'a str>,
    newest_first: bool,
    limit: usize,
}

impl DynamoStore {
    async fn index_page(&self, page: IndexPage<'_>) -> Result<Vec<Item>, StoreError> {
        let (pk, sk) = (page.pk, page.sk);
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(page.index)
            .expression_attribute_values(":k", s(page.key))
            .scan_index_forward(!page.newest_first)
            .limit(i32::try_from(page.limit).unwrap_or(i32::MAX));
        query = match page.kind {
            Some(kind) => query
                .key_condition_expression(format!("{pk} = :k AND begins_with({sk}, :kind)"))
                .expression_attribute_values(":kind", s(kind)),
            None => query.key_condition_expression(format!("{pk} = :k")),
        };
        let out = query.send().await.map_err(unavailable)?;
        Ok(out.items.unwrap_or_default())
    }

    /// The items found by a search key, of one `kind`, newest first.
    async fn search(
        &self,
        key: &visa_core::search::SearchKey,
        kind: &str,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let (index, pk, sk) = search_index(key.kind);
        self.index_page(IndexPage {
            index,
            pk,
            sk,
            key: key.as_key(),
            kind: Some(kind),
            newest_first: true,
            limit,
        })
        .await
    }
}

fn gsi1sk(app: &Application) -> String {
    format!(
        "APP#{}#{}",
        app.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        app.id
    )
}

/// A condition-guarded write on one item, for a transaction.
struct Write {
    put: Option<Put>,
    update: Option<Update>,
    delete: Option<Delete>,
}

impl Write {
    fn into_item(self) -> TransactWriteItem {
        TransactWriteItem::builder()
            .set_put(self.put)
            .set_update(self.update)
            .set_delete(self.delete)
            .build()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            retention: Retention::default(),
        }
    }

    /// The same store, its items expiring by `retention`.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One cheap read, so a cold start pays the TLS handshake during init
    /// rather than in the first request.
    pub async fn warm(&self) -> Result<(), StoreError> {
        self.get(key("WARM".into(), "WARM")).await.map(|_| ())
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        // Strongly consistent: a state change is visible to the next read
        // (sign in right after registering, pay right after confirming).
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    async fn get_record<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get(key(pk, sk)).await?.map(record).transpose()
    }

    /// Every item of one kind (`APP#`, `SESSION#`) in an account's GSI1
    /// partition, all pages, in sort-key order (`forward`) or reversed.
    async fn account_index(
        &self,
        account_id: &str,
        kind: &str,
        forward: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :kind)")
                .expression_attribute_values(":pk", s(account_pk(account_id)))
                .expression_attribute_values(":kind", s(kind))
                .scan_index_forward(forward)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(unavailable)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Puts a record keyed by a fresh random token (a session, a reset):
    /// a clash would mean a broken random source, so it is an error.
    async fn put_fresh(&self, item: Item, what: &str) -> Result<(), StoreError> {
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "a {what} with this token hash exists"
            )))
        }
    }

    /// Puts an item that must not exist yet: `false` if it did.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .set_expression_attribute_names(names(&["#pk"]))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn put_new_write(&self, item: Item) -> Result<Write, StoreError> {
        self.put_write(item, "attribute_not_exists(#pk)", Vec::new())
    }

    /// A put over an item whose `condition` holds (e.g. unchanged since read).
    fn put_write(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Write, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names(&[condition]))
            .set_expression_attribute_values(
                (!values.is_empty())
                    .then(|| values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            )
            .build()
            .map_err(corrupt)?;
        Ok(Write {
            put: Some(put),
            update: None,
            delete: None,
        })
    }

    fn update_write(
        &self,
        key: Item,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Write, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(names(&[update, condition]))
            .set_expression_attribute_values(Some(
                values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ))
            .build()
            .map_err(corrupt)?;
        Ok(Write {
            put: None,
            update: Some(update),
            delete: None,
        })
    }

    /// An emailed link's record (reset or confirmation), expiring with
    /// DynamoDB's TTL at `expires_at`.
    async fn put_link(
        &self,
        mut item: Item,
        expires_at: DateTime<Utc>,
        what: &str,
    ) -> Result<(), StoreError> {
        item.insert("ttl".into(), n(expires_at.timestamp()));
        self.put_fresh(item, what).await
    }

    /// An emailed link's record if it is unused and unexpired at `now`:
    /// TTL deletion runs late, and a redeemed link stays until it does.
    async fn link_record<T: DeserializeOwned>(
        &self,
        key: Item,
        now: DateTime<Utc>,
    ) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get(key).await? else {
            return Ok(None);
        };
        if number(&item, "ttl")? <= now.timestamp() || item.contains_key("used_at") {
            return Ok(None);
        }
        record(item).map(Some)
    }

    fn delete_write(
        &self,
        key: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Write, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition)
            .set_expression_attribute_names(names(&[condition]))
            .set_expression_attribute_values(
                (!values.is_empty())
                    .then(|| values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            )
            .build()
            .map_err(corrupt)?;
        Ok(Write {
            put: None,
            update: None,
            delete: Some(delete),
        })
    }

    /// Runs one transaction. `Ok(None)` when it committed; `Ok(Some(codes))`
    /// when a condition failed, with one cancellation code per write
    /// (`ConditionalCheckFailed`, or `None` for writes whose conditions held).
    async fn transact(&self, writes: Vec<Write>) -> Result<Option<Vec<String>>, StoreError> {
        let items: Vec<TransactWriteItem> = writes.into_iter().map(Write::into_item).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(None),
                Err(e) => e,
            };
            let codes: Vec<String> = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_owned())
                    .collect(),
                _ => return Err(unavailable(err)),
            };
            if codes.iter().any(|c| c == CONDITION_FAILED) {
                return Ok(Some(codes));
            }
            // Another transaction held an item: no condition was decided,
            // so trying again is what settles it. Jittered backoff.
            let retryable = codes.iter().all(|c| {
                matches!(
                    c.as_str(),
                    "None" | "TransactionConflict" | "ThrottlingError"
                )
            });
            if !retryable || attempt >= TRANSACTION_ATTEMPTS {
                return Err(StoreError::Unavailable(format!(
                    "transaction cancelled: {codes:?}"
                )));
            }
            let base = 5u64 << attempt.min(6);
            tokio::time::sleep(Duration::from_millis(base + rand::random::<u64>() % base)).await;
        }
    }

    async fn load_application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        self.get_record(app_pk(id), "APP").await
    }

    /// The answer to an event that pays nothing
    /// (`visa_core::application::EventFor`): a second payment, to refund,
    /// or another event of the payment already made (recorded once, so a
    /// redelivery reads as a duplicate); `StatusConflict` for a session that
    /// is not its own; `None` when the event pays.
    async fn paying_nothing(
        &self,
        payment: Option<&Payment>,
        paid: bool,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<Option<PaymentRecorded>, StoreError> {
        match EventFor::of(payment, paid, &event.checkout_session_id) {
            EventFor::Unpaid => Ok(None),
            EventFor::Stranger => Err(StoreError::StatusConflict),
            EventFor::PaidElsewhere => Ok(Some(PaymentRecorded::PaidByAnotherSession)),
            EventFor::PaidHere => self.record_late_event(event, at).await.map(Some),
        }
    }

    async fn record_late_event(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        if self
            .put_new(self.event_item(
                &event.event_id,
                &event.application_id,
                &event.event_type,
                at,
            )?)
            .await?
        {
            Ok(PaymentRecorded::AlreadyPaid)
        } else {
            Ok(PaymentRecorded::DuplicateEvent)
        }
    }

    fn event_item(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<Item, StoreError> {
        let mut item = key(event_pk(event_id), "PAYEVT");
        item.insert("application_id".into(), s(application_id));
        item.insert("kind".into(), s(kind));
        item.insert("recorded_at".into(), attribute(&at)?);
        item.insert(
            "ttl".into(),
            n((at + chrono::Duration::days(PAYMENT_EVENT_DAYS)).timestamp()),
        );
        Ok(item)
    }
}
