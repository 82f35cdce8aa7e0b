//! The `Arrivals` port on the embedded SQLite store.

use super::*;
use chrono::NaiveDate;
use visa_core::arrival::Arrival;
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::Arrivals;

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn load(c: &Connection, request_id: &str) -> Result<Option<Arrival>, StoreError> {
    records(
        c,
        "SELECT doc FROM arrivals WHERE request_id = ?1",
        params![request_id],
    )
    .map(|mut v: Vec<Arrival>| v.pop())
}

#[async_trait]
impl Arrivals for SqliteStore {
    async fn record_entry(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
        arrival: &Arrival,
    ) -> Result<(), StoreError> {
        let (current, next, event, arrival) = (
            current.clone(),
            next.clone(),
            event.clone(),
            arrival.clone(),
        );
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            super::visas::change(&tx, &current, &next, &event)?;
            let n = tx
                .execute(
                    "INSERT INTO arrivals (request_id, host_id, entered_at, open_due, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    params![
                        arrival.request_id,
                        arrival.host_id,
                        arrival
                            .entered_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        day(arrival.due_on),
                        to_doc(&arrival)
                    ],
                )
                .map_err(unavailable)?;
            if n != 1 {
                return Err(StoreError::StatusConflict);
            }
            tx.commit().map_err(unavailable)
        })
        .await
    }

    async fn arrival(&self, request_id: &str) -> Result<Option<Arrival>, StoreError> {
        let request_id = request_id.to_owned();
        self.with(move |c| load(c, &request_id)).await
    }

    async fn arrivals_of_host(&self, host_id: &str) -> Result<Vec<Arrival>, StoreError> {
        let host_id = host_id.to_owned();
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM arrivals WHERE host_id = ?1
                 ORDER BY entered_at DESC, request_id DESC LIMIT ?2",
                params![host_id, SEARCH_LIMIT as i64],
            )
        })
        .await
    }

    async fn open_arrivals(
        &self,
        from: NaiveDate,
        until: NaiveDate,
        after: Option<&Arrival>,
    ) -> Result<Vec<Arrival>, StoreError> {
        // The first page starts before every (due day, id) of `from`.
        let (after_due, after_id) = match after {
            Some(a) => (day(a.due_on), a.request_id.clone()),
            None => (day(from), String::new()),
        };
        self.with(move |c| {
            records(
                c,
                "SELECT doc FROM arrivals WHERE open_due BETWEEN ?1 AND ?2
                 AND (open_due, request_id) > (?3, ?4)
                 ORDER BY open_due, request_id LIMIT ?5",
                params![
                    day(from),
                    day(until),
                    after_due,
                    after_id,
                    SEARCH_LIMIT as i64
                ],
            )
        })
        .await
    }

    async fn file_notice(&self, arrival: &Arrival) -> Result<(), StoreError> {
        let arrival = arrival.clone();
        self.with(move |c| {
            let n = c
                .execute(
                    "UPDATE arrivals SET open_due = NULL, doc = ?2
                     WHERE request_id = ?1 AND open_due IS NOT NULL",
                    params![arrival.request_id, to_doc(&arrival)],
                )
                .map_err(unavailable)?;
            if n == 1 {
                return Ok(());
            }
            match load(c, &arrival.request_id)? {
                Some(_) => Err(StoreError::StatusConflict),
                None => Err(StoreError::NotFound),
            }
        })
        .await
    }

    async fn mark_reminded(&self, request_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let request_id = request_id.to_owned();
        self.with(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let Some(mut arrival) = load(&tx, &request_id)? else {
                return Err(StoreError::NotFound);
            };
            if arrival.notice.is_some() || arrival.reminded_at.is_some() {
                return Ok(false);
            }
            arrival.reminded_at = Some(at);
            tx.execute(
                "UPDATE arrivals SET doc = ?2 WHERE request_id = ?1",
                params![request_id, to_doc(&arrival)],
            )
            .map_err(unavailable)?;
            tx.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}
