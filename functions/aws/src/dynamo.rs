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
use visa_core::application::{Application, Payment, Visa};
use visa_core::invitation::{Invitation, InvitationStatus};
use visa_core::retention::{PAYMENT_EVENT_DAYS, PAYMENT_INTENT_DAYS, Retention};
use visa_core::store::{
    Accounts, Applications, Invitations, PaymentEvent, PaymentRecorded, Payments, Sessions,
    StoreError, VisaRecord, Visas,
};

type Item = HashMap<String, AttributeValue>;

/// The index of an account's applications: `ACCOUNT#<id>` / `APP#<created>#<id>`.
pub const GSI1: &str = "GSI1";
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
const NAMES: [(&str, &str); 14] = [
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
fn visa_pk(number: &str) -> String {
    format!("VISA#{number}")
}

/// Sorts an account's applications by creation time (RFC 3339 in UTC with
/// a fixed number of digits sorts as text), ties broken by id as SQLite does.
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
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .set_expression_attribute_names(names(&["#pk"]))
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

    /// Records a payment event for an application already paid: the event
    /// id is still claimed once, so a redelivery reads as a duplicate.
    /// An event for an application already paid: its own session's (a
    /// second event of the same payment, recorded), or another of its
    /// sessions' (a second payment, to refund: nothing recorded yet).
    async fn late_payment(
        &self,
        app: &Application,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        let paid_here = app
            .payment
            .as_ref()
            .is_some_and(|p| p.checkout_session_id == event.checkout_session_id);
        if paid_here {
            self.record_late_event(event, at).await
        } else {
            Ok(PaymentRecorded::PaidByAnotherSession)
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

#[async_trait]
impl Accounts for DynamoStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        // The claim carries the whole (immutable) account, so signing in
        // is one read by email.
        let writes = vec![
            self.put_new_write(record_item(account_pk(&account.id), "ACCOUNT", account)?)?,
            self.put_new_write(record_item(email_pk(&account.email), "EMAIL", account)?)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::EmailTaken),
        }
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError> {
        self.get_record(email_pk(email), "EMAIL").await
    }

    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError> {
        self.get_record(account_pk(id), "ACCOUNT").await
    }

    async fn create_reset(&self, reset: &PasswordReset) -> Result<(), StoreError> {
        let item = record_item(reset_pk(&reset.token_hash), "RESET", reset)?;
        self.put_link(item, reset.expires_at, "reset").await
    }

    async fn reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PasswordReset>, StoreError> {
        self.link_record(key(reset_pk(token_hash), "RESET"), now)
            .await
    }

    async fn redeem_reset(
        &self,
        reset: &PasswordReset,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The sign-in claim carries a copy of the account: both change.
        let account = self
            .account(&reset.account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let hash = || s(password_hash);
        let writes = vec![
            self.update_write(
                key(reset_pk(&reset.token_hash), "RESET"),
                "SET #used = :now",
                "attribute_exists(#pk) AND attribute_not_exists(#used) AND #ttl > :epoch",
                vec![(":now", attribute(&now)?), (":epoch", n(now.timestamp()))],
            )?,
            self.update_write(
                key(account_pk(&account.id), "ACCOUNT"),
                "SET #hash = :hash",
                "attribute_exists(#pk)",
                vec![(":hash", hash())],
            )?,
            self.update_write(
                key(email_pk(&account.email), "EMAIL"),
                "SET #hash = :hash",
                "attribute_exists(#pk)",
                vec![(":hash", hash())],
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::NotFound),
        }
    }

    async fn erase_account(
        &self,
        account: &Account,
        applications: &[(String, Status)],
    ) -> Result<(), StoreError> {
        // One transaction holds at most 100 writes: the account and its
        // claim, and the applications (each needs an invitation of its own).
        if applications.len() > 98 {
            return Err(StoreError::Unavailable(
                "more applications than one erasure can hold".into(),
            ));
        }
        let mut writes = vec![
            self.delete_write(
                key(account_pk(&account.id), "ACCOUNT"),
                "attribute_exists(#pk)",
                vec![],
            )?,
            self.delete_write(
                key(email_pk(&account.email), "EMAIL"),
                "attribute_exists(#pk)",
                vec![],
            )?,
        ];
        for (id, status) in applications {
            writes.push(self.delete_write(
                key(app_pk(id), "APP"),
                "#status = :status",
                vec![(":status", s(status.as_str()))],
            )?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) || failed(&codes, 1) => Err(StoreError::NotFound),
            Some(_) => Err(StoreError::StatusConflict),
        }
    }

    async fn create_verification(&self, v: &EmailVerification) -> Result<(), StoreError> {
        let item = record_item(verification_pk(&v.token_hash), "VERIFY", v)?;
        self.put_link(item, v.expires_at, "verification").await
    }

    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailVerification>, StoreError> {
        self.link_record(key(verification_pk(token_hash), "VERIFY"), now)
            .await
    }

    async fn redeem_verification(
        &self,
        v: &EmailVerification,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The sign-in claim carries a copy of the account: both change.
        let account = self
            .account(&v.account_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        // The first confirmation's time stays.
        let verified = "SET #verified = if_not_exists(#verified, :now)";
        let writes = vec![
            self.update_write(
                key(verification_pk(&v.token_hash), "VERIFY"),
                "SET #used = :now",
                "attribute_exists(#pk) AND attribute_not_exists(#used) AND #ttl > :epoch",
                vec![(":now", attribute(&now)?), (":epoch", n(now.timestamp()))],
            )?,
            self.update_write(
                key(account_pk(&account.id), "ACCOUNT"),
                verified,
                "attribute_exists(#pk)",
                vec![(":now", attribute(&now)?)],
            )?,
            self.update_write(
                key(email_pk(&account.email), "EMAIL"),
                verified,
                "attribute_exists(#pk)",
                vec![(":now", attribute(&now)?)],
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => Err(StoreError::NotFound),
        }
    }
}

#[async_trait]
impl Sessions for DynamoStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = record_item(session_pk(&session.token_hash), "SESSION", session)?;
        item.insert("ttl".into(), n(session.expires_at.timestamp()));
        item.insert("gsi1pk".into(), s(account_pk(&session.account_id)));
        item.insert(
            "gsi1sk".into(),
            s(format!("{SESSION_GSI1SK}{}", session.token_hash)),
        );
        self.put_fresh(item, "session").await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get(key(session_pk(token_hash), "SESSION")).await? else {
            return Ok(None);
        };
        // TTL deletion runs up to days late: the expiry is ours to enforce.
        let expires = number(&item, "ttl")?;
        if expires <= now.timestamp() {
            return Ok(None);
        }
        Ok(Some(Session {
            token_hash: token_hash.to_owned(),
            account_id: text(&item, "account_id")?.to_owned(),
            expires_at: DateTime::from_timestamp(expires, 0)
                .ok_or_else(|| corrupt("ttl out of range"))?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(session_pk(token_hash), "SESSION")))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn end_sessions_of(&self, account_id: &str) -> Result<u32, StoreError> {
        let sessions = self.account_index(account_id, SESSION_GSI1SK, true).await?;
        for item in &sessions {
            // The table's keys are in every index's projection.
            let token_hash = text(item, "pk")?
                .strip_prefix("SESSION#")
                .ok_or_else(|| corrupt("a session's key"))?;
            self.delete_session(token_hash).await?;
        }
        Ok(u32::try_from(sessions.len()).unwrap_or(u32::MAX))
    }

    async fn failed_sign_ins(&self, email: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let since = (now - chrono::Duration::minutes(SIGN_IN_WINDOW_MINUTES)).timestamp();
        let Some(item) = self.get(key(throttle_pk(email), "THROTTLE")).await? else {
            return Ok(0);
        };
        if number(&item, "window_start")? > since {
            u32::try_from(number(&item, "failures")?).map_err(corrupt)
        } else {
            Ok(0)
        }
    }

    async fn record_failed_sign_in(
        &self,
        email: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        let since = (now - window).timestamp();
        // Two conditional writes, retried: count into the open window, or
        // start a new one unless a concurrent failure just did.
        for _ in 0..5 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(throttle_pk(email), "THROTTLE")))
                .update_expression("SET #failures = #failures + :one")
                .condition_expression("#window > :since")
                .set_expression_attribute_names(names(&["#failures", "#window"]))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":since", n(since))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match counted {
                Ok(out) => {
                    let failures = number(&out.attributes.unwrap_or_default(), "failures")?;
                    return u32::try_from(failures).map_err(corrupt);
                }
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
            let mut item = key(throttle_pk(email), "THROTTLE");
            item.insert("window_start".into(), n(now.timestamp()));
            item.insert("failures".into(), n(1));
            item.insert("ttl".into(), n((now + window).timestamp() + 3600));
            let started = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk) OR #window <= :since")
                .set_expression_attribute_names(names(&["#pk", "#window"]))
                .expression_attribute_values(":since", n(since))
                .send()
                .await;
            match started {
                Ok(_) => return Ok(1),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Unavailable(
            "sign-in throttle under contention".into(),
        ))
    }

    async fn forgive_failed_sign_in(&self, email: &str) -> Result<(), StoreError> {
        let forgiven = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(throttle_pk(email), "THROTTLE")))
            .update_expression("SET #failures = #failures - :one")
            .condition_expression("#failures > :zero")
            .set_expression_attribute_names(names(&["#failures"]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match forgiven {
            Ok(_) => Ok(()),
            // No counted failure (or no item): nothing to take back.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl Invitations for DynamoStore {
    async fn create_invitation(&self, invitation: &Invitation) -> Result<(), StoreError> {
        let mut item = record_item(invitation_pk(&invitation.number), "INVITATION", invitation)?;
        item.insert("ttl".into(), epoch(self.retention.invitation(invitation)));
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::InvitationExists)
        }
    }

    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError> {
        self.get_record(invitation_pk(number), "INVITATION").await
    }

    async fn revoke_invitation(&self, number: &str, by: &str) -> Result<Invitation, StoreError> {
        let revoked = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(invitation_pk(number), "INVITATION")))
            .update_expression("SET #status = :revoked, revoked_by = :by")
            .condition_expression("#status = :approved")
            .set_expression_attribute_names(names(&["#status"]))
            .expression_attribute_values(":revoked", s(InvitationStatus::Revoked.as_str()))
            .expression_attribute_values(":by", s(by))
            .expression_attribute_values(":approved", s(InvitationStatus::Approved.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match revoked {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => {
                // Statuses only move away from approved: the re-read decides.
                let inv: Invitation = self.invitation(number).await?.ok_or(StoreError::NotFound)?;
                match inv.status {
                    InvitationStatus::Revoked => Ok(inv),
                    InvitationStatus::Used | InvitationStatus::Approved => {
                        Err(StoreError::InvitationNotClaimable)
                    }
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl Applications for DynamoStore {
    async fn create_application(&self, application: &Application) -> Result<(), StoreError> {
        let mut item = record_item(app_pk(&application.id), "APP", application)?;
        item.insert("gsi1pk".into(), s(account_pk(&application.account_id)));
        item.insert("gsi1sk".into(), s(gsi1sk(application)));
        if let Some(until) = self.retention.application(application) {
            item.insert("ttl".into(), epoch(until));
        }
        let writes = vec![
            self.update_write(
                key(invitation_pk(&application.invitation_number), "INVITATION"),
                "SET #status = :used",
                "#status = :approved",
                vec![
                    (":used", s(InvitationStatus::Used.as_str())),
                    (":approved", s(InvitationStatus::Approved.as_str())),
                ],
            )?,
            self.put_new_write(item)?,
        ];
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(StoreError::InvitationNotClaimable),
            Some(_) => Err(StoreError::Unavailable(format!(
                "application {} exists",
                application.id
            ))),
        }
    }

    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError> {
        self.load_application(id).await
    }

    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError> {
        self.account_index(account_id, APP_GSI1SK, false)
            .await?
            .into_iter()
            .map(record)
            .collect()
    }

    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(id), "APP")))
            .update_expression(
                "SET #status = :to, #confirmed = :at, #payment = :payment, #updated = :at, #ttl = :ttl",
            )
            .condition_expression("#status = :from")
            .set_expression_attribute_names(names(&[
                "#status",
                "#confirmed",
                "#payment",
                "#updated",
                "#ttl",
            ]))
            .expression_attribute_values(
                ":ttl",
                epoch(self.retention.unpaid_until(at, payment.expires_at)),
            )
            .expression_attribute_values(":to", s(Status::AwaitingPayment.as_str()))
            .expression_attribute_values(":from", s(Status::InvitationConfirmed.as_str()))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":payment", attribute(payment)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => match self.load_application(id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(id), "APP")))
            .update_expression("SET #payment = :payment, #updated = :at, #ttl = :ttl")
            .condition_expression("#status = :awaiting AND #payment.checkout_session_id = :old")
            .set_expression_attribute_names(names(&["#status", "#payment", "#updated", "#ttl"]))
            .expression_attribute_values(
                ":ttl",
                epoch(self.retention.unpaid_until(at, payment.expires_at)),
            )
            .expression_attribute_values(":awaiting", s(Status::AwaitingPayment.as_str()))
            .expression_attribute_values(":old", s(expired_session))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":payment", attribute(payment)?)
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(out) => record(out.attributes.unwrap_or_default()),
            Err(e) if is_condition_failure(&e) => match self.load_application(id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl Payments for DynamoStore {
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        // A replacement session opened between the read and the write moves
        // the current session: read and decide again (a few times at most).
        for _ in 0..3 {
            let app = self
                .load_application(&event.application_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let Some(payment) = app
                .payment
                .as_ref()
                .filter(|p| p.knows(&event.checkout_session_id))
            else {
                return Err(StoreError::StatusConflict);
            };
            if matches!(app.status, Status::Paid | Status::Issued) {
                return self.late_payment(&app, event, at).await;
            }
            let current = payment.checkout_session_id.clone();
            let paid =
                app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            let mut writes = vec![
                self.put_new_write(self.event_item(
                    &event.event_id,
                    &event.application_id,
                    &event.event_type,
                    at,
                )?)?,
                self.update_write(
                    key(app_pk(&paid.id), "APP"),
                    // Kept until issued: no expiry while paid.
                    "SET #status = :paid, #payment = :payment, #updated = :at REMOVE #ttl",
                    "#status = :awaiting AND #payment.checkout_session_id = :session",
                    vec![
                        (":paid", s(Status::Paid.as_str())),
                        (":awaiting", s(Status::AwaitingPayment.as_str())),
                        (":session", s(&current)),
                        (":payment", attribute(&paid.payment)?),
                        (":at", attribute(&at)?),
                    ],
                )?,
            ];
            // The way back from a dispute, which names only the provider's payment.
            if let Some(pi) = &event.payment_intent {
                let mut item = key(payment_intent_pk(pi), "PI");
                item.insert("application_id".into(), s(&paid.id));
                item.insert(
                    "ttl".into(),
                    epoch(at + chrono::Duration::days(PAYMENT_INTENT_DAYS)),
                );
                writes.push(self.put_new_write(item)?);
            }
            match self.transact(writes).await? {
                // The read above is what the condition held: the result is
                // exact without reading again.
                None => return Ok(PaymentRecorded::Paid(Box::new(paid))),
                Some(codes) if failed(&codes, 0) => return Ok(PaymentRecorded::DuplicateEvent),
                // The application moved since the read (another event paid
                // it, or a new session replaced the current one): decide
                // again on what is stored now.
                Some(_) => continue,
            }
        }
        Err(StoreError::StatusConflict)
    }

    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.put_new(self.event_item(event_id, application_id, kind, at)?)
            .await
    }

    async fn application_paid_by(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self
            .get(key(payment_intent_pk(payment_intent), "PI"))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(text(&item, "application_id")?.to_owned()))
    }

    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writes = vec![
            self.put_new_write(self.event_item(event_id, application_id, "dispute", at)?)?,
            self.update_write(
                key(app_pk(application_id), "APP"),
                // Kept while officers review it.
                "SET #review = :yes, #updated = :at REMOVE #ttl",
                "attribute_exists(#pk)",
                vec![
                    (":yes", AttributeValue::Bool(true)),
                    (":at", attribute(&at)?),
                ],
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(true),
            Some(codes) if failed(&codes, 1) => Err(StoreError::NotFound),
            Some(_) => Ok(false),
        }
    }
}

#[async_trait]
impl Visas for DynamoStore {
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let app = self
            .load_application(application_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let issued = app.issue(visa.clone(), at)?;
        // The visa record, the application and (through the stream) the
        // PDF go together; one under review stays until officers decide.
        let until =
            (!app.under_review).then(|| epoch(self.retention.issued_until(visa.valid_until)));
        let mut visa_item = record_item(visa_pk(&visa.number), "VISA", visa)?;
        visa_item.insert("application_id".into(), s(application_id));
        if let Some(until) = &until {
            visa_item.insert("ttl".into(), until.clone());
        }
        let (expression, mut values) = match until {
            Some(until) => (
                "SET #status = :issued, #visa = :visa, #updated = :at, #ttl = :ttl",
                vec![(":ttl", until)],
            ),
            None => (
                "SET #status = :issued, #visa = :visa, #updated = :at",
                vec![],
            ),
        };
        values.extend([
            (":issued", s(Status::Issued.as_str())),
            (":paid", s(Status::Paid.as_str())),
            (":visa", attribute(visa)?),
            (":at", attribute(&at)?),
        ]);
        let writes = vec![
            self.put_new_write(visa_item)?,
            self.update_write(
                key(app_pk(application_id), "APP"),
                expression,
                "#status = :paid",
                values,
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(issued),
            // As in the embedded store, the status is checked before the number.
            Some(codes) if failed(&codes, 1) => Err(StoreError::StatusConflict),
            Some(_) => Err(StoreError::VisaNumberTaken),
        }
    }

    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(application_id), "APP")))
            .update_expression("SET #emailed = :at")
            .condition_expression("#status = :issued AND attribute_not_exists(#emailed)")
            .set_expression_attribute_names(names(&["#emailed", "#status"]))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":issued", s(Status::Issued.as_str()))
            .send()
            .await;
        match marked {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => {
                // Re-read: already emailed, or not issued at all.
                let app = self
                    .load_application(application_id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                match (app.status, app.emailed_at) {
                    (Status::Issued, Some(_)) => Ok(false),
                    _ => Err(StoreError::StatusConflict),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError> {
        let Some(item) = self.get(key(visa_pk(number), "VISA")).await? else {
            return Ok(None);
        };
        let application_id = text(&item, "application_id")?.to_owned();
        Ok(Some(VisaRecord {
            visa: record(item)?,
            application_id,
        }))
    }
}
