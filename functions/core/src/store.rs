//! Storage ports, named after what happens in the domain. Each method's
//! conditional guarantee is part of its contract: the embedded store and
//! DynamoDB give the same, and one contract test suite proves both.

use crate::account::{Account, EmailVerification, PasswordReset, Session};
use crate::application::{Application, Payment, Visa};
use crate::audit::AuditEvent;
use crate::group::Group;
use crate::invitation::Invitation;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("an invitation with this number exists")]
    InvitationExists,
    #[error("the invitation is not approved and unused")]
    InvitationNotClaimable,
    #[error("no such item")]
    NotFound,
    #[error("the application is not in the expected status")]
    StatusConflict,
    #[error("the visa number is taken")]
    VisaNumberTaken,
    #[error("the account is a host already, or the BIN/IIN is registered")]
    HostExists,
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<crate::application::Conflict> for StoreError {
    fn from(_: crate::application::Conflict) -> Self {
        StoreError::StatusConflict
    }
}

#[async_trait]
pub trait Accounts: Send + Sync {
    /// Creates the account and claims its email at once: `EmailTaken` if
    /// the email is already claimed (nothing is written then).
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    async fn account_by_email(&self, email: &str) -> Result<Option<Account>, StoreError>;
    async fn account(&self, id: &str) -> Result<Option<Account>, StoreError>;
    /// Stores a reset link's token hash (a fresh one: put only if new).
    async fn create_reset(&self, reset: &PasswordReset) -> Result<(), StoreError>;
    /// The reset, if it exists and has not expired at `now`.
    async fn reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PasswordReset>, StoreError>;
    /// Sets the account's new password and deletes the reset, in one
    /// atomic step conditional on the reset still existing unexpired: of
    /// two redemptions, one gets `NotFound` and changes nothing.
    async fn redeem_reset(
        &self,
        reset: &PasswordReset,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Erases an account: the account, its sign-in claim, its reset and
    /// confirmation links, and each listed application (its id and the
    /// status it must still have), in one atomic step. If any of them
    /// moved on meanwhile (a payment landed), nothing is erased and the
    /// answer is `StatusConflict`; `NotFound` if the account is gone.
    /// Sessions end separately (`Sessions::end_sessions_of`).
    async fn erase_account(
        &self,
        account: &Account,
        applications: &[(String, crate::Status)],
    ) -> Result<(), StoreError>;
    /// Stores a verification link's token hash (a fresh one: put only if new).
    async fn create_verification(&self, v: &EmailVerification) -> Result<(), StoreError>;
    /// The verification, if it exists unused and has not expired at `now`.
    async fn verification(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<EmailVerification>, StoreError>;
    /// Spends the link and marks the account's address verified at `now`
    /// (kept if it already was), in one atomic step conditional on the link
    /// still being unused and unexpired: of two redemptions, one gets
    /// `NotFound` and changes nothing.
    async fn redeem_verification(
        &self,
        v: &EmailVerification,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Sessions: Send + Sync {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of the account; returns how many there were.
    async fn end_sessions_of(&self, account_id: &str) -> Result<u32, StoreError>;
    /// Failed sign-ins for `email` in the window that is open at `now`.
    /// (The same counter, keyed `reset:<email>`, counts reset requests.)
    async fn failed_sign_ins(&self, email: &str, now: DateTime<Utc>) -> Result<u32, StoreError>;
    /// Counts one failure; a window older than `window` starts again at 1.
    /// Returns the count after it: concurrent callers each see their own.
    async fn record_failed_sign_in(
        &self,
        email: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError>;
    /// Takes back one counted failure (an attempt counted before its
    /// password was checked, which then turned out right); never below 0.
    async fn forgive_failed_sign_in(&self, email: &str) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Invitations: Send + Sync {
    /// `InvitationExists` if the number is taken. An officer's creation
    /// carries its audit `event`, written in the same transaction (the demo
    /// seed's and the tests' carry none).
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        event: Option<&AuditEvent>,
    ) -> Result<(), StoreError>;
    async fn invitation(&self, number: &str) -> Result<Option<Invitation>, StoreError>;
    /// The invitations found by `key` (for officers), newest first, at most
    /// [`crate::search::SEARCH_LIMIT`].
    async fn find_invitations(
        &self,
        key: &crate::search::SearchKey,
    ) -> Result<Vec<Invitation>, StoreError>;
    /// A used invitation revoked before its application opened a checkout:
    /// the invitation (still used) becomes revoked, the application (still
    /// `invitation_confirmed` on this invitation) records when, so it can
    /// never be paid, and the audit event is appended, in one step;
    /// `StatusConflict` (nothing written) if a checkout opened meanwhile.
    async fn revoke_used_invitation(
        &self,
        number: &str,
        application_id: &str,
        by: &str,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<Invitation, StoreError>;
    /// Approved -> revoked (revoking again is a no-op). `NotFound`;
    /// `InvitationNotClaimable` if it was already used.
    /// approved -> revoked, recording `by`; revoking again changes nothing.
    /// The audit `event` is written with the revocation, and only if this
    /// call revoked it.
    async fn revoke_invitation(
        &self,
        number: &str,
        by: &str,
        event: Option<&AuditEvent>,
    ) -> Result<Invitation, StoreError>;
}

/// Inviting parties (`crate::host`).
#[async_trait]
pub trait Hosts: Send + Sync {
    /// Records a new host: `HostExists` (and nothing written) if its
    /// account is a host already or its BIN/IIN is registered.
    async fn create_host(&self, host: &crate::host::Host) -> Result<(), StoreError>;
    async fn host(&self, id: &str) -> Result<Option<crate::host::Host>, StoreError>;
    /// The host whose account this is: the account's host role.
    async fn host_of_account(
        &self,
        account_id: &str,
    ) -> Result<Option<crate::host::Host>, StoreError>;
    /// The hosts in `status`, oldest first (the approval queue), at most
    /// [`crate::search::SEARCH_LIMIT`].
    async fn hosts_in(
        &self,
        status: crate::host::HostStatus,
    ) -> Result<Vec<crate::host::Host>, StoreError>;
    /// Writes an officer's decision (`Host::decide`) and its audit event in
    /// one step, only over a host still pending: `StatusConflict` if it was
    /// decided meanwhile, `NotFound` if there is none.
    async fn decide_host(
        &self,
        host: &crate::host::Host,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}

/// Hosts' invitation requests (`crate::invitation_request`).
#[async_trait]
pub trait InvitationRequests: Send + Sync {
    /// Records a batch, all of it or nothing.
    async fn create_requests(
        &self,
        requests: &[crate::invitation_request::InvitationRequest],
    ) -> Result<(), StoreError>;
    async fn invitation_request(
        &self,
        id: &str,
    ) -> Result<Option<crate::invitation_request::InvitationRequest>, StoreError>;
    /// A host's requests, newest first, at most [`crate::search::SEARCH_LIMIT`].
    async fn requests_of_host(
        &self,
        host_id: &str,
    ) -> Result<Vec<crate::invitation_request::InvitationRequest>, StoreError>;
    /// The requests in `status`, oldest first (the officers' queue), at
    /// most [`crate::search::SEARCH_LIMIT`].
    async fn requests_in(
        &self,
        status: crate::invitation_request::RequestStatus,
    ) -> Result<Vec<crate::invitation_request::InvitationRequest>, StoreError>;
    /// An approval in one step: the request (still pending, else
    /// `StatusConflict`; `NotFound` if there is none) becomes approved, its
    /// invitation is created (`InvitationExists` if the number is taken),
    /// and the audit event is appended.
    async fn approve_request(
        &self,
        request: &crate::invitation_request::InvitationRequest,
        invitation: &crate::invitation::Invitation,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// A refusal in one step, over a request still pending.
    async fn refuse_request(
        &self,
        request: &crate::invitation_request::InvitationRequest,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Applications: Send + Sync {
    /// Claims the application's invitation (approved -> used) and creates
    /// the application in one atomic step: of two concurrent claims, one
    /// gets `InvitationNotClaimable` and writes nothing.
    async fn create_application(&self, application: &Application) -> Result<(), StoreError>;
    async fn application(&self, id: &str) -> Result<Option<Application>, StoreError>;
    /// An account's applications, newest first.
    async fn applications_of(&self, account_id: &str) -> Result<Vec<Application>, StoreError>;
    /// The applications in `status` (for officers), newest first, at most
    /// [`crate::search::SEARCH_LIMIT`].
    async fn applications_in(&self, status: crate::Status) -> Result<Vec<Application>, StoreError>;
    /// The applications held for review (disputed payments), the longest
    /// waiting first, at most [`crate::search::SEARCH_LIMIT`] * 2.
    async fn under_review(&self) -> Result<Vec<Application>, StoreError>;
    /// The applications found by `key` (for officers), newest first, at
    /// most [`crate::search::SEARCH_LIMIT`].
    async fn find_applications(
        &self,
        key: &crate::search::SearchKey,
    ) -> Result<Vec<Application>, StoreError>;
    /// Records the applicant's confirmation and the open checkout:
    /// invitation_confirmed -> awaiting_payment, or `StatusConflict`.
    async fn open_checkout(
        &self,
        id: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError>;
    /// Replaces an expired checkout session with `payment`, conditional on
    /// the application still awaiting payment in `expired_session`: of
    /// concurrent replacements one wins, the others get `StatusConflict`.
    async fn reopen_checkout(
        &self,
        id: &str,
        expired_session: &str,
        payment: &Payment,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError>;
}

/// Families and groups paying once (`crate::group`).
#[async_trait]
pub trait Groups: Send + Sync {
    /// Writes the new group and puts each member in it, in one step: each
    /// must still be `invitation_confirmed`, in no group and its invitation
    /// not revoked, else `StatusConflict` and nothing is written.
    async fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    async fn group(&self, id: &str) -> Result<Option<Group>, StoreError>;
    /// Writes `next` over the group as `current` was (its `updated_at`)
    /// and takes each of `leaving` out of it (members dropped, or all of
    /// them when it is dissolved), in one step; `StatusConflict` if the
    /// group changed meanwhile.
    async fn release_members(
        &self,
        current: &Group,
        next: &Group,
        leaving: &[String],
    ) -> Result<(), StoreError>;
    /// The group's checkout, in one step: `next` (awaiting payment in its
    /// payment) over the group as `current` was, and every member into the
    /// same payment: from `invitation_confirmed` in this group with its
    /// invitation not revoked (`current` open), or from awaiting payment
    /// in `current`'s expired session (a replacement). `StatusConflict`
    /// and nothing written if any of them moved.
    async fn open_group_checkout(
        &self,
        current: &Group,
        next: &Group,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// A payment the provider reported, already verified and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentEvent {
    pub event_id: String,
    pub application_id: String,
    pub checkout_session_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub event_type: String,
    /// The provider's payment id, kept so a later dispute finds the application.
    pub payment_intent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentRecorded {
    /// This event moved the application awaiting_payment -> paid.
    Paid(Box<Application>),
    /// This event paid a group: its members, each now paid.
    GroupPaid(Vec<Application>),
    /// The event id was seen before: nothing changed.
    DuplicateEvent,
    /// Another event paid it already: recorded this event, nothing else.
    AlreadyPaid,
    /// The event's session is one of the application's, but another
    /// session paid it: nothing is recorded; the caller refunds this
    /// payment, then records the event (`record_event`).
    PaidByAnotherSession,
}

#[async_trait]
pub trait Payments: Send + Sync {
    /// In ONE transaction: record the event id (once ever) and move the
    /// application awaiting_payment -> paid if the event's checkout session
    /// is one of the application's (the current one, or one an expired
    /// session's replacement replaced: a late payment is honoured; it then
    /// becomes the current one). `PaidByAnotherSession` if a different
    /// session paid it already; `StatusConflict` if the session is not the
    /// application's or it is not awaiting payment at all; `NotFound` if
    /// there is no such application.
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError>;
    /// `record_payment` for a group's checkout (`event.application_id` is
    /// the group's id): the event, the group and every member
    /// awaiting_payment -> paid in ONE transaction, on the same terms.
    async fn record_group_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError>;
    /// Records an event id with what was done about it (`expired`,
    /// `refunded`); `false` if it was recorded before.
    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The application a provider's payment id paid, if any (what a
    /// dispute event names).
    async fn application_paid_by(&self, payment_intent: &str)
    -> Result<Option<String>, StoreError>;
    /// Marks an application for officers' review (a payment dispute);
    /// once per event id. Returns whether this call changed anything.
    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisaRecord {
    pub visa: Visa,
    pub application_id: String,
}

#[async_trait]
pub trait Visas: Send + Sync {
    /// Reserves the visa number and moves the application paid -> issued
    /// with it, in one transaction. `VisaNumberTaken` if another
    /// application holds the number; `StatusConflict` if not `paid`.
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError>;
    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError>;
    /// Records that the issued visa was emailed, once: `true` if this call
    /// recorded it, `false` if it was already; `StatusConflict` if the
    /// application is not issued.
    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// An officer's change to an issued visa and its audit event, in one
    /// transaction: `next` (one of `Application`'s visa transitions made
    /// from `current`) is written only while the stored application is
    /// issued, its visa still at `current`'s revision and its review flag
    /// as `current` had it (a dispute that came meanwhile is not written
    /// over); else `StatusConflict` (another change came first) and
    /// nothing is written, the event included.
    async fn change_visa(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
    ) -> Result<(), StoreError>;
}

/// Hosts' arrival notices (`crate::arrival`).
#[async_trait]
pub trait Arrivals: Send + Sync {
    /// The border's entry on a visa a host invited for: `Visas::change_visa`'s
    /// write, on its conditions, and the arrival it opens, in one
    /// transaction (`StatusConflict` and nothing written if either is
    /// refused).
    async fn record_entry(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
        arrival: &crate::arrival::Arrival,
    ) -> Result<(), StoreError>;
    async fn arrival(
        &self,
        request_id: &str,
    ) -> Result<Option<crate::arrival::Arrival>, StoreError>;
    /// A host's arrivals, the latest entry first, at most
    /// [`crate::search::SEARCH_LIMIT`].
    async fn arrivals_of_host(
        &self,
        host_id: &str,
    ) -> Result<Vec<crate::arrival::Arrival>, StoreError>;
    /// The arrivals not filed yet whose due day is from `from` to `until`
    /// (both included), the earliest due first (then by request id), at
    /// most [`crate::search::SEARCH_LIMIT`]: the page after `after` (the
    /// previous page's last) when given.
    async fn open_arrivals(
        &self,
        from: NaiveDate,
        until: NaiveDate,
        after: Option<&crate::arrival::Arrival>,
    ) -> Result<Vec<crate::arrival::Arrival>, StoreError>;
    /// Writes the arrival with its notice (`Arrival::file`), only over one
    /// without: `StatusConflict` if a notice was filed meanwhile,
    /// `NotFound` if there is none.
    async fn file_notice(&self, arrival: &crate::arrival::Arrival) -> Result<(), StoreError>;
    /// Records that the host was reminded at `at`: `true` if this call
    /// did, `false` if it was reminded or filed already.
    async fn mark_reminded(&self, request_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
}

/// The audit trail: events are appended by the operations they record
/// (`Visas::change_visa`), or alone where nothing else changes (a
/// sign-in), and no operation changes or deletes one.
#[async_trait]
pub trait AuditTrail: Send + Sync {
    /// Appends an event that records no other change; an id already
    /// there is refused (`Unavailable`), never overwritten.
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// The events with `from <= at < to`, oldest first.
    async fn audit_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}

/// Everything a full deployment stores.
pub trait Store:
    Accounts
    + Sessions
    + Invitations
    + Applications
    + Payments
    + Visas
    + AuditTrail
    + Hosts
    + InvitationRequests
    + Arrivals
    + Groups
{
}
impl<T> Store for T where
    T: Accounts
        + Sessions
        + Invitations
        + Applications
        + Payments
        + Visas
        + AuditTrail
        + Hosts
        + InvitationRequests
        + Arrivals
        + Groups
{
}

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob storage unavailable: {0}")]
    Unavailable(String),
}

/// Visa PDFs: private objects, fetched through short-lived links.
/// What `Blobs::put_new` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    Created,
    /// An object was already there; it was kept.
    Existed,
}

/// How long a download link lives, at most: a visa PDF is fetched at once.
pub const LINK_SECONDS: i64 = 300;

#[async_trait]
pub trait Blobs: Send + Sync {
    /// Stores the object unless one is already under `key`, which is then
    /// kept as it is. Needs no read permission: S3's conditional PutObject
    /// (`If-None-Match: *`), where probing with GetObject would need
    /// `s3:ListBucket` to tell a missing key (403 without it) from a denial.
    async fn put_new(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<Stored, BlobError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError>;
    /// A link that fetches the object until `expires_at` (at most
    /// [`LINK_SECONDS`] ahead).
    async fn link(&self, key: &str, expires_at: DateTime<Utc>) -> Result<String, BlobError>;
    /// Deletes the object under `key` when its retention ends; deleting
    /// what is not there succeeds (a retried erasure).
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
}
