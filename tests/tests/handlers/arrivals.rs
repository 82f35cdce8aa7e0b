//! Hosts' arrival notices: the border's entry opens one, due on the third
//! Kazakh working day; the host is reminded on the second, files once (late
//! after the due day), and officers see the overdue. The clock is pinned
//! and moved across a weekend and Independence Day (16 December 2026).

use crate::officer::{pending_host, who_is_calling};
use crate::support::*;
use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use visa_core::clock::Clock;
use visa_core::notify::EmailRequest;
use visa_core::staff::StaffGroup;
use visa_core::store::{Accounts, Hosts};

/// Sets the pinned clock to 04:00 UTC (09:00 in Astana) of `day`.
fn morning_of(c: &Confirm, day: &str) {
    let day: NaiveDate = day.parse().unwrap();
    *c.clock.0.lock().unwrap() = Utc.from_utc_datetime(&day.and_hms_opt(4, 0, 0).unwrap());
}

/// An approved host of its own account, with an address to remind, and
/// that account's session.
async fn host(c: &Confirm, id: &str, iin: &str) -> String {
    let account = format!("acc-{id}");
    c.store
        .create_account(&visa_core::account::Account {
            id: account.clone(),
            email: format!("{id}@example.kz"),
            password_hash: String::new(),
            created_at: c.clock.now(),
            email_verified_at: Some(c.clock.now()),
            lang: "ru".into(),
        })
        .await
        .unwrap();
    let mut host = pending_host(c, id, &account, iin);
    host.decide(true, "Dana (officer)", None, c.clock.now())
        .unwrap();
    c.store.create_host(&host).await.unwrap();
    signed_in(c, &account).await
}

/// A session of `account_id` begun on the clock's day (a session lasts
/// hours, not the week the test spans).
async fn signed_in(c: &Confirm, account_id: &str) -> String {
    use visa_core::store::Sessions;
    let token = format!("token-of-{account_id}-{}", c.clock.today());
    c.store
        .create_session(&visa_core::account::Session {
            token_hash: visa_core::account::token_hash(&token),
            account_id: account_id.into(),
            expires_at: c.clock.now() + chrono::Duration::hours(12),
        })
        .await
        .unwrap();
    token
}

/// The host's one foreigner (passport `passport`), invited for 10 to 30
/// December 2026 and approved; the invitation's number and the request.
async fn invited(c: &Confirm, host: &str, officer: &str, passport: &str) -> (String, String) {
    let (status, made) = c
        .call(
            "POST",
            "/api/hosts/current/invitation-requests",
            Some(host),
            json!({
                "category": "tourist", "valid_from": "2026-12-10", "valid_until": "2026-12-30",
                "purpose": "talks with a supplier",
                "invitees": [{"surname": "Sharma", "given_names": "Priya", "sex": "F",
                              "nationality": "IND", "date_of_birth": "1990-04-12",
                              "passport_number": passport, "email": "priya@example.com"}],
            }),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let request = made["requests"][0]["id"].as_str().unwrap().to_owned();
    let (status, approved) = c
        .call(
            "POST",
            &format!("/api/officer/invitation-requests/{request}/decision"),
            Some(officer),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, 200, "{approved}");
    let number = approved["invitation_number"].as_str().unwrap().to_owned();
    (number, request)
}

/// The foreigner applies with the invitation, pays and is issued visa
/// `visa_number` (as the webhook and render-visa would).
async fn issued(c: &Confirm, number: &str, passport: &str, visa_number: &str) {
    let token = c.applicant(&format!("acc-{visa_number}")).await;
    let application = json!({
        "invitation_number": number,
        "passport": {"number": passport, "surname": "SHARMA", "given_names": "PRIYA",
                     "nationality": "IND", "sex": "F", "date_of_birth": "1990-04-12",
                     "issuing_state": "IND", "expiry_date": "2031-07-19"},
        "declarations": {"two_blank_pages": true, "passport_undamaged": true},
    });
    c.apply_pay_issue(
        &token,
        application,
        &format!("evt_{visa_number}"),
        visa_number,
    )
    .await;
}

/// A member of staff in `role` signed in on the clock's day (a token
/// lasts a shift, not a week).
async fn on_shift(c: &Confirm, role: StaffGroup) -> String {
    let day = c.clock.today();
    c.staff_token(&format!("{}.{day}@migration.kz", role.as_str()), role)
        .await
}

async fn enter(c: &Confirm, border: &str, visa_number: &str) {
    let (status, entered) = c
        .call(
            "POST",
            &format!("/api/officer/visas/{visa_number}/entry"),
            Some(border),
            json!({"checkpoint": "NQZ"}),
        )
        .await;
    assert_eq!(status, 200, "{entered}");
}

async fn arrivals_of(c: &Confirm, host: &str) -> Value {
    let (status, list) = c
        .call(
            "GET",
            "/api/hosts/current/arrivals",
            Some(host),
            Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list["arrivals"].clone()
}

async fn overdue(c: &Confirm, staff: &str, status: &str) -> Vec<String> {
    let (code, list) = c
        .call(
            "GET",
            &format!("/api/officer/arrivals?status={status}"),
            Some(staff),
            Value::Null,
        )
        .await;
    assert_eq!(code, 200, "{list}");
    list["arrivals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["host"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn notice(from: &str) -> Value {
    json!({"address": "Astana, Mangilik El 55, apt 12", "stay_from": from, "stay_until": "2026-12-20"})
}

/// The reminders render-visa sends on the pinned clock's day, by address.
async fn remind(c: &Confirm, render: &Render) -> Vec<String> {
    *render.clock.0.lock().unwrap() = c.clock.now();
    let before = outbox(render);
    visa_render_visa::mail::deliver(&render.deps, &EmailRequest::ArrivalReminders)
        .await
        .unwrap();
    let after = outbox(render);
    // What is new, each message once (a second copy of an old one counts).
    let mut new = after;
    for old in &before {
        if let Some(at) = new.iter().position(|m| m == old) {
            new.remove(at);
        }
    }
    new
}

#[tokio::test]
async fn a_host_files_on_time_and_a_silent_one_is_overdue_after_three_working_days() {
    let c = Confirm::new();
    let render = Render::on(
        c.store.clone(),
        c.clock.clone(),
        tempfile::tempdir().unwrap(),
    );
    // Monday 7 December: two hosts, one foreigner each, issued.
    morning_of(&c, "2026-12-07");
    let officer = on_shift(&c, StaffGroup::Officer).await;
    let diligent = host(&c, "host-a", "061211600012").await;
    let silent = host(&c, "host-b", "900412300127").await;
    let (number_a, request_a) = invited(&c, &diligent, &officer, "Z1111111").await;
    let (number_b, request_b) = invited(&c, &silent, &officer, "Z2222222").await;
    issued(&c, &number_a, "Z1111111", "KA0000001").await;
    issued(&c, &number_b, "Z2222222", "KB0000001").await;
    assert_eq!(arrivals_of(&c, &diligent).await, json!([]));

    // Friday 11 December: both enter. The weekend and Wednesday's holiday
    // put the due day on Thursday the 17th.
    morning_of(&c, "2026-12-11");
    let (diligent, silent) = (
        signed_in(&c, "acc-host-a").await,
        signed_in(&c, "acc-host-b").await,
    );
    let border = on_shift(&c, StaffGroup::Border).await;
    enter(&c, &border, "KA0000001").await;
    enter(&c, &border, "KB0000001").await;
    let mine = arrivals_of(&c, &diligent).await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine[0]["request_id"], json!(request_a));
    assert_eq!(mine[0]["invitation_number"], json!(number_a));
    assert_eq!(mine[0]["entered_on"], "2026-12-11");
    assert_eq!(mine[0]["due_on"], "2026-12-17");
    assert_eq!(mine[0]["stay_until"], "2026-12-30");
    assert_eq!(mine[0]["status"], "awaiting");
    assert_eq!(mine[0]["invitee"]["passport_number"], "Z1111111");
    // What the host did not enter stays with the applicant and the border.
    assert!(!mine.to_string().contains("KA0000001"), "{mine}");
    assert!(!mine.to_string().contains("2031-07-19"), "{mine}");
    // Each host sees its own arrival only.
    let theirs = arrivals_of(&c, &silent).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(1), "{theirs}");
    assert_eq!(theirs[0]["request_id"], json!(request_b));

    // Monday the 14th is the first working day: no reminder yet. Tuesday,
    // the second: each host once, in its account's language.
    morning_of(&c, "2026-12-14");
    assert_eq!(remind(&c, &render).await, Vec::<String>::new());
    morning_of(&c, "2026-12-15");
    let mut sent = remind(&c, &render).await;
    sent.sort();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].starts_with("host-a@example.kz: "), "{sent:?}");
    assert!(sent[1].starts_with("host-b@example.kz: "), "{sent:?}");
    // Russian, as the hosts' accounts registered; the due day in it.
    assert!(
        sent[0].ends_with("Уведомление о прибытии SHARMA PRIYA: срок 17.12.2026"),
        "{sent:?}"
    );
    assert_eq!(remind(&c, &render).await, Vec::<String>::new());

    // Thursday the 17th, the due day: the diligent host files on time; the
    // silent one is not overdue yet.
    morning_of(&c, "2026-12-17");
    let diligent = signed_in(&c, "acc-host-a").await;
    let (status, filed) = c
        .call(
            "POST",
            &format!("/api/hosts/current/arrivals/{request_a}/notice"),
            Some(&diligent),
            notice("2026-12-11"),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["status"], "filed");
    assert_eq!(filed["notice"]["late"], false);
    assert_eq!(filed["notice"]["address"], "Astana, Mangilik El 55, apt 12");
    let auditor = on_shift(&c, StaffGroup::Auditor).await;
    assert_eq!(overdue(&c, &auditor, "overdue").await, Vec::<String>::new());
    assert_eq!(overdue(&c, &auditor, "awaiting").await, ["host-b"]);

    // Friday the 18th: the silent host is overdue, with what officers
    // need to act; filing now is allowed and marked late.
    morning_of(&c, "2026-12-18");
    let (diligent, silent) = (
        signed_in(&c, "acc-host-a").await,
        signed_in(&c, "acc-host-b").await,
    );
    let auditor = on_shift(&c, StaffGroup::Auditor).await;
    let (_, list) = c
        .call("GET", "/api/officer/arrivals", Some(&auditor), Value::Null)
        .await;
    let late = &list["arrivals"];
    assert_eq!(late.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(late[0]["host"]["id"], "host-b");
    assert_eq!(late[0]["host"]["number"], "900412300127");
    assert_eq!(late[0]["visa_number"], "KB0000001");
    assert_eq!(late[0]["request_id"], json!(request_b));
    assert_eq!(late[0]["status"], "overdue");
    assert!(late[0]["reminded_at"].is_string(), "{list}");
    let (status, filed) = c
        .call(
            "POST",
            &format!("/api/hosts/current/arrivals/{request_b}/notice"),
            Some(&silent),
            notice("2026-12-12"),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["status"], "filed_late");
    assert_eq!(filed["notice"]["late"], true);
    assert_eq!(overdue(&c, &auditor, "overdue").await, Vec::<String>::new());
    // The first host's notice stays on time.
    assert_eq!(arrivals_of(&c, &diligent).await[0]["status"], "filed");
}

async fn arrival_problems() {
    let c = Confirm::new();
    morning_of(&c, "2026-12-07");
    let officer = on_shift(&c, StaffGroup::Officer).await;
    let mine = host(&c, "host-a", "061211600012").await;
    host(&c, "host-b", "900412300127").await;
    let (number, request_id) = invited(&c, &mine, &officer, "Z1111111").await;
    issued(&c, &number, "Z1111111", "KA0000001").await;
    morning_of(&c, "2026-12-11");
    let (mine, other) = (
        signed_in(&c, "acc-host-a").await,
        signed_in(&c, "acc-host-b").await,
    );
    let border = on_shift(&c, StaffGroup::Border).await;
    enter(&c, &border, "KA0000001").await;
    let file = format!("/api/hosts/current/arrivals/{request_id}/notice");
    let stranger = c.applicant("acc-nobody").await;

    for (method, path, body) in [
        ("GET", "/api/hosts/current/arrivals", Value::Null),
        ("POST", file.as_str(), notice("2026-12-11")),
    ] {
        refused(
            &c,
            request(method, path, None, body.clone()),
            (401, "unauthenticated"),
        )
        .await;
        // Not an inviting party at all.
        refused(
            &c,
            request(method, path, Some(&stranger), body.clone()),
            (404, "not-found"),
        )
        .await;
        too_large_refused(&c, method, path, Some(&mine)).await;
    }
    // Another host's arrival is not found, like none; so is no arrival.
    refused(
        &c,
        request("POST", &file, Some(&other), notice("2026-12-11")),
        (404, "not-found"),
    )
    .await;
    refused(
        &c,
        request(
            "POST",
            "/api/hosts/current/arrivals/01NOSUCHREQUEST/notice",
            Some(&mine),
            notice("2026-12-11"),
        ),
        (404, "not-found"),
    )
    .await;
    assert_eq!(arrivals_of(&c, &other).await, json!([]));
    malformed_refused(&c, "POST", &file, Some(&mine)).await;
    for (field, body) in [
        (
            "address",
            json!({"address": " ", "stay_from": "2026-12-11", "stay_until": "2026-12-20"}),
        ),
        ("stay_from", notice("2026-12-10")),
        (
            "stay_until",
            json!({"address": "Astana, Mangilik El 55", "stay_from": "2026-12-11", "stay_until": "2026-12-31"}),
        ),
    ] {
        invalid(&c, request("POST", &file, Some(&mine), body), field).await;
    }
    let (status, _) = c
        .call("POST", &file, Some(&mine), notice("2026-12-11"))
        .await;
    assert_eq!(status, 201);
    refused(
        &c,
        request("POST", &file, Some(&mine), notice("2026-12-11")),
        (409, "notice-already-filed"),
    )
    .await;

    // The officers' list: staff only, as every staff route.
    who_is_calling(&c, "GET", "/api/officer/arrivals", Value::Null).await;
    let auditor = on_shift(&c, StaffGroup::Auditor).await;
    invalid(
        &c,
        request(
            "GET",
            "/api/officer/arrivals?status=late",
            Some(&auditor),
            Value::Null,
        ),
        "status",
    )
    .await;
    too_large_refused(&c, "GET", "/api/officer/arrivals", Some(&auditor)).await;
}

cases! {
    arrival_problems,
}
