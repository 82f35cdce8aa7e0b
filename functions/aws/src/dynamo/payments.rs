//! The `Payments` port on DynamoDB.

use super::*;

#[async_trait]
impl Payments for DynamoStore {
    async fn record_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        // A replacement session opened between the read and the write moves
        // the current session: read and decide again (a few times at most).
        for _ in 0..3 {
            let app = self
                .load_application(&event.application_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let paid = matches!(app.status, Status::Paid | Status::Issued);
            if let Some(answer) = self
                .paying_nothing(app.payment.as_ref(), paid, event, at)
                .await?
            {
                return Ok(answer);
            }
            let Some(current) = app.payment.as_ref().map(|p| p.checkout_session_id.clone()) else {
                return Err(StoreError::StatusConflict);
            };
            let paid =
                app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            let mut writes = vec![
                self.put_new_write(self.event_item(
                    &event.event_id,
                    &event.application_id,
                    &event.event_type,
                    at,
                )?)?,
                self.update_write(
                    key(app_pk(&paid.id), "APP"),
                    // Kept until issued: no expiry while paid.
                    "SET #status = :paid, gsi5pk = :status_key, #payment = :payment, #updated = :at REMOVE #ttl",
                    "#status = :awaiting AND #payment.checkout_session_id = :session",
                    vec![
                        (":paid", s(Status::Paid.as_str())),
                        (":status_key", s(status_key(Status::Paid))),
                        (":awaiting", s(Status::AwaitingPayment.as_str())),
                        (":session", s(&current)),
                        (":payment", attribute(&paid.payment)?),
                        (":at", attribute(&at)?),
                    ],
                )?,
            ];
            // The way back from a dispute, which names only the provider's payment.
            if let Some(pi) = &event.payment_intent {
                let mut item = key(payment_intent_pk(pi), "PI");
                item.insert("application_id".into(), s(&paid.id));
                item.insert(
                    "ttl".into(),
                    epoch(at + chrono::Duration::days(PAYMENT_INTENT_DAYS)),
                );
                writes.push(self.put_new_write(item)?);
            }
            match self.transact(writes).await? {
                // The read above is what the condition held: the result is
                // exact without reading again.
                None => return Ok(PaymentRecorded::Paid(Box::new(paid))),
                Some(codes) if failed(&codes, 0) => return Ok(PaymentRecorded::DuplicateEvent),
                // The application moved since the read (another event paid
                // it, or a new session replaced the current one): decide
                // again on what is stored now.
                Some(_) => continue,
            }
        }
        Err(StoreError::StatusConflict)
    }

    async fn record_group_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        self.group_payment(event, at).await
    }

    async fn record_event(
        &self,
        event_id: &str,
        application_id: &str,
        kind: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.put_new(self.event_item(event_id, application_id, kind, at)?)
            .await
    }

    async fn application_paid_by(
        &self,
        payment_intent: &str,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self
            .get(key(payment_intent_pk(payment_intent), "PI"))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(text(&item, "application_id")?.to_owned()))
    }

    async fn flag_for_review(
        &self,
        event_id: &str,
        application_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let writes = vec![
            self.put_new_write(self.event_item(event_id, application_id, "dispute", at)?)?,
            self.update_write(
                key(app_pk(application_id), "APP"),
                // Kept while officers review it.
                "SET #review = :yes, #updated = :at, gsi4pk = :queue, gsi4sk = :since, #history = list_append(if_not_exists(#history, :none), :disputed) REMOVE #ttl",
                "attribute_exists(#pk)",
                vec![
                    (":yes", AttributeValue::Bool(true)),
                    (":at", attribute(&at)?),
                    (":queue", s(REVIEW_QUEUE)),
                    (":none", AttributeValue::L(Vec::new())),
                    (
                        ":disputed",
                        AttributeValue::L(vec![attribute(&visa_core::application::VisaEvent {
                            at,
                            event: visa_core::application::VisaEventKind::Disputed,
                            checkpoint: None,
                        })?]),
                    ),
                    (
                        ":since",
                        s(format!(
                            "{}#{application_id}",
                            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                        )),
                    ),
                ],
            )?,
        ];
        match self.transact(writes).await? {
            None => Ok(true),
            Some(codes) if failed(&codes, 1) => Err(StoreError::NotFound),
            Some(_) => Ok(false),
        }
    }
}
