//! The day's arrival reminders (`EmailRequest::ArrivalReminders`, queued
//! by EventBridge's schedule in the cloud and by the local gateway's
//! sweep): each host whose arrival notice reaches its reminder day (the
//! second working day after the entry) unfiled is emailed, once.

use crate::Deps;
use crate::mail::{Composed, compose, host_and_account, host_page, send};
use chrono::Duration;
use visa_core::arrival::Arrival;

/// Arrivals whose reminder day passed while no sweep ran (an outage) are
/// still reminded this many days after their due day.
const LATE_REMINDER_DAYS: i64 = 7;
/// Beyond any due day a reminder can precede (its next working day, after
/// the longest run of holidays).
const AHEAD_DAYS: i64 = 31;

/// Sends the reminders due today; an error (after trying every one)
/// means "run again": those sent are marked and not sent twice.
pub async fn remind_hosts(deps: &Deps) -> Result<usize, String> {
    let today = deps.clock.today();
    let (from, until) = (
        today - Duration::days(LATE_REMINDER_DAYS),
        today + Duration::days(AHEAD_DAYS),
    );
    let (mut sent, mut failed) = (0, Vec::new());
    let mut after: Option<Arrival> = None;
    loop {
        let page = deps
            .arrivals
            .open_arrivals(from, until, after.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        for arrival in page.iter().filter(|a| a.needs_reminder(today)) {
            match remind(deps, arrival).await {
                Ok(true) => sent += 1,
                Ok(false) => {}
                Err(e) => failed.push(format!("{}: {e}", arrival.request_id)),
            }
        }
        match page.last() {
            Some(last) if page.len() == visa_core::search::SEARCH_LIMIT => {
                after = Some(last.clone())
            }
            _ => break,
        }
    }
    if failed.is_empty() {
        Ok(sent)
    } else {
        Err(format!(
            "{sent} reminded, {} failed: {}",
            failed.len(),
            failed.join("; ")
        ))
    }
}

/// Emails one host, then records it: a crash between the two sends it
/// again at the next sweep, never not at all.
async fn remind(deps: &Deps, arrival: &Arrival) -> Result<bool, String> {
    let Some((host, account)) = host_and_account(deps, &arrival.host_id).await? else {
        return Ok(false);
    };
    let link = host_page(deps);
    send(
        deps.notifier.as_ref(),
        account.email,
        reminder_message(&account.lang, arrival, &link),
    )
    .await?;
    let marked = deps
        .arrivals
        .mark_reminded(&arrival.request_id, deps.clock.now())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(request_id = %arrival.request_id, host_id = %host.id, "arrival notice reminded");
    Ok(marked)
}

/// The reminder, in the language the host's account registered in.
pub fn reminder_message(lang: &str, a: &Arrival, link: &str) -> Composed {
    let name = format!("{} {}", a.invitee.surname, a.invitee.given_names);
    let name = name.trim();
    let entered = a.entered_on.format("%d.%m.%Y");
    let due = a.due_on.format("%d.%m.%Y");
    let number = &a.invitation_number;
    let (subject, paragraphs, label) = match lang {
        "ru" => (
            format!("Уведомление о прибытии {name}: срок {due}"),
            [
                format!(
                    "{name} (приглашение {number}) въехал(а) в Казахстан {entered} через {}.",
                    a.checkpoint
                ),
                format!(
                    "Приглашающая сторона уведомляет миграционную службу о прибытии в течение трёх рабочих дней: подайте уведомление с адресом пребывания не позднее {due}. Поданное позже будет отмечено как поданное с опозданием."
                ),
            ],
            "Подать уведомление",
        ),
        "kk" => (
            format!("{name} келгені туралы хабарлама: мерзімі {due}"),
            [
                format!(
                    "{name} ({number} шақыруы) Қазақстанға {entered} күні {} арқылы кірді.",
                    a.checkpoint
                ),
                format!(
                    "Шақырушы тарап көші-қон қызметіне келу туралы үш жұмыс күні ішінде хабарлайды: болу мекенжайы көрсетілген хабарламаны {due} кешіктірмей беріңіз. Кейін берілгені кешіктіріліп берілген деп белгіленеді."
                ),
            ],
            "Хабарлама беру",
        ),
        _ => (
            format!("Arrival notice for {name}: due {due}"),
            [
                format!(
                    "{name} (invitation {number}) entered Kazakhstan on {entered} at {}.",
                    a.checkpoint
                ),
                format!(
                    "The inviting party tells the migration service of the arrival within three working days: file the notice with the address of stay by {due}. A notice filed later is marked late."
                ),
            ],
            "File the arrival notice",
        ),
    };
    compose(lang, &subject, &paragraphs, Some((label, link)))
}
