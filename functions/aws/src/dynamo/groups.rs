//! The `Groups` port on DynamoDB, and a group's payment: the group item
//! (`GROUP#<id>`) and every member written in one transaction.

use super::*;
use visa_core::group::{Group, GroupStatus};
use visa_core::store::Groups;

impl DynamoStore {
    fn group_item(&self, group: &Group) -> Result<Item, StoreError> {
        let mut item = record_item(group_pk(&group.id), "GROUP", group)?;
        item.insert("ttl".into(), epoch(self.retention.group(group)));
        Ok(item)
    }

    /// `next` over the group as `current` was.
    fn group_write(&self, current: &Group, next: &Group) -> Result<Write, StoreError> {
        self.put_write(
            self.group_item(next)?,
            "#updated = :was",
            vec![(":was", attribute(&current.updated_at)?)],
        )
    }

    async fn load_group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        self.get_record(group_pk(id), "GROUP").await
    }

    /// `Payments::record_group_payment`.
    pub(super) async fn group_payment(
        &self,
        event: &PaymentEvent,
        at: DateTime<Utc>,
    ) -> Result<PaymentRecorded, StoreError> {
        // As `record_payment`: decide on what is read, write on condition
        // that it is still so, read again if it moved.
        for _ in 0..3 {
            let group = self
                .load_group(&event.application_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            let paid = group.status == GroupStatus::Paid;
            if let Some(answer) = self
                .paying_nothing(group.payment.as_ref(), paid, event, at)
                .await?
            {
                return Ok(answer);
            }
            let Some(current) = group
                .payment
                .as_ref()
                .map(|p| p.checkout_session_id.clone())
            else {
                return Err(StoreError::StatusConflict);
            };
            let paid_group =
                group.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())?;
            let mut members = Vec::with_capacity(group.members.len());
            for id in &group.members {
                let app = self
                    .load_application(id)
                    .await?
                    .ok_or(StoreError::StatusConflict)?;
                // A member read after another event paid the group: decide
                // again on the group as it is now.
                if let Ok(paid) =
                    app.mark_paid(&event.checkout_session_id, at, event.payment_intent.clone())
                {
                    members.push(paid);
                }
            }
            if members.len() != group.members.len() {
                continue;
            }
            let mut writes = vec![
                self.put_new_write(self.event_item(
                    &event.event_id,
                    &event.application_id,
                    &event.event_type,
                    at,
                )?)?,
                self.group_write(&group, &paid_group)?,
            ];
            for paid in &members {
                writes.push(self.update_write(
                    key(app_pk(&paid.id), "APP"),
                    "SET #status = :paid, gsi5pk = :status_key, #payment = :payment, #updated = :at REMOVE #ttl",
                    "#status = :awaiting AND #payment.checkout_session_id = :session AND #group = :g",
                    vec![
                        (":paid", s(Status::Paid.as_str())),
                        (":status_key", s(status_key(Status::Paid))),
                        (":awaiting", s(Status::AwaitingPayment.as_str())),
                        (":session", s(&current)),
                        (":g", s(&group.id)),
                        (":payment", attribute(&paid.payment)?),
                        (":at", attribute(&at)?),
                    ],
                )?);
            }
            if let Some(pi) = &event.payment_intent {
                let mut item = key(payment_intent_pk(pi), "PI");
                item.insert("application_id".into(), s(&group.id));
                item.insert(
                    "ttl".into(),
                    epoch(at + chrono::Duration::days(PAYMENT_INTENT_DAYS)),
                );
                writes.push(self.put_new_write(item)?);
            }
            match self.transact(writes).await? {
                None => return Ok(PaymentRecorded::GroupPaid(members)),
                Some(codes) if failed(&codes, 0) => return Ok(PaymentRecorded::DuplicateEvent),
                Some(_) => continue,
            }
        }
        Err(StoreError::StatusConflict)
    }
}

#[async_trait]
impl Groups for DynamoStore {
    async fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        let mut writes = vec![self.put_new_write(self.group_item(group)?)?];
        for id in &group.members {
            writes.push(self.update_write(
                key(app_pk(id), "APP"),
                "SET #group = :g, #updated = :at",
                "#status = :confirmed AND account_id = :account AND attribute_not_exists(#group) AND attribute_not_exists(#revoked)",
                vec![
                    (":g", s(&group.id)),
                    (":at", attribute(&group.created_at)?),
                    (":confirmed", s(Status::InvitationConfirmed.as_str())),
                    (":account", s(&group.account_id)),
                ],
            )?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(codes) if failed(&codes, 0) => Err(StoreError::Unavailable(format!(
                "group {} exists",
                group.id
            ))),
            Some(_) => Err(StoreError::StatusConflict),
        }
    }

    async fn group(&self, id: &str) -> Result<Option<Group>, StoreError> {
        self.load_group(id).await
    }

    async fn release_members(
        &self,
        current: &Group,
        next: &Group,
        leaving: &[String],
    ) -> Result<(), StoreError> {
        let mut writes = vec![self.group_write(current, next)?];
        for id in leaving {
            writes.push(self.update_write(
                key(app_pk(id), "APP"),
                "REMOVE #group SET #updated = :at",
                "#group = :g AND #status = :confirmed",
                vec![
                    (":g", s(&current.id)),
                    (":at", attribute(&next.updated_at)?),
                    (":confirmed", s(Status::InvitationConfirmed.as_str())),
                ],
            )?);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => match self.load_group(&current.id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
        }
    }

    async fn open_group_checkout(
        &self,
        current: &Group,
        next: &Group,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let payment = next.payment.as_ref().ok_or(StoreError::StatusConflict)?;
        let ttl = epoch(self.retention.unpaid_until(at, payment.expires_at));
        let mut writes = vec![self.group_write(current, next)?];
        for id in &next.members {
            let write = match (current.status, current.payment.as_ref()) {
                (GroupStatus::Open, _) => self.update_write(
                    key(app_pk(id), "APP"),
                    "SET #status = :to, gsi5pk = :status_key, #confirmed = :at, #payment = :payment, #updated = :at, #ttl = :ttl",
                    "#status = :from AND #group = :g AND attribute_not_exists(#revoked)",
                    vec![
                        (":to", s(Status::AwaitingPayment.as_str())),
                        (":status_key", s(status_key(Status::AwaitingPayment))),
                        (":from", s(Status::InvitationConfirmed.as_str())),
                        (":g", s(&current.id)),
                        (":at", attribute(&at)?),
                        (":payment", attribute(payment)?),
                        (":ttl", ttl.clone()),
                    ],
                )?,
                (GroupStatus::AwaitingPayment, Some(old)) => self.update_write(
                    key(app_pk(id), "APP"),
                    "SET #payment = :payment, #updated = :at, #ttl = :ttl",
                    "#status = :awaiting AND #payment.checkout_session_id = :old AND #group = :g",
                    vec![
                        (":awaiting", s(Status::AwaitingPayment.as_str())),
                        (":old", s(&old.checkout_session_id)),
                        (":g", s(&current.id)),
                        (":at", attribute(&at)?),
                        (":payment", attribute(payment)?),
                        (":ttl", ttl.clone()),
                    ],
                )?,
                _ => return Err(StoreError::StatusConflict),
            };
            writes.push(write);
        }
        match self.transact(writes).await? {
            None => Ok(()),
            Some(_) => match self.load_group(&current.id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::StatusConflict),
            },
        }
    }
}
