//! IAM as far as this stack needs it, because moto authorises nothing:
//! the template's role policies (Allow and Deny, `Action`/`NotAction`,
//! `Resource`/`NotResource`, `*` and `?` wildcards), the ARN each AWS call
//! of a function names, and the decision AWS would make. The counting
//! proxy holds every call of a function against its role with this.
//!
//! Key policies too (KMS decides on the key policy first): `Principal`,
//! and the one condition the template uses, `ArnEquals`/`ArnNotEquals`
//! (and the `Like` forms) on `aws:PrincipalArn`. Any other condition is
//! refused outright: a statement this evaluator cannot read must fail the
//! test, not pass it.

use crate::apigw::untag;
use serde_json::Value as Json;
use serde_norway::Value;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list of patterns, or (`NotAction`, `NotResource`) its complement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Patterns {
    AnyOf(Vec<String>),
    NoneOf(Vec<String>),
}

impl Patterns {
    fn matches(&self, value: &str, case_insensitive: bool) -> bool {
        let hit = |list: &[String]| list.iter().any(|p| glob(p, value, case_insensitive));
        match self {
            Patterns::AnyOf(list) => hit(list),
            Patterns::NoneOf(list) => !hit(list),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Patterns,
    /// Key policies only: the principals it is about (`*` for anyone).
    pub principals: Option<Vec<String>>,
    /// `aws:PrincipalArn` must (or, negated, must not) match one of these.
    pub principal_arn: Option<(bool, Vec<String>)>,
    /// `ForAllValues:StringLike` (`true`: every partition key the request
    /// names matches one of these) or `ForAnyValue:StringLike` (`false`: at
    /// least one does) on `dynamodb:LeadingKeys`.
    pub leading_keys: Option<(bool, Vec<String>)>,
}

impl Statement {
    fn applies(&self, principal: &str, access: &Access) -> bool {
        let (action, resource) = (access.action.as_str(), access.resource.as_str());
        let keys = self.leading_keys.as_ref().is_none_or(|(all, patterns)| {
            let matches = |k: &String| patterns.iter().any(|p| glob(p, k, false));
            if *all {
                access.leading_keys.iter().all(matches)
            } else {
                access.leading_keys.iter().any(matches)
            }
        });
        let about_principal = self
            .principals
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == "*" || p == principal));
        let condition = self.principal_arn.as_ref().is_none_or(|(negated, arns)| {
            arns.iter().any(|a| glob(a, principal, false)) != *negated
        });
        about_principal
            && condition
            && keys
            && self.actions.matches(action, true)
            && self.resources.matches(resource, false)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by the statement with this Sid.
    Allowed(String),
    /// Denied by the statement with this Sid.
    Denied(String),
    /// No statement allows it.
    NotAllowed,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }
}

impl Policy {
    /// AWS's order: an explicit Deny wins, then any Allow, else denied.
    pub fn decide(&self, action: &str, resource: &str) -> Decision {
        self.decide_for("", action, resource)
    }

    /// The same for `principal` (key policies name principals).
    pub fn decide_for(&self, principal: &str, action: &str, resource: &str) -> Decision {
        let access = Access {
            action: action.to_owned(),
            resource: resource.to_owned(),
            leading_keys: Vec::new(),
        };
        self.decide_access(principal, &access)
    }

    /// The decision on a whole request context (partition keys included).
    pub fn decide_access(&self, principal: &str, access: &Access) -> Decision {
        let applies = |s: &&Statement| s.applies(principal, access);
        if let Some(s) = self
            .statements
            .iter()
            .filter(applies)
            .find(|s| s.effect == Effect::Deny)
        {
            return Decision::Denied(s.sid.clone());
        }
        match self
            .statements
            .iter()
            .filter(applies)
            .find(|s| s.effect == Effect::Allow)
        {
            Some(s) => Decision::Allowed(s.sid.clone()),
            None => Decision::NotAllowed,
        }
    }

    /// Only the statement `sid`.
    pub fn without_others(&self, sid: &str) -> Policy {
        Policy {
            statements: self
                .statements
                .iter()
                .filter(|s| s.sid == sid)
                .cloned()
                .collect(),
        }
    }

    /// The same policy without the statement `sid`.
    pub fn without(&self, sid: &str) -> Policy {
        Policy {
            statements: self
                .statements
                .iter()
                .filter(|s| s.sid != sid)
                .cloned()
                .collect(),
        }
    }
}

/// IAM's wildcards: `*` any run of characters, `?` any one character.
pub fn glob(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, v) = (fold(pattern), fold(value));
    // Iterative matching with one backtrack point (the last `*`).
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What the template's intrinsics stand for in one test stack: logical ids
/// (`Table.Arn`, `StripeSecret`), pseudo parameters (`AWS::Region`) and
/// parameters (`SesIdentity`).
#[derive(Clone, Debug, Default)]
pub struct Names(pub BTreeMap<String, String>);

impl Names {
    fn get(&self, name: &str) -> String {
        self.0
            .get(name)
            .cloned()
            // Something this stack does not have (a log group): an ARN
            // that no call names.
            .unwrap_or_else(|| format!("arn:unresolved:{name}"))
    }

    /// A policy value: a string, `!Ref`, `!GetAtt` or `!Sub`.
    fn resolve(&self, v: &Value) -> String {
        match v {
            Value::Tagged(t) => {
                let inner = t.value.as_str().unwrap_or_default();
                match t.tag.to_string().as_str() {
                    "!Ref" | "!GetAtt" => self.get(inner),
                    "!Sub" => {
                        let mut out = String::new();
                        let mut rest = inner;
                        while let Some(start) = rest.find("${") {
                            out.push_str(&rest[..start]);
                            let end = rest[start..].find('}').expect("closed ${") + start;
                            out.push_str(&self.get(&rest[start + 2..end]));
                            rest = &rest[end + 1..];
                        }
                        out.push_str(rest);
                        out
                    }
                    other => panic!("unsupported intrinsic {other} in a policy"),
                }
            }
            Value::String(s) => s.clone(),
            other => panic!("unsupported policy value {other:?}"),
        }
    }

    fn list(&self, v: &Value) -> Vec<String> {
        match v {
            Value::Sequence(items) => items.iter().map(|i| self.resolve(i)).collect(),
            one => vec![self.resolve(one)],
        }
    }
}

/// Each function's role policy (inline policies joined), by binary name.
pub fn role_policies(template: &Value, names: &Names) -> BTreeMap<String, Policy> {
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut out = BTreeMap::new();
    for (_, r) in resources {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("a binary");
        let role = untag(&r["Properties"]["Role"])
            .as_str()
            .and_then(|s| s.strip_suffix(".Arn"))
            .expect("Role: !GetAtt SomeRole.Arn");
        let role = &resources[role]["Properties"];
        assert!(
            role["ManagedPolicyArns"].is_null(),
            "{binary}: managed policies are not modelled"
        );
        let mut policy = Policy::default();
        for p in role["Policies"].as_sequence().expect("inline policies") {
            policy
                .statements
                .extend(statements(&p["PolicyDocument"], names, binary));
        }
        out.insert(binary.to_owned(), policy);
    }
    out
}

/// The key policy of the `AWS::KMS::Key` resource `logical_id`.
pub fn key_policy(template: &Value, names: &Names, logical_id: &str) -> Policy {
    let key = &template["Resources"][logical_id];
    assert_eq!(key["Type"].as_str(), Some("AWS::KMS::Key"), "{logical_id}");
    Policy {
        statements: statements(&key["Properties"]["KeyPolicy"], names, logical_id),
    }
}

fn statements(document: &Value, names: &Names, owner: &str) -> Vec<Statement> {
    let mut out = Vec::new();
    for s in document["Statement"].as_sequence().expect("statements") {
        let sid = s["Sid"].as_str().expect("every statement has a Sid");
        let effect = match s["Effect"].as_str() {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => panic!("{owner}/{sid}: effect {other:?}"),
        };
        let pick = |yes: &str, no: &str| {
            if !s[yes].is_null() {
                Patterns::AnyOf(names.list(&s[yes]))
            } else {
                Patterns::NoneOf(names.list(&s[no]))
            }
        };
        let principals = match &s["Principal"] {
            Value::Null => None,
            Value::String(star) if star == "*" => Some(vec!["*".to_owned()]),
            p => Some(names.list(&p["AWS"])),
        };
        let (mut principal_arn, mut leading_keys) = (None, None);
        for (op, test) in s["Condition"].as_mapping().into_iter().flatten() {
            let test = test.as_mapping().expect("condition keys");
            assert_eq!(
                test.len(),
                1,
                "{owner}/{sid}: one key per condition operator"
            );
            let (key, values) = test.iter().next().unwrap();
            match (op.as_str(), key.as_str()) {
                (
                    Some(op @ ("ArnEquals" | "ArnLike" | "ArnNotEquals" | "ArnNotLike")),
                    Some("aws:PrincipalArn"),
                ) => {
                    principal_arn = Some((op.contains("Not"), names.list(values)));
                }
                (Some("ForAllValues:StringLike"), Some("dynamodb:LeadingKeys")) => {
                    leading_keys = Some((true, names.list(values)));
                }
                (Some("ForAnyValue:StringLike"), Some("dynamodb:LeadingKeys")) => {
                    leading_keys = Some((false, names.list(values)));
                }
                other => panic!("{owner}/{sid}: condition {other:?} is not modelled"),
            }
        }
        out.push(Statement {
            sid: sid.to_owned(),
            effect,
            actions: pick("Action", "NotAction"),
            resources: pick("Resource", "NotResource"),
            principals,
            principal_arn,
            leading_keys,
        });
    }
    out
}

/// One authorisation AWS makes: an action on a resource, and for DynamoDB
/// the partition keys it names (`dynamodb:LeadingKeys`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub action: String,
    pub resource: String,
    pub leading_keys: Vec<String>,
}

/// The authorisations an AWS request needs (a transaction needs one per
/// item), read from the request as the SDK sends it to a custom endpoint:
/// JSON protocols by `X-Amz-Target`, S3 path-style, SES v2 REST.
pub fn accesses(
    method: &str,
    path: &str,
    target: Option<&str>,
    body: &[u8],
    region: &str,
    account: &str,
) -> Vec<Access> {
    let access = |action: &str, resource: String| Access {
        action: action.to_owned(),
        resource,
        leading_keys: Vec::new(),
    };
    let keyed = |action: &str, resource: String, item: &Json| Access {
        leading_keys: partition_key(item).into_iter().collect(),
        ..access(action, resource)
    };
    let json: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
    if let Some(target) = target {
        let (service, op) = target.split_once('.').unwrap_or(("", target));
        let table = |item: &Json| {
            let name = item["TableName"].as_str().unwrap_or_default();
            let mut arn = format!("arn:aws:dynamodb:{region}:{account}:table/{name}");
            if let Some(index) = item["IndexName"].as_str() {
                arn.push_str(&format!("/index/{index}"));
            }
            arn
        };
        return match service {
            s if s.starts_with("DynamoDB") => match op {
                "TransactWriteItems" | "TransactGetItems" => json["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| {
                        let (kind, inner) = item.as_object()?.iter().next()?;
                        let action = match kind.as_str() {
                            "Put" => "dynamodb:PutItem",
                            "Update" => "dynamodb:UpdateItem",
                            "Delete" => "dynamodb:DeleteItem",
                            "ConditionCheck" => "dynamodb:ConditionCheckItem",
                            "Get" => "dynamodb:GetItem",
                            _ => return None,
                        };
                        Some(keyed(action, table(inner), inner))
                    })
                    .collect(),
                op => vec![keyed(&format!("dynamodb:{op}"), table(&json), &json)],
            },
            "TrentService" => {
                let key = json["KeyId"].as_str().unwrap_or_default();
                let arn = if key.starts_with("arn:") {
                    key.to_owned()
                } else {
                    format!("arn:aws:kms:{region}:{account}:key/{key}")
                };
                vec![access(&format!("kms:{op}"), arn)]
            }
            "secretsmanager" => {
                let id = json["SecretId"].as_str().unwrap_or_default();
                let arn = if id.starts_with("arn:") {
                    id.to_owned()
                } else {
                    format!("arn:aws:secretsmanager:{region}:{account}:secret:{id}")
                };
                vec![access(&format!("secretsmanager:{op}"), arn)]
            }
            "AmazonSQS" => {
                // A queue URL ends in /<account>/<name>.
                let url = json["QueueUrl"].as_str().unwrap_or_default();
                let mut tail = url.rsplit('/');
                let name = tail.next().unwrap_or_default();
                let owner = tail.next().unwrap_or(account);
                vec![access(
                    &format!("sqs:{op}"),
                    format!("arn:aws:sqs:{region}:{owner}:{name}"),
                )]
            }
            other => vec![access(&format!("{other}:{op}"), "*".into())],
        };
    }
    if path.starts_with("/v2/email/outbound-emails") {
        // Sent through the identity of the From address.
        let from = json["FromEmailAddress"].as_str().unwrap_or_default();
        return vec![access(
            "ses:SendEmail",
            format!("arn:aws:ses:{region}:{account}:identity/{from}"),
        )];
    }
    // S3, path-style: /bucket or /bucket/key.
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let object = format!("arn:aws:s3:::{bucket}/{key}");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    match (method, key.is_empty()) {
        ("GET" | "HEAD", false) => vec![access("s3:GetObject", object)],
        ("PUT", false) => vec![access("s3:PutObject", object)],
        ("DELETE", false) => vec![access("s3:DeleteObject", object)],
        ("GET", true) => vec![access("s3:ListBucket", bucket_arn)],
        (m, _) => vec![access(&format!("s3:{m}"), bucket_arn)],
    }
}

/// The partition key a DynamoDB request (or transaction item) names: the
/// `pk` of its `Key` or `Item`, or a Query's key condition value.
fn partition_key(item: &Json) -> Option<String> {
    for part in ["Key", "Item"] {
        if let Some(pk) = item[part]["pk"]["S"].as_str() {
            return Some(pk.to_owned());
        }
    }
    let condition = item["KeyConditionExpression"].as_str()?;
    let first = condition.split(" AND ").next()?;
    let placeholder = first.split('=').nth(1)?.trim();
    item["ExpressionAttributeValues"][placeholder]["S"]
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sid: &str, effect: Effect, actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            sid: sid.into(),
            effect,
            actions: Patterns::AnyOf(actions.iter().map(|s| s.to_string()).collect()),
            resources: Patterns::AnyOf(resources.iter().map(|s| s.to_string()).collect()),
            principals: None,
            principal_arn: None,
            leading_keys: None,
        }
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("s3:*", "s3:GetObject", true));
        assert!(glob("S3:get*", "s3:GetObject", true));
        assert!(!glob("s3:Get*", "s3:PutObject", true));
        assert!(glob(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/visas/x.pdf",
            false
        ));
        assert!(!glob("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
        assert!(!glob("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", false));
        assert!(glob("kms:?ign", "kms:Sign", true));
        assert!(glob("*", "", true));
        assert!(glob("a*b*c", "aXXbYYc", false));
        assert!(!glob("a*b*c", "aXXbYY", false));
    }

    #[test]
    fn deny_wins_then_allow_then_nothing() {
        let policy = Policy {
            statements: vec![
                statement("Objects", Effect::Allow, &["s3:*"], &["arn:aws:s3:::b/*"]),
                statement("NoDelete", Effect::Deny, &["s3:DeleteObject"], &["*"]),
            ],
        };
        assert_eq!(
            policy.decide("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::Allowed("Objects".into())
        );
        assert_eq!(
            policy.decide("s3:DeleteObject", "arn:aws:s3:::b/k"),
            Decision::Denied("NoDelete".into())
        );
        assert_eq!(
            policy.decide("s3:ListBucket", "arn:aws:s3:::b"),
            Decision::NotAllowed
        );
        assert_eq!(
            policy
                .without("Objects")
                .decide("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::NotAllowed
        );
        let not_action = Policy {
            statements: vec![Statement {
                sid: "AllButSign".into(),
                effect: Effect::Allow,
                actions: Patterns::NoneOf(vec!["kms:Sign".into()]),
                resources: Patterns::NoneOf(vec!["arn:aws:kms:*".into()]),
                principals: None,
                principal_arn: None,
                leading_keys: None,
            }],
        };
        assert!(
            not_action
                .decide("s3:GetObject", "arn:aws:s3:::b/k")
                .is_allowed()
        );
        assert!(
            !not_action
                .decide("kms:Sign", "arn:aws:s3:::b/k")
                .is_allowed()
        );
        assert!(
            !not_action
                .decide("s3:GetObject", "arn:aws:kms:r:1:key/k")
                .is_allowed()
        );
    }

    #[test]
    fn leading_keys_limit_a_role_to_its_partitions() {
        let policy = Policy {
            statements: vec![Statement {
                leading_keys: Some((true, vec!["APP#*".into(), "WARM".into()])),
                ..statement("Table", Effect::Allow, &["dynamodb:GetItem"], &["arn:t"])
            }],
        };
        let get = |keys: &[&str]| Access {
            action: "dynamodb:GetItem".into(),
            resource: "arn:t".into(),
            leading_keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        assert!(policy.decide_access("", &get(&["APP#1"])).is_allowed());
        assert!(policy.decide_access("", &get(&["WARM"])).is_allowed());
        assert!(!policy.decide_access("", &get(&["ACCOUNT#1"])).is_allowed());
        assert!(
            !policy
                .decide_access("", &get(&["APP#1", "ACCOUNT#1"]))
                .is_allowed()
        );
    }

    #[test]
    fn key_policies_name_principals_and_deny_every_other_signer() {
        let signer = "arn:aws:iam::1:role/render";
        let policy = Policy {
            statements: vec![
                Statement {
                    principals: Some(vec![signer.into()]),
                    ..statement("Sign", Effect::Allow, &["kms:Sign"], &["*"])
                },
                Statement {
                    principals: Some(vec!["*".into()]),
                    principal_arn: Some((true, vec![signer.into()])),
                    ..statement("OnlySigner", Effect::Deny, &["kms:Sign"], &["*"])
                },
                Statement {
                    principals: Some(vec!["arn:aws:iam::1:role/admin".into()]),
                    ..statement("Admin", Effect::Allow, &["kms:*"], &["*"])
                },
            ],
        };
        assert!(policy.decide_for(signer, "kms:Sign", "k").is_allowed());
        assert_eq!(
            policy.decide_for("arn:aws:iam::1:role/admin", "kms:Sign", "k"),
            Decision::Denied("OnlySigner".into())
        );
        assert!(
            policy
                .decide_for("arn:aws:iam::1:role/admin", "kms:DescribeKey", "k")
                .is_allowed()
        );
        assert_eq!(
            policy.decide_for("arn:aws:iam::1:role/other", "kms:GetPublicKey", "k"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn requests_name_their_actions_and_resources() {
        let body = br#"{"TransactItems":[{"Put":{"TableName":"t","Item":{"pk":{"S":"APP#1"}}}},{"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"INVITATION#2"}}}}]}"#;
        assert_eq!(
            accesses(
                "POST",
                "/",
                Some("DynamoDB_20120810.TransactWriteItems"),
                body,
                "r",
                "1"
            ),
            [
                Access {
                    action: "dynamodb:PutItem".into(),
                    resource: "arn:aws:dynamodb:r:1:table/t".into(),
                    leading_keys: vec!["APP#1".into()],
                },
                Access {
                    action: "dynamodb:ConditionCheckItem".into(),
                    resource: "arn:aws:dynamodb:r:1:table/t".into(),
                    leading_keys: vec!["INVITATION#2".into()],
                },
            ]
        );
        let query = br#"{"TableName":"t","IndexName":"GSI1"}"#;
        assert_eq!(
            accesses(
                "POST",
                "/",
                Some("DynamoDB_20120810.Query"),
                query,
                "r",
                "1"
            )[0]
            .resource,
            "arn:aws:dynamodb:r:1:table/t/index/GSI1"
        );
        assert_eq!(
            accesses(
                "POST",
                "/",
                Some("TrentService.Sign"),
                br#"{"KeyId":"k1"}"#,
                "r",
                "1"
            )[0],
            Access {
                action: "kms:Sign".into(),
                resource: "arn:aws:kms:r:1:key/k1".into(),
                leading_keys: vec![],
            }
        );
        assert_eq!(
            accesses("GET", "/b/visas/a/x.pdf", None, b"", "r", "1")[0],
            Access {
                action: "s3:GetObject".into(),
                resource: "arn:aws:s3:::b/visas/a/x.pdf".into(),
                leading_keys: vec![],
            }
        );
        assert_eq!(
            accesses("GET", "/b", None, b"", "r", "1")[0].action,
            "s3:ListBucket"
        );
        assert_eq!(
            accesses(
                "POST",
                "/v2/email/outbound-emails",
                None,
                br#"{"FromEmailAddress":"e@x.example"}"#,
                "r",
                "1"
            )[0]
            .resource,
            "arn:aws:ses:r:1:identity/e@x.example"
        );
        assert_eq!(
            accesses(
                "POST",
                "/",
                Some("AmazonSQS.SendMessage"),
                br#"{"QueueUrl":"http://127.0.0.1:5000/123456789012/emails","MessageBody":"{}"}"#,
                "r",
                "1"
            )[0],
            Access {
                action: "sqs:SendMessage".into(),
                resource: "arn:aws:sqs:r:123456789012:emails".into(),
                leading_keys: vec![],
            }
        );
    }
}
