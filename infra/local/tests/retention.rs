//! Data retention through the real visa-local binary: `visa-local sweep
//! --at <instant>` on a pinned clock erases the unpaid application (and
//! its passport data) once its time has come, and the issued one with its
//! visa record, PDF and invitation a year after the visa's end; a second
//! before each, nothing goes.

mod common;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{Gateway, application, invitation};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// One sweep of `data_dir` at `at`; the summary line and the erased ids.
fn sweep(data_dir: &Path, at: DateTime<Utc>, env: &[(&str, &str)]) -> (String, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_visa-local"))
        .args(["sweep", "--at", &at.to_rfc3339()])
        .envs(env.iter().copied())
        .env("VISA_DATA_DIR", data_dir)
        .env("VISA_DEMO", "0")
        .env("RUST_LOG", "warn")
        .output()
        .expect("visa-local sweep runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let summary = lines.next().expect("a summary").to_owned();
    let erased = lines
        .filter_map(|l| l.strip_prefix("erased application "))
        .map(str::to_owned)
        .collect();
    (summary, erased)
}

/// The tables of the store with a row whose text holds `needle`.
fn tables_holding(gw: &Gateway, needle: &str) -> Vec<String> {
    let c = rusqlite::Connection::open(gw.data_dir.join("visa.sqlite3")).unwrap();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables
        .into_iter()
        .filter(|table| {
            let mut stmt = c.prepare(&format!("SELECT * FROM {table}")).unwrap();
            let columns = stmt.column_count();
            let mut rows = stmt.query([]).unwrap();
            let mut found = false;
            while let Some(row) = rows.next().unwrap() {
                for i in 0..columns {
                    if let Ok(rusqlite::types::ValueRef::Text(t)) = row.get_ref(i) {
                        found |= String::from_utf8_lossy(t).contains(needle);
                    }
                }
            }
            found
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_erases_each_kind_of_data_when_its_time_comes() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("timur@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let id = issued["id"].as_str().unwrap().to_owned();
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let pdf = gw.data_dir.join(format!("blobs/visas/{id}/{number}.pdf"));
    // The visa's email is out, so the gateway's own work is done.
    let eml = gw.data_dir.join(format!("outbox/e-visa-{number}.eml"));
    let start = std::time::Instant::now();
    while !eml.exists() {
        assert!(start.elapsed().as_secs() < 20, "no visa email");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(pdf.exists());

    // A second application, never confirmed: a draft with its own passport.
    let mut inv = invitation("tourist", "IND");
    inv["invitee"]["passport_number"] = json!("D2220001");
    let inv = gw.create_invitation(inv).await;
    let mut body = application(&inv);
    body["passport"]["number"] = json!("D2220001");
    let (status, _, draft) = gw
        .send("POST", "/api/applications", Some(&token), Some(body))
        .await;
    assert_eq!(status, 201, "{draft}");
    let draft_id = draft["id"].as_str().unwrap().to_owned();
    let made: DateTime<Utc> = draft["updated_at"].as_str().unwrap().parse().unwrap();

    // Drafts go 2 days after their last change here (RETENTION_UNPAID_DAYS).
    let short = [("RETENTION_UNPAID_DAYS", "2")];
    // Sessions, links and sign-in counters expire on their own figures.
    let transient = [
        "sessions",
        "sign_in_failures",
        "email_verifications",
        "password_resets",
        "payment_events",
    ];
    let before = gw.snapshot_without(&transient);
    let (summary, erased) = sweep(
        &gw.data_dir,
        made + Duration::days(2) - Duration::seconds(1),
        &short,
    );
    assert!(erased.is_empty(), "{summary}");
    assert_eq!(gw.snapshot_without(&transient), before, "nothing was due");
    // The officers' search keys hold the passport number too, and go with
    // the application or the invitation (triggers).
    assert_eq!(
        tables_holding(&gw, "D2220001"),
        [
            "invitations",
            "applications",
            "application_search",
            "invitation_search"
        ]
    );
    let (summary, erased) = sweep(&gw.data_dir, made + Duration::days(2), &short);
    assert_eq!(erased, [draft_id.as_str()], "{summary}");
    assert!(
        summary.contains("1 applications erased (0 visas"),
        "{summary}"
    );
    assert!(tables_holding(&gw, &draft_id).is_empty());
    // The draft's invitation is the migration service's record: it stays
    // as long as a visa under it could, so its passport number does too.
    assert_eq!(
        tables_holding(&gw, "D2220001"),
        ["invitations", "invitation_search"]
    );
    assert_eq!(gw.count("invitations"), 2);

    // The issued visa: kept until a year (the default) after its last
    // day ends in Astana (UTC+5).
    let last_day: NaiveDate = issued["visa"]["valid_until"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let due = last_day
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - Duration::hours(5)
        + Duration::days(365);
    let (summary, erased) = sweep(&gw.data_dir, due - Duration::seconds(1), &[]);
    assert!(erased.is_empty(), "{summary}");
    assert!(pdf.exists());
    let (summary, erased) = sweep(&gw.data_dir, due, &[]);
    assert_eq!(erased, [id.as_str()], "{summary}");
    assert!(
        summary.contains("(1 visas with their PDFs), 2 invitations"),
        "{summary}"
    );
    assert!(!pdf.exists(), "the PDF went with its application");
    assert!(!pdf.parent().unwrap().exists());
    assert_eq!(gw.count("applications"), 0);
    assert_eq!(gw.count("visas"), 0);
    assert_eq!(gw.count("invitations"), 0);
    let passport = issued["passport"]["number"].as_str().unwrap();
    assert!(
        tables_holding(&gw, passport).is_empty(),
        "no passport data left"
    );
    assert!(tables_holding(&gw, "D2220001").is_empty());
    // Retrieval answers as for a visa that never was.
    let (status, _, _) = gw
        .send(
            "POST",
            "/api/visa-retrievals",
            None,
            Some(json!({"visa_number": number, "passport_number": passport,
                        "date_of_birth": issued["passport"]["date_of_birth"]})),
        )
        .await;
    assert_eq!(status, 404);
}

#[test]
fn a_sweep_with_a_bad_instant_or_policy_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_visa-local"))
            .args(args)
            .envs(env.iter().copied())
            .env("VISA_DATA_DIR", dir.path())
            .env("VISA_DEMO", "0")
            .output()
            .unwrap()
    };
    let bad = run(&["sweep", "--at", "next tuesday"], &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--at next tuesday"));
    let short = run(&["sweep"], &[("RETENTION_UNPAID_DAYS", "1")]);
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr)
            .contains("RETENTION_UNPAID_DAYS must be at least 2 days")
    );
    assert!(!run(&["sweeep"], &[]).status.success());
    assert!(
        !dir.path().join("visa.sqlite3").exists(),
        "no store was opened"
    );
}
