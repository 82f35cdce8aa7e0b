//! An officer's decision on what waits for one (an inviting party, an
//! invitation request): approved or refused, once; a refusal says why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub by: String,
    pub at: DateTime<Utc>,
    /// Why, in the officer's words: required for a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("decided already ({0})")]
    AlreadyDecided(&'static str),
    #[error("a refusal needs its reason")]
    ReasonRequired,
}

impl Decision {
    /// The decision by `by` at `at`; a blank reason counts as none, which
    /// a refusal may not give.
    pub fn new(
        approve: bool,
        by: &str,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Decision, DecisionError> {
        let reason = reason
            .map(|r| crate::names::collapse(&r))
            .filter(|r| !r.is_empty());
        if !approve && reason.is_none() {
            return Err(DecisionError::ReasonRequired);
        }
        Ok(Decision {
            by: by.to_owned(),
            at,
            reason,
        })
    }
}
