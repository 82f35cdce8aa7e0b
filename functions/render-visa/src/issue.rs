//! Issuing: on `paid`, assign the visa number, sign the QR, render the PDF,
//! store it, then move the application paid -> issued in one conditional
//! write. Safe to run twice: the number derives from the application, a
//! PDF already stored under the application's key is kept, and the status
//! write happens once.

use crate::{Deps, jws};
use sha2::{Digest, Sha256};
use visa_core::Status;
use visa_core::account::Account;
use visa_core::application::{Application, Entries, Visa};
use visa_core::notify::VisaEmail;
use visa_core::rules::ENTRY_POINTS;
use visa_core::signing::VisaSigner;
use visa_core::store::{StoreError, Stored};
use visa_core::vds;
use visa_pdf::VisaDocument;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("no such application")]
    NotFound,
    #[error("the application is {0}, not paid")]
    NotPaid(&'static str),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("blobs: {0}")]
    Blob(#[from] visa_core::store::BlobError),
    #[error("signing: {0}")]
    Sign(#[from] visa_core::signing::SignError),
    #[error("rendering: {0}")]
    Render(String),
}

const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

/// The visa number for an application: 9 characters A-Z0-9 (no I, O, Q, so
/// it reads unambiguously), derived so a retry gets the same number; a
/// collision moves to the next `attempt`.
pub fn visa_number(application_id: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!("{application_id}/{attempt}").as_bytes());
    let mut n = u128::from_be_bytes(digest[..16].try_into().expect("16 bytes"));
    // Starts with a letter: an MRZ document number that is never all digits.
    let mut out = vec![ALPHABET[(n % 23) as usize]];
    n /= 23;
    for _ in 0..8 {
        out.push(ALPHABET[(n % ALPHABET.len() as u128) as usize]);
        n /= ALPHABET.len() as u128;
    }
    String::from_utf8(out).expect("ASCII")
}

/// Where an application's visa PDF lives: under the application's own id,
/// so an object found there can be no other application's.
pub fn pdf_key(application_id: &str, number: &str) -> String {
    format!("visas/{application_id}/{number}.pdf")
}

/// Issues the visa of a paid application; returns it as issued.
pub async fn issue(deps: &Deps, application_id: &str) -> Result<Application, IssueError> {
    for attempt in 0..5 {
        let app = deps
            .applications
            .application(application_id)
            .await?
            .ok_or(IssueError::NotFound)?;
        match app.status {
            Status::Issued => return Ok(app),
            Status::Paid => {}
            other => return Err(IssueError::NotPaid(other.as_str())),
        }
        // Issue time = payment time: the same visa renders the same bytes on a retry.
        let issued_at = app
            .payment
            .as_ref()
            .and_then(|p| p.paid_at)
            .unwrap_or(app.updated_at);
        let visa = Visa::new(
            visa_number(&app.id, attempt),
            app.category,
            &app.stay,
            ENTRY_POINTS.iter().map(|s| s.to_string()).collect(),
            issued_at,
        );
        // Rendered on every run (a few ms, the same bytes for the same
        // application and attempt); stored unless a previous run did.
        let pdf = render(deps, &app, &visa).await?;
        let stored = deps
            .blobs
            .put_new(&pdf_key(&app.id, &visa.number), &pdf, "application/pdf")
            .await?;
        if stored == Stored::Existed {
            tracing::info!(application_id = %app.id, visa = %visa.number, "PDF stored by an earlier run");
        }
        match deps
            .visas
            .issue_visa(&app.id, &visa, deps.clock.now())
            .await
        {
            Ok(issued) => {
                tracing::info!(application_id = %app.id, visa = %visa.number, "visa issued");
                return Ok(issued);
            }
            Err(StoreError::VisaNumberTaken) => {
                tracing::warn!(application_id = %app.id, attempt, "visa number taken, drawing the next");
                continue;
            }
            // A concurrent run issued it: read it back on the next turn.
            Err(StoreError::StatusConflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(IssueError::Store(StoreError::Unavailable(
        "could not assign a free visa number".into(),
    )))
}

pub fn document(deps: &Deps, app: &Application, visa: &Visa, qr_url: String) -> VisaDocument {
    let p = &app.passport;
    VisaDocument {
        visa_number: visa.number.clone(),
        category: visa.category,
        entries: visa.entries,
        valid_from: visa.valid_from,
        valid_until: visa.valid_until,
        issued_at: visa.issued_at,
        surname: p.surname.clone(),
        given_names: p.given_names.clone(),
        nationality: p.nationality.clone(),
        nationality_name: deps
            .annexes
            .country_name(&p.nationality)
            .unwrap_or(&p.nationality)
            .to_owned(),
        date_of_birth: p.date_of_birth,
        sex: p.sex,
        passport_number: p.number.clone(),
        inviter_name: app.inviter.name.clone(),
        inviter_bin: app.inviter.bin.clone(),
        entry_points: visa.entry_points.clone(),
        qr_url,
        seal: Vec::new(),
    }
}

pub fn claims(app: &Application, visa: &Visa) -> jws::Claims {
    let p = &app.passport;
    jws::Claims {
        vn: visa.number.clone(),
        sn: p.surname.clone(),
        gn: p.given_names.clone(),
        nat: p.nationality.clone(),
        dob: p.date_of_birth.to_string(),
        sex: p.sex.as_str().to_owned(),
        pn: p.number.clone(),
        cat: visa.category.as_str().into(),
        vf: visa.valid_from.to_string(),
        vu: visa.valid_until.to_string(),
        iat: visa.issued_at.timestamp(),
    }
}

/// The signer as the seal's header names it: Kazakhstan (`KZ`), the e-visa
/// service (`EV`).
pub const SEAL_SIGNER: &str = "KZEV";

/// The visa's ICAO Visible Digital Seal (version 4, visa profile): the
/// MRV-B MRZ, one entry, the days of stay and the passport number, signed
/// with the visa-signing key (ES256, raw r||s), dated the issue day.
pub async fn seal(signer: &dyn VisaSigner, doc: &VisaDocument) -> Result<Vec<u8>, IssueError> {
    let day = doc.issued_at.date_naive();
    let header = vds::Header {
        issuing_state: "KAZ".into(),
        signer: SEAL_SIGNER.into(),
        // The serial number of the key's signer certificate (visa_pki).
        certificate_reference: visa_pki::certificate_reference(signer.key_id()),
        issued: day,
        signed: day,
        feature_reference: vds::VISA_FEATURE_REFERENCE,
        type_category: vds::VISA_TYPE_CATEGORY,
    };
    let days = (doc.valid_until - doc.valid_from).num_days() + 1;
    let features = vds::VisaFeatures {
        mrz_b: Some(doc.mrz().concat()),
        entries: Some(match doc.entries {
            Entries::Single => 1,
            Entries::Double => 2,
            // ICAO: 0 for an unlimited number of entries.
            Entries::Multiple => 0,
        }),
        duration_of_stay: Some((u8::try_from(days).unwrap_or(u8::MAX), 0, 0)),
        passport_number: Some(doc.passport_number.clone()),
    };
    let unsigned = vds::encode_unsigned(&header, &features)
        .map_err(|e| IssueError::Render(format!("digital seal: {e}")))?;
    let signature = signer.sign(&unsigned).await?;
    Ok(vds::with_signature(&unsigned, &signature))
}

async fn render(deps: &Deps, app: &Application, visa: &Visa) -> Result<Vec<u8>, IssueError> {
    let token = jws::sign(deps.signer.as_ref(), &claims(app, visa)).await?;
    let qr_url = format!("{}/verify#{token}", deps.site_origin.trim_end_matches('/'));
    let mut doc = document(deps, app, visa, qr_url);
    doc.seal = seal(deps.signer.as_ref(), &doc).await?;
    let renderer = deps.renderer.clone();
    // typst is CPU-bound: keep it off the async workers.
    tokio::task::spawn_blocking(move || renderer.render(&doc))
        .await
        .map_err(|e| IssueError::Render(e.to_string()))?
        .map_err(|e| IssueError::Render(e.to_string()))
}

/// The email with the visa attached, to the account's address; its
/// failure never undoes issuance.
async fn email(deps: &Deps, app: &Application, to: String, lang: &str) -> Result<(), String> {
    let visa = app.visa.as_ref().ok_or("not issued")?;
    let pdf = deps
        .blobs
        .get(&pdf_key(&app.id, &visa.number))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("no PDF")?;
    let cabinet = format!("{}/cabinet", deps.site_origin.trim_end_matches('/'));
    let (valid_from, valid_until) = (visa.valid_from.to_string(), visa.valid_until.to_string());
    let composed = crate::mail::visa_message(
        lang,
        &crate::mail::IssuedVisa {
            number: &visa.number,
            valid_from: &valid_from,
            valid_until: &valid_until,
            passport_number: &app.passport.number,
            cabinet: &cabinet,
        },
    );
    let message = VisaEmail {
        visa_number: visa.number.clone(),
        to,
        subject: composed.subject,
        text: composed.text,
        html: composed.html,
        attachment_name: format!("e-visa-{}.pdf", visa.number),
        pdf,
    };
    deps.notifier
        .send_visa(&message)
        .await
        .map_err(|e| e.to_string())
}

/// What one delivery of an email request did.
#[derive(Debug, PartialEq, Eq)]
pub enum Emailed {
    Sent,
    /// Recorded as emailed already: a redelivery sends nothing.
    AlreadySent,
    /// No such application (a message from another stack or a deleted
    /// one): nothing to send, and retrying would not change that.
    NoApplication,
    /// Not issued (yet): nothing to attach.
    NotIssued,
    /// The account's address is not confirmed: the visa stays in the
    /// cabinet and goes out when the address is confirmed.
    Unverified,
    /// More copies asked for today than the holder's mailbox should get.
    TooManyCopies,
    /// The account was deleted (the visa is kept): no address to send to.
    NoAccount,
}

/// Copies of one visa emailed per day at most: retrieval is open to
/// anyone who knows the three details, so it must not flood the holder.
pub const MAX_COPIES_PER_DAY: u32 = 3;

/// An issued application and its account's confirmed address, or why
/// there is nothing to send.
pub(crate) async fn recipient(
    deps: &Deps,
    application_id: &str,
) -> Result<Result<(Application, Account), Emailed>, String> {
    let Some(app) = deps
        .applications
        .application(application_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Err(Emailed::NoApplication));
    };
    if app.visa.is_none() {
        return Ok(Err(Emailed::NotIssued));
    }
    let Some(account) = deps
        .accounts
        .account(&app.account_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Err(Emailed::NoAccount));
    };
    if account.email_verified_at.is_none() {
        return Ok(Err(Emailed::Unverified));
    }
    Ok(Ok((app, account)))
}

/// Emails an application's issued visa unless that was recorded already
/// (queues deliver at least once), then records it. A failure leaves it
/// unrecorded, so the queue's redelivery tries again; issuance is never
/// touched. Only to a confirmed address.
pub async fn email_once(deps: &Deps, application_id: &str) -> Result<Emailed, String> {
    let (app, account) = match recipient(deps, application_id).await? {
        Ok(found) => found,
        Err(nothing) => return Ok(nothing),
    };
    if app.emailed_at.is_some() {
        return Ok(Emailed::AlreadySent);
    }
    email(deps, &app, account.email, &account.lang).await?;
    // A failure here only risks one more email on a redelivery.
    if let Err(e) = deps.visas.mark_emailed(&app.id, deps.clock.now()).await {
        tracing::warn!(application_id = %app.id, error = %e, "could not record the email");
    }
    Ok(Emailed::Sent)
}

/// A copy of an issued visa, asked for through retrieval: sent to the
/// confirmed address whether or not the visa was emailed before, never
/// recorded, at most `MAX_COPIES_PER_DAY` a day.
pub async fn email_copy(deps: &Deps, application_id: &str) -> Result<Emailed, String> {
    let (app, account) = match recipient(deps, application_id).await? {
        Ok(found) => found,
        Err(nothing) => return Ok(nothing),
    };
    let copies = deps
        .sessions
        .record_failed_sign_in(
            &format!("copy:{}", app.id),
            deps.clock.now(),
            chrono::Duration::hours(24),
        )
        .await
        .map_err(|e| e.to_string())?;
    if copies > MAX_COPIES_PER_DAY {
        return Ok(Emailed::TooManyCopies);
    }
    email(deps, &app, account.email, &account.lang).await?;
    Ok(Emailed::Sent)
}

/// The account's issued visas not emailed yet (held back while its address
/// was unconfirmed), emailed now; how many went out.
pub async fn email_held(deps: &Deps, account_id: &str) -> Result<usize, String> {
    let apps = deps
        .applications
        .applications_of(account_id)
        .await
        .map_err(|e| e.to_string())?;
    let mut sent = 0;
    for app in apps
        .iter()
        .filter(|a| a.visa.is_some() && a.emailed_at.is_none())
    {
        if email_once(deps, &app.id).await? == Emailed::Sent {
            sent += 1;
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visa_numbers_are_stable_nine_characters_and_differ_per_attempt() {
        let a = visa_number("01JD0000000000000000000000", 0);
        assert_eq!(a, visa_number("01JD0000000000000000000000", 0));
        assert_eq!(a.len(), 9);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert!(a.as_bytes()[0].is_ascii_uppercase());
        assert_ne!(a, visa_number("01JD0000000000000000000000", 1));
        assert_ne!(a, visa_number("01JD0000000000000000000001", 0));
    }
}
