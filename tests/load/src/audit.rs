//! The consistency audit after a run: the SQLite database read directly
//! (read-only, one snapshot), the blob folder, the outbox and the API.
//! Each check is a promise of the design: an invitation is claimed once,
//! a status moves only forward with its evidence, every paid application
//! ends with exactly one visa and one complete PDF, no visa without a
//! payment, and nothing the portal acknowledged is lost.

use crate::client::Client;
use crate::flow::Ledger;
use reqwest::{Method, StatusCode};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Check {
    pub name: &'static str,
    pub checked: usize,
    pub failures: Vec<String>,
}

pub struct Audit {
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

impl Audit {
    pub fn clean(&self) -> bool {
        self.checks.iter().all(|c| c.failures.is_empty())
    }

    pub fn print(&self) {
        println!("\nconsistency audit");
        for c in &self.checks {
            if c.failures.is_empty() {
                println!("  ok    {} ({} checked)", c.name, c.checked);
            } else {
                println!(
                    "  FAIL  {} ({} of {} checked)",
                    c.name,
                    c.failures.len(),
                    c.checked
                );
                for f in c.failures.iter().take(5) {
                    println!("          {f}");
                }
            }
        }
        for n in &self.notes {
            println!("  note  {n}");
        }
        println!("  audit {}", if self.clean() { "CLEAN" } else { "FAILED" });
    }
}

struct App {
    account_id: String,
    status: String,
    invitation_number: String,
    doc: Value,
}

struct Snapshot {
    accounts: BTreeSet<String>,
    /// Accounts whose address is confirmed.
    confirmed: BTreeSet<String>,
    apps: BTreeMap<String, App>,
    invitations: BTreeMap<String, String>,
    /// visa number -> application id
    visas: BTreeMap<String, String>,
    /// application id -> payment events that are not disputes
    payments: BTreeMap<String, usize>,
    /// checkout session id -> application id
    sandbox: BTreeMap<String, String>,
}

fn db(data_dir: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        data_dir.join("visa.sqlite3"),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Waits until the issuer has no paid application left and every visa
/// has its email (sent in the background, retried), or the deadline.
/// Returns the applications still paid.
pub async fn drain(data_dir: &Path, deadline: Duration) -> Result<usize, String> {
    let started = Instant::now();
    let outbox = data_dir.join("outbox");
    loop {
        let (paid, visas) = db(data_dir)
            .and_then(|c| {
                let paid: i64 = c.query_row(
                    "SELECT COUNT(*) FROM applications WHERE status = 'paid'",
                    [],
                    |r| r.get(0),
                )?;
                // Only a confirmed address is sent its visa.
                let mut stmt = c.prepare(
                    "SELECT v.number FROM visas v JOIN applications a ON a.id = v.application_id \
                     JOIN accounts c ON c.id = a.account_id \
                     WHERE json_extract(c.doc, '$.email_verified_at') IS NOT NULL",
                )?;
                let visas = stmt
                    .query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((paid, visas))
            })
            .map_err(|e| format!("audit: reading the store: {e}"))?;
        let unsent = visas
            .iter()
            .filter(|n| !outbox.join(format!("e-visa-{n}.eml")).exists())
            .count();
        if (paid == 0 && unsent == 0) || started.elapsed() > deadline {
            return Ok(paid as usize);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn snapshot(data_dir: &Path) -> rusqlite::Result<Snapshot> {
    let c = db(data_dir)?;
    // One read transaction: every table from the same instant.
    c.execute_batch("BEGIN")?;
    let pairs = |sql: &str| -> rusqlite::Result<Vec<(String, String)>> {
        let mut stmt = c.prepare(sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let accounts = pairs("SELECT id, email FROM accounts")?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let confirmed = pairs(
        "SELECT id, email FROM accounts WHERE json_extract(doc, '$.email_verified_at') IS NOT NULL",
    )?
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    let invitations = pairs("SELECT number, status FROM invitations")?
        .into_iter()
        .collect();
    let visas = pairs("SELECT number, application_id FROM visas")?
        .into_iter()
        .collect();
    let sandbox = pairs("SELECT id, json_extract(doc, '$.application_id') FROM sandbox_checkouts")?
        .into_iter()
        .collect();
    let mut payments = BTreeMap::new();
    for (app, _) in pairs(
        "SELECT application_id, event_id FROM payment_events WHERE kind NOT IN ('dispute', 'expired', 'refunded')",
    )? {
        *payments.entry(app).or_insert(0) += 1;
    }
    let mut apps = BTreeMap::new();
    {
        let mut stmt =
            c.prepare("SELECT id, account_id, status, invitation_number, doc FROM applications")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                App {
                    account_id: r.get(1)?,
                    status: r.get(2)?,
                    invitation_number: r.get(3)?,
                    doc: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or(Value::Null),
                },
            ))
        })?;
        for row in rows {
            let (id, app) = row?;
            apps.insert(id, app);
        }
    }
    c.execute_batch("COMMIT")?;
    Ok(Snapshot {
        accounts,
        confirmed,
        apps,
        invitations,
        visas,
        payments,
        sandbox,
    })
}

/// A PDF written whole: the header and the end-of-file marker.
fn complete_pdf(bytes: &[u8]) -> bool {
    let end = bytes.trim_ascii_end();
    bytes.starts_with(b"%PDF-") && end.ends_with(b"%%EOF")
}

fn check(name: &'static str) -> Check {
    Check {
        name,
        checked: 0,
        failures: Vec::new(),
    }
}

pub async fn run(data_dir: &Path, ledgers: &[Ledger], client: &Client) -> Result<Audit, String> {
    let s = snapshot(data_dir).map_err(|e| format!("audit: reading the store: {e}"))?;
    let blobs = data_dir.join("blobs").join("visas");
    let mut notes = Vec::new();

    let mut claimed = check("no invitation claimed twice");
    let mut per_invitation: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, app) in &s.apps {
        per_invitation
            .entry(&app.invitation_number)
            .or_default()
            .push(id);
    }
    for (number, status) in &s.invitations {
        claimed.checked += 1;
        let apps = per_invitation.get(number.as_str()).map_or(0, Vec::len);
        match (status.as_str(), apps) {
            ("used", 1) | ("approved" | "revoked", 0) => {}
            _ => claimed.failures.push(format!(
                "invitation {number} is {status} with {apps} applications"
            )),
        }
    }
    for (number, ids) in &per_invitation {
        if !s.invitations.contains_key(*number) {
            claimed.failures.push(format!(
                "applications {ids:?} claim unknown invitation {number}"
            ));
        }
    }

    let mut checkout = check("every confirmed application has its one checkout session");
    let mut paid = check("every paid application has its payment recorded");
    let mut one_visa = check("every paid application has exactly one visa and one complete PDF");
    for (id, app) in &s.apps {
        let status = app.status.as_str();
        if app.doc["status"].as_str() != Some(status) {
            checkout.failures.push(format!(
                "{id}: status column {status}, record {}",
                app.doc["status"]
            ));
        }
        if status == "invitation_confirmed" {
            continue;
        }
        checkout.checked += 1;
        let session = app.doc["payment"]["checkout_session_id"].as_str();
        match session.and_then(|s_id| s.sandbox.get(s_id)) {
            Some(owner) if owner == id => {}
            _ => checkout.failures.push(format!(
                "{id} ({status}): checkout session {session:?} missing"
            )),
        }
        if status == "awaiting_payment" {
            if s.payments.contains_key(id) {
                paid.failures
                    .push(format!("{id}: payment recorded but still awaiting payment"));
            }
            continue;
        }
        paid.checked += 1;
        if app.doc["payment"]["paid_at"].is_null() || !s.payments.contains_key(id) {
            paid.failures.push(format!(
                "{id} ({status}): paid_at {} and {} payment events",
                app.doc["payment"]["paid_at"],
                s.payments.get(id).copied().unwrap_or(0)
            ));
        }
        one_visa.checked += 1;
        if status == "paid" {
            one_visa
                .failures
                .push(format!("{id}: paid but never issued"));
            continue;
        }
        let number = app.doc["visa"]["number"].as_str().unwrap_or("");
        let rows: Vec<&String> = s
            .visas
            .iter()
            .filter(|(_, a)| *a == id)
            .map(|(n, _)| n)
            .collect();
        if rows.len() != 1 || rows[0] != number {
            one_visa.failures.push(format!(
                "{id}: visa {number:?} on the record, visa rows {rows:?}"
            ));
            continue;
        }
        match std::fs::read(blobs.join(id).join(format!("{number}.pdf"))) {
            Ok(bytes) if complete_pdf(&bytes) => {}
            Ok(bytes) => one_visa.failures.push(format!(
                "{id}: PDF of {number} incomplete ({} bytes)",
                bytes.len()
            )),
            Err(e) => one_visa
                .failures
                .push(format!("{id}: PDF of {number}: {e}")),
        }
    }
    for id in s.payments.keys() {
        paid.checked += 1;
        match s.apps.get(id).map(|a| a.status.as_str()) {
            Some("paid" | "issued") => {}
            other => paid
                .failures
                .push(format!("payment event for {id}, which is {other:?}")),
        }
    }

    let mut no_unpaid = check("no visa without payment");
    for (number, id) in &s.visas {
        no_unpaid.checked += 1;
        let app = s.apps.get(id);
        let issued = app.is_some_and(|a| a.status == "issued");
        if !issued || !s.payments.contains_key(id) {
            no_unpaid.failures.push(format!(
                "visa {number} for {id} ({:?}) without payment",
                app.map(|a| &a.status)
            ));
        }
    }

    let mut stray = check("no PDF without its visa");
    let mut leftovers = 0;
    // visas/<application id>/<visa number>.pdf
    let files = std::fs::read_dir(&blobs)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|app_dir| {
            let id = app_dir.file_name().to_string_lossy().into_owned();
            std::fs::read_dir(app_dir.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(move |f| (id.clone(), f.file_name().to_string_lossy().into_owned()))
        });
    for (id, name) in files {
        match name.strip_suffix(".pdf") {
            Some(number) => {
                stray.checked += 1;
                if s.visas.get(number) != Some(&id) {
                    stray
                        .failures
                        .push(format!("{id}/{name} belongs to no visa of {id}"));
                }
            }
            None => leftovers += 1,
        }
    }
    if leftovers > 0 {
        notes.push(format!(
            "{leftovers} temporary blob files left by interrupted writes (never served)"
        ));
    }

    let mut emailed = check("every visa emailed to a confirmed address, none to another");
    let outbox = data_dir.join("outbox");
    let mut held = 0;
    for (number, app_id) in &s.visas {
        emailed.checked += 1;
        let confirmed = s
            .apps
            .get(app_id)
            .is_some_and(|a| s.confirmed.contains(&a.account_id));
        let sent = outbox.join(format!("e-visa-{number}.eml")).exists();
        match (confirmed, sent) {
            (true, false) => emailed.failures.push(format!("no email for visa {number}")),
            (false, true) => emailed
                .failures
                .push(format!("visa {number} emailed to an unconfirmed address")),
            (false, false) => held += 1,
            (true, true) => {}
        }
    }
    if held > 0 {
        notes.push(format!(
            "{held} visas held back: their confirmation email was lost to a crash or fault"
        ));
    }

    let mut kept = check("nothing the portal acknowledged is lost");
    for l in ledgers {
        kept.checked += 1;
        let who = format!("flow {}", l.index);
        if let Some(acc) = &l.account_id
            && !s.accounts.contains(acc)
        {
            kept.failures
                .push(format!("{who}: account {acc} acknowledged, not stored"));
        }
        let Some(id) = &l.application_id else {
            continue;
        };
        let Some(app) = s.apps.get(id) else {
            kept.failures
                .push(format!("{who}: application {id} acknowledged, not stored"));
            continue;
        };
        if app.invitation_number != l.invitation_number
            || l.account_id.as_ref().is_some_and(|a| *a != app.account_id)
        {
            kept.failures
                .push(format!("{who}: application {id} is someone else's"));
        }
        if l.paid_acknowledged && !matches!(app.status.as_str(), "paid" | "issued") {
            kept.failures.push(format!(
                "{who}: payment acknowledged, {id} is {}",
                app.status
            ));
        }
        if let Some(number) = &l.visa_number {
            if s.visas.get(number) != Some(id) {
                kept.failures
                    .push(format!("{who}: visa {number} acknowledged, not stored"));
            }
            let on_disk = std::fs::read(blobs.join(id).join(format!("{number}.pdf")))
                .map(|b| hex::encode(Sha256::digest(&b)))
                .ok();
            if l.pdf_sha256.is_some() && on_disk != l.pdf_sha256 {
                kept.failures.push(format!(
                    "{who}: the stored PDF of {number} differs from the one downloaded"
                ));
            }
        }
    }

    // Border control's view through the API agrees with the store: found,
    // for this passport, and in force or (a stay that starts later) not
    // yet, never anything else.
    let mut verified = check("border control finds every downloaded visa, in force or not yet");
    for l in ledgers {
        let Some(number) = &l.visa_number else {
            continue;
        };
        verified.checked += 1;
        let path = format!(
            "/api/visas/{number}/verification?passport_number={}",
            l.passport_number
        );
        match client
            .json(
                "GET /api/visas/{n}/verification",
                Method::GET,
                &path,
                None,
                None,
            )
            .await
        {
            Ok(a)
                if a.status == StatusCode::OK
                    && a.json()["visa"]["number"] == number.as_str()
                    && matches!(
                        (a.json()["valid"].as_bool(), a.json()["status"].as_str()),
                        (Some(true), Some("issued")) | (Some(false), Some("not_yet_valid"))
                    ) => {}
            Ok(a) => verified
                .failures
                .push(format!("visa {number}: {}", a.describe())),
            Err(e) => verified.failures.push(format!("visa {number}: {e}")),
        }
    }

    Ok(Audit {
        checks: vec![
            claimed, checkout, paid, one_visa, no_unpaid, stray, emailed, kept, verified,
        ],
        notes,
    })
}
