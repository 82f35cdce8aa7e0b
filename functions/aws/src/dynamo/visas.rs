//! The `Visas` port on DynamoDB.

use super::*;

impl DynamoStore {
    /// `Visas::change_visa`'s writes: the application over the visa as
    /// `current` read it (first), and the audit event.
    pub(super) fn change_writes(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
    ) -> Result<Vec<Write>, StoreError> {
        let (Some(was), Some(visa)) = (current.visa.as_ref(), next.visa.as_ref()) else {
            return Err(StoreError::StatusConflict);
        };
        // Items written before officers could change visas have no revision.
        let mut condition = if was.revision == 0 {
            "#status = :issued AND (attribute_not_exists(#visa.#revision) OR #visa.#revision = :revision)"
        } else {
            "#status = :issued AND #visa.#revision = :revision"
        }
        .to_owned();
        // The review flag as read: a dispute that came meanwhile wins.
        condition.push_str(if current.under_review {
            " AND #review = :true"
        } else {
            " AND (attribute_not_exists(#review) OR #review = :false)"
        });
        let mut values = vec![
            (":issued", s(Status::Issued.as_str())),
            (":revision", n(i64::from(was.revision))),
            (":visa", attribute(visa)?),
            (":at", attribute(&next.updated_at)?),
            (":review", AttributeValue::Bool(next.under_review)),
            (":history", attribute(&next.history)?),
            (":true", AttributeValue::Bool(true)),
            (":false", AttributeValue::Bool(false)),
        ];
        let mut expression =
            "SET #visa = :visa, #updated = :at, #review = :review, #history = :history".to_owned();
        // Retention counts from the visa's last day, which a shortening
        // moves; a visa held for review is kept.
        if !next.under_review {
            values.push((":ttl", epoch(self.retention.issued_until(visa.valid_until))));
            expression.push_str(", #ttl = :ttl");
        }
        // A decided review leaves the queue.
        if current.under_review && !next.under_review {
            expression.push_str(" REMOVE gsi4pk, gsi4sk");
        }
        Ok(vec![
            self.update_write(
                key(app_pk(&next.id), "APP"),
                &expression,
                &condition,
                values,
            )?,
            self.put_new_write(audit::item(event)?)?,
        ])
    }

    /// What a refused change's transaction means: the application changed
    /// meanwhile (its write, the first, failed) or is gone.
    pub(super) async fn after_refused_change(&self, id: &str, codes: &[String]) -> StoreError {
        if !failed(codes, 0) {
            return StoreError::Unavailable("an audit event with this id exists".into());
        }
        match self.load_application(id).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(_)) => StoreError::StatusConflict,
            Err(e) => e,
        }
    }
}

#[async_trait]
impl Visas for DynamoStore {
    async fn issue_visa(
        &self,
        application_id: &str,
        visa: &Visa,
        at: DateTime<Utc>,
    ) -> Result<Application, StoreError> {
        let app = self
            .load_application(application_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let issued = app.issue(visa.clone(), at)?;
        // The visa record, the application and (through the stream) the
        // PDF go together; one under review stays until officers decide.
        let until =
            (!app.under_review).then(|| epoch(self.retention.issued_until(visa.valid_until)));
        let mut visa_item = record_item(visa_pk(&visa.number), "VISA", visa)?;
        visa_item.insert("application_id".into(), s(application_id));
        if let Some(until) = &until {
            visa_item.insert("ttl".into(), until.clone());
        }
        let (expression, mut values) = match until {
            Some(until) => (
                "SET #status = :issued, gsi5pk = :status_key, #visa = :visa, #updated = :at, #ttl = :ttl",
                vec![(":ttl", until)],
            ),
            None => (
                "SET #status = :issued, gsi5pk = :status_key, #visa = :visa, #updated = :at",
                vec![],
            ),
        };
        values.extend([
            (":issued", s(Status::Issued.as_str())),
            (":status_key", s(status_key(Status::Issued))),
            (":paid", s(Status::Paid.as_str())),
            (":visa", attribute(visa)?),
            (":at", attribute(&at)?),
        ]);
        let writes = vec![
            self.put_new_write(visa_item)?,
            self.update_write(
                key(app_pk(application_id), "APP"),
                expression,
                "#status = :paid",
                values,
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(issued),
            // As in the embedded store, the status is checked before the number.
            Some(codes) if failed(&codes, 1) => Err(StoreError::StatusConflict),
            Some(_) => Err(StoreError::VisaNumberTaken),
        }
    }

    async fn change_visa(
        &self,
        current: &Application,
        next: &Application,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let writes = self.change_writes(current, next, event)?;
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) => Err(self.after_refused_change(&next.id, &codes).await),
        }
    }

    async fn mark_emailed(
        &self,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let marked = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(app_pk(application_id), "APP")))
            .update_expression("SET #emailed = :at")
            .condition_expression("#status = :issued AND attribute_not_exists(#emailed)")
            .set_expression_attribute_names(names(&["#emailed", "#status"]))
            .expression_attribute_values(":at", attribute(&at)?)
            .expression_attribute_values(":issued", s(Status::Issued.as_str()))
            .send()
            .await;
        match marked {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => {
                // Re-read: already emailed, or not issued at all.
                let app = self
                    .load_application(application_id)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                match (app.status, app.emailed_at) {
                    (Status::Issued, Some(_)) => Ok(false),
                    _ => Err(StoreError::StatusConflict),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn visa(&self, number: &str) -> Result<Option<VisaRecord>, StoreError> {
        let Some(item) = self.get(key(visa_pk(number), "VISA")).await? else {
            return Ok(None);
        };
        let application_id = text(&item, "application_id")?.to_owned();
        Ok(Some(VisaRecord {
            visa: record(item)?,
            application_id,
        }))
    }
}
