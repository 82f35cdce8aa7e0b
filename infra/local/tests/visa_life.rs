//! The migration service's changes to a visa through the real binary:
//! `visa-local visa cancel|restore|shorten` against the data dir of a
//! running visa-local, seen by border control's verification and the
//! applicant's cabinet at once, each recorded under the officer's name in
//! an audit trail that `visa-local audit` exports and that the store
//! itself refuses to change.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// One console command on `data_dir`: (succeeded, stdout, stderr).
fn console(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_visa-local"))
        .args(args)
        .env("VISA_DATA_DIR", data_dir)
        .env("VISA_DEMO", "0")
        .env("RUST_LOG", "warn")
        .output()
        .expect("visa-local runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The outbox messages to `email` that mention `words`.
fn emails_saying(data_dir: &Path, email: &str, words: &str) -> usize {
    std::fs::read_dir(data_dir.join("outbox"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .filter(|text| text.contains(&format!("To: {email}\r\n")) && text.contains(words))
        .count()
}

async fn verification(gw: &Gateway, number: &str, passport: &str) -> Value {
    let path = format!("/api/visas/{number}/verification?passport_number={passport}");
    let (status, _, body) = gw.send("GET", &path, None, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn an_officer_cancels_restores_and_shortens_a_visa_and_the_trail_says_who() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("dana@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let passport = issued["passport"]["number"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    let dir = gw.data_dir.clone();
    let before = verification(&gw, &number, &passport).await;
    assert_eq!(before["status"], "not_yet_valid", "{before}");

    // No name, no reason: refused, nothing recorded.
    let (ok, _, err) = console(&dir, &["visa", "cancel", &number, "--reason", "fraud"]);
    assert!(!ok && err.contains("--officer"), "{err}");
    let (ok, _, err) = console(
        &dir,
        &["visa", "cancel", &number, "--officer", "Aigerim Nurlanovna"],
    );
    assert!(!ok && err.contains("422 validation"), "{err}");
    // Only the invitation's creation by the officer's token so far.
    assert_eq!(gw.count("audit_events"), 1);

    let cancel = [
        "visa",
        "cancel",
        &number,
        "--officer",
        "Aigerim Nurlanovna",
        "--reason",
        "the host withdrew the invitation",
    ];
    let (ok, out, err) = console(&dir, &cancel);
    assert!(ok, "{err}");
    assert!(out.contains("cancelled"), "{out}");
    let cancelled = verification(&gw, &number, &passport).await;
    assert_eq!(
        (&cancelled["status"], &cancelled["valid"]),
        (&"cancelled".into(), &false.into())
    );
    // The public learns that it is cancelled, never why.
    assert!(!cancelled.to_string().contains("withdrew"), "{cancelled}");
    // The holder is told at once, without the reason.
    let told = "The migration service has cancelled your e-visa";
    assert_eq!(emails_saying(&dir, "dana@example.com", told), 1);
    assert_eq!(emails_saying(&dir, "dana@example.com", "withdrew"), 0);
    let (_, _, cabinet) = gw
        .send(
            "GET",
            &format!("/api/applications/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert!(cabinet["visa"]["cancelled_at"].is_string(), "{cabinet}");
    // Cancelling again is refused and records nothing.
    let (ok, _, err) = console(&dir, &cancel);
    assert!(!ok && err.contains("409 invalid-state"), "{err}");
    // A cancelled visa is restored before it is shortened.
    let last = issued["visa"]["valid_until"].as_str().unwrap().to_owned();
    let (ok, _, err) = console(
        &dir,
        &[
            "visa",
            "shorten",
            &number,
            "--until",
            &last,
            "--officer",
            "Aigerim Nurlanovna",
            "--reason",
            "x",
        ],
    );
    assert!(!ok && err.contains("409 invalid-state"), "{err}");

    let (ok, _, err) = console(
        &dir,
        &[
            "visa",
            "restore",
            &number,
            "--officer",
            "Marat Seitkali",
            "--reason",
            "the host's appeal was upheld",
        ],
    );
    assert!(ok, "{err}");
    // It stands again as it was issued; only its count of changes moved.
    let mut restored = verification(&gw, &number, &passport).await;
    assert_eq!(restored["visa"]["revision"], 2);
    restored["visa"]["revision"] = 0.into();
    assert_eq!(restored, before);

    // Shortening: only within the window, and border control sees the new
    // last day.
    let first = issued["visa"]["valid_from"].as_str().unwrap().to_owned();
    let (ok, _, err) = console(
        &dir,
        &[
            "visa",
            "shorten",
            &number,
            "--until",
            &last,
            "--officer",
            "Marat Seitkali",
            "--reason",
            "stay reduced",
        ],
    );
    assert!(!ok && err.contains("422 validation"), "{err}");
    let (ok, _, err) = console(
        &dir,
        &[
            "visa",
            "shorten",
            &number,
            "--until",
            &first,
            "--officer",
            "Marat Seitkali",
            "--reason",
            "stay reduced to one day",
        ],
    );
    assert!(ok, "{err}");
    let shortened = verification(&gw, &number, &passport).await;
    assert_eq!(emails_saying(&dir, "dana@example.com", "is valid again"), 1);
    assert_eq!(
        emails_saying(&dir, "dana@example.com", "has shortened your e-visa"),
        1
    );
    assert_eq!(
        shortened["visa"]["valid_until"],
        first.as_str(),
        "{shortened}"
    );
    assert_eq!(
        shortened["visa"]["shortened_from"],
        last.as_str(),
        "{shortened}"
    );

    // The trail: the invitation's creation, then three changes, each under
    // its officer's name.
    let (ok, csv, err) = console(&dir, &["audit"]);
    assert!(ok, "{err}");
    let all: Vec<&str> = csv.lines().collect();
    assert_eq!(all.len(), 5, "{csv}");
    assert_eq!(all[0], "id,at,actor,action,record,reason,from,detail");
    assert!(
        all[1].contains(",visa-local officer (admin token),invitation_created,invitation/"),
        "{}",
        all[1]
    );
    let rows = [all[0], all[2], all[3], all[4]];
    let expect = [
        (
            "Aigerim Nurlanovna",
            "visa_cancelled",
            "the host withdrew the invitation",
        ),
        (
            "Marat Seitkali",
            "visa_restored",
            "the host's appeal was upheld",
        ),
        (
            "Marat Seitkali",
            "visa_shortened",
            "stay reduced to one day",
        ),
    ];
    for (row, (actor, action, reason)) in rows[1..].iter().zip(expect) {
        let want = format!(",{actor},{action},visa/{number},{reason},console,");
        assert!(row.contains(&want), "{row} lacks {want}");
    }
    assert!(
        rows[3].ends_with(&format!("valid_until {last} -> {first}")),
        "{}",
        rows[3]
    );
    let (ok, none, _) = console(
        &dir,
        &["audit", "--from", "2020-01-01", "--to", "2020-01-31"],
    );
    assert!(ok);
    assert_eq!(none.lines().count(), 1, "{none}");

    // Not even the file's owner changes or deletes an event.
    let db = rusqlite::Connection::open(dir.join("visa.sqlite3")).unwrap();
    for sql in [
        "UPDATE audit_events SET doc = '{}'",
        "DELETE FROM audit_events",
    ] {
        let refused = db.execute(sql, []).unwrap_err().to_string();
        assert!(
            refused.contains("audit events cannot be"),
            "{sql}: {refused}"
        );
    }
    assert_eq!(gw.count("audit_events"), 4);
}

/// `visa-local officer add`: an account printed once (password, authenticator
/// secret and its URI), named or by address alone; refused for a second
/// account on one address, a role that is not one, or a bad address.
#[test]
fn officer_add_prints_the_secrets_once_and_refuses_what_cannot_be() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = console(
        dir.path(),
        &[
            "officer",
            "add",
            "Zhanar.K@Migration.kz",
            "--role",
            "officer",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("zhanar.k@migration.kz <zhanar.k@migration.kz> (officer) added."),
        "{out}"
    );
    let secret = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("authenticator secret: "))
        .expect("the secret is printed");
    assert!(
        secret.len() >= 32
            && secret
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)),
        "{secret}"
    );
    assert!(
        out.contains(&format!("secret={secret}&")),
        "the otpauth URI carries it: {out}"
    );
    // Only the password's hash is kept: the printed one is nowhere in the data dir.
    let password = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: "))
        .expect("the password is printed");
    // (WAL: the newest rows may still be in the log beside the file.)
    for file in ["visa.sqlite3", "visa.sqlite3-wal"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "{file}"
        );
    }
    let kept = std::fs::read(dir.path().join("visa.sqlite3-wal")).unwrap_or_default();
    let db = [
        std::fs::read(dir.path().join("visa.sqlite3")).unwrap(),
        kept,
    ]
    .concat();
    assert!(
        db.windows(b"$argon2id$".len()).any(|w| w == b"$argon2id$"),
        "the hash is kept"
    );
    let (ok, out, _) = console(
        dir.path(),
        &[
            "officer",
            "add",
            "b.nurlanov@migration.kz",
            "--name",
            "Bolat Nurlanov",
            "--role",
            "auditor",
        ],
    );
    assert!(
        ok && out.starts_with("Bolat Nurlanov <b.nurlanov@migration.kz> (auditor) added."),
        "{out}"
    );
    for (args, says) in [
        (
            vec![
                "officer",
                "add",
                "ZHANAR.K@migration.kz",
                "--role",
                "officer",
            ],
            "has an account already",
        ),
        (
            vec!["officer", "add", "c@migration.kz", "--role", "admin"],
            "--role officer, --role auditor or --role border",
        ),
        (
            vec!["officer", "add", "not-an-address", "--role", "officer"],
            "is not an email address",
        ),
        (
            vec![
                "officer",
                "add",
                "d@migration.kz",
                "--role",
                "officer",
                "--colour",
                "red",
            ],
            "does not go with",
        ),
    ] {
        let (ok, _, err) = console(dir.path(), &args);
        assert!(!ok && err.contains(says), "{args:?}: {err}");
    }
}
