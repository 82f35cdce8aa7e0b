//! The email queue's requests, delivered: the visa itself (`issue`), the
//! password reset link and the link confirming an address.

use crate::{Deps, issue};
use chrono::{DateTime, Duration, Utc};
use visa_core::account::{self, EmailVerification, PasswordReset};
use visa_core::mime::escape_html;
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
        EmailRequest::VisaCopy { application_id } => issue::email_copy(deps, application_id)
            .await
            .map(|outcome| format!("visa copy {application_id}: {outcome:?}")),
        EmailRequest::AddressVerified { account_id } => issue::email_held(deps, account_id)
            .await
            .map(|sent| format!("address verified: {sent} held visa(s) emailed")),
        EmailRequest::VisaChanged {
            application_id,
            revision,
        } => send_visa_changed(deps, application_id, *revision)
            .await
            .map(|outcome| format!("visa change {application_id}: {outcome}")),
        EmailRequest::InvitationIssued { request_id } => send_invitation(deps, request_id)
            .await
            .map(|outcome| format!("invitation of request {request_id}: {outcome}")),
        EmailRequest::HostDecided { host_id } => send_host_decision(deps, host_id)
            .await
            .map(|outcome| format!("host decision {host_id}: {outcome}")),
        EmailRequest::ArrivalReminders => crate::reminders::remind_hosts(deps)
            .await
            .map(|sent| format!("arrival reminders: {sent} sent")),
    }
}

/// Sends the foreigner of an approved request the invitation's number and
/// the link that opens the application with it filled in.
async fn send_invitation(deps: &Deps, request_id: &str) -> Result<&'static str, String> {
    let request = deps
        .requests
        .invitation_request(request_id)
        .await
        .map_err(|e| e.to_string())?;
    let Some((request, number)) = request.and_then(|r| {
        let number = r.invitation_number.clone()?;
        Some((r, number))
    }) else {
        tracing::warn!(anomaly = true, %request_id, "invitation email for no approved request");
        return Ok("not sent");
    };
    let link = format!(
        "{}/apply?invitation={number}",
        deps.site_origin.trim_end_matches('/')
    );
    let message = invitation_message(
        &request.invitee.lang,
        &InvitationNotice {
            number: &number,
            valid_from: &request.valid_from.format("%d.%m.%Y").to_string(),
            valid_until: &request.valid_until.format("%d.%m.%Y").to_string(),
            link: &link,
        },
    );
    send(
        deps.notifier.as_ref(),
        request.invitee.email.clone(),
        message,
    )
    .await?;
    tracing::info!(%request_id, invitation = %number, "invitation emailed");
    Ok("sent")
}

/// Tells an inviting party's account what the migration service decided.
async fn send_host_decision(deps: &Deps, host_id: &str) -> Result<&'static str, String> {
    let Some((host, account)) = host_and_account(deps, host_id).await? else {
        return Ok("not sent");
    };
    let Some(decision) = host.decision.as_ref() else {
        return Ok("not decided");
    };
    let link = host_page(deps);
    let approved = host.status == visa_core::host::HostStatus::Approved;
    let message = host_decision_message(
        &account.lang,
        &host.name,
        approved,
        decision.reason.as_deref().unwrap_or(""),
        &link,
    );
    send(deps.notifier.as_ref(), account.email, message).await?;
    tracing::info!(%host_id, approved, "host decision emailed");
    Ok("sent")
}

/// An inviting party and the account its emails go to; `None` (logged)
/// when either is gone.
pub(crate) async fn host_and_account(
    deps: &Deps,
    host_id: &str,
) -> Result<Option<(visa_core::host::Host, visa_core::account::Account)>, String> {
    let Some(host) = deps.hosts.host(host_id).await.map_err(|e| e.to_string())? else {
        tracing::warn!(anomaly = true, %host_id, "an email for no inviting party");
        return Ok(None);
    };
    let account = deps
        .accounts
        .account(&host.account_id)
        .await
        .map_err(|e| e.to_string())?;
    if account.is_none() {
        tracing::info!(%host_id, "the inviting party's account is gone: not emailed");
    }
    Ok(account.map(|a| (host, a)))
}

/// The inviting party's page, which its emails link to.
pub(crate) fn host_page(deps: &Deps) -> String {
    format!("{}/host", deps.site_origin.trim_end_matches('/'))
}

/// The migration service's decision on an inviting party, in its account's
/// language.
pub fn host_decision_message(
    lang: &str,
    name: &str,
    approved: bool,
    reason: &str,
    link: &str,
) -> Composed {
    let (subject, paragraphs, label) = match (lang, approved) {
        ("ru", true) => (
            format!("{name}: приглашающая сторона одобрена"),
            vec![
                format!("Миграционная служба одобрила регистрацию {name} как приглашающей стороны."),
                "Теперь вы можете запрашивать приглашения для иностранцев, следить за их поездкой и подавать уведомления об их прибытии.".to_owned(),
            ],
            "Запросить приглашения",
        ),
        ("ru", false) => (
            format!("{name}: в регистрации приглашающей стороны отказано"),
            vec![
                format!("Миграционная служба отказала в регистрации {name} как приглашающей стороны."),
                format!("Причина: {reason}"),
            ],
            "Открыть страницу приглашающей стороны",
        ),
        ("kk", true) => (
            format!("{name}: шақырушы тарап мақұлданды"),
            vec![
                format!("Көші-қон қызметі {name} шақырушы тарап ретінде тіркелуін мақұлдады."),
                "Енді шетелдіктерге шақыру сұрай аласыз, олардың сапарын бақылап, келгені туралы хабарлама бере аласыз.".to_owned(),
            ],
            "Шақыру сұрау",
        ),
        ("kk", false) => (
            format!("{name}: шақырушы тарап ретінде тіркеуден бас тартылды"),
            vec![
                format!("Көші-қон қызметі {name} шақырушы тарап ретінде тіркеуден бас тартты."),
                format!("Себебі: {reason}"),
            ],
            "Шақырушы тарап бетін ашу",
        ),
        (_, true) => (
            format!("{name}: approved as an inviting party"),
            vec![
                format!("The migration service has approved {name} as an inviting party."),
                "You can now request invitations for foreigners, follow their journey and file their arrival notices.".to_owned(),
            ],
            "Request invitations",
        ),
        (_, false) => (
            format!("{name}: not approved as an inviting party"),
            vec![
                format!("The migration service has refused to register {name} as an inviting party."),
                format!("Reason: {reason}"),
            ],
            "Open the inviting party's page",
        ),
    };
    compose(lang, &subject, &paragraphs, Some((label, link)))
}

/// What the foreigner is told of their invitation.
pub struct InvitationNotice<'a> {
    pub number: &'a str,
    pub valid_from: &'a str,
    pub valid_until: &'a str,
    pub link: &'a str,
}

/// The email bringing an invitation to its foreigner, in the language the
/// host chose for them.
pub fn invitation_message(lang: &str, n: &InvitationNotice) -> Composed {
    let InvitationNotice {
        number,
        valid_from,
        valid_until,
        link,
    } = n;
    let (subject, paragraphs, label) = match lang {
        "ru" => (
            format!("Приглашение для электронной визы в Казахстан: {number}"),
            [
                "Миграционная служба Республики Казахстан одобрила приглашение, которое для вас запросила казахстанская сторона.".to_owned(),
                format!("Номер приглашения: {number}. Пребывание: с {valid_from} по {valid_until}."),
                "По ссылке откроется заявление на электронную визу с уже указанным номером приглашения. Введите данные паспорта точно так, как они напечатаны в нём.".to_owned(),
            ],
            "Подать заявление",
        ),
        "kk" => (
            format!("Қазақстанға электрондық визаға шақыру: {number}"),
            [
                "Қазақстан Республикасының көші-қон қызметі қазақстандық тарап сіз үшін сұраған шақыруды мақұлдады.".to_owned(),
                format!("Шақыру нөмірі: {number}. Болу мерзімі: {valid_from} бастап {valid_until} дейін."),
                "Сілтеме шақыру нөмірі көрсетілген электрондық визаға өтінішті ашады. Паспорт деректерін онда басылғандай дәл енгізіңіз.".to_owned(),
            ],
            "Өтініш беру",
        ),
        _ => (
            format!("Your invitation for a Kazakhstan e-visa: {number}"),
            [
                "The migration service of the Republic of Kazakhstan has approved the invitation a Kazakh host requested for you.".to_owned(),
                format!("Invitation number: {number}. Stay: from {valid_from} to {valid_until}."),
                "The link opens the e-visa application with the invitation number filled in. Enter your passport details exactly as your passport prints them.".to_owned(),
            ],
            "Apply for the e-visa",
        ),
    };
    compose(lang, &subject, &paragraphs, Some((label, link)))
}

/// Tells the holder what an officer's change made of their visa, to the
/// confirmed address only. A message for a change that a later one has
/// superseded sends nothing: the later one's says what the visa is now.
async fn send_visa_changed(
    deps: &Deps,
    application_id: &str,
    revision: u32,
) -> Result<&'static str, String> {
    let (app, account) = match issue::recipient(deps, application_id).await? {
        Ok(found) => found,
        Err(nothing) => {
            tracing::info!(%application_id, ?nothing, "visa change not emailed");
            return Ok("not sent");
        }
    };
    let Some(visa) = app.visa.as_ref().filter(|v| v.revision == revision) else {
        return Ok("superseded by a later change");
    };
    let link = format!("{}/cabinet", deps.site_origin.trim_end_matches('/'));
    send(
        deps.notifier.as_ref(),
        account.email,
        visa_changed_message(&account.lang, visa, &link),
    )
    .await?;
    tracing::info!(%application_id, revision, "visa change emailed");
    Ok("sent")
}

/// What the holder is told of their visa after an officer changed it:
/// what it is now (cancelled, or standing with its dates), never the
/// officer's reason, in the account's language.
pub fn visa_changed_message(
    lang: &str,
    visa: &visa_core::application::Visa,
    link: &str,
) -> Composed {
    let day = |d: chrono::NaiveDate| d.format("%d.%m.%Y").to_string();
    let (from, until) = (day(visa.valid_from), day(visa.valid_until));
    let number = &visa.number;
    let printed = visa.shortened_from.map(day);
    let (subject, state, label) = match lang {
        "ru" => (
            "Ваша электронная виза в Казахстан изменена",
            match (visa.cancelled_at, &printed) {
                (Some(_), _) => format!(
                    "Миграционная служба аннулировала вашу электронную визу {number}. По ней больше нельзя въехать в Казахстан. Свяжитесь с пригласившей стороной."
                ),
                (None, Some(p)) => format!(
                    "Миграционная служба сократила срок действия вашей электронной визы {number}: теперь она действует с {from} по {until} (в напечатанной визе указано {p})."
                ),
                (None, None) => format!(
                    "Ваша электронная виза {number} снова действительна: с {from} по {until}."
                ),
            },
            "Открыть личный кабинет",
        ),
        "kk" => (
            "Қазақстанға электрондық визаңыз өзгертілді",
            match (visa.cancelled_at, &printed) {
                (Some(_), _) => format!(
                    "Көші-қон қызметі {number} электрондық визаңыздың күшін жойды. Енді ол бойынша Қазақстанға кіруге болмайды. Сізді шақырған тарапқа хабарласыңыз."
                ),
                (None, Some(p)) => format!(
                    "Көші-қон қызметі {number} электрондық визаңыздың мерзімін қысқартты: енді ол {from} бастап {until} дейін жарамды (басылған визада {p} көрсетілген)."
                ),
                (None, None) => format!(
                    "{number} электрондық визаңыз қайтадан жарамды: {from} бастап {until} дейін."
                ),
            },
            "Жеке кабинетті ашу",
        ),
        _ => (
            "Your Kazakhstan e-visa has changed",
            match (visa.cancelled_at, &printed) {
                (Some(_), _) => format!(
                    "The migration service has cancelled your e-visa {number}. It can no longer be used to enter Kazakhstan. Contact the party that invited you."
                ),
                (None, Some(p)) => format!(
                    "The migration service has shortened your e-visa {number}: it is now valid from {from} to {until} (the printed visa says {p})."
                ),
                (None, None) => {
                    format!("Your e-visa {number} is valid again: from {from} to {until}.")
                }
            },
            "Open your cabinet",
        ),
    };
    compose(lang, subject, &[state], Some((label, link)))
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

/// The email confirming an address, in the applicant's language; the
/// token rides in the link's fragment, never sent to a server.
pub fn verification_message(lang: &str, link: &str) -> Composed {
    let hours = account::VERIFICATION_HOURS;
    let (subject, paragraphs, label) = match lang {
        "ru" => (
            "Подтвердите адрес электронной почты для электронной визы в Казахстан",
            [
                "Вы создали учётную запись на портале электронных виз Республики Казахстан. Подтвердите, что это ваш адрес.".to_owned(),
                format!("Ссылка работает один раз, {hours} часов. Пока адрес не подтверждён, выданная виза не отправляется по почте, но её можно скачать в личном кабинете."),
                "Если вы не создавали учётную запись, ничего не делайте.".to_owned(),
            ],
            "Подтвердить адрес",
        ),
        "kk" => (
            "Қазақстанға электрондық виза үшін электрондық пошта мекенжайын растаңыз",
            [
                "Сіз Қазақстан Республикасының электрондық виза порталында тіркелгі жасадыңыз. Бұл сіздің мекенжайыңыз екенін растаңыз.".to_owned(),
                format!("Сілтеме бір рет, {hours} сағат жұмыс істейді. Мекенжай расталмайынша берілген виза поштамен жіберілмейді, бірақ оны жеке кабинеттен жүктеп алуға болады."),
                "Егер сіз тіркелгі жасамаған болсаңыз, ештеңе істемеңіз.".to_owned(),
            ],
            "Мекенжайды растау",
        ),
        _ => (
            "Confirm your email address for your Kazakhstan e-visa",
            [
                "You created an account on the e-visa portal of the Republic of Kazakhstan. Please confirm that this address is yours.".to_owned(),
                format!("The link works once, for {hours} hours. Until the address is confirmed, an issued visa is not emailed to it; you can still download it in your personal cabinet."),
                "If you did not create an account, do nothing.".to_owned(),
            ],
            "Confirm my address",
        ),
    };
    compose(lang, subject, &paragraphs, Some((label, link)))
}

/// What the visa email states about the visa.
pub struct IssuedVisa<'a> {
    pub number: &'a str,
    pub valid_from: &'a str,
    pub valid_until: &'a str,
    pub passport_number: &'a str,
    pub cabinet: &'a str,
}

/// The email carrying the issued visa, in the applicant's language.
pub fn visa_message(lang: &str, v: &IssuedVisa) -> Composed {
    let IssuedVisa {
        number,
        valid_from,
        valid_until,
        passport_number,
        cabinet,
    } = v;
    let (subject, paragraphs, label) = match lang {
        "ru" => (
            format!("Ваша электронная виза в Казахстан {number}"),
            [
                "Ваша электронная виза в Республику Казахстан выдана.".to_owned(),
                format!(
                    "Номер визы: {number}. Действует с {valid_from} по {valid_until}, однократный въезд через международный аэропорт Астаны или Алматы."
                ),
                format!(
                    "Распечатайте приложенную визу и возьмите её вместе с паспортом, на который она выдана ({passport_number})."
                ),
            ],
            "Личный кабинет",
        ),
        "kk" => (
            format!("Қазақстанға электрондық визаңыз {number}"),
            [
                "Қазақстан Республикасына электрондық визаңыз берілді.".to_owned(),
                format!(
                    "Виза нөмірі: {number}. {valid_from} бастап {valid_until} дейін жарамды, Астана немесе Алматы халықаралық әуежайы арқылы бір рет кіру."
                ),
                format!(
                    "Қоса берілген визаны басып шығарып, ол берілген төлқұжатпен ({passport_number}) бірге алып жүріңіз."
                ),
            ],
            "Жеке кабинет",
        ),
        _ => (
            format!("Your Kazakhstan e-visa {number}"),
            [
                "Your electronic visa to the Republic of Kazakhstan has been issued.".to_owned(),
                format!(
                    "Visa number: {number}. Valid from {valid_from} until {valid_until}, single entry, through Astana or Almaty international airport."
                ),
                format!(
                    "Print the attached e-visa and carry it with the passport it was issued for ({passport_number})."
                ),
            ],
            "Your personal cabinet",
        ),
    };
    compose(lang, &subject, &paragraphs, Some((label, cabinet)))
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
    let link = page_link(site_origin, "confirm-email", &token);
    send(notifier, found.email, verification_message(lang, &link)).await?;
    tracing::info!(account_id = %found.id, "email verification link sent");
    Ok(VerificationMail::Sent)
}

/// A site page's link carrying `token` in its fragment, which browsers
/// never send to a server (so it stays out of access logs).
fn page_link(site_origin: &str, page: &str, token: &str) -> String {
    format!("{}/{page}#{token}", site_origin.trim_end_matches('/'))
}

/// Sends a composed message without attachment.
pub(crate) async fn send(
    notifier: &dyn Notifier,
    to: String,
    message: Composed,
) -> Result<(), String> {
    notifier
        .send_text(&TextEmail {
            to,
            subject: message.subject,
            text: message.text,
            html: message.html,
        })
        .await
        .map_err(|e| e.to_string())
}

/// What a reset request came to.
#[derive(Debug, PartialEq, Eq)]
pub enum ResetMail {
    Sent,
    /// No account has the address: nothing is sent (the requester was
    /// answered the same either way).
    NoAccount,
}

/// A message's words in one language: the subject, paragraphs, and an
/// optional link the message is about (a button in HTML).
pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Builds the plain text and the HTML of one message from the same words,
/// so the two never say different things.
pub fn compose(
    lang: &str,
    subject: &str,
    paragraphs: &[String],
    action: Option<(&str, &str)>,
) -> Composed {
    let lang = if account::LANGUAGES.contains(&lang) {
        lang
    } else {
        "en"
    };
    let mut text = String::new();
    let mut body = String::new();
    for (i, p) in paragraphs.iter().enumerate() {
        text.push_str(p);
        text.push_str("\r\n\r\n");
        body.push_str(&format!("<p>{}</p>\n", escape_html(p)));
        if i == 0
            && let Some((label, link)) = action
        {
            text.push_str(&format!("{label}:\r\n{link}\r\n\r\n"));
            body.push_str(&format!(
                "<p><a href=\"{href}\" style=\"display:inline-block;padding:10px 18px;background:#00628b;color:#ffffff;text-decoration:none;border-radius:4px\">{label}</a></p>\n\
                 <p style=\"font-size:13px;color:#555555\">{link}</p>\n",
                href = escape_html(link),
                label = escape_html(label),
                link = escape_html(link),
            ));
        }
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:Arial,Helvetica,sans-serif;line-height:1.5;color:#1a1a1a;max-width:560px;margin:0 auto;padding:16px\">\n\
         <p style=\"font-weight:bold;color:#00628b\">{header}</p>\n{body}</body></html>\n",
        title = escape_html(subject),
        header = escape_html(portal_name(lang)),
    );
    Composed {
        subject: subject.to_owned(),
        text,
        html,
    }
}

/// The sender, as every message names it.
fn portal_name(lang: &str) -> &'static str {
    match lang {
        "ru" => "Визовый и миграционный портал Республики Казахстан",
        "kk" => "Қазақстан Республикасының визалық және көші-қон порталы",
        _ => "Visa and Migration Portal of the Republic of Kazakhstan",
    }
}

/// The reset email, in the applicant's language; the link carries the
/// token in its fragment, which browsers never send to a server (so it
/// stays out of access logs).
pub fn reset_message(lang: &str, link: &str) -> Composed {
    let minutes = account::RESET_MINUTES;
    let (subject, paragraphs, label) = match lang {
        "ru" => (
            "Сброс пароля: электронная виза в Казахстан",
            [
                "Кто-то (надеемся, вы) попросил сменить пароль учётной записи на портале электронных виз Республики Казахстан.".to_owned(),
                format!("Ссылка работает один раз, {minutes} минут. После смены пароля все открытые сеансы завершатся."),
                "Если вы не просили сброс, ничего не делайте: пароль останется прежним.".to_owned(),
            ],
            "Выбрать новый пароль",
        ),
        "kk" => (
            "Құпиясөзді қалпына келтіру: Қазақстанға электрондық виза",
            [
                "Біреу (сіз деп үміттенеміз) Қазақстан Республикасының электрондық виза порталындағы тіркелгінің құпиясөзін өзгертуді сұрады.".to_owned(),
                format!("Сілтеме бір рет, {minutes} минут жұмыс істейді. Құпиясөз өзгергеннен кейін барлық ашық сеанстар аяқталады."),
                "Егер сіз сұрамаған болсаңыз, ештеңе істемеңіз: құпиясөз өзгермейді.".to_owned(),
            ],
            "Жаңа құпиясөз таңдау",
        ),
        _ => (
            "Reset your password: Kazakhstan e-visa",
            [
                "Someone (we hope you) asked to change the password of your account on the e-visa portal of the Republic of Kazakhstan.".to_owned(),
                format!("The link works once, for {minutes} minutes. Changing the password signs out every open session."),
                "If you did not ask, do nothing: your password stays as it is.".to_owned(),
            ],
            "Choose a new password",
        ),
    };
    compose(lang, subject, &paragraphs, Some((label, link)))
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
    let link = page_link(site_origin, "reset-password", &token);
    send(notifier, found.email, reset_message(lang, &link)).await?;
    tracing::info!(account_id = %found.id, "password reset link emailed");
    Ok(ResetMail::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_language(make: impl Fn(&str) -> Composed, must: &[&str]) {
        let mut subjects = std::collections::BTreeSet::new();
        for lang in ["en", "ru", "kk", "de"] {
            let m = make(lang);
            assert!(!m.subject.is_empty());
            for needle in must {
                assert!(m.text.contains(needle), "{lang} text lacks {needle}");
                assert!(
                    m.html.contains(&escape_html(needle)),
                    "{lang} html lacks {needle}"
                );
            }
            let html_lang = if lang == "de" { "en" } else { lang };
            assert!(
                m.html.contains(&format!("<html lang=\"{html_lang}\">")),
                "{lang}"
            );
            subjects.insert(m.subject);
        }
        // en, ru and kk differ; an unknown language reads as English.
        assert_eq!(subjects.len(), 3);
    }

    #[test]
    fn a_visa_change_says_what_the_visa_now_is_in_every_language() {
        let link = "https://visa.example/cabinet";
        let stay = visa_core::application::Stay {
            valid_from: "2026-12-20".parse().unwrap(),
            valid_until: "2026-12-30".parse().unwrap(),
        };
        let at = "2026-12-10T08:00:00Z".parse().unwrap();
        let issued = visa_core::application::Visa::new(
            "K7Q4M2X9A".into(),
            visa_core::Category::Tourist,
            &stay,
            Vec::new(),
            at,
        );
        let cancelled = visa_core::application::Visa {
            cancelled_at: Some(at),
            ..issued.clone()
        };
        let shortened = visa_core::application::Visa {
            valid_until: "2026-12-24".parse().unwrap(),
            shortened_from: Some("2026-12-30".parse().unwrap()),
            ..issued.clone()
        };
        every_language(
            |l| visa_changed_message(l, &cancelled, link),
            &[link, "K7Q4M2X9A"],
        );
        every_language(
            |l| visa_changed_message(l, &shortened, link),
            &[link, "K7Q4M2X9A", "20.12.2026", "24.12.2026", "30.12.2026"],
        );
        every_language(
            |l| visa_changed_message(l, &issued, link),
            &[link, "20.12.2026", "30.12.2026"],
        );
        // Three different messages, none with a date once cancelled.
        for lang in ["en", "ru", "kk"] {
            let texts: std::collections::BTreeSet<String> = [&cancelled, &shortened, &issued]
                .iter()
                .map(|v| visa_changed_message(lang, v, link).text)
                .collect();
            assert_eq!(texts.len(), 3, "{lang}");
            assert!(
                !visa_changed_message(lang, &cancelled, link)
                    .text
                    .contains("2026")
            );
        }
    }

    #[test]
    fn resets_carry_the_link_and_its_lifetime_in_every_language() {
        let link = "https://visa.example/reset-password#tok";
        every_language(
            |l| reset_message(l, link),
            &[link, &account::RESET_MINUTES.to_string()],
        );
    }

    #[test]
    fn invitations_carry_the_number_the_stay_and_the_link_in_every_language() {
        let link = "https://visa.example/apply?invitation=250000000777";
        every_language(
            |l| {
                invitation_message(
                    l,
                    &InvitationNotice {
                        number: "250000000777",
                        valid_from: "15.12.2026",
                        valid_until: "25.12.2026",
                        link,
                    },
                )
            },
            &[link, "250000000777", "15.12.2026", "25.12.2026"],
        );
    }

    #[test]
    fn confirmations_carry_the_link_and_its_lifetime_in_every_language() {
        let link = "https://visa.example/confirm-email#tok";
        every_language(
            |l| verification_message(l, link),
            &[link, &account::VERIFICATION_HOURS.to_string()],
        );
    }

    #[test]
    fn visa_emails_state_the_visa_in_every_language() {
        let v = IssuedVisa {
            number: "K12345678",
            valid_from: "2026-12-15",
            valid_until: "2027-01-13",
            passport_number: "Z1234567",
            cabinet: "https://visa.example/cabinet",
        };
        every_language(
            |l| visa_message(l, &v),
            &[
                "K12345678",
                "2026-12-15",
                "2027-01-13",
                "Z1234567",
                "https://visa.example/cabinet",
            ],
        );
    }

    #[test]
    fn html_escapes_what_it_quotes() {
        let m = compose(
            "en",
            "a <b>",
            &["x < y & \"z\"".to_owned()],
            Some(("go", "https://e.x/?a=1&b=2")),
        );
        assert!(m.html.contains("<title>a &lt;b&gt;</title>"));
        assert!(m.html.contains("<p>x &lt; y &amp; &quot;z&quot;</p>"));
        assert!(m.html.contains("href=\"https://e.x/?a=1&amp;b=2\""));
        assert!(m.text.contains("https://e.x/?a=1&b=2"));
    }
}
