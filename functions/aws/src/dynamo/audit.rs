//! The `AuditTrail` port on DynamoDB: one partition per UTC day
//! (`AUDIT#2026-12-05`), sorted by time then id; items only ever put new.
//! No role may update or delete them (infra/template.yaml denies it).

use super::*;

fn day_pk(day: chrono::NaiveDate) -> String {
    format!("AUDIT#{day}")
}

/// Milliseconds, zero-padded so text order is time order, then the id.
fn sort_key(at: DateTime<Utc>, id: &str) -> String {
    format!("{:015}#{id}", at.timestamp_millis())
}

/// The event as an item of its day's partition.
pub(super) fn item(event: &AuditEvent) -> Result<Item, StoreError> {
    record_item(
        day_pk(event.at.date_naive()),
        &sort_key(event.at, &event.id),
        event,
    )
}

#[async_trait]
impl AuditTrail for DynamoStore {
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        if self.put_new(item(event)?).await? {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "audit event {} exists",
                event.id
            )))
        }
    }

    async fn audit_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut events = Vec::new();
        if to <= from {
            return Ok(events);
        }
        // `~` sorts after every id character: the whole last millisecond.
        let (low, high) = (
            sort_key(from, ""),
            format!("{:015}#~", to.timestamp_millis() - 1),
        );
        let last = (to - chrono::Duration::milliseconds(1)).date_naive();
        let mut day = from.date_naive();
        while day <= last {
            let mut start: Option<Item> = None;
            loop {
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk AND sk BETWEEN :low AND :high")
                    .set_expression_attribute_names(names(&["#pk"]))
                    .expression_attribute_values(":pk", s(day_pk(day)))
                    .expression_attribute_values(":low", s(low.clone()))
                    .expression_attribute_values(":high", s(high.clone()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(unavailable)?;
                for item in out.items.unwrap_or_default() {
                    events.push(record(item)?);
                }
                start = out.last_evaluated_key.filter(|k| !k.is_empty());
                if start.is_none() {
                    break;
                }
            }
            day = day
                .succ_opt()
                .ok_or(StoreError::Corrupt("the end of time".into()))?;
        }
        Ok(events)
    }
}
