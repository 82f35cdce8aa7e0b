//! The migration service's staff: who a signed-in officer or auditor is,
//! read from the claims of the token the gateway verified, and the port
//! they sign in through (password, then an RFC 6238 authenticator code).
//!
//! In the cloud the staff are an Amazon Cognito user pool's users, its
//! groups their roles, and API Gateway's JWT authorizer checks the token;
//! on a laptop `visa-local` keeps them and checks the token the same way.
//! Either way the function reads the claims from the request context and
//! decides itself (docs/DESIGN.md, "Officers").

use async_trait::async_trait;
use serde::Serialize;
use std::collections::BTreeMap;

/// A staff role: a Cognito group in the cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffGroup {
    /// Creates and revokes invitations, cancels, restores and shortens
    /// visas, decides disputes; reads everything officers read.
    Officer,
    /// Reads applications and the audit trail; changes nothing.
    Auditor,
    /// Border control at NQZ and ALA: records entries and exits.
    Border,
}

impl StaffGroup {
    pub const ALL: [StaffGroup; 3] = [StaffGroup::Officer, StaffGroup::Auditor, StaffGroup::Border];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffGroup::Officer => "officer",
            StaffGroup::Auditor => "auditor",
            StaffGroup::Border => "border",
        }
    }

    pub fn parse(s: &str) -> Option<StaffGroup> {
        StaffGroup::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The claim that carries the groups (Cognito's name for it).
pub const GROUPS_CLAIM: &str = "cognito:groups";

/// A signed-in member of staff, as their token's claims say.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    /// The identity provider's stable id for the person (`sub`).
    #[serde(skip)]
    pub subject: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<StaffGroup>,
}

impl StaffMember {
    /// The member the claims name, as API Gateway's JWT authorizer passes
    /// them (`requestContext.authorizer.jwt.claims`: every value a string,
    /// an array written `[a b]`). `None` without a subject, an email or a
    /// known group: such a token is nobody's.
    pub fn from_claims(claims: &BTreeMap<String, String>) -> Option<StaffMember> {
        let subject = claims.get("sub").filter(|s| !s.is_empty())?.clone();
        let email = claims.get("email").filter(|s| s.contains('@'))?.clone();
        let name = claims
            .get("name")
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&email)
            .clone();
        let mut groups: Vec<StaffGroup> = claims
            .get(GROUPS_CLAIM)
            .map(|raw| split_claim_array(raw))
            .unwrap_or_default()
            .into_iter()
            .filter_map(StaffGroup::parse)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() {
            return None;
        }
        Some(StaffMember {
            subject,
            email,
            name,
            groups,
        })
    }

    pub fn is(&self, group: StaffGroup) -> bool {
        self.groups.contains(&group)
    }

    /// The role a member reads in: the most capable group they have.
    pub fn reading_as(&self) -> StaffGroup {
        [StaffGroup::Officer, StaffGroup::Border, StaffGroup::Auditor]
            .into_iter()
            .find(|g| self.is(*g))
            .unwrap_or(StaffGroup::Auditor)
    }

    /// How the audit trail names this person: one named person, with the
    /// role they acted in.
    pub fn actor(&self, acting_as: StaffGroup) -> String {
        if self.name == self.email {
            return format!("<{}> ({})", self.email, acting_as.as_str());
        }
        format!("{} <{}> ({})", self.name, self.email, acting_as.as_str())
    }
}

/// An array claim as API Gateway renders it (`[officer auditor]`), or a
/// JSON array (`["officer"]`), or one bare value.
fn split_claim_array(raw: &str) -> Vec<&str> {
    let inner = raw.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split([' ', ','])
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty())
        .collect()
}

/// How API Gateway renders an array claim: the form `from_claims` reads.
pub fn render_claim_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(" "))
}

/// The first step of a sign-in passed: the password was right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInChallenge {
    /// Opaque: names this sign-in for the code that completes it.
    pub session: String,
}

/// A completed sign-in: the bearer token for `/api/officer/*`.
#[derive(Clone, Debug)]
pub struct StaffToken {
    /// A JWT the gateway verifies (Cognito's ID token in the cloud).
    pub token: String,
    pub expires_in_seconds: u32,
    pub member: StaffMember,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffSignInError {
    /// Unknown email, wrong password, or a disabled member: not told apart.
    #[error("email or password is wrong")]
    Refused,
    /// The authenticator code is wrong, or was already used.
    #[error("the authenticator code is wrong")]
    WrongCode,
    /// The sign-in's session is unknown, used or too old.
    #[error("the sign-in expired")]
    Expired,
    /// Too many wrong passwords for this address lately.
    #[error("too many failed sign-ins")]
    TooManyAttempts,
    /// Signed in, but the member is in no staff group.
    #[error("not a member of staff")]
    NoRole,
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
}

/// Where staff sign in: Cognito's user pool in the cloud, visa-local's
/// own directory on a laptop.
#[async_trait]
pub trait StaffDirectory: Send + Sync {
    /// The password step; an authenticator code is always asked next.
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Result<SignInChallenge, StaffSignInError>;
    /// The authenticator step, for the challenge's session.
    async fn answer_code(
        &self,
        email: &str,
        session: &str,
        code: &str,
    ) -> Result<StaffToken, StaffSignInError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn groups_as_api_gateway_renders_them_and_as_json() {
        for raw in [
            "[officer auditor]",
            "[\"officer\",\"auditor\"]",
            "[auditor officer]",
        ] {
            let m = StaffMember::from_claims(&claims(&[
                ("sub", "s1"),
                ("email", "a@mvd.kz"),
                (GROUPS_CLAIM, raw),
            ]))
            .unwrap();
            assert_eq!(
                m.groups,
                vec![StaffGroup::Officer, StaffGroup::Auditor],
                "{raw}"
            );
            assert_eq!(m.name, "a@mvd.kz");
        }
        let one = StaffMember::from_claims(&claims(&[
            ("sub", "s1"),
            ("email", "a@mvd.kz"),
            ("name", "Aigerim Sadykova"),
            (GROUPS_CLAIM, "auditor"),
        ]))
        .unwrap();
        assert!(one.is(StaffGroup::Auditor) && !one.is(StaffGroup::Officer));
        assert_eq!(
            one.actor(StaffGroup::Auditor),
            "Aigerim Sadykova <a@mvd.kz> (auditor)"
        );
        assert_eq!(
            render_claim_array(["officer", "auditor"]),
            "[officer auditor]"
        );
    }

    #[test]
    fn a_token_without_subject_email_or_known_group_is_nobody() {
        let full = [
            ("sub", "s1"),
            ("email", "a@mvd.kz"),
            (GROUPS_CLAIM, "[officer]"),
        ];
        assert!(StaffMember::from_claims(&claims(&full)).is_some());
        for drop in ["sub", "email", GROUPS_CLAIM] {
            let partial: Vec<_> = full.iter().copied().filter(|(k, _)| *k != drop).collect();
            assert!(
                StaffMember::from_claims(&claims(&partial)).is_none(),
                "{drop}"
            );
        }
        assert!(
            StaffMember::from_claims(&claims(&[
                ("sub", "s1"),
                ("email", "a@mvd.kz"),
                (GROUPS_CLAIM, "[admins applicants]"),
            ]))
            .is_none()
        );
    }
}
