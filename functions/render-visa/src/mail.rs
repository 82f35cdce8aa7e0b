//! The email queue's requests, delivered: the visa itself (`issue`), the
//! password reset link and the link confirming an address.

use crate::{Deps, issue};
use chrono::{DateTime, Duration, Utc};
use visa_core::account::{self, EmailVerification, PasswordReset};
use visa_core::notify::{EmailRequest, Notifier, TextEmail};
use visa_core::store::Accounts;

/// Handles one request of the email queue (SQS in the cloud, a task
/// locally); an error means "try again later". Returns what it did, for
/// the log.
pub async fn deliver(deps: &Deps, request: &EmailRequest) -> Result<String, String> {
    match request {
        EmailRequest::Visa { application_id } => {
            let outcome = issue::email_once(deps, application_id).await?;
            if outcome == issue::Emailed::NoApplication {
                tracing::warn!(anomaly = true, %application_id, "email requested for no application");
            }
            Ok(format!("visa {application_id}: {outcome:?}"))
        }
        EmailRequest::PasswordReset { email, lang } => send_password_reset(
            deps.accounts.as_ref(),
            deps.notifier.as_ref(),
            deps.clock.now(),
            &deps.site_origin,
            email,
            lang,
        )
        .await
        .map(|outcome| format!("password reset: {outcome:?}")),
        EmailRequest::EmailVerification { account_id, lang } => send_email_verification(
            deps.accounts.as_ref(),
            deps.notifier.as_ref(),
            deps.clock.now(),
            &deps.site_origin,
            account_id,
            lang,
        )
        .await
        .map(|outcome| format!("email verification: {outcome:?}")),
        EmailRequest::AddressVerified { account_id } => issue::email_held(deps, account_id)
            .await
            .map(|sent| format!("address verified: {sent} held visa(s) emailed")),
    }
}

/// What a verification request came to.
#[derive(Debug, PartialEq, Eq)]
pub enum VerificationMail {
    Sent,
    /// Confirmed meanwhile: no link is needed.
    AlreadyVerified,
    /// The account is gone (deleted): nothing to send.
    NoAccount,
}

/// The confirmation email's subject and text, in the applicant's language;
/// the token rides in the link's fragment, never sent to a server.
pub fn verification_text(lang: &str, link: &str) -> (&'static str, String) {
    let hours = account::VERIFICATION_HOURS;
    match lang {
        "ru" => (
            "Подтвердите адрес электронной почты для электронной визы в Казахстан",
            format!(
                "Вы создали учётную запись на портале электронных виз Республики Казахстан.\r\n\r\n\
                 Чтобы подтвердить этот адрес, откройте ссылку (она работает один раз, {hours} часов):\r\n{link}\r\n\r\n\
                 Пока адрес не подтверждён, выданная виза не отправляется по почте, но её можно скачать в личном кабинете. \
                 Если вы не создавали учётную запись, ничего не делайте.\r\n"
            ),
        ),
        "kk" => (
            "Қазақстанға электрондық виза үшін электрондық пошта мекенжайын растаңыз",
            format!(
                "Сіз Қазақстан Республикасының электрондық виза порталында тіркелгі жасадыңыз.\r\n\r\n\
                 Осы мекенжайды растау үшін сілтемені ашыңыз (бір рет, {hours} сағат жұмыс істейді):\r\n{link}\r\n\r\n\
                 Мекенжай расталмайынша берілген виза поштамен жіберілмейді, бірақ оны жеке кабинеттен жүктеп алуға болады. \
                 Егер сіз тіркелгі жасамаған болсаңыз, ештеңе істемеңіз.\r\n"
            ),
        ),
        _ => (
            "Confirm your email address for your Kazakhstan e-visa",
            format!(
                "You created an account on the e-visa portal of the Republic of Kazakhstan.\r\n\r\n\
                 To confirm this address, open this link (it works once, for {hours} hours):\r\n{link}\r\n\r\n\
                 Until the address is confirmed, an issued visa is not emailed to it; you can still download it in your personal cabinet. \
                 If you did not create an account, do nothing.\r\n"
            ),
        ),
    }
}

/// Emails a fresh single-use link confirming the account's address. The
/// token is stored only as its hash; earlier links stay good until they
/// expire.
pub async fn send_email_verification(
    accounts: &dyn Accounts,
    notifier: &dyn Notifier,
    now: DateTime<Utc>,
    site_origin: &str,
    account_id: &str,
    lang: &str,
) -> Result<VerificationMail, String> {
    let Some(found) = accounts
        .account(account_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(VerificationMail::NoAccount);
    };
    if found.email_verified_at.is_some() {
        return Ok(VerificationMail::AlreadyVerified);
    }
    let (token, token_hash) = account::new_session_token();
    accounts
        .create_verification(&EmailVerification {
            token_hash,
            account_id: found.id.clone(),
            expires_at: now + Duration::hours(account::VERIFICATION_HOURS),
        })
        .await
        .map_err(|e| e.to_string())?;
    let link = format!(
        "{}/confirm-email#{token}",
        site_origin.trim_end_matches('/')
    );
    let (subject, text) = verification_text(lang, &link);
    notifier
        .send_text(&TextEmail {
            to: found.email,
            subject: subject.to_owned(),
            text,
        })
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(account_id = %found.id, "email verification link sent");
    Ok(VerificationMail::Sent)
}

/// What a reset request came to.
#[derive(Debug, PartialEq, Eq)]
pub enum ResetMail {
    Sent,
    /// No account has the address: nothing is sent (the requester was
    /// answered the same either way).
    NoAccount,
}

/// The reset email's subject and text, in the applicant's language; the
/// link carries the token in its fragment, which browsers never send to a
/// server (so it stays out of access logs).
pub fn reset_text(lang: &str, link: &str) -> (&'static str, String) {
    let minutes = account::RESET_MINUTES;
    match lang {
        "ru" => (
            "Сброс пароля: электронная виза в Казахстан",
            format!(
                "Кто-то (надеемся, вы) попросил сменить пароль учётной записи на портале электронных виз Республики Казахстан.\r\n\r\n\
                 Чтобы выбрать новый пароль, откройте ссылку (она работает один раз, {minutes} минут):\r\n{link}\r\n\r\n\
                 После смены пароля все открытые сеансы завершатся. Если вы не просили сброс, ничего не делайте: пароль останется прежним.\r\n"
            ),
        ),
        "kk" => (
            "Құпиясөзді қалпына келтіру: Қазақстанға электрондық виза",
            format!(
                "Біреу (сіз деп үміттенеміз) Қазақстан Республикасының электрондық виза порталындағы тіркелгінің құпиясөзін өзгертуді сұрады.\r\n\r\n\
                 Жаңа құпиясөз таңдау үшін сілтемені ашыңыз (бір рет, {minutes} минут жұмыс істейді):\r\n{link}\r\n\r\n\
                 Құпиясөз өзгергеннен кейін барлық ашық сеанстар аяқталады. Егер сіз сұрамаған болсаңыз, ештеңе істемеңіз: құпиясөз өзгермейді.\r\n"
            ),
        ),
        _ => (
            "Reset your password: Kazakhstan e-visa",
            format!(
                "Someone (we hope you) asked to change the password of your account on the e-visa portal of the Republic of Kazakhstan.\r\n\r\n\
                 To choose a new password, open this link (it works once, for {minutes} minutes):\r\n{link}\r\n\r\n\
                 Changing the password signs out every open session. If you did not ask, do nothing: your password stays as it is.\r\n"
            ),
        ),
    }
}

/// Emails a single-use reset link to the account of `email`, if there is
/// one. The token is stored only as its hash.
pub async fn send_password_reset(
    accounts: &dyn Accounts,
    notifier: &dyn Notifier,
    now: DateTime<Utc>,
    site_origin: &str,
    email: &str,
    lang: &str,
) -> Result<ResetMail, String> {
    let Some(found) = accounts
        .account_by_email(email)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(ResetMail::NoAccount);
    };
    let (token, token_hash) = account::new_session_token();
    accounts
        .create_reset(&PasswordReset {
            token_hash,
            account_id: found.id.clone(),
            expires_at: now + Duration::minutes(account::RESET_MINUTES),
        })
        .await
        .map_err(|e| e.to_string())?;
    let link = format!(
        "{}/reset-password#{token}",
        site_origin.trim_end_matches('/')
    );
    let (subject, text) = reset_text(lang, &link);
    notifier
        .send_text(&TextEmail {
            to: found.email,
            subject: subject.to_owned(),
            text,
        })
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(account_id = %found.id, "password reset link emailed");
    Ok(ResetMail::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_carries_the_link_and_its_lifetime() {
        let link = "https://visa.example/reset-password#tok";
        for lang in ["en", "ru", "kk", "de"] {
            let (subject, text) = reset_text(lang, link);
            assert!(!subject.is_empty());
            assert!(text.contains(link), "{lang}");
            assert!(text.contains(&account::RESET_MINUTES.to_string()), "{lang}");
        }
        assert_ne!(reset_text("ru", link).0, reset_text("en", link).0);
        assert_ne!(reset_text("kk", link).0, reset_text("ru", link).0);
    }

    #[test]
    fn every_language_carries_the_confirmation_link_and_its_lifetime() {
        let link = "https://visa.example/confirm-email#tok";
        for lang in ["en", "ru", "kk", "de"] {
            let (subject, text) = verification_text(lang, link);
            assert!(!subject.is_empty());
            assert!(text.contains(link), "{lang}");
            assert!(
                text.contains(&account::VERIFICATION_HOURS.to_string()),
                "{lang}"
            );
        }
        assert_ne!(
            verification_text("ru", link).0,
            verification_text("en", link).0
        );
        assert_ne!(
            verification_text("kk", link).0,
            verification_text("ru", link).0
        );
    }
}
