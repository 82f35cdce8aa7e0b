//! Emails other than the visa itself, built from the email queue's
//! requests: the password reset link.

use chrono::{DateTime, Duration, Utc};
use visa_core::account::{self, PasswordReset};
use visa_core::notify::{Notifier, TextEmail};
use visa_core::store::Accounts;

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
}
