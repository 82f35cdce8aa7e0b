//! API Gateway (HTTP API) as `infra/template.yaml` configures it: its
//! routes read from the template, and the route AWS would select for a
//! request, by AWS's documented priority (a full match, then a match with
//! path variables, then a greedy `{proxy+}`; among greedy routes the
//! longest fixed prefix; a route's own method before `ANY`).
//!
//! Paths are compared as sent, without decoding: an encoded letter or a
//! doubled slash misses the exact route, as the reproduction in issue 16
//! found, so a request reaches whatever catch-all would take it.

use serde_norway::Value;
use std::path::PathBuf;

/// One `AWS::ApiGatewayV2::Route` of the template.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GatewayRoute {
    /// `GET`, `POST`, ..., or `ANY`.
    pub method: String,
    /// `/api/applications/{id}`, `/api/{proxy+}`.
    pub path: String,
    /// The binary of the function its integration invokes.
    pub function: String,
    /// `AuthorizationType: AWS_IAM`.
    pub iam: bool,
    /// `AuthorizationType: JWT` (the staff pool's authorizer).
    pub jwt: bool,
}

impl GatewayRoute {
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn greedy(&self) -> bool {
        self.path.ends_with("{proxy+}")
    }

    fn variables(&self) -> usize {
        self.path.split('/').filter(|s| s.starts_with('{')).count()
    }

    fn fixed_segments(&self) -> usize {
        self.path.split('/').filter(|s| !s.starts_with('{')).count()
    }

    /// Whether the path (as sent) fits this route's template.
    fn fits(&self, path: &str) -> bool {
        let template: Vec<&str> = self.path.split('/').collect();
        let given: Vec<&str> = path.split('/').collect();
        for (i, t) in template.iter().enumerate() {
            if t.ends_with("+}") {
                // Greedy: one or more characters, slashes included.
                return given.len() > i && !given[i..].join("/").is_empty();
            }
            let Some(g) = given.get(i) else {
                return false;
            };
            if t.starts_with('{') {
                if g.is_empty() {
                    return false;
                }
            } else if t != g {
                return false;
            }
        }
        template.len() == given.len()
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repo holds tests/")
        .to_path_buf()
}

/// The YAML of a repo file (CloudFormation's short tags kept as tags).
pub fn read_yaml(relative: &str) -> Value {
    let path = repo_root().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// The value under a CloudFormation tag (`!Sub x` is `x`).
pub fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        other => other,
    }
}

/// The template's HTTP API routes.
pub fn template_routes() -> Vec<GatewayRoute> {
    let template = read_yaml("infra/template.yaml");
    let resources = template["Resources"]
        .as_mapping()
        .expect("the template has Resources");
    let resource = |name: &str| -> &Value {
        resources
            .get(name)
            .unwrap_or_else(|| panic!("no resource {name}"))
    };
    let mut routes = Vec::new();
    for (_, r) in resources {
        if r["Type"].as_str() != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let p = &r["Properties"];
        let key = untag(&p["RouteKey"]).as_str().expect("a RouteKey");
        let (method, path) = key.split_once(' ').expect("METHOD /path");
        let target = untag(&p["Target"]).as_str().expect("a Target");
        let integration = target
            .strip_prefix("integrations/${")
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or_else(|| panic!("{key}: target {target} is no integration"));
        let uri = untag(&resource(integration)["Properties"]["IntegrationUri"]);
        let function = uri
            .as_str()
            .and_then(|u| u.strip_suffix(".Arn"))
            .unwrap_or_else(|| panic!("{integration}: IntegrationUri is no !GetAtt F.Arn"));
        let binary = resource(function)["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{function} names no binary"));
        routes.push(GatewayRoute {
            method: method.to_owned(),
            path: path.to_owned(),
            function: binary.to_owned(),
            iam: untag(&p["AuthorizationType"]).as_str() == Some("AWS_IAM"),
            jwt: untag(&p["AuthorizationType"]).as_str() == Some("JWT"),
        });
    }
    routes.sort();
    routes
}

/// The gateway of the template's routes.
pub struct Gateway {
    pub routes: Vec<GatewayRoute>,
}

impl Gateway {
    pub fn from_template() -> Gateway {
        Gateway {
            routes: template_routes(),
        }
    }

    /// The route AWS selects for `method` on `path` (no query), if any.
    pub fn select(&self, method: &str, path: &str) -> Option<&GatewayRoute> {
        self.routes
            .iter()
            .filter(|r| (r.method == method || r.method == "ANY") && r.fits(path))
            .min_by_key(|r| {
                (
                    r.greedy(),
                    r.variables(),
                    std::cmp::Reverse(r.fixed_segments()),
                    r.method == "ANY",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> GatewayRoute {
        GatewayRoute {
            method: method.into(),
            path: path.into(),
            function: "f".into(),
            iam: false,
            jwt: false,
        }
    }

    #[test]
    fn selection_follows_aws_priority() {
        let gw = Gateway {
            routes: vec![
                route("GET", "/api/applications"),
                route("GET", "/api/applications/{id}"),
                route("GET", "/api/applications/{id}/visa"),
                route("POST", "/api/admin/invitations"),
                route("ANY", "/api/admin/{proxy+}"),
                route("ANY", "/api/{proxy+}"),
            ],
        };
        let key = |m: &str, p: &str| gw.select(m, p).map(|r| r.route_key());
        assert_eq!(
            key("GET", "/api/applications").as_deref(),
            Some("GET /api/applications")
        );
        assert_eq!(
            key("GET", "/api/applications/a1").as_deref(),
            Some("GET /api/applications/{id}")
        );
        assert_eq!(
            key("GET", "/api/applications/a1/visa").as_deref(),
            Some("GET /api/applications/{id}/visa")
        );
        assert_eq!(
            key("POST", "/api/applications").as_deref(),
            Some("ANY /api/{proxy+}")
        );
        assert_eq!(
            key("GET", "/api/applications/").as_deref(),
            Some("ANY /api/{proxy+}")
        );
        assert_eq!(
            key("POST", "/api/admin/invitations/").as_deref(),
            Some("ANY /api/admin/{proxy+}")
        );
        assert_eq!(
            key("POST", "/api/admin/invitation%73").as_deref(),
            Some("ANY /api/admin/{proxy+}")
        );
        assert_eq!(
            key("POST", "/api//admin/invitations").as_deref(),
            Some("ANY /api/{proxy+}")
        );
        assert_eq!(key("GET", "/api"), None);
        assert_eq!(key("GET", "/elsewhere"), None);
    }
}
