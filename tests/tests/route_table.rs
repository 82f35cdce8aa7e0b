//! The route table of `visa_core::routes` is what `infra/openapi.yaml`
//! documents and what `infra/template.yaml` deploys: the same operations,
//! owners and authorisation, read from the YAML itself.

use std::collections::BTreeSet;
use visa_core::routes::{Access, CATCH_ALL, Function, ROUTES};
use visa_tests::apigw::{GatewayRoute, read_yaml, template_routes};

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[test]
fn the_table_is_openapis_operations() {
    let spec = read_yaml("infra/openapi.yaml");
    let paths = spec["paths"].as_mapping().expect("openapi paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().expect("path keys are strings");
        for method in METHODS {
            let op = &item[method];
            if op.is_null() {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .expect("every operation has an id");
            let schemes: BTreeSet<String> = op["security"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_mapping())
                .flat_map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_owned)))
                .collect();
            documented.insert((
                method.to_ascii_uppercase(),
                path.to_owned(),
                id.to_owned(),
                schemes,
            ));
        }
    }
    let served: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            let schemes: BTreeSet<String> = match r.access {
                Access::Public => [].into(),
                Access::Applicant => ["applicantSession".to_owned()].into(),
                Access::Officer => ["adminIam".to_owned(), "adminToken".to_owned()].into(),
                Access::Webhook => ["stripeSignature".to_owned()].into(),
                Access::Staff | Access::StaffOfficer | Access::StaffBorder => {
                    ["staffToken".to_owned()].into()
                }
            };
            (
                r.method.to_string(),
                r.path.to_owned(),
                r.operation_id.to_owned(),
                schemes,
            )
        })
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not in openapi.yaml: {missing:?}\nin openapi.yaml but not served: {extra:?}"
    );
}

#[test]
fn the_template_deploys_the_table_and_two_catch_alls() {
    let deployed: BTreeSet<GatewayRoute> = template_routes().into_iter().collect();
    let mut expected = BTreeSet::new();
    for r in ROUTES {
        let route = |method: &str| GatewayRoute {
            method: method.to_owned(),
            path: r.path.to_owned(),
            function: r.function.binary().to_owned(),
            iam: r.access == Access::Officer,
            jwt: r.access.is_staff(),
        };
        expected.insert(route(r.method.as_str()));
        // HEAD is answered as GET; without its own route it would reach
        // the catch-all, which does not own the GET route.
        if r.method == http::Method::GET {
            expected.insert(route("HEAD"));
        }
    }
    let catch_all = |path: &str, iam| GatewayRoute {
        method: "ANY".into(),
        path: path.into(),
        function: CATCH_ALL.binary().into(),
        iam,
        jwt: false,
    };
    expected.insert(catch_all("/api/{proxy+}", false));
    expected.insert(catch_all("/api/admin/{proxy+}", true));
    let missing: Vec<_> = expected.difference(&deployed).collect();
    let extra: Vec<_> = deployed.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing from the template: {missing:?}\nin the template, not in the table: {extra:?}"
    );
}

#[test]
fn every_function_binary_is_the_templates() {
    let template = read_yaml("infra/template.yaml");
    let binaries: BTreeSet<&str> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .filter_map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str())
        .collect();
    let ours: BTreeSet<&str> = Function::ALL.iter().map(|f| f.binary()).collect();
    assert_eq!(binaries, ours);
}

#[test]
fn officer_routes_live_under_the_iam_catch_all() {
    // A near miss of an officer path (trailing slash, encoded letter) must
    // land on `ANY /api/admin/{proxy+}`, which needs IAM, never on the
    // public catch-all.
    for r in ROUTES.iter().filter(|r| r.access == Access::Officer) {
        assert!(r.path.starts_with("/api/admin/"), "{}", r.path);
    }
    for r in ROUTES.iter().filter(|r| r.path.starts_with("/api/admin/")) {
        assert_eq!(
            r.access,
            Access::Officer,
            "{} is not an officer route",
            r.path
        );
    }
}

/// The one event that reaches a function without a route: EventBridge's
/// daily schedule puts its fixed input on the email queue, and render-visa
/// must read it as the arrival reminders' sweep.
#[test]
fn the_reminder_schedule_queues_what_render_visa_reads() {
    let template = read_yaml("infra/template.yaml");
    let rule = &template["Resources"]["ArrivalRemindersSchedule"]["Properties"];
    let target = &rule["Targets"][0];
    let input = target["Input"].as_str().expect("the schedule's input");
    let request: visa_core::notify::EmailRequest =
        serde_json::from_str(input).expect("an email queue request");
    assert_eq!(request, visa_core::notify::EmailRequest::ArrivalReminders);
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        input,
        "what the local sweep queues is what the schedule sends"
    );
    assert!(
        format!("{:?}", target["Arn"]).contains("EmailQueue"),
        "{:?}",
        target["Arn"]
    );
}
