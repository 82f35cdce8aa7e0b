//! The body both decision routes take (an inviting party's, an invitation
//! request's): `{"decision": "approve"|"refuse", "reason"}`.

use visa_core::decision::DecisionError;
use visa_core::http::{Request, read_json};
use visa_core::problem::{FieldError, Problem};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    decision: Verdict,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(serde::Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Verdict {
    Approve,
    Refuse,
}

/// An officer's verdict: approve or not, and the reason given.
pub(crate) struct Verdicted {
    pub approve: bool,
    pub reason: Option<String>,
}

pub(crate) fn read(req: &Request) -> Result<Verdicted, Problem> {
    let body: Body = read_json(req.body())?;
    if let Some(reason) = &body.reason
        && (reason.chars().count() > 500 || reason.contains(['\n', '\r']))
    {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "reason",
            "one line of at most 500 characters",
        )]));
    }
    Ok(Verdicted {
        approve: body.decision == Verdict::Approve,
        reason: body.reason,
    })
}

/// A refused decision as a problem: `already` names the resource's
/// "decided already" problem.
pub(crate) fn problem(e: DecisionError, already: fn(String) -> Problem, what: &str) -> Problem {
    match e {
        DecisionError::AlreadyDecided(status) => already(format!("the {what} is {status}")),
        DecisionError::ReasonRequired => Problem::invalid_fields(vec![FieldError::new(
            "reason",
            "a refusal says why (1-500 characters)",
        )]),
    }
}
