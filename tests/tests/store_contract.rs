//! The store contract, written once and run against every store: the
//! embedded SQLite store and DynamoDB (on moto, started by the harness).
//! Then the same for blobs: a folder and S3.
//!
//! `cargo test -p visa-tests --test store_contract`

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use std::sync::Arc;
use visa_aws::{DynamoStore, Encryption, S3Blobs};
use visa_core::Status;
use visa_core::account::{
    Account, EmailVerification, PasswordReset, SIGN_IN_WINDOW_MINUTES, Session,
};
use visa_core::application::{Application, Payment, Stay, Visa};
use visa_core::audit::{AuditAction, AuditEvent};
use visa_core::category::Category;
use visa_core::group::{Group, GroupStatus};
use visa_core::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use visa_core::money::Money;
use visa_core::passport::{Declarations, Passport, Sex};
use visa_core::store::{
    Accounts, Applications, Arrivals, AuditTrail, Blobs, Groups, InvitationRequests, Invitations,
    PaymentEvent, PaymentRecorded, Payments, Sessions, Store, StoreError, Stored, Visas,
};
use visa_local::blobs::FolderBlobs;
use visa_local::sqlite::SqliteStore;
use visa_tests::moto::{self, Moto};

// ------------------------------------------------------------------ backends

/// A store under test: `open` connects afresh to the same data, as a
/// restarted process (SQLite) or a new Lambda cold start (DynamoDB) would.
trait Backend {
    type S: Store + 'static;
    async fn open(&self) -> Self::S;
}

struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    async fn new() -> Self {
        Sqlite {
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Backend for Sqlite {
    type S = SqliteStore;
    async fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.dir.path().join("visa.sqlite3")).unwrap()
    }
}

struct Dynamo {
    moto: Arc<Moto>,
    table: String,
}

impl Dynamo {
    async fn new() -> Self {
        let moto = Moto::shared();
        let table = moto::unique_name("visa");
        moto::create_table(
            &aws_sdk_dynamodb::Client::new(&moto.sdk_config().await),
            &table,
        )
        .await;
        Dynamo { moto, table }
    }
}

impl Backend for Dynamo {
    type S = DynamoStore;
    async fn open(&self) -> DynamoStore {
        DynamoStore::new(self.moto.cloud().await.dynamodb(), self.table.clone())
    }
}

/// Each contract function becomes one test per store.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Sqlite::new().await).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(super::Dynamo::new().await).await
                }
            )*
        }
    };
}

contract!(
    accounts_and_the_email_claim,
    a_password_reset_is_redeemed_once_and_changes_both_copies,
    an_email_verification_is_redeemed_once_and_marks_both_copies,
    an_erased_account_takes_its_listed_applications_or_nothing,
    ending_an_accounts_sessions_leaves_the_others,
    sessions_expire_by_their_own_clock,
    failed_sign_ins_count_in_a_window,
    a_forgiven_sign_in_attempt_is_taken_back_never_below_zero,
    invitations_are_created_once_and_revoked_only_unused,
    an_invitation_is_claimed_once_with_its_application,
    checkout_opens_only_from_invitation_confirmed,
    an_accounts_applications_newest_first,
    payments_move_to_paid_once_per_event,
    disputes_flag_once_per_event,
    visas_take_a_free_number_and_a_paid_application,
    fifty_concurrent_claims_of_one_invitation_have_one_winner,
    fifty_concurrent_deliveries_of_one_event_pay_once,
    fifty_different_events_for_one_session_pay_once,
    an_expired_session_is_replaced_once_under_concurrency,
    a_late_payment_in_a_replaced_session_pays_or_is_refused_for_refund,
    everything_reads_back_after_reconnecting,
    an_officers_change_to_a_visa_is_written_once_with_its_audit_event,
    an_officers_invitation_is_audited_once_with_what_it_did,
    officers_find_applications_by_passport_number_and_surname,
    a_sign_in_is_appended_to_the_trail_once,
    a_dispute_waits_for_its_decision_and_is_never_written_over,
    officers_find_invitations_by_passport_surname_and_inviting_party,
    twenty_officers_scanning_one_visa_record_one_entry,
    a_host_registers_once_per_account_and_number_and_is_decided_once,
    a_hosts_requests_are_listed_and_each_decided_once_with_its_invitation,
    an_arrival_opens_with_its_entry_and_is_filed_and_reminded_once,
    a_group_forms_once_drops_its_revoked_member_and_pays_in_one_transaction,
    a_groups_expired_checkout_is_replaced_for_every_member_and_paid_once,
    a_dissolved_group_frees_its_members,
);

// ------------------------------------------------------------------ data

fn t0() -> DateTime<Utc> {
    // Whole seconds: session expiries are kept to the second (DynamoDB TTL).
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn account(id: &str, email: &str) -> Account {
    Account {
        id: id.into(),
        email: email.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: t0(),
        email_verified_at: None,
        lang: "ru".into(),
    }
}

fn invitation(number: &str) -> Invitation {
    Invitation {
        number: number.into(),
        category: Category::Business,
        inviter: Inviter {
            name: "Astana Steel LLP".into(),
            bin: "123456789012".into(),
        },
        invitee: Invitee {
            surname: "SHARMA".into(),
            given_names: "PRIYA".into(),
            nationality: "IND".into(),
            date_of_birth: date(1990, 4, 12),
            passport_number: "Z1234567".into(),
        },
        valid_from: date(2026, 5, 1),
        valid_until: date(2026, 5, 30),
        status: InvitationStatus::Approved,
        created_at: t0(),
        created_by: Some("arn:aws:iam::123456789012:user/officer".into()),
        revoked_by: None,
        request_id: None,
    }
}

fn application(
    id: &str,
    account_id: &str,
    invitation_number: &str,
    created_at: DateTime<Utc>,
) -> Application {
    Application {
        id: id.into(),
        account_id: account_id.into(),
        status: Status::InvitationConfirmed,
        category: Category::Business,
        invitation_number: invitation_number.into(),
        passport: Passport {
            number: "Z1234567".into(),
            surname: "SHARMA".into(),
            given_names: "PRIYA".into(),
            nationality: "IND".into(),
            sex: Sex::F,
            date_of_birth: date(1990, 4, 12),
            issuing_state: "IND".into(),
            expiry_date: date(2031, 1, 1),
        },
        declarations: Declarations {
            two_blank_pages: true,
            passport_undamaged: true,
        },
        inviter: Inviter {
            name: "Astana Steel LLP".into(),
            bin: "123456789012".into(),
        },
        stay: Stay {
            valid_from: date(2026, 5, 1),
            valid_until: date(2026, 5, 30),
        },
        fee: Money::new(6000, "USD"),
        details_confirmed_at: None,
        payment: None,
        visa: None,
        under_review: false,
        emailed_at: None,
        history: Vec::new(),
        group_id: None,
        invitation_revoked_at: None,
        created_at,
        updated_at: created_at,
    }
}

fn payment(session: &str) -> Payment {
    Payment {
        checkout_session_id: session.into(),
        checkout_url: format!("https://checkout.stripe.com/c/pay/{session}"),
        paid_at: None,
        payment_intent: None,
        expires_at: Some(t0() + Duration::hours(23)),
        replaced_sessions: Vec::new(),
    }
}

fn event(event_id: &str, application_id: &str, session: &str) -> PaymentEvent {
    PaymentEvent {
        event_id: event_id.into(),
        application_id: application_id.into(),
        checkout_session_id: session.into(),
        amount_minor: 6000,
        currency: "USD".into(),
        event_type: "checkout.session.completed".into(),
        payment_intent: Some(format!("pi_{session}")),
    }
}

fn visa(number: &str) -> Visa {
    let stay = Stay {
        valid_from: date(2026, 5, 1),
        valid_until: date(2026, 5, 30),
    };
    Visa::new(
        number.into(),
        Category::Business,
        &stay,
        vec!["Astana (NQZ)".into(), "Almaty (ALA)".into()],
        t0() + Duration::hours(1),
    )
}

/// An application created from a fresh invitation, then moved to
/// awaiting_payment with checkout session `session`.
async fn awaiting_payment<S: Store>(
    store: &S,
    id: &str,
    number: &str,
    session: &str,
) -> Application {
    store
        .create_invitation(&invitation(number), None)
        .await
        .unwrap();
    store
        .create_application(&application(id, "acc-1", number, t0()))
        .await
        .unwrap();
    store
        .open_checkout(id, &payment(session), t0() + Duration::minutes(5))
        .await
        .unwrap()
}

fn is<T: std::fmt::Debug>(result: Result<T, StoreError>, expected: fn(&StoreError) -> bool) {
    match result {
        Err(e) if expected(&e) => {}
        other => panic!("unexpected result: {other:?}"),
    }
}

// ------------------------------------------------------------------ the contract

fn audit_event(id: &str, at: DateTime<Utc>, action: AuditAction) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        at,
        actor: "Aigerim Nurlanovna".into(),
        action,
        record: "visa/K00000002".into(),
        reason: "the inviting party withdrew".into(),
        from: "192.0.2.7".into(),
        detail: None,
    }
}

async fn issued<S: Store>(store: &S, id: &str, number: &str, visa_number: &str) -> Application {
    let at = t0() + Duration::hours(1);
    awaiting_payment(store, id, number, &format!("cs_{id}")).await;
    store
        .record_payment(&event(&format!("evt_{id}"), id, &format!("cs_{id}")), at)
        .await
        .unwrap();
    store.issue_visa(id, &visa(visa_number), at).await.unwrap()
}

async fn an_officers_invitation_is_audited_once_with_what_it_did<B: Backend>(b: B) {
    let store = b.open().await;
    let t = t0() + Duration::hours(3);
    let event = |id: &str, action: AuditAction| AuditEvent {
        record: "invitation/700000000010".into(),
        reason: String::new(),
        ..audit_event(id, t, action)
    };
    let events = || async {
        store
            .audit_events(t0(), t0() + Duration::days(1))
            .await
            .unwrap()
    };
    let created = event("01JINVCREATED", AuditAction::InvitationCreated);
    store
        .create_invitation(&invitation("700000000010"), Some(&created))
        .await
        .unwrap();
    // A taken number writes neither the invitation nor its event.
    is(
        store
            .create_invitation(
                &invitation("700000000010"),
                Some(&event("01JINVAGAIN", AuditAction::InvitationCreated)),
            )
            .await,
        |e| matches!(e, StoreError::InvitationExists),
    );
    assert_eq!(events().await, vec![created.clone()]);
    let revoked = event("01JINVREVOKED", AuditAction::InvitationRevoked);
    store
        .revoke_invitation("700000000010", "Aigerim Nurlanovna", Some(&revoked))
        .await
        .unwrap();
    // Revoking again changes nothing, so it records nothing.
    store
        .revoke_invitation(
            "700000000010",
            "Aigerim Nurlanovna",
            Some(&event("01JINVREVOKED2", AuditAction::InvitationRevoked)),
        )
        .await
        .unwrap();
    assert_eq!(events().await, vec![created, revoked]);
    // A used invitation is not revoked, and nothing is recorded.
    awaiting_payment(&store, "app-10", "700000000011", "cs_10").await;
    is(
        store
            .revoke_invitation(
                "700000000011",
                "Aigerim Nurlanovna",
                Some(&event("01JINVUSED", AuditAction::InvitationRevoked)),
            )
            .await,
        |e| matches!(e, StoreError::InvitationNotClaimable),
    );
    assert_eq!(events().await.len(), 2);
}

async fn an_officers_change_to_a_visa_is_written_once_with_its_audit_event<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    let app = issued(store.as_ref(), "app-2", "700000000002", "K00000002").await;
    let t = t0() + Duration::hours(2);
    let all = |store: &Arc<B::S>| {
        let store = store.clone();
        async move {
            store
                .audit_events(t0(), t0() + Duration::days(3))
                .await
                .unwrap()
        }
    };

    // Ten officers cancel at once from what they all read: one wins, and
    // only its event is recorded.
    let cancelled = app.cancel_visa(t).unwrap();
    let tries: Vec<_> = (0..10)
        .map(|i| {
            let (store, app, cancelled) = (store.clone(), app.clone(), cancelled.clone());
            let e = audit_event(&format!("01JCANCEL{i:02}"), t, AuditAction::VisaCancelled);
            tokio::spawn(async move { store.change_visa(&app, &cancelled, &e).await })
        })
        .collect();
    let mut results = Vec::new();
    for attempt in tries {
        results.push(attempt.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for r in results.into_iter().filter(Result::is_err) {
        is(r, |e| matches!(e, StoreError::StatusConflict));
    }
    let stored = store.application("app-2").await.unwrap().unwrap();
    assert_eq!(stored, cancelled);
    assert_eq!(stored.visa.as_ref().unwrap().revision, 1);
    let events = all(&store).await;
    assert_eq!(events.len(), 1, "{events:?}");

    // A change made from a stale read is refused, with no event.
    let stale = app.shorten_visa(date(2026, 5, 20), t).unwrap();
    let e = audit_event("01JSTALE", t, AuditAction::VisaShortened);
    is(store.change_visa(&app, &stale, &e).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
    assert_eq!(all(&store).await.len(), 1);

    // Restored, then shortened: each from the last one read.
    let t2 = t + Duration::minutes(5);
    let restored = stored.restore_visa(t2).unwrap();
    let e2 = audit_event("01JRESTORE", t2, AuditAction::VisaRestored);
    store.change_visa(&stored, &restored, &e2).await.unwrap();
    let t3 = t + Duration::days(1);
    let shortened = restored.shorten_visa(date(2026, 5, 20), t3).unwrap();
    let mut e3 = audit_event("01JSHORTEN", t3, AuditAction::VisaShortened);
    e3.detail = Some("valid_until 2026-05-30 -> 2026-05-20".into());
    store.change_visa(&restored, &shortened, &e3).await.unwrap();
    let reread = b.open().await.application("app-2").await.unwrap().unwrap();
    let v = reread.visa.as_ref().unwrap();
    assert_eq!(
        (v.cancelled_at, v.valid_until, v.shortened_from, v.revision),
        (None, date(2026, 5, 20), Some(date(2026, 5, 30)), 3)
    );

    // Read back in time order; the range includes its start, not its end,
    // across days.
    let events = all(&store).await;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids[1..], ["01JRESTORE", "01JSHORTEN"]);
    assert_eq!(events[2], e3);
    assert_eq!(store.audit_events(t2, t3).await.unwrap(), vec![e2.clone()]);
    assert_eq!(
        store
            .audit_events(t3, t3 + Duration::milliseconds(1))
            .await
            .unwrap(),
        vec![e3]
    );
    assert!(store.audit_events(t3, t2).await.unwrap().is_empty());

    // Nothing but an issued visa changes.
    let paid = awaiting_payment(store.as_ref(), "app-3", "700000000003", "cs_3").await;
    let fake = Application {
        status: Status::Issued,
        visa: Some(visa("K00000003")),
        ..paid.clone()
    };
    let next = fake.cancel_visa(t).unwrap();
    is(
        store
            .change_visa(
                &fake,
                &next,
                &audit_event("01JNOTISSUED", t, AuditAction::VisaCancelled),
            )
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(all(&store).await.len(), 3);
}

async fn accounts_and_the_email_claim<B: Backend>(b: B) {
    let store = b.open().await;
    let first = account("acc-1", "priya@example.com");
    store.create_account(&first).await.unwrap();
    assert_eq!(store.account("acc-1").await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.account_by_email("priya@example.com").await.unwrap(),
        Some(first.clone())
    );

    // The email is claimed: a second account with it writes nothing.
    is(
        store
            .create_account(&account("acc-2", "priya@example.com"))
            .await,
        |e| matches!(e, StoreError::EmailTaken),
    );
    assert_eq!(store.account("acc-2").await.unwrap(), None);
    assert_eq!(
        store.account_by_email("priya@example.com").await.unwrap(),
        Some(first)
    );

    assert_eq!(store.account("nobody").await.unwrap(), None);
    assert_eq!(
        store.account_by_email("nobody@example.com").await.unwrap(),
        None
    );
}

async fn an_erased_account_takes_its_listed_applications_or_nothing<B: Backend>(b: B) {
    let store = b.open().await;
    let priya = account("acc-1", "priya@example.com");
    store.create_account(&priya).await.unwrap();
    for (i, id) in ["app-1", "app-2", "app-3"].into_iter().enumerate() {
        let number = format!("41000000000{i}");
        store
            .create_invitation(&invitation(&number), None)
            .await
            .unwrap();
        store
            .create_application(&application(id, "acc-1", &number, t0()))
            .await
            .unwrap();
    }
    store
        .open_checkout("app-2", &payment("cs_2"), t0() + Duration::hours(1))
        .await
        .unwrap();
    // Listed with a status it no longer has: nothing is erased.
    let stale = [
        ("app-1".to_owned(), Status::InvitationConfirmed),
        ("app-2".to_owned(), Status::InvitationConfirmed),
    ];
    is(store.erase_account(&priya, &stale).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
    assert!(store.account("acc-1").await.unwrap().is_some());
    assert!(
        store
            .account_by_email("priya@example.com")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.applications_of("acc-1").await.unwrap().len(), 3);

    // As they are: the account, its claim and the two listed go; app-3 stays.
    let current = [
        ("app-1".to_owned(), Status::InvitationConfirmed),
        ("app-2".to_owned(), Status::AwaitingPayment),
    ];
    store.erase_account(&priya, &current).await.unwrap();
    assert_eq!(store.account("acc-1").await.unwrap(), None);
    assert_eq!(
        store.account_by_email("priya@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.application("app-1").await.unwrap(), None);
    assert_eq!(store.application("app-2").await.unwrap(), None);
    assert!(store.application("app-3").await.unwrap().is_some());
    // Gone already: NotFound; and the address can be claimed again.
    is(store.erase_account(&priya, &[]).await, |e| {
        matches!(e, StoreError::NotFound)
    });
    store
        .create_account(&account("acc-9", "priya@example.com"))
        .await
        .unwrap();
}

async fn an_email_verification_is_redeemed_once_and_marks_both_copies<B: Backend>(b: B) {
    let store = b.open().await;
    store
        .create_account(&account("acc-1", "priya@example.com"))
        .await
        .unwrap();
    let first = EmailVerification {
        token_hash: "ab".repeat(32),
        account_id: "acc-1".into(),
        expires_at: t0() + Duration::hours(48),
    };
    let second = EmailVerification {
        token_hash: "ba".repeat(32),
        ..first.clone()
    };
    store.create_verification(&first).await.unwrap();
    store.create_verification(&second).await.unwrap();
    assert_eq!(
        store.verification(&first.token_hash, t0()).await.unwrap(),
        Some(first.clone())
    );
    // Unknown, and expired (while still stored): none, and not redeemable.
    assert_eq!(
        store.verification(&"ef".repeat(32), t0()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .verification(&first.token_hash, first.expires_at)
            .await
            .unwrap(),
        None
    );
    is(
        store.redeem_verification(&first, first.expires_at).await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_eq!(
        store
            .account("acc-1")
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        None
    );

    // Redeemed: the account and its sign-in claim both say verified.
    let at = t0() + Duration::minutes(5);
    store.redeem_verification(&first, at).await.unwrap();
    let verified = store.account("acc-1").await.unwrap().unwrap();
    assert_eq!(verified.email_verified_at, Some(at));
    assert_eq!(verified.lang, "ru");
    assert_eq!(
        store
            .account_by_email("priya@example.com")
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        Some(at)
    );
    // Spent: gone for reading, and a second redemption changes nothing.
    assert_eq!(
        store.verification(&first.token_hash, at).await.unwrap(),
        None
    );
    is(store.redeem_verification(&first, at).await, |e| {
        matches!(e, StoreError::NotFound)
    });
    // The other link still works once, and keeps the first time.
    store
        .redeem_verification(&second, at + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .account("acc-1")
            .await
            .unwrap()
            .unwrap()
            .email_verified_at,
        Some(at)
    );
    // Two redemptions of one link at once: exactly one succeeds.
    let third = EmailVerification {
        token_hash: "cc".repeat(32),
        ..first.clone()
    };
    store.create_verification(&third).await.unwrap();
    let (a, b2) = tokio::join!(
        store.redeem_verification(&third, at),
        store.redeem_verification(&third, at)
    );
    assert_eq!(
        [a.is_ok(), b2.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b2:?}"
    );
}

async fn a_password_reset_is_redeemed_once_and_changes_both_copies<B: Backend>(b: B) {
    let store = b.open().await;
    store
        .create_account(&account("acc-1", "priya@example.com"))
        .await
        .unwrap();
    let reset = PasswordReset {
        token_hash: "cd".repeat(32),
        account_id: "acc-1".into(),
        expires_at: t0() + Duration::minutes(60),
    };
    store.create_reset(&reset).await.unwrap();
    assert_eq!(
        store.reset(&reset.token_hash, t0()).await.unwrap(),
        Some(reset.clone())
    );
    // Unknown, and expired (while still stored): none.
    assert_eq!(store.reset(&"ef".repeat(32), t0()).await.unwrap(), None);
    assert_eq!(
        store
            .reset(&reset.token_hash, reset.expires_at)
            .await
            .unwrap(),
        None
    );
    is(
        store
            .redeem_reset(&reset, "$argon2id$late", reset.expires_at)
            .await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_ne!(
        store.account("acc-1").await.unwrap().unwrap().password_hash,
        "$argon2id$late"
    );

    // Redeemed: the account and its sign-in claim both carry the new hash.
    store
        .redeem_reset(&reset, "$argon2id$new", t0() + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        store.account("acc-1").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert_eq!(
        store
            .account_by_email("priya@example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
    // Spent: gone for reading, and a second redemption changes nothing.
    assert_eq!(
        store
            .reset(&reset.token_hash, t0() + Duration::minutes(6))
            .await
            .unwrap(),
        None
    );
    is(
        store
            .redeem_reset(&reset, "$argon2id$again", t0() + Duration::minutes(6))
            .await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_eq!(
        store
            .account_by_email("priya@example.com")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );
}

async fn ending_an_accounts_sessions_leaves_the_others<B: Backend>(b: B) {
    let store = b.open().await;
    let session = |n: u8, account: &str| Session {
        token_hash: format!("{n:02x}").repeat(32),
        account_id: account.into(),
        expires_at: t0() + Duration::hours(12),
    };
    for (n, account) in [(1, "acc-1"), (2, "acc-1"), (3, "acc-1"), (4, "acc-2")] {
        store.create_session(&session(n, account)).await.unwrap();
    }
    // Sessions are not taken for the account's applications.
    assert!(store.applications_of("acc-1").await.unwrap().is_empty());
    assert_eq!(store.end_sessions_of("acc-1").await.unwrap(), 3);
    for n in [1, 2, 3] {
        assert_eq!(
            store
                .session(&session(n, "acc-1").token_hash, t0())
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        store
            .session(&session(4, "acc-2").token_hash, t0())
            .await
            .unwrap(),
        Some(session(4, "acc-2"))
    );
    assert_eq!(store.end_sessions_of("acc-1").await.unwrap(), 0);
}

async fn sessions_expire_by_their_own_clock<B: Backend>(b: B) {
    let store = b.open().await;
    let session = Session {
        token_hash: "ab".repeat(32),
        account_id: "acc-1".into(),
        expires_at: t0() + Duration::hours(12),
    };
    store.create_session(&session).await.unwrap();
    assert_eq!(
        store.session(&session.token_hash, t0()).await.unwrap(),
        Some(session.clone())
    );
    let last_second = session.expires_at - Duration::seconds(1);
    assert_eq!(
        store
            .session(&session.token_hash, last_second)
            .await
            .unwrap(),
        Some(session.clone())
    );
    // Expired: ignored even while the item is still stored (TTL is lazy).
    assert_eq!(
        store
            .session(&session.token_hash, session.expires_at)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .session(&session.token_hash, t0() + Duration::days(3))
            .await
            .unwrap(),
        None
    );

    store.delete_session(&session.token_hash).await.unwrap();
    assert_eq!(
        store.session(&session.token_hash, t0()).await.unwrap(),
        None
    );
    // Deleting what is gone is fine (signing out twice).
    store.delete_session(&session.token_hash).await.unwrap();
    assert_eq!(store.session("unknown", t0()).await.unwrap(), None);
}

async fn a_forgiven_sign_in_attempt_is_taken_back_never_below_zero<B: Backend>(b: B) {
    let store = b.open().await;
    let window = Duration::minutes(SIGN_IN_WINDOW_MINUTES);
    let email = "forgiven@example.com";
    // Nothing counted yet: nothing to take back, and no error.
    store.forgive_failed_sign_in(email).await.unwrap();
    assert_eq!(store.failed_sign_ins(email, t0()).await.unwrap(), 0);
    for _ in 0..2 {
        store
            .record_failed_sign_in(email, t0(), window)
            .await
            .unwrap();
    }
    store.forgive_failed_sign_in(email).await.unwrap();
    assert_eq!(store.failed_sign_ins(email, t0()).await.unwrap(), 1);
    for _ in 0..3 {
        store.forgive_failed_sign_in(email).await.unwrap();
    }
    assert_eq!(store.failed_sign_ins(email, t0()).await.unwrap(), 0);
    assert_eq!(
        store
            .record_failed_sign_in(email, t0(), window)
            .await
            .unwrap(),
        1,
        "counting starts again from zero, not below"
    );
}

async fn failed_sign_ins_count_in_a_window<B: Backend>(b: B) {
    let store = b.open().await;
    let window = Duration::minutes(SIGN_IN_WINDOW_MINUTES);
    let email = "priya@example.com";
    assert_eq!(store.failed_sign_ins(email, t0()).await.unwrap(), 0);
    for (i, expected) in [1, 2, 3].into_iter().enumerate() {
        let at = t0() + Duration::minutes(i as i64);
        assert_eq!(
            store
                .record_failed_sign_in(email, at, window)
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        store
            .failed_sign_ins(email, t0() + Duration::minutes(14))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .failed_sign_ins("other@example.com", t0())
            .await
            .unwrap(),
        0
    );
    // The window opened at t0 has closed 15 minutes later.
    assert_eq!(
        store.failed_sign_ins(email, t0() + window).await.unwrap(),
        0
    );
    let later = t0() + window + Duration::minutes(1);
    assert_eq!(
        store
            .record_failed_sign_in(email, later, window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_failed_sign_in(email, later + Duration::seconds(1), window)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .failed_sign_ins(email, later + Duration::minutes(1))
            .await
            .unwrap(),
        2
    );
}

async fn invitations_are_created_once_and_revoked_only_unused<B: Backend>(b: B) {
    let store = b.open().await;
    let inv = invitation("100000000001");
    store.create_invitation(&inv, None).await.unwrap();
    assert_eq!(
        store.invitation("100000000001").await.unwrap(),
        Some(inv.clone())
    );
    let mut other = invitation("100000000001");
    other.inviter.name = "Someone Else LLP".into();
    is(store.create_invitation(&other, None).await, |e| {
        matches!(e, StoreError::InvitationExists)
    });
    assert_eq!(
        store.invitation("100000000001").await.unwrap(),
        Some(inv.clone())
    );
    assert_eq!(store.invitation("999999999999").await.unwrap(), None);

    let revoked = store
        .revoke_invitation("100000000001", "arn:aws:iam::1:user/officer-a", None)
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Invitation {
            status: InvitationStatus::Revoked,
            revoked_by: Some("arn:aws:iam::1:user/officer-a".into()),
            ..inv
        }
    );
    // Revoking again is a no-op: the first officer stays recorded.
    assert_eq!(
        store
            .revoke_invitation("100000000001", "arn:aws:iam::1:user/officer-b", None)
            .await
            .unwrap(),
        revoked
    );
    assert_eq!(
        store.invitation("100000000001").await.unwrap(),
        Some(revoked)
    );
    is(
        store
            .revoke_invitation("999999999999", "officer", None)
            .await,
        |e| matches!(e, StoreError::NotFound),
    );

    // A used invitation cannot be revoked.
    store
        .create_invitation(&invitation("100000000002"), None)
        .await
        .unwrap();
    store
        .create_application(&application("app-1", "acc-1", "100000000002", t0()))
        .await
        .unwrap();
    is(
        store
            .revoke_invitation("100000000002", "officer", None)
            .await,
        |e| matches!(e, StoreError::InvitationNotClaimable),
    );
    assert_eq!(
        store
            .invitation("100000000002")
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Used
    );
}

async fn an_invitation_is_claimed_once_with_its_application<B: Backend>(b: B) {
    let store = b.open().await;
    store
        .create_invitation(&invitation("200000000001"), None)
        .await
        .unwrap();
    let app = application("app-1", "acc-1", "200000000001", t0());
    store.create_application(&app).await.unwrap();
    assert_eq!(store.application("app-1").await.unwrap(), Some(app));
    assert_eq!(
        store
            .invitation("200000000001")
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Used
    );

    // Used, revoked or unknown: not claimable, and nothing is written.
    store
        .create_invitation(&invitation("200000000002"), None)
        .await
        .unwrap();
    store
        .revoke_invitation("200000000002", "officer", None)
        .await
        .unwrap();
    for (id, number) in [
        ("app-2", "200000000001"),
        ("app-3", "200000000002"),
        ("app-4", "299999999999"),
    ] {
        let result = store
            .create_application(&application(id, "acc-1", number, t0()))
            .await;
        is(result, |e| matches!(e, StoreError::InvitationNotClaimable));
        assert_eq!(store.application(id).await.unwrap(), None, "{id}");
    }
    assert_eq!(
        store
            .invitation("200000000002")
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Revoked
    );
    assert_eq!(store.invitation("299999999999").await.unwrap(), None);
    assert_eq!(store.applications_of("acc-1").await.unwrap().len(), 1);
    assert_eq!(store.application("missing").await.unwrap(), None);
}

async fn checkout_opens_only_from_invitation_confirmed<B: Backend>(b: B) {
    let store = b.open().await;
    store
        .create_invitation(&invitation("300000000001"), None)
        .await
        .unwrap();
    let app = application("app-1", "acc-1", "300000000001", t0());
    store.create_application(&app).await.unwrap();
    let at = t0() + Duration::minutes(5);
    let opened = store
        .open_checkout("app-1", &payment("cs_1"), at)
        .await
        .unwrap();
    let expected = Application {
        status: Status::AwaitingPayment,
        details_confirmed_at: Some(at),
        payment: Some(payment("cs_1")),
        updated_at: at,
        ..app
    };
    assert_eq!(opened, expected);
    assert_eq!(
        store.application("app-1").await.unwrap(),
        Some(expected.clone())
    );

    // A second confirmation changes nothing: the first session stands.
    is(
        store.open_checkout("app-1", &payment("cs_2"), at).await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(store.application("app-1").await.unwrap(), Some(expected));
    is(
        store.open_checkout("missing", &payment("cs_3"), at).await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_eq!(store.application("missing").await.unwrap(), None);
}

async fn an_accounts_applications_newest_first<B: Backend>(b: B) {
    let store = b.open().await;
    let mut created = Vec::new();
    // Created out of order, two at the same instant (ties: larger id first).
    for (i, (id, minutes)) in [("app-b", 1), ("app-a", 0), ("app-d", 2), ("app-c", 2)]
        .into_iter()
        .enumerate()
    {
        let number = format!("40000000000{i}");
        store
            .create_invitation(&invitation(&number), None)
            .await
            .unwrap();
        let app = application(id, "acc-1", &number, t0() + Duration::minutes(minutes));
        store.create_application(&app).await.unwrap();
        created.push(app);
    }
    store
        .create_invitation(&invitation("400000000009"), None)
        .await
        .unwrap();
    store
        .create_application(&application("app-x", "acc-2", "400000000009", t0()))
        .await
        .unwrap();

    let ids: Vec<String> = store
        .applications_of("acc-1")
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, ["app-d", "app-c", "app-b", "app-a"]);
    let listed = store.applications_of("acc-1").await.unwrap();
    assert_eq!(listed[2], created[0]);
    // The listing shows state changes too.
    store
        .open_checkout("app-a", &payment("cs_a"), t0() + Duration::hours(1))
        .await
        .unwrap();
    let listed = store.applications_of("acc-1").await.unwrap();
    assert_eq!(listed[3].status, Status::AwaitingPayment);
    assert_eq!(store.applications_of("acc-2").await.unwrap().len(), 1);
    assert!(store.applications_of("nobody").await.unwrap().is_empty());
}

async fn officers_find_applications_by_passport_number_and_surname<B: Backend>(b: B) {
    use visa_core::search::{SearchKey, SearchKind};
    let store = b.open().await;
    let people = [
        ("app-1", "Z1234567", "Müller-Lüdenscheidt", 0),
        ("app-2", "Z1234567", "Sharma", 5),
        ("app-3", "X7654321", "MULLER LUDENSCHEIDT", 3),
    ];
    for (i, (id, number, surname, minutes)) in people.into_iter().enumerate() {
        let inv = format!("41000000000{i}");
        store
            .create_invitation(&invitation(&inv), None)
            .await
            .unwrap();
        let mut app = application(id, "acc-1", &inv, t0() + Duration::minutes(minutes));
        app.passport.number = number.into();
        app.passport.surname = surname.into();
        store.create_application(&app).await.unwrap();
    }
    let find = |kind, raw: &str| {
        let key = SearchKey::new(kind, raw).unwrap();
        let store = &store;
        async move {
            store
                .find_applications(&key)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    // Newest first; case, accents and punctuation aside; exact otherwise.
    assert_eq!(
        find(SearchKind::PassportNumber, "z1234567").await,
        ["app-2", "app-1"]
    );
    assert_eq!(
        find(SearchKind::Surname, "muller ludenscheidt").await,
        ["app-3", "app-1"]
    );
    assert_eq!(find(SearchKind::Surname, "Sharma").await, ["app-2"]);
    assert!(find(SearchKind::Surname, "Z1234567").await.is_empty());
    assert!(find(SearchKind::PassportNumber, "Sharma").await.is_empty());
    assert!(find(SearchKind::Surname, "Mull").await.is_empty());
    // By status, newest first; the listing follows each status change.
    let in_status = |status| {
        let store = &store;
        async move {
            store
                .applications_in(status)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        in_status(Status::InvitationConfirmed).await,
        ["app-2", "app-3", "app-1"]
    );
    // What is found is the application as it now is.
    store
        .open_checkout("app-2", &payment("cs_2"), t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        in_status(Status::InvitationConfirmed).await,
        ["app-3", "app-1"]
    );
    assert_eq!(in_status(Status::AwaitingPayment).await, ["app-2"]);
    assert!(in_status(Status::Issued).await.is_empty());
    let found = store
        .find_applications(&SearchKey::new(SearchKind::Surname, "sharma").unwrap())
        .await
        .unwrap();
    assert_eq!(found[0].status, Status::AwaitingPayment);
}

async fn a_dispute_waits_for_its_decision_and_is_never_written_over<B: Backend>(b: B) {
    use visa_core::application::ReviewDecision;
    let store = b.open().await;
    let first = issued(&store, "app-r1", "720000000001", "K00000R01").await;
    let second = issued(&store, "app-r2", "720000000002", "K00000R02").await;
    assert!(store.under_review().await.unwrap().is_empty());
    // Paid, then issued: the status listing followed both changes.
    let issued_ids: Vec<String> = store
        .applications_in(Status::Issued)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(issued_ids.contains(&"app-r1".to_owned()) && issued_ids.contains(&"app-r2".to_owned()));
    assert!(
        store
            .applications_in(Status::Paid)
            .await
            .unwrap()
            .is_empty()
    );
    let t = t0() + Duration::hours(3);
    // An officer reads the visa; a dispute comes; the officer's cancel,
    // made from what they read, is refused: the hold is not lost.
    let read = store.application("app-r1").await.unwrap().unwrap();
    assert!(store.flag_for_review("evt_r1", "app-r1", t).await.unwrap());
    let stale = read.cancel_visa(t).unwrap();
    let refused = store
        .change_visa(
            &read,
            &stale,
            &audit_event("01JSTALE0000", t, AuditAction::VisaCancelled),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::StatusConflict)),
        "{refused:?}"
    );
    assert!(
        store
            .application("app-r1")
            .await
            .unwrap()
            .unwrap()
            .under_review,
        "the dispute stands"
    );
    assert!(
        store
            .flag_for_review("evt_r2", "app-r2", t + Duration::minutes(1))
            .await
            .unwrap()
    );
    // The queue: the longest waiting first.
    let queue: Vec<String> = store
        .under_review()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(queue, ["app-r1", "app-r2"]);
    // Decided: it leaves the queue, and stands (or is cancelled).
    let waiting = store.application("app-r1").await.unwrap().unwrap();
    let kept = waiting
        .decide_review(ReviewDecision::Keep, t + Duration::hours(1))
        .unwrap();
    store
        .change_visa(
            &waiting,
            &kept,
            &audit_event("01JKEPT00000", t, AuditAction::ReviewDecided),
        )
        .await
        .unwrap();
    let now = store.application("app-r1").await.unwrap().unwrap();
    assert!(!now.under_review);
    // The visa's history, as officers' timeline shows it.
    use visa_core::application::VisaEventKind;
    let kinds: Vec<VisaEventKind> = now.history.iter().map(|e| e.event).collect();
    assert_eq!(kinds, [VisaEventKind::Disputed, VisaEventKind::ReviewKept]);
    assert_eq!(
        now.visa.as_ref().unwrap().revision,
        first.visa.as_ref().unwrap().revision + 1
    );
    let queue: Vec<String> = store
        .under_review()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(queue, ["app-r2"]);
    // Deciding again from the same read: refused.
    assert!(matches!(
        store
            .change_visa(
                &waiting,
                &kept,
                &audit_event("01JKEPT00001", t, AuditAction::ReviewDecided)
            )
            .await,
        Err(StoreError::StatusConflict)
    ));
    let waiting = store.application("app-r2").await.unwrap().unwrap();
    let cancelled = waiting
        .decide_review(ReviewDecision::Cancel, t + Duration::hours(1))
        .unwrap();
    store
        .change_visa(
            &waiting,
            &cancelled,
            &audit_event("01JCANC00000", t, AuditAction::ReviewDecided),
        )
        .await
        .unwrap();
    assert!(store.under_review().await.unwrap().is_empty());
    let now = store.application("app-r2").await.unwrap().unwrap();
    assert!(now.visa.unwrap().cancelled_at.is_some() && !now.under_review);
    assert_eq!(second.id, "app-r2");
}

async fn officers_find_invitations_by_passport_surname_and_inviting_party<B: Backend>(b: B) {
    use visa_core::search::{SearchKey, SearchKind};
    let store = b.open().await;
    for (i, (number, passport, surname, bin)) in [
        ("730000000001", "Z1234567", "Sharma", "123456789012"),
        ("730000000002", "X7654321", "SHARMA", "987654321098"),
        ("730000000003", "Z1234567", "Nurlanova", "123456789012"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut inv = invitation(number);
        inv.invitee.passport_number = passport.into();
        inv.invitee.surname = surname.into();
        inv.inviter.bin = bin.into();
        inv.created_at = t0() + Duration::minutes(i as i64);
        store.create_invitation(&inv, None).await.unwrap();
    }
    // An application on the first: it is found as an application, and the
    // invitation still as an invitation (the indexes hold both apart).
    store
        .create_application(&application("app-i1", "acc-1", "730000000001", t0()))
        .await
        .unwrap();
    let find = |kind, raw: &str| {
        let key = SearchKey::new(kind, raw).unwrap();
        let store = &store;
        async move {
            store
                .find_invitations(&key)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.number)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        find(SearchKind::PassportNumber, "z1234567").await,
        ["730000000003", "730000000001"]
    );
    assert_eq!(
        find(SearchKind::Surname, "sharma").await,
        ["730000000002", "730000000001"]
    );
    assert_eq!(
        find(SearchKind::InviterBin, "123456789012").await,
        ["730000000003", "730000000001"]
    );
    assert!(
        find(SearchKind::InviterBin, "000000000000")
            .await
            .is_empty()
    );
    let apps = store
        .find_applications(&SearchKey::new(SearchKind::PassportNumber, "Z1234567").unwrap())
        .await
        .unwrap();
    assert_eq!(
        apps.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["app-i1"]
    );
    // What is found is the invitation as it now is.
    let found = store
        .find_invitations(&SearchKey::new(SearchKind::Surname, "Sharma").unwrap())
        .await
        .unwrap();
    assert_eq!(found[1].status, InvitationStatus::Used);
}

async fn twenty_officers_scanning_one_visa_record_one_entry<B: Backend>(b: B) {
    use visa_core::application::{Crossing, VisaEventKind};
    let store = Arc::new(b.open().await);
    let app = issued(store.as_ref(), "app-x1", "740000000001", "K00000X01").await;
    let day = app.visa.as_ref().unwrap().valid_from;
    let t = t0() + Duration::hours(5);
    let tries: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let checkpoint = if i % 2 == 0 { "NQZ" } else { "ALA" };
                let entered = app
                    .record_crossing(Crossing::Entry, checkpoint, day, t)
                    .unwrap();
                let e = audit_event(&format!("01JENTRY{i:02}"), t, AuditAction::EntryRecorded);
                store.change_visa(&app, &entered, &e).await
            })
        })
        .collect();
    let mut won = 0;
    for attempt in tries {
        match attempt.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::StatusConflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1, "one entry recorded");
    let now = store.application("app-x1").await.unwrap().unwrap();
    let entries = now
        .history
        .iter()
        .filter(|e| e.event == VisaEventKind::Entered)
        .count();
    assert_eq!(entries, 1);
    let recorded = store
        .audit_events(t0(), t0() + Duration::days(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::EntryRecorded)
        .count();
    assert_eq!(recorded, 1, "only the winner's event is in the trail");
    // Then one exit; a second entry is refused by the domain.
    let left = now.record_crossing(Crossing::Exit, "ALA", day, t).unwrap();
    store
        .change_visa(
            &now,
            &left,
            &audit_event("01JEXIT0000", t, AuditAction::ExitRecorded),
        )
        .await
        .unwrap();
    let after = store.application("app-x1").await.unwrap().unwrap();
    assert_eq!(
        after
            .record_crossing(Crossing::Entry, "NQZ", day, t)
            .unwrap_err(),
        visa_core::application::CrossingRefused::Used
    );
    assert_eq!(
        visa_core::verification::standing(&after, day).as_str(),
        "used"
    );
}

async fn a_sign_in_is_appended_to_the_trail_once<B: Backend>(b: B) {
    let store = b.open().await;
    let event = visa_core::audit::AuditEvent {
        id: "01JDSIGNIN0000000000000000".into(),
        at: t0(),
        actor: "Aigerim Sadykova <a.sadykova@migration.kz> (officer)".into(),
        action: visa_core::audit::AuditAction::SignedIn,
        record: "staff/a.sadykova@migration.kz".into(),
        reason: String::new(),
        from: "192.0.2.10".into(),
        detail: None,
    };
    store.append_audit_event(&event).await.unwrap();
    // The same event again is refused, never written over.
    let mut again = event.clone();
    again.actor = "someone else".into();
    assert!(store.append_audit_event(&again).await.is_err());
    let events = store
        .audit_events(t0() - Duration::hours(1), t0() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(events, [event]);
}

async fn payments_move_to_paid_once_per_event<B: Backend>(b: B) {
    let store = b.open().await;
    let awaiting = awaiting_payment(&store, "app-1", "500000000001", "cs_1").await;
    let at = t0() + Duration::minutes(10);

    // Not this application's session, not awaiting payment, no such application.
    is(
        store
            .record_payment(&event("evt_x", "app-1", "cs_other"), at)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    store
        .create_invitation(&invitation("500000000002"), None)
        .await
        .unwrap();
    store
        .create_application(&application("app-2", "acc-1", "500000000002", t0()))
        .await
        .unwrap();
    is(
        store
            .record_payment(&event("evt_y", "app-2", "cs_1"), at)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    is(
        store
            .record_payment(&event("evt_z", "missing", "cs_1"), at)
            .await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_eq!(
        store.application("app-1").await.unwrap(),
        Some(awaiting.clone())
    );

    let paid = match store
        .record_payment(&event("evt_1", "app-1", "cs_1"), at)
        .await
        .unwrap()
    {
        PaymentRecorded::Paid(app) => *app,
        other => panic!("expected Paid, got {other:?}"),
    };
    let mut expected = awaiting;
    expected.status = Status::Paid;
    expected.updated_at = at;
    expected.payment.as_mut().unwrap().paid_at = Some(at);
    expected.payment.as_mut().unwrap().payment_intent = Some("pi_cs_1".into());
    assert_eq!(paid, expected);
    // A dispute names only the payment: it leads back to the application.
    assert_eq!(
        store.application_paid_by("pi_cs_1").await.unwrap(),
        Some("app-1".to_owned())
    );
    assert_eq!(store.application_paid_by("pi_other").await.unwrap(), None);
    assert_eq!(
        store.application("app-1").await.unwrap(),
        Some(expected.clone())
    );

    // The same event again; another event for the paid session; that one again.
    let later = at + Duration::minutes(1);
    assert_eq!(
        store
            .record_payment(&event("evt_1", "app-1", "cs_1"), later)
            .await
            .unwrap(),
        PaymentRecorded::DuplicateEvent
    );
    assert_eq!(
        store
            .record_payment(&event("evt_2", "app-1", "cs_1"), later)
            .await
            .unwrap(),
        PaymentRecorded::AlreadyPaid
    );
    assert_eq!(
        store
            .record_payment(&event("evt_2", "app-1", "cs_1"), later)
            .await
            .unwrap(),
        PaymentRecorded::DuplicateEvent
    );
    assert_eq!(store.application("app-1").await.unwrap(), Some(expected));

    // Still "already paid" once issued.
    store
        .issue_visa("app-1", &visa("K00000001"), later)
        .await
        .unwrap();
    assert_eq!(
        store
            .record_payment(&event("evt_3", "app-1", "cs_1"), later)
            .await
            .unwrap(),
        PaymentRecorded::AlreadyPaid
    );
    assert_eq!(
        store.application("app-1").await.unwrap().unwrap().status,
        Status::Issued
    );
}

async fn disputes_flag_once_per_event<B: Backend>(b: B) {
    let store = b.open().await;
    let paid_at = t0() + Duration::minutes(10);
    awaiting_payment(&store, "app-1", "600000000001", "cs_1").await;
    store
        .record_payment(&event("evt_1", "app-1", "cs_1"), paid_at)
        .await
        .unwrap();

    let at = t0() + Duration::days(2);
    assert!(
        store
            .flag_for_review("evt_dispute", "app-1", at)
            .await
            .unwrap()
    );
    let flagged = store.application("app-1").await.unwrap().unwrap();
    assert!(flagged.under_review);
    assert_eq!(flagged.updated_at, at);
    assert_eq!(flagged.status, Status::Paid);
    assert!(
        !store
            .flag_for_review("evt_dispute", "app-1", at + Duration::hours(1))
            .await
            .unwrap()
    );
    assert_eq!(store.application("app-1").await.unwrap(), Some(flagged));
    is(
        store.flag_for_review("evt_other", "missing", at).await,
        |e| matches!(e, StoreError::NotFound),
    );
    // A dispute event id is a payment event id: it never pays anything.
    assert_eq!(
        store
            .record_payment(&event("evt_dispute", "app-1", "cs_1"), at)
            .await
            .unwrap(),
        PaymentRecorded::DuplicateEvent
    );
}

async fn visas_take_a_free_number_and_a_paid_application<B: Backend>(b: B) {
    let store = b.open().await;
    let at = t0() + Duration::hours(1);
    awaiting_payment(&store, "app-1", "700000000001", "cs_1").await;
    // Not paid yet.
    is(
        store.issue_visa("app-1", &visa("K00000001"), at).await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(store.visa("K00000001").await.unwrap(), None);

    store
        .record_payment(&event("evt_1", "app-1", "cs_1"), at)
        .await
        .unwrap();
    let paid = store.application("app-1").await.unwrap().unwrap();
    let issued = store
        .issue_visa("app-1", &visa("K00000001"), at)
        .await
        .unwrap();
    let expected = Application {
        status: Status::Issued,
        visa: Some(visa("K00000001")),
        updated_at: at,
        ..paid
    };
    assert_eq!(issued, expected);
    assert_eq!(store.application("app-1").await.unwrap(), Some(expected));
    let record = store.visa("K00000001").await.unwrap().unwrap();
    assert_eq!(
        (record.visa, record.application_id.as_str()),
        (visa("K00000001"), "app-1")
    );
    // Issued once.
    is(
        store.issue_visa("app-1", &visa("K00000002"), at).await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(store.visa("K00000002").await.unwrap(), None);

    // The number is taken: the second application stays paid.
    awaiting_payment(&store, "app-2", "700000000002", "cs_2").await;
    store
        .record_payment(&event("evt_2", "app-2", "cs_2"), at)
        .await
        .unwrap();
    is(
        store.issue_visa("app-2", &visa("K00000001"), at).await,
        |e| matches!(e, StoreError::VisaNumberTaken),
    );
    let app2 = store.application("app-2").await.unwrap().unwrap();
    assert_eq!((app2.status, app2.visa), (Status::Paid, None));
    assert_eq!(
        store
            .visa("K00000001")
            .await
            .unwrap()
            .unwrap()
            .application_id,
        "app-1"
    );
    store
        .issue_visa("app-2", &visa("K00000003"), at)
        .await
        .unwrap();

    is(
        store.issue_visa("missing", &visa("K00000004"), at).await,
        |e| matches!(e, StoreError::NotFound),
    );
    assert_eq!(store.visa("K00000004").await.unwrap(), None);

    // The email is recorded once, and only for an issued visa.
    let emailed = at + Duration::minutes(1);
    assert!(store.mark_emailed("app-1", emailed).await.unwrap());
    assert!(
        !store
            .mark_emailed("app-1", emailed + Duration::minutes(5))
            .await
            .unwrap()
    );
    let app1 = store.application("app-1").await.unwrap().unwrap();
    assert_eq!(
        (app1.status, app1.emailed_at),
        (Status::Issued, Some(emailed))
    );
    awaiting_payment(&store, "app-3", "700000000003", "cs_3").await;
    is(store.mark_emailed("app-3", emailed).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
    is(store.mark_emailed("missing", emailed).await, |e| {
        matches!(e, StoreError::NotFound | StoreError::StatusConflict)
    });
}

async fn fifty_concurrent_claims_of_one_invitation_have_one_winner<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    store
        .create_invitation(&invitation("800000000001"), None)
        .await
        .unwrap();
    let claims: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            let app = application(&format!("app-{i:02}"), "acc-1", "800000000001", t0());
            tokio::spawn(async move { store.create_application(&app).await })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        match claim.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::InvitationNotClaimable) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.applications_of("acc-1").await.unwrap().len(), 1);
    assert_eq!(
        store
            .invitation("800000000001")
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Used
    );
}

async fn fifty_concurrent_deliveries_of_one_event_pay_once<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    awaiting_payment(store.as_ref(), "app-1", "900000000001", "cs_1").await;
    let deliveries: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_payment(&event("evt_1", "app-1", "cs_1"), t0())
                    .await
            })
        })
        .collect();
    let (mut paid, mut duplicates) = (0, 0);
    for d in deliveries {
        match d.await.unwrap().unwrap() {
            PaymentRecorded::Paid(_) => paid += 1,
            PaymentRecorded::DuplicateEvent => duplicates += 1,
            PaymentRecorded::AlreadyPaid => panic!("one event cannot be 'already paid' by itself"),
            PaymentRecorded::PaidByAnotherSession => panic!("one session only"),
            PaymentRecorded::GroupPaid(_) => panic!("no group here"),
        }
    }
    assert_eq!((paid, duplicates), (1, 49));
    assert_eq!(
        store.application("app-1").await.unwrap().unwrap().status,
        Status::Paid
    );
}

async fn fifty_different_events_for_one_session_pay_once<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    awaiting_payment(store.as_ref(), "app-1", "910000000001", "cs_1").await;
    let deliveries: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            let e = event(&format!("evt_{i}"), "app-1", "cs_1");
            tokio::spawn(async move { store.record_payment(&e, t0()).await })
        })
        .collect();
    let (mut paid, mut already) = (0, 0);
    for d in deliveries {
        match d.await.unwrap().unwrap() {
            PaymentRecorded::Paid(_) => paid += 1,
            PaymentRecorded::AlreadyPaid => already += 1,
            PaymentRecorded::DuplicateEvent => panic!("every event is new"),
            PaymentRecorded::PaidByAnotherSession => panic!("one session only"),
            PaymentRecorded::GroupPaid(_) => panic!("no group here"),
        }
    }
    assert_eq!((paid, already), (1, 49));
    // Every event was recorded: redelivering any is a duplicate.
    for i in [0, 17, 49] {
        let again = store
            .record_payment(&event(&format!("evt_{i}"), "app-1", "cs_1"), t0())
            .await
            .unwrap();
        assert_eq!(again, PaymentRecorded::DuplicateEvent);
    }
}

async fn everything_reads_back_after_reconnecting<B: Backend>(b: B) {
    let first = b.open().await;
    first
        .create_account(&account("acc-1", "priya@example.com"))
        .await
        .unwrap();
    let session = Session {
        token_hash: "cd".repeat(32),
        account_id: "acc-1".into(),
        expires_at: t0() + Duration::hours(1),
    };
    first.create_session(&session).await.unwrap();
    awaiting_payment(&first, "app-1", "950000000001", "cs_1").await;
    first
        .record_payment(&event("evt_1", "app-1", "cs_1"), t0())
        .await
        .unwrap();
    let issued = first
        .issue_visa("app-1", &visa("K00000009"), t0())
        .await
        .unwrap();
    drop(first);

    let second = b.open().await;
    assert_eq!(
        second.account_by_email("priya@example.com").await.unwrap(),
        Some(account("acc-1", "priya@example.com"))
    );
    assert_eq!(
        second.session(&session.token_hash, t0()).await.unwrap(),
        Some(session)
    );
    assert_eq!(
        second.application("app-1").await.unwrap(),
        Some(issued.clone())
    );
    assert_eq!(second.applications_of("acc-1").await.unwrap(), vec![issued]);
    assert_eq!(
        second
            .visa("K00000009")
            .await
            .unwrap()
            .unwrap()
            .application_id,
        "app-1"
    );
    assert_eq!(
        second
            .record_payment(&event("evt_1", "app-1", "cs_1"), t0())
            .await
            .unwrap(),
        PaymentRecorded::DuplicateEvent
    );
    // Conditions still hold across the reconnect.
    is(
        second
            .create_account(&account("acc-2", "priya@example.com"))
            .await,
        |e| matches!(e, StoreError::EmailTaken),
    );
}

// ------------------------------------------------------------------ DynamoDB's item shapes

/// What render-visa and the table stream rely on: the application item
/// carries a top-level string `status`, and a stream image of it reads
/// back as an `Application`.
#[tokio::test]
async fn the_application_item_carries_the_status_the_stream_filters_on() {
    let backend = Dynamo::new().await;
    let store = backend.open().await;
    awaiting_payment(&store, "app-1", "960000000001", "cs_1").await;
    store
        .record_payment(&event("evt_1", "app-1", "cs_1"), t0())
        .await
        .unwrap();
    let client = aws_sdk_dynamodb::Client::new(&backend.moto.sdk_config().await);
    use aws_sdk_dynamodb::types::AttributeValue;
    let key = |pk: &str, sk: &str| -> std::collections::HashMap<String, AttributeValue> {
        [
            ("pk".to_owned(), AttributeValue::S(pk.into())),
            ("sk".to_owned(), AttributeValue::S(sk.into())),
        ]
        .into()
    };
    let item = client
        .get_item()
        .table_name(&backend.table)
        .set_key(Some(key("APP#app-1", "APP")))
        .send()
        .await
        .unwrap();
    let item = item.item.unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "paid");
    assert_eq!(item["gsi1pk"].as_s().unwrap(), "ACCOUNT#acc-1");
    assert!(
        item["gsi1sk"]
            .as_s()
            .unwrap()
            .starts_with("APP#2026-03-02T09:30:00.000000Z#")
    );
    let app: Application = serde_dynamo::aws_sdk_dynamodb_1::from_item(item).unwrap();
    assert_eq!(Some(app), store.application("app-1").await.unwrap());

    // Sessions and payment events carry `ttl` (epoch seconds) for expiry.
    let session = Session {
        token_hash: "ef".repeat(32),
        account_id: "acc-1".into(),
        expires_at: t0(),
    };
    store.create_session(&session).await.unwrap();
    let item = client
        .get_item()
        .table_name(&backend.table)
        .set_key(Some(key(
            &format!("SESSION#{}", session.token_hash),
            "SESSION",
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        item.item.unwrap()["ttl"].as_n().unwrap(),
        &t0().timestamp().to_string()
    );
    let item = client
        .get_item()
        .table_name(&backend.table)
        .set_key(Some(key("PAYEVT#evt_1", "PAYEVT")))
        .send()
        .await
        .unwrap();
    let ttl: i64 = item.item.unwrap()["ttl"].as_n().unwrap().parse().unwrap();
    assert!(ttl > (t0() + Duration::days(30)).timestamp());
}

/// Every item that holds passport data carries the retention policy's
/// instant as its `ttl`, through each state change: DynamoDB erases it then.
#[tokio::test]
async fn items_with_passport_data_expire_as_the_retention_policy_says() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use visa_core::retention::Retention;
    let backend = Dynamo::new().await;
    // Not the defaults: the figures come from the policy the store is given.
    let policy = Retention {
        unpaid: Duration::days(3),
        after_visa_end: Duration::days(100),
    };
    let store = backend.open().await.with_retention(policy);
    let client = aws_sdk_dynamodb::Client::new(&backend.moto.sdk_config().await);
    let ttl = |pk: String, sk: &'static str| {
        let (client, table) = (client.clone(), backend.table.clone());
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key("pk", AttributeValue::S(pk))
                .key("sk", AttributeValue::S(sk.into()))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .expect("the item exists");
            item.get("ttl")
                .map(|n| DateTime::from_timestamp(n.as_n().unwrap().parse().unwrap(), 0).unwrap())
        }
    };
    let inv = invitation("970000000001");
    store.create_invitation(&inv, None).await.unwrap();
    // The invitation's last day, 30 May, ends at 19:00 UTC (midnight in Astana).
    let end_of_stay = Utc.with_ymd_and_hms(2026, 5, 30, 19, 0, 0).unwrap();
    assert_eq!(
        ttl("INVITATION#970000000001".into(), "INVITATION").await,
        Some(end_of_stay + Duration::days(100))
    );
    store
        .create_application(&application("app-r", "acc-1", "970000000001", t0()))
        .await
        .unwrap();
    assert_eq!(
        ttl("APP#app-r".into(), "APP").await,
        Some(t0() + Duration::days(3)),
        "a draft: three days after it was made"
    );
    let confirmed_at = t0() + Duration::hours(2);
    store
        .open_checkout("app-r", &payment("cs_r"), confirmed_at)
        .await
        .unwrap();
    // The checkout (open until t0 + 23 h) ends after the confirmation.
    assert_eq!(
        ttl("APP#app-r".into(), "APP").await,
        Some(t0() + Duration::hours(23) + Duration::days(3))
    );
    store
        .record_payment(&event("evt_r", "app-r", "cs_r"), t0() + Duration::hours(3))
        .await
        .unwrap();
    assert_eq!(
        ttl("APP#app-r".into(), "APP").await,
        None,
        "paid: kept until issued"
    );
    assert!(
        ttl("PI#pi_cs_r".into(), "PI").await.is_some(),
        "the payment id for disputes expires too"
    );
    store
        .issue_visa("app-r", &visa("KR0000001"), t0() + Duration::hours(4))
        .await
        .unwrap();
    let issued = Some(end_of_stay + Duration::days(100));
    assert_eq!(ttl("APP#app-r".into(), "APP").await, issued);
    assert_eq!(ttl("VISA#KR0000001".into(), "VISA").await, issued);
    let app = store.application("app-r").await.unwrap().unwrap();
    assert_eq!(policy.application(&app), issued, "the policy's own answer");
    // A host's request and the arrival its entry opens hold the foreigner's
    // passport data too: they go when the invitation would.
    let (request, arrival, entered, event) = host_records(&app, "req-r");
    store.create_requests(&[request]).await.unwrap();
    assert_eq!(ttl("REQUEST#req-r".into(), "REQUEST").await, issued);
    store
        .record_entry(&app, &entered, &event, &arrival)
        .await
        .unwrap();
    assert_eq!(ttl("ARRIVAL#req-r".into(), "ARRIVAL").await, issued);
}

/// A host's request for `app`'s stay (its last day the invitation's, 30
/// May), and the entry on `app`'s visa with the arrival it opens.
fn host_records(
    app: &Application,
    request_id: &str,
) -> (
    visa_core::invitation_request::InvitationRequest,
    visa_core::arrival::Arrival,
    Application,
    AuditEvent,
) {
    let mut request = arrival_request(request_id, "host-r");
    request.valid_until = date(2026, 5, 30);
    let t = t0() + Duration::hours(5);
    let day = app.visa.as_ref().unwrap().valid_from;
    let entered = app
        .record_crossing(visa_core::application::Crossing::Entry, "NQZ", day, t)
        .unwrap();
    let arrival = visa_core::arrival::Arrival::open(
        &request,
        &app.visa.as_ref().unwrap().number,
        "NQZ",
        t,
        day,
        visa_core::workdays::Calendar::builtin(),
    );
    let event = audit_event(
        &format!("01JRET{request_id:0>20}"),
        t,
        AuditAction::EntryRecorded,
    );
    (request, arrival, entered, event)
}

/// The embedded store's sweep, on a pinned clock: what is due goes, a
/// second before nothing does; what is paid and waiting stays.
#[tokio::test]
async fn the_sqlite_sweep_erases_what_the_retention_policy_says_is_due() {
    use visa_core::retention::Retention;
    let backend = Sqlite::new().await;
    let store = backend.open().await;
    let policy = Retention {
        unpaid: Duration::days(3),
        after_visa_end: Duration::days(100),
    };
    // A draft, one awaiting payment, one paid, one issued.
    store
        .create_invitation(&invitation("980000000001"), None)
        .await
        .unwrap();
    store
        .create_application(&application("draft", "acc-1", "980000000001", t0()))
        .await
        .unwrap();
    awaiting_payment(&store, "unpaid", "980000000002", "cs_u").await;
    awaiting_payment(&store, "paid", "980000000003", "cs_p").await;
    store
        .record_payment(&event("evt_p", "paid", "cs_p"), t0() + Duration::hours(1))
        .await
        .unwrap();
    awaiting_payment(&store, "issued", "980000000004", "cs_i").await;
    store
        .record_payment(&event("evt_i", "issued", "cs_i"), t0() + Duration::hours(1))
        .await
        .unwrap();
    store
        .issue_visa("issued", &visa("KS0000001"), t0() + Duration::hours(2))
        .await
        .unwrap();
    let issued_app = store.application("issued").await.unwrap().unwrap();
    let (request, arrival, entered, event) = host_records(&issued_app, "req-s");
    store.create_requests(&[request]).await.unwrap();
    store
        .record_entry(&issued_app, &entered, &event, &arrival)
        .await
        .unwrap();
    store
        .create_session(&Session {
            token_hash: "ab".repeat(32),
            account_id: "acc-1".into(),
            expires_at: t0() + Duration::days(1),
        })
        .await
        .unwrap();
    let ids = |apps: &[&str]| apps.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let draft_due = t0() + Duration::days(3);
    let before = store
        .sweep(policy, draft_due - Duration::seconds(1))
        .await
        .unwrap();
    assert!(before.applications.is_empty(), "{before:?}");
    assert_eq!(before.expired, 1, "only the session, a day old");
    let swept = store.sweep(policy, draft_due).await.unwrap();
    assert_eq!(swept.applications, ids(&["draft"]));
    assert!(store.application("draft").await.unwrap().is_none());
    assert!(store.application("unpaid").await.unwrap().is_some());

    // The unpaid one's checkout ran until t0 + 23 h.
    let unpaid_due = t0() + Duration::hours(23) + Duration::days(3);
    let swept = store.sweep(policy, unpaid_due).await.unwrap();
    assert_eq!(swept.applications, ids(&["unpaid"]));
    assert!(swept.visas.is_empty());

    // The visa's last day, 30 May, ends at 19:00 UTC; 100 days on, the
    // issued application goes with its visa record; invitations too.
    let issued_due = Utc.with_ymd_and_hms(2026, 5, 30, 19, 0, 0).unwrap() + Duration::days(100);
    let early = store
        .sweep(policy, issued_due - Duration::seconds(1))
        .await
        .unwrap();
    assert!(early.applications.is_empty(), "{early:?}");
    assert_eq!((early.invitations, early.host_records), (0, 0));
    let swept = store.sweep(policy, issued_due).await.unwrap();
    assert_eq!(swept.host_records, 2, "the host's request and arrival");
    assert!(store.invitation_request("req-s").await.unwrap().is_none());
    assert!(store.arrival("req-s").await.unwrap().is_none());
    assert_eq!(swept.applications, ids(&["issued"]));
    assert_eq!(
        swept.visas,
        vec![("issued".to_owned(), "KS0000001".to_owned())]
    );
    assert_eq!(swept.invitations, 4);
    assert!(store.visa("KS0000001").await.unwrap().is_none());
    assert!(store.invitation("980000000004").await.unwrap().is_none());
    // Paid and waiting for its visa: kept whatever the time.
    let later = store
        .sweep(policy, issued_due + Duration::days(10_000))
        .await
        .unwrap();
    assert!(later.applications.is_empty());
    assert!(store.application("paid").await.unwrap().is_some());
    // No passport data of the erased left in the file.
    drop(store);
    let raw = rusqlite::Connection::open(backend.dir.path().join("visa.sqlite3")).unwrap();
    let rows: i64 = raw
        .query_row(
            "SELECT count(*) FROM applications WHERE id IN ('draft', 'unpaid', 'issued')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0);
    let invitations: i64 = raw
        .query_row("SELECT count(*) FROM invitations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(invitations, 0);
}

/// A table that does not exist is an outage, not a missing item.
#[tokio::test]
async fn dynamodb_errors_other_than_conditions_are_unavailability() {
    let moto = Moto::shared();
    let store = DynamoStore::new(moto.cloud().await.dynamodb(), "no-such-table");
    is(store.account("acc-1").await, |e| {
        matches!(e, StoreError::Unavailable(_))
    });
    is(
        store
            .create_account(&account("acc-1", "a@example.com"))
            .await,
        |e| matches!(e, StoreError::Unavailable(_)),
    );
    is(
        store
            .create_application(&application("a", "acc", "1", t0()))
            .await,
        |e| matches!(e, StoreError::Unavailable(_)),
    );
}

// ------------------------------------------------------------------ blobs

trait BlobBackend {
    type B: Blobs + 'static;
    async fn open(&self) -> Self::B;
}

struct Folder {
    dir: tempfile::TempDir,
}

impl BlobBackend for Folder {
    type B = FolderBlobs;
    async fn open(&self) -> FolderBlobs {
        FolderBlobs::new(
            self.dir.path().join("blobs"),
            "link-key".into(),
            "http://127.0.0.1:8080".into(),
        )
        .unwrap()
    }
}

struct S3 {
    moto: Arc<Moto>,
    bucket: String,
}

impl S3 {
    async fn new() -> Self {
        let moto = Moto::shared();
        let bucket = moto::unique_name("visas");
        moto::create_bucket(&moto.cloud().await.s3(), &bucket).await;
        S3 { moto, bucket }
    }
}

impl BlobBackend for S3 {
    type B = S3Blobs;
    async fn open(&self) -> S3Blobs {
        S3Blobs::new(
            self.moto.cloud().await.s3(),
            self.bucket.clone(),
            Encryption::S3Managed,
        )
    }
}

/// A PDF-like payload with every byte value.
fn pdf_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..=255u8).cycle().take(70_000));
    bytes
}

async fn blobs_contract<B: BlobBackend>(b: B) {
    let blobs = b.open().await;
    assert_eq!(blobs.get("visas/K00000001.pdf").await.unwrap(), None);
    assert_eq!(
        blobs
            .put_new("visas/K00000001.pdf", &pdf_bytes(), "application/pdf")
            .await
            .unwrap(),
        Stored::Created
    );
    assert_eq!(
        blobs.get("visas/K00000001.pdf").await.unwrap(),
        Some(pdf_bytes())
    );
    // A second write under the key keeps the first object whole.
    assert_eq!(
        blobs
            .put_new("visas/K00000001.pdf", b"%PDF-1.7 second", "application/pdf")
            .await
            .unwrap(),
        Stored::Existed
    );
    assert_eq!(
        blobs.get("visas/K00000001.pdf").await.unwrap(),
        Some(pdf_bytes())
    );
    drop(blobs);
    // Reconnected (a new process or cold start): still there.
    let again = b.open().await;
    assert_eq!(
        again.get("visas/K00000001.pdf").await.unwrap(),
        Some(pdf_bytes())
    );
    assert_eq!(again.get("visas/K00000002.pdf").await.unwrap(), None);
    // Its retention ended: gone, and deleting again (a retried record) is fine.
    again.delete("visas/K00000001.pdf").await.unwrap();
    assert_eq!(again.get("visas/K00000001.pdf").await.unwrap(), None);
    again.delete("visas/K00000001.pdf").await.unwrap();
}

#[tokio::test]
async fn folder_blobs_keep_the_contract() {
    blobs_contract(Folder {
        dir: tempfile::tempdir().unwrap(),
    })
    .await;
}

#[tokio::test]
async fn s3_blobs_keep_the_contract() {
    blobs_contract(S3::new().await).await;
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

#[tokio::test]
async fn an_s3_link_fetches_the_bytes_over_http_for_at_most_300_seconds() {
    let s3 = S3::new().await;
    let blobs = s3.open().await;
    blobs
        .put_new("visas/K00000001.pdf", &pdf_bytes(), "application/pdf")
        .await
        .unwrap();

    let link = blobs
        .link("visas/K00000001.pdf", Utc::now() + Duration::seconds(120))
        .await
        .unwrap();
    assert!(
        link.starts_with(&format!(
            "{}/{}/visas/K00000001.pdf?",
            s3.moto.endpoint(),
            s3.bucket
        )),
        "{link}"
    );
    let expires: i64 = query_param(&link, "X-Amz-Expires")
        .unwrap()
        .parse()
        .unwrap();
    assert!((118..=120).contains(&expires), "{expires}");
    let response = reqwest::get(&link).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(response.bytes().await.unwrap().to_vec(), pdf_bytes());

    // Asked for an hour, given 300 s.
    let link = blobs
        .link("visas/K00000001.pdf", Utc::now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(query_param(&link, "X-Amz-Expires").as_deref(), Some("300"));

    // Stored encrypted (SSE-S3) as put.
    let head = s3
        .moto
        .cloud()
        .await
        .s3()
        .head_object()
        .bucket(&s3.bucket)
        .key("visas/K00000001.pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
}

#[tokio::test]
async fn a_folder_link_is_refused_after_it_expires() {
    let folder = Folder {
        dir: tempfile::tempdir().unwrap(),
    };
    let blobs = folder.open().await;
    blobs
        .put_new("visas/K00000001.pdf", b"%PDF", "application/pdf")
        .await
        .unwrap();
    let now = Utc::now();
    let link = blobs
        .link("visas/K00000001.pdf", now + Duration::seconds(300))
        .await
        .unwrap();
    let path = link
        .split_once("/files/")
        .unwrap()
        .1
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let expires: i64 = query_param(&link, "expires").unwrap().parse().unwrap();
    let sig = query_param(&link, "sig").unwrap();
    assert_eq!(path, "visas/K00000001.pdf");
    assert!(blobs.check_link(&path, expires, &sig, now));
    assert!(blobs.check_link(&path, expires, &sig, now + Duration::seconds(299)));
    assert!(!blobs.check_link(&path, expires, &sig, now + Duration::seconds(301)));
    assert!(!blobs.check_link("visas/K00000002.pdf", expires, &sig, now));
}

fn t_expired() -> DateTime<Utc> {
    t0() + Duration::hours(24)
}

async fn an_expired_session_is_replaced_once_under_concurrency<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    awaiting_payment(store.as_ref(), "app-1", "910000000001", "cs_1").await;
    let old = store
        .application("app-1")
        .await
        .unwrap()
        .unwrap()
        .payment
        .unwrap();
    assert!(!old.expired(t0()) && old.expired(t_expired()));
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let new = old.replaced_by(
                format!("cs_new_{i}"),
                format!("https://pay.example/{i}"),
                t_expired() + Duration::hours(23),
            );
            tokio::spawn(async move {
                store
                    .reopen_checkout("app-1", "cs_1", &new, t_expired())
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for a in attempts {
        match a.await.unwrap() {
            Ok(app) => winners.push(app.payment.unwrap().checkout_session_id),
            Err(StoreError::StatusConflict) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let now = store.application("app-1").await.unwrap().unwrap();
    let payment = now.payment.unwrap();
    assert_eq!(payment.checkout_session_id, winners[0]);
    assert_eq!(payment.replaced_sessions, vec!["cs_1".to_owned()]);
    assert_eq!(now.status, Status::AwaitingPayment);
    // Only an awaiting application in that very session is replaced.
    let again = payment.replaced_by("cs_x".into(), "u".into(), t_expired());
    is(
        store
            .reopen_checkout("app-1", "cs_1", &again, t_expired())
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
}

async fn a_late_payment_in_a_replaced_session_pays_or_is_refused_for_refund<B: Backend>(b: B) {
    let store = b.open().await;
    // app-1: the old session is paid late, while the new one is open.
    awaiting_payment(&store, "app-1", "910000000001", "cs_1").await;
    let old = store
        .application("app-1")
        .await
        .unwrap()
        .unwrap()
        .payment
        .unwrap();
    let new = old.replaced_by("cs_2".into(), "u".into(), t_expired() + Duration::hours(23));
    store
        .reopen_checkout("app-1", "cs_1", &new, t_expired())
        .await
        .unwrap();
    let late = PaymentEvent {
        payment_intent: Some("pi_1".into()),
        ..event("evt_late", "app-1", "cs_1")
    };
    let paid = match store.record_payment(&late, t_expired()).await.unwrap() {
        PaymentRecorded::Paid(app) => app,
        other => panic!("{other:?}"),
    };
    let payment = paid.payment.unwrap();
    assert_eq!(payment.checkout_session_id, "cs_1", "the session that paid");
    assert_eq!(payment.replaced_sessions, vec!["cs_2".to_owned()]);
    assert_eq!(payment.payment_intent.as_deref(), Some("pi_1"));
    // Then the new session is paid too: a second payment, nothing recorded.
    let second = PaymentEvent {
        payment_intent: Some("pi_2".into()),
        ..event("evt_second", "app-1", "cs_2")
    };
    assert_eq!(
        store.record_payment(&second, t_expired()).await.unwrap(),
        PaymentRecorded::PaidByAnotherSession
    );
    assert_eq!(
        store.record_payment(&second, t_expired()).await.unwrap(),
        PaymentRecorded::PaidByAnotherSession,
        "still unrecorded: the refund comes first"
    );
    // Recorded once refunded; a session never the application's is refused.
    assert!(
        store
            .record_event("evt_second", "app-1", "refunded", t_expired())
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_event("evt_second", "app-1", "refunded", t_expired())
            .await
            .unwrap()
    );
    is(
        store
            .record_payment(&event("evt_alien", "app-1", "cs_alien"), t_expired())
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    let app = store.application("app-1").await.unwrap().unwrap();
    assert_eq!(app.status, Status::Paid);
    assert_eq!(app.payment.unwrap().checkout_session_id, "cs_1");
    assert_eq!(
        store.application_paid_by("pi_1").await.unwrap().as_deref(),
        Some("app-1")
    );
}

// ------------------------------------------------------------------ inviting parties

fn host(id: &str, account_id: &str, number: &str, at: DateTime<Utc>) -> visa_core::host::Host {
    visa_core::host::NewHost {
        kind: visa_core::host::HostKind::Resident,
        number: number.into(),
        name: "Aigerim Nurlanovna Sadykova".into(),
        contact: visa_core::host::Contact {
            name: "Aigerim Sadykova".into(),
            phone: "+77012345678".into(),
        },
    }
    .into_host(id.into(), account_id, at)
    .unwrap()
}

async fn a_host_registers_once_per_account_and_number_and_is_decided_once<B: Backend>(b: B) {
    use visa_core::host::HostStatus;
    use visa_core::store::Hosts;
    let store = b.open().await;
    let first = host("host-1", "acc-1", "061211600012", t0());
    store.create_host(&first).await.unwrap();
    // The same account again, or the same IIN from another account.
    for again in [
        host("host-2", "acc-1", "900412300127", t0()),
        host("host-3", "acc-2", "061211600012", t0()),
    ] {
        assert!(matches!(
            store.create_host(&again).await,
            Err(StoreError::HostExists)
        ));
        assert_eq!(
            store.host(&again.id).await.unwrap(),
            None,
            "nothing written"
        );
    }
    let second = host(
        "host-4",
        "acc-2",
        "900412300127",
        t0() + Duration::minutes(5),
    );
    store.create_host(&second).await.unwrap();
    assert_eq!(store.host("host-1").await.unwrap(), Some(first.clone()));
    assert_eq!(
        store.host_of_account("acc-2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.host_of_account("acc-9").await.unwrap(), None);
    // The approval queue, oldest first.
    let queue: Vec<String> = store
        .hosts_in(HostStatus::PendingApproval)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(queue, ["host-1", "host-4"]);

    // Decided once, with its audit event; a second decision is refused
    // and writes nothing.
    let at = t0() + Duration::hours(1);
    let mut approved = first.clone();
    approved.decide(true, "Dana (officer)", None, at).unwrap();
    let event = audit_event("01JHOST00000000000000000A1", at, AuditAction::HostDecided);
    store.decide_host(&approved, &event).await.unwrap();
    let mut refused = first.clone();
    refused
        .decide(false, "Other (officer)", Some("unknown".into()), at)
        .unwrap();
    let late = audit_event("01JHOST00000000000000000A2", at, AuditAction::HostDecided);
    assert!(matches!(
        store.decide_host(&refused, &late).await,
        Err(StoreError::StatusConflict)
    ));
    assert_eq!(store.host("host-1").await.unwrap(), Some(approved));
    assert_eq!(
        store
            .audit_events(t0(), t0() + Duration::days(1))
            .await
            .unwrap(),
        vec![event]
    );
    let mut ghost = host("host-9", "acc-9", "061211600012", t0());
    ghost.decide(true, "Dana (officer)", None, at).unwrap();
    let ghost_event = audit_event("01JHOST00000000000000000A3", at, AuditAction::HostDecided);
    assert!(matches!(
        store.decide_host(&ghost, &ghost_event).await,
        Err(StoreError::NotFound)
    ));
    let queue: Vec<String> = store
        .hosts_in(HostStatus::PendingApproval)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(queue, ["host-4"]);
    let approved: Vec<String> = store
        .hosts_in(HostStatus::Approved)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(approved, ["host-1"]);
}

async fn a_hosts_requests_are_listed_and_each_decided_once_with_its_invitation<B: Backend>(b: B) {
    use visa_core::invitation_request::{NewInvitationRequests, RequestStatus, RequestedInvitee};
    use visa_core::store::InvitationRequests;
    let store = b.open().await;
    let at = Utc::now();
    let mut host = host("host-1", "acc-1", "061211600012", at);
    host.decide(true, "Dana (officer)", None, at).unwrap();
    let foreigner = |passport: &str| RequestedInvitee {
        surname: "SHARMA".into(),
        given_names: "PRIYA".into(),
        sex: Sex::F,
        nationality: "IND".into(),
        date_of_birth: date(1990, 4, 12),
        passport_number: passport.into(),
        email: "priya@example.com".into(),
        lang: "en".into(),
    };
    let mut n = 0;
    let batch = |passports: &[&str], id: &str, n: &mut i32, when: DateTime<Utc>| {
        NewInvitationRequests {
            category: Category::Tourist,
            valid_from: when.date_naive() + Duration::days(10),
            valid_until: when.date_naive() + Duration::days(20),
            purpose: "negotiations".into(),
            invitees: passports.iter().map(|p| foreigner(p)).collect(),
        }
        .into_requests(
            &host,
            id.into(),
            || {
                *n += 1;
                format!("req-{id}-{n}")
            },
            visa_core::annex::Annexes::builtin(),
            when.date_naive(),
            when,
        )
        .unwrap()
    };
    let first = batch(&["Z1234567", "Z7654321"], "b1", &mut n, at);
    let later = batch(&["Z1111111"], "b2", &mut n, at + Duration::minutes(1));
    store.create_requests(&first).await.unwrap();
    store.create_requests(&later).await.unwrap();
    // A batch whose id is taken writes none of it.
    let mut clash = batch(&["Z2222222", "Z3333333"], "b3", &mut n, at);
    clash[1].id = first[0].id.clone();
    assert!(store.create_requests(&clash).await.is_err());
    assert_eq!(store.invitation_request(&clash[0].id).await.unwrap(), None);

    let mine: Vec<String> = store
        .requests_of_host("host-1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(mine.len(), 3);
    assert_eq!(mine[0], later[0].id, "newest first");
    assert!(store.requests_of_host("host-2").await.unwrap().is_empty());
    let queue: Vec<String> = store
        .requests_in(RequestStatus::Pending)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        queue[..2],
        [first[0].id.clone(), first[1].id.clone()],
        "oldest first"
    );

    // Approved once: the request, its invitation and the audit event
    // together; a second approval or a refusal after it changes nothing.
    let when = at + Duration::hours(1);
    let mut approved = first[0].clone();
    let invitation = approved
        .approve(&host, "Dana (officer)", None, "250000000777".into(), when)
        .unwrap();
    let event = audit_event(
        "01JREQ0000000000000000000A1",
        when,
        AuditAction::InvitationCreated,
    );
    store
        .approve_request(&approved, &invitation, &event)
        .await
        .unwrap();
    assert_eq!(
        store.invitation("250000000777").await.unwrap(),
        Some(invitation.clone())
    );
    let mut refused_late = first[0].clone();
    refused_late
        .refuse("Other", Some("late".into()), when)
        .unwrap();
    let late = audit_event(
        "01JREQ0000000000000000000A2",
        when,
        AuditAction::InvitationCreated,
    );
    assert!(matches!(
        store.refuse_request(&refused_late, &late).await,
        Err(StoreError::StatusConflict)
    ));
    assert_eq!(
        store.invitation_request(&first[0].id).await.unwrap(),
        Some(approved)
    );
    // An approval whose number is taken writes nothing.
    let mut second = first[1].clone();
    let taken = second
        .approve(&host, "Dana (officer)", None, "250000000777".into(), when)
        .unwrap();
    let again = audit_event(
        "01JREQ0000000000000000000A3",
        when,
        AuditAction::InvitationCreated,
    );
    assert!(matches!(
        store.approve_request(&second, &taken, &again).await,
        Err(StoreError::InvitationExists)
    ));
    assert_eq!(
        store.invitation_request(&first[1].id).await.unwrap(),
        Some(first[1].clone()),
        "still pending"
    );
    // Refused with a reason.
    let mut refused = first[1].clone();
    refused
        .refuse("Dana (officer)", Some("no such company".into()), when)
        .unwrap();
    let no = audit_event(
        "01JREQ0000000000000000000A4",
        when,
        AuditAction::InvitationCreated,
    );
    store.refuse_request(&refused, &no).await.unwrap();
    assert_eq!(
        store
            .audit_events(when - Duration::minutes(1), when + Duration::minutes(1))
            .await
            .unwrap(),
        vec![event, no]
    );
    let queue: Vec<String> = store
        .requests_in(RequestStatus::Pending)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(queue, [later[0].id.clone()]);
    let mut ghost = later[0].clone();
    ghost.id = "req-none".into();
    ghost.refuse("Dana", Some("x".into()), when).unwrap();
    let ghost_event = audit_event(
        "01JREQ0000000000000000000A5",
        when,
        AuditAction::InvitationCreated,
    );
    assert!(matches!(
        store.refuse_request(&ghost, &ghost_event).await,
        Err(StoreError::NotFound)
    ));
}

fn arrival_request(id: &str, host_id: &str) -> visa_core::invitation_request::InvitationRequest {
    use visa_core::invitation_request::{InvitationRequest, RequestStatus, RequestedInvitee};
    InvitationRequest {
        id: id.into(),
        host_id: host_id.into(),
        batch_id: format!("batch-{id}"),
        created_at: t0(),
        category: Category::Business,
        valid_from: t0().date_naive(),
        valid_until: t0().date_naive() + Duration::days(30),
        purpose: "negotiations".into(),
        invitee: RequestedInvitee {
            surname: "SHARMA".into(),
            given_names: "PRIYA".into(),
            sex: Sex::F,
            nationality: "IND".into(),
            date_of_birth: date(1990, 4, 12),
            passport_number: "Z1234567".into(),
            email: "priya@example.com".into(),
            lang: "en".into(),
        },
        status: RequestStatus::Approved,
        decision: None,
        invitation_number: None,
    }
}

async fn an_arrival_opens_with_its_entry_and_is_filed_and_reminded_once<B: Backend>(b: B) {
    use visa_core::application::Crossing;
    use visa_core::arrival::{Arrival, NewNotice};
    use visa_core::store::Arrivals;
    use visa_core::workdays::Calendar;
    let store = b.open().await;
    let t = t0() + Duration::hours(5);
    let enter = |app: &Application| {
        let day = app.visa.as_ref().unwrap().valid_from;
        app.record_crossing(Crossing::Entry, "NQZ", day, t).unwrap()
    };
    let open = |request_id: &str, host_id: &str, app: &Application, due: NaiveDate| {
        let mut a = Arrival::open(
            &arrival_request(request_id, host_id),
            &app.visa.as_ref().unwrap().number,
            "NQZ",
            t,
            t.date_naive(),
            Calendar::builtin(),
        );
        a.due_on = due;
        a
    };

    // The entry and its arrival together, once.
    let first = issued(&store, "app-a1", "740000000011", "K00000A01").await;
    let arrival = open("req-1", "host-1", &first, date(2026, 12, 17));
    let event = audit_event("01JARR000000000000000000E1", t, AuditAction::EntryRecorded);
    store
        .record_entry(&first, &enter(&first), &event, &arrival)
        .await
        .unwrap();
    assert_eq!(store.arrival("req-1").await.unwrap(), Some(arrival.clone()));
    let again = audit_event("01JARR000000000000000000E2", t, AuditAction::EntryRecorded);
    is(
        store
            .record_entry(&first, &enter(&first), &again, &arrival)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    // A stale entry writes no arrival either: both or neither.
    let stale = open("req-stale", "host-1", &first, date(2026, 12, 17));
    let third = audit_event("01JARR000000000000000000E3", t, AuditAction::EntryRecorded);
    is(
        store
            .record_entry(&first, &enter(&first), &third, &stale)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(store.arrival("req-stale").await.unwrap(), None);
    let entries = store
        .audit_events(t0(), t0() + Duration::days(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::EntryRecorded)
        .count();
    assert_eq!(entries, 1);

    // A later entry of the same host, due earlier; another host's.
    let second = issued(&store, "app-a2", "740000000012", "K00000A02").await;
    let mut earlier = open("req-2", "host-1", &second, date(2026, 12, 15));
    earlier.entered_at = t + Duration::minutes(5);
    let event = audit_event("01JARR000000000000000000E4", t, AuditAction::EntryRecorded);
    store
        .record_entry(&second, &enter(&second), &event, &earlier)
        .await
        .unwrap();
    let third_app = issued(&store, "app-a3", "740000000013", "K00000A03").await;
    let other = open("req-3", "host-2", &third_app, date(2026, 12, 21));
    let event = audit_event("01JARR000000000000000000E5", t, AuditAction::EntryRecorded);
    store
        .record_entry(&third_app, &enter(&third_app), &event, &other)
        .await
        .unwrap();
    let ids = |v: Vec<Arrival>| v.into_iter().map(|a| a.request_id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.arrivals_of_host("host-1").await.unwrap()),
        ["req-2", "req-1"],
        "the latest entry first"
    );
    assert_eq!(
        ids(store.arrivals_of_host("host-2").await.unwrap()),
        ["req-3"]
    );
    assert_eq!(
        ids(store
            .open_arrivals(date(2026, 12, 1), date(2026, 12, 31), None)
            .await
            .unwrap()),
        ["req-2", "req-1", "req-3"],
        "the earliest due first"
    );
    assert_eq!(
        ids(store
            .open_arrivals(date(2026, 12, 16), date(2026, 12, 17), None)
            .await
            .unwrap()),
        ["req-1"],
        "both ends included, nothing outside"
    );
    // Paged: what follows one arrival, in the same order.
    let first_page = store
        .open_arrivals(date(2026, 12, 1), date(2026, 12, 31), None)
        .await
        .unwrap();
    assert_eq!(
        ids(store
            .open_arrivals(date(2026, 12, 1), date(2026, 12, 31), Some(&first_page[0]))
            .await
            .unwrap()),
        ["req-1", "req-3"]
    );
    assert!(
        store
            .open_arrivals(date(2026, 12, 1), date(2026, 12, 31), Some(&first_page[2]))
            .await
            .unwrap()
            .is_empty()
    );

    // Reminded once; filed once; a filed arrival is open no more.
    assert!(store.mark_reminded("req-1", t).await.unwrap());
    assert!(!store.mark_reminded("req-1", t).await.unwrap());
    let mut filed = store.arrival("req-1").await.unwrap().unwrap();
    assert_eq!(filed.reminded_at, Some(t));
    let notice = NewNotice {
        address: "Astana, Mangilik El 55".into(),
        stay_from: t.date_naive(),
        stay_until: t.date_naive() + Duration::days(5),
    };
    filed.file(notice.clone(), t, t.date_naive()).unwrap();
    store.file_notice(&filed).await.unwrap();
    assert_eq!(store.arrival("req-1").await.unwrap(), Some(filed.clone()));
    is(store.file_notice(&filed).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
    assert_eq!(
        ids(store
            .open_arrivals(date(2026, 12, 1), date(2026, 12, 31), None)
            .await
            .unwrap()),
        ["req-2", "req-3"]
    );
    // A filed notice is never reminded.
    let mut unreminded = store.arrival("req-3").await.unwrap().unwrap();
    unreminded.file(notice, t, t.date_naive()).unwrap();
    store.file_notice(&unreminded).await.unwrap();
    assert!(!store.mark_reminded("req-3", t).await.unwrap());
    is(store.file_notice(&stale).await, |e| {
        matches!(e, StoreError::NotFound)
    });
    is(store.mark_reminded("req-none", t).await, |e| {
        matches!(e, StoreError::NotFound)
    });
}

// ------------------------------------------------------------------ families and groups

/// Three applications of acc-1 (invitations 7100000000011..13) ready to group.
async fn family<S: Store>(store: &S) -> Vec<Application> {
    let mut apps = Vec::new();
    for i in 1..=3 {
        let number = format!("71000000001{i}");
        store
            .create_invitation(&invitation(&number), None)
            .await
            .unwrap();
        let app = application(&format!("fam-{i}"), "acc-1", &number, t0());
        store.create_application(&app).await.unwrap();
        apps.push(app);
    }
    apps
}

fn group_payment(session: &str) -> Payment {
    Payment {
        checkout_url: format!("https://checkout.stripe.com/c/pay/{session}"),
        ..payment(session)
    }
}

fn group_event(event_id: &str, group: &Group, session: &str) -> PaymentEvent {
    PaymentEvent {
        amount_minor: group.total.amount_minor,
        ..event(event_id, &group.id, session)
    }
}

async fn app<S: Store>(store: &S, id: &str) -> Application {
    store.application(id).await.unwrap().unwrap()
}

async fn a_group_forms_once_drops_its_revoked_member_and_pays_in_one_transaction<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    let apps = family(store.as_ref()).await;
    let at = t0() + Duration::minutes(1);
    let group = Group::form("grp-1".into(), "acc-1", &apps, at).unwrap();
    store.create_group(&group).await.unwrap();
    assert_eq!(store.group("grp-1").await.unwrap().as_ref(), Some(&group));
    for a in &apps {
        assert_eq!(
            app(store.as_ref(), &a.id).await.group_id.as_deref(),
            Some("grp-1")
        );
    }

    // A member is in one group at a time, and paid for only by it.
    let other = Group::form("grp-2".into(), "acc-1", &apps[..2], at).unwrap();
    is(store.create_group(&other).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
    assert_eq!(store.group("grp-2").await.unwrap(), None);
    is(
        store.open_checkout("fam-1", &payment("cs_alone"), at).await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    // Nobody groups another account's application.
    let mut stranger = apps[2].clone();
    stranger.account_id = "acc-2".into();
    let foreign = Group::form("grp-3".into(), "acc-2", &[stranger.clone(), stranger], at);
    assert!(
        foreign.is_err(),
        "the same id twice is refused before the store"
    );

    // The migration service revokes the second member's invitation before
    // the checkout: the application can never be paid for.
    let revoked_at = t0() + Duration::minutes(2);
    let event = audit_event("evt-revoke", revoked_at, AuditAction::InvitationRevoked);
    let inv = store
        .revoke_used_invitation("710000000012", "fam-2", "officer", &event, revoked_at)
        .await
        .unwrap();
    assert_eq!(inv.status, InvitationStatus::Revoked);
    assert_eq!(
        app(store.as_ref(), "fam-2").await.invitation_revoked_at,
        Some(revoked_at)
    );
    is(
        store
            .revoke_used_invitation("710000000012", "fam-2", "officer", &event, revoked_at)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );

    // A checkout for all three is refused whole: nothing moves.
    let now = t0() + Duration::minutes(3);
    let all_three = group.open_checkout(group_payment("cs_g0"), now).unwrap();
    is(
        store.open_group_checkout(&group, &all_three, now).await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(
        app(store.as_ref(), "fam-1").await.status,
        Status::InvitationConfirmed
    );
    assert_eq!(
        store.group("grp-1").await.unwrap().unwrap().status,
        GroupStatus::Open
    );

    // Dropped: the group without it, and it out of the group, at once.
    let mut now_members = Vec::new();
    for id in ["fam-1", "fam-2", "fam-3"] {
        now_members.push(app(store.as_ref(), id).await);
    }
    let two = group.without_unpayable(&now_members, now).unwrap();
    store
        .release_members(&group, &two, &["fam-2".to_owned()])
        .await
        .unwrap();
    assert_eq!(app(store.as_ref(), "fam-2").await.group_id, None);
    // A writer holding the group as it was loses.
    is(
        store
            .release_members(&group, &two, &["fam-2".to_owned()])
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );

    let awaiting = two.open_checkout(group_payment("cs_g1"), now).unwrap();
    store
        .open_group_checkout(&two, &awaiting, now)
        .await
        .unwrap();
    for id in ["fam-1", "fam-3"] {
        let a = app(store.as_ref(), id).await;
        assert_eq!(a.status, Status::AwaitingPayment);
        assert_eq!(a.payment.as_ref().unwrap().checkout_session_id, "cs_g1");
        assert_eq!(a.details_confirmed_at, Some(now));
    }
    // With its checkout open, an invitation is no longer revoked this way.
    let late = audit_event("evt-revoke-late", now, AuditAction::InvitationRevoked);
    is(
        store
            .revoke_used_invitation("710000000011", "fam-1", "officer", &late, now)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
    assert_eq!(
        store
            .invitation("710000000011")
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Used
    );

    let paid_at = t0() + Duration::minutes(10);
    match store
        .record_group_payment(&group_event("evt-g1", &awaiting, "cs_g1"), paid_at)
        .await
        .unwrap()
    {
        PaymentRecorded::GroupPaid(members) => {
            let mut ids: Vec<_> = members.iter().map(|a| a.id.as_str()).collect();
            ids.sort_unstable();
            assert_eq!(ids, ["fam-1", "fam-3"]);
        }
        other => panic!("{other:?}"),
    }
    for id in ["fam-1", "fam-3"] {
        let a = app(store.as_ref(), id).await;
        assert_eq!(a.status, Status::Paid);
        assert_eq!(a.payment.as_ref().unwrap().paid_at, Some(paid_at));
    }
    assert_eq!(
        app(store.as_ref(), "fam-2").await.status,
        Status::InvitationConfirmed
    );
    assert_eq!(
        store.group("grp-1").await.unwrap().unwrap().status,
        GroupStatus::Paid
    );
    assert_eq!(
        store
            .record_group_payment(&group_event("evt-g1", &awaiting, "cs_g1"), paid_at)
            .await
            .unwrap(),
        PaymentRecorded::DuplicateEvent
    );
    assert_eq!(
        store
            .record_group_payment(&group_event("evt-g2", &awaiting, "cs_g1"), paid_at)
            .await
            .unwrap(),
        PaymentRecorded::AlreadyPaid
    );
    assert_eq!(
        store
            .application_paid_by("pi_cs_g1")
            .await
            .unwrap()
            .as_deref(),
        Some("grp-1"),
        "a dispute finds the group"
    );
    // Status only moves forward: a paid group is not dissolved.
    let reopened = b.open().await;
    assert_eq!(
        reopened.group("grp-1").await.unwrap().unwrap().status,
        GroupStatus::Paid
    );
}

async fn a_groups_expired_checkout_is_replaced_for_every_member_and_paid_once<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    let apps = family(store.as_ref()).await;
    let group = Group::form("grp-x".into(), "acc-1", &apps, t0()).unwrap();
    store.create_group(&group).await.unwrap();
    let first = group.open_checkout(group_payment("cs_x1"), t0()).unwrap();
    store
        .open_group_checkout(&group, &first, t0())
        .await
        .unwrap();
    let later = t0() + Duration::hours(24);
    let replacement = first.payment.as_ref().unwrap().replaced_by(
        "cs_x2".into(),
        "https://pay/x2".into(),
        later + Duration::hours(23),
    );
    let second = first.reopen_checkout(replacement, later).unwrap();
    store
        .open_group_checkout(&first, &second, later)
        .await
        .unwrap();
    for a in &apps {
        let p = app(store.as_ref(), &a.id).await.payment.unwrap();
        assert_eq!(p.checkout_session_id, "cs_x2");
        assert_eq!(p.replaced_sessions, ["cs_x1"]);
    }
    // A replacement made from a stale read changes nothing.
    is(
        store.open_group_checkout(&first, &second, later).await,
        |e| matches!(e, StoreError::StatusConflict),
    );

    // Twenty deliveries, each a different event of the late payment in
    // the replaced session, race: the group is paid once.
    let deliveries: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let e = group_event(&format!("evt-x{i}"), &second, "cs_x1");
            tokio::spawn(async move { store.record_group_payment(&e, later).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for d in deliveries {
        results.push(d.await.unwrap());
    }
    let paid = results
        .iter()
        .filter(|r| matches!(r, PaymentRecorded::GroupPaid(m) if m.len() == 3))
        .count();
    assert_eq!(paid, 1, "{results:?}");
    assert!(results.iter().all(|r| matches!(
        r,
        PaymentRecorded::GroupPaid(_) | PaymentRecorded::AlreadyPaid
    )));
    // The current session's payment is now a second one: for refund.
    assert_eq!(
        store
            .record_group_payment(&group_event("evt-x-late", &second, "cs_x2"), later)
            .await
            .unwrap(),
        PaymentRecorded::PaidByAnotherSession
    );
    // A payment that names another session is nobody's.
    is(
        store
            .record_group_payment(&group_event("evt-x-odd", &second, "cs_other"), later)
            .await,
        |e| matches!(e, StoreError::StatusConflict),
    );
}

async fn a_dissolved_group_frees_its_members<B: Backend>(b: B) {
    let store = Arc::new(b.open().await);
    let apps = family(store.as_ref()).await;
    let group = Group::form("grp-d".into(), "acc-1", &apps[..2], t0()).unwrap();
    store.create_group(&group).await.unwrap();
    let at = t0() + Duration::minutes(1);
    let gone = group.dissolve(at).unwrap();
    store
        .release_members(&group, &gone, &group.members)
        .await
        .unwrap();
    assert_eq!(
        store.group("grp-d").await.unwrap().unwrap().status,
        GroupStatus::Dissolved
    );
    // Each member can now be paid alone, or grouped again.
    store
        .open_checkout("fam-1", &payment("cs_alone"), at)
        .await
        .unwrap();
    let again = Group::form(
        "grp-e".into(),
        "acc-1",
        &[
            app(store.as_ref(), "fam-2").await,
            app(store.as_ref(), "fam-3").await,
        ],
        at,
    )
    .unwrap();
    store.create_group(&again).await.unwrap();
    // A group including the one now awaiting its own payment is refused.
    let mut stale = apps[0].clone();
    stale.group_id = None;
    let with_paid = Group::form("grp-f".into(), "acc-1", &[stale, apps[1].clone()], at).unwrap();
    is(store.create_group(&with_paid).await, |e| {
        matches!(e, StoreError::StatusConflict)
    });
}
