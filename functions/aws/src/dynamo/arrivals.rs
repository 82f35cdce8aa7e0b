//! The `Arrivals` port on DynamoDB: one item per arrival
//! (`ARRIVAL#<request id>`), in its host's partition of GSI1
//! (`HOSTARR#<host>`, the latest entry first) and, until its notice is
//! filed, in the status index's `ARRIVALS#OPEN` partition ordered by due
//! day (a sparse entry the filing removes). The entry that opens it is one
//! transaction with the visa's change.

use super::*;
use chrono::NaiveDate;
use visa_core::arrival::Arrival;
use visa_core::search::SEARCH_LIMIT;
use visa_core::store::Arrivals;

const OPEN: &str = "ARRIVALS#OPEN";

fn arrival_pk(request_id: &str) -> String {
    format!("ARRIVAL#{request_id}")
}

fn due_key(due_on: NaiveDate, request_id: &str) -> String {
    format!("ARR#{}#{request_id}", due_on.format("%Y-%m-%d"))
}

impl DynamoStore {
    /// An update of the arrival conditional on `condition`; on a miss,
    /// `Ok(false)`, or `NotFound` if there is no such arrival.
    async fn update_arrival(
        &self,
        request_id: &str,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(arrival_pk(request_id), "ARRIVAL")))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(names(&[update, condition]));
        for (k, v) in values {
            call = call.expression_attribute_values(k, v);
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => match self.arrival(request_id).await? {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound),
            },
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl Arrivals for DynamoStore {
    async fn record_entry(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
        arrival: &Arrival,
    ) -> Result<(), StoreError> {
        let mut writes = self.change_writes(current, next, event)?;
        let mut item = record_item(arrival_pk(&arrival.request_id), "ARRIVAL", arrival)?;
        item.insert("ttl".into(), epoch(self.retention.arrival(arrival)));
        item.insert("gsi1pk".into(), s(format!("HOSTARR#{}", arrival.host_id)));
        item.insert(
            "gsi1sk".into(),
            s(format!(
                "ARR#{}#{}",
                arrival
                    .entered_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                arrival.request_id
            )),
        );
        item.insert("gsi5pk".into(), s(OPEN));
        item.insert(
            "gsi5sk".into(),
            s(due_key(arrival.due_on, &arrival.request_id)),
        );
        writes.push(self.put_new_write(item)?);
        match self.transact(writes).await? {
            None => Ok(()),
            // An arrival already there for this request: the entry was
            // recorded already.
            Some(codes) if failed(&codes, 2) => Err(StoreError::StatusConflict),
            Some(codes) => Err(self.after_refused_change(&next.id, &codes).await),
        }
    }

    async fn arrival(&self, request_id: &str) -> Result<Option<Arrival>, StoreError> {
        self.get_record(arrival_pk(request_id), "ARRIVAL").await
    }

    async fn arrivals_of_host(&self, host_id: &str) -> Result<Vec<Arrival>, StoreError> {
        self.index_page(IndexPage {
            index: GSI1,
            pk: "gsi1pk",
            sk: "gsi1sk",
            key: format!("HOSTARR#{host_id}"),
            kind: Some("ARR#"),
            newest_first: true,
            limit: SEARCH_LIMIT,
        })
        .await?
        .into_iter()
        .map(record)
        .collect()
    }

    async fn open_arrivals(
        &self,
        from: NaiveDate,
        until: NaiveDate,
        after: Option<&Arrival>,
    ) -> Result<Vec<Arrival>, StoreError> {
        // The previous page's last item, as the index keys it.
        let start = after.map(|a| {
            Item::from([
                ("pk".to_owned(), s(arrival_pk(&a.request_id))),
                ("sk".to_owned(), s("ARRIVAL")),
                ("gsi5pk".to_owned(), s(OPEN)),
                ("gsi5sk".to_owned(), s(due_key(a.due_on, &a.request_id))),
            ])
        });
        let from = format!("ARR#{}#", from.format("%Y-%m-%d"));
        // `~` sorts after every id character.
        let until = format!("ARR#{}#~", until.format("%Y-%m-%d"));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_STATUS)
            .key_condition_expression("gsi5pk = :k AND gsi5sk BETWEEN :from AND :until")
            .expression_attribute_values(":k", s(OPEN))
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":until", s(until))
            .limit(SEARCH_LIMIT as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(record)
            .collect()
    }

    async fn file_notice(&self, arrival: &Arrival) -> Result<(), StoreError> {
        let filed = self
            .update_arrival(
                &arrival.request_id,
                "SET #notice = :notice REMOVE gsi5pk, gsi5sk",
                "attribute_exists(#pk) AND attribute_not_exists(#notice)",
                vec![(":notice", attribute(&arrival.notice)?)],
            )
            .await?;
        if filed {
            Ok(())
        } else {
            Err(StoreError::StatusConflict)
        }
    }

    async fn mark_reminded(&self, request_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.update_arrival(
            request_id,
            "SET #reminded = :at",
            "attribute_exists(#pk) AND attribute_not_exists(#notice) AND attribute_not_exists(#reminded)",
            vec![(":at", attribute(&at)?)],
        )
        .await
    }
}
