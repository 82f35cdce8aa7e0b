//! The `Sessions` port on DynamoDB.

use super::*;

#[async_trait]
impl Sessions for DynamoStore {
    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut item = record_item(session_pk(&session.token_hash), "SESSION", session)?;
        item.insert("ttl".into(), n(session.expires_at.timestamp()));
        item.insert("gsi1pk".into(), s(account_pk(&session.account_id)));
        item.insert(
            "gsi1sk".into(),
            s(format!("{SESSION_GSI1SK}{}", session.token_hash)),
        );
        self.put_fresh(item, "session").await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let Some(item) = self.get(key(session_pk(token_hash), "SESSION")).await? else {
            return Ok(None);
        };
        // TTL deletion runs up to days late: the expiry is ours to enforce.
        let expires = number(&item, "ttl")?;
        if expires <= now.timestamp() {
            return Ok(None);
        }
        Ok(Some(Session {
            token_hash: token_hash.to_owned(),
            account_id: text(&item, "account_id")?.to_owned(),
            expires_at: DateTime::from_timestamp(expires, 0)
                .ok_or_else(|| corrupt("ttl out of range"))?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(session_pk(token_hash), "SESSION")))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn end_sessions_of(&self, account_id: &str) -> Result<u32, StoreError> {
        let sessions = self.account_index(account_id, SESSION_GSI1SK, true).await?;
        for item in &sessions {
            // The table's keys are in every index's projection.
            let token_hash = text(item, "pk")?
                .strip_prefix("SESSION#")
                .ok_or_else(|| corrupt("a session's key"))?;
            self.delete_session(token_hash).await?;
        }
        Ok(u32::try_from(sessions.len()).unwrap_or(u32::MAX))
    }

    async fn failed_sign_ins(&self, email: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let since = (now - chrono::Duration::minutes(SIGN_IN_WINDOW_MINUTES)).timestamp();
        let Some(item) = self.get(key(throttle_pk(email), "THROTTLE")).await? else {
            return Ok(0);
        };
        if number(&item, "window_start")? > since {
            u32::try_from(number(&item, "failures")?).map_err(corrupt)
        } else {
            Ok(0)
        }
    }

    async fn record_failed_sign_in(
        &self,
        email: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        let since = (now - window).timestamp();
        // Two conditional writes, retried: count into the open window, or
        // start a new one unless a concurrent failure just did.
        for _ in 0..5 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(throttle_pk(email), "THROTTLE")))
                .update_expression("SET #failures = #failures + :one")
                .condition_expression("#window > :since")
                .set_expression_attribute_names(names(&["#failures", "#window"]))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":since", n(since))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match counted {
                Ok(out) => {
                    let failures = number(&out.attributes.unwrap_or_default(), "failures")?;
                    return u32::try_from(failures).map_err(corrupt);
                }
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
            let mut item = key(throttle_pk(email), "THROTTLE");
            item.insert("window_start".into(), n(now.timestamp()));
            item.insert("failures".into(), n(1));
            item.insert("ttl".into(), n((now + window).timestamp() + 3600));
            let started = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk) OR #window <= :since")
                .set_expression_attribute_names(names(&["#pk", "#window"]))
                .expression_attribute_values(":since", n(since))
                .send()
                .await;
            match started {
                Ok(_) => return Ok(1),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(StoreError::Unavailable(
            "sign-in throttle under contention".into(),
        ))
    }

    async fn forgive_failed_sign_in(&self, email: &str) -> Result<(), StoreError> {
        let forgiven = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(throttle_pk(email), "THROTTLE")))
            .update_expression("SET #failures = #failures - :one")
            .condition_expression("#failures > :zero")
            .set_expression_attribute_names(names(&["#failures"]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match forgiven {
            Ok(_) => Ok(()),
            // No counted failure (or no item): nothing to take back.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}
