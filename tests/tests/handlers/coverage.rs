//! Every (route, slug) of contract.py's `SLUGS` is answered in-process,
//! and no other: one test drives every case of every function itself (so
//! it does not depend on which tests ran before it), then compares the
//! problems its own calls recorded (`support::send`) with the contract.

use crate::support::{Answered, CATCH_ALL, answered};
use crate::{arrivals, confirm, groups, officer, register, render, webhook};
use std::collections::BTreeSet;
use visa_core::routes::ROUTES;

const CONTRACT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/contract.py");

/// What the catch-all answers (contract.py's `CATCH_ALL` route, which
/// `SLUGS` does not list): docs/API.md's 404 for an unknown route, 405 for
/// a wrong method, and the 413 that comes before any routing.
const CATCH_ALL_SLUGS: [&str; 3] = ["not-found", "method-not-allowed", "body-too-large"];

/// contract.py's `SLUGS`: `{("METHOD", "/api/..."): {"slug", ...}, ...}`,
/// a Python dict literal of string tuples to string sets, with comments.
fn contract_slugs() -> Answered {
    let source = std::fs::read_to_string(CONTRACT).unwrap();
    let start = source
        .find("\nSLUGS = {")
        .expect("contract.py defines SLUGS");
    let body = &source[start + "\nSLUGS = {".len()..];
    let body = &body[..body.find("\n}").expect("SLUGS ends with a closing brace")];
    let code: String = body
        .lines()
        .map(|line| line.split('#').next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let strings = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.strip_prefix('"')
                    .and_then(|s| s.strip_suffix('"'))
                    .unwrap_or_else(|| panic!("not a string literal: {s}"))
                    .to_owned()
            })
            .collect()
    };
    let mut slugs = BTreeSet::new();
    let mut literals = 0;
    let mut rest = code.as_str();
    while let Some(open) = rest.find('(') {
        let close = open + rest[open..].find(')').unwrap();
        let key = strings(&rest[open + 1..close]);
        let [method, path] = key.as_slice() else {
            panic!("a key of SLUGS is (method, path): {key:?}");
        };
        let after = &rest[close + 1..];
        let set_open = after.find('{').unwrap();
        assert_eq!(
            after[..set_open].trim(),
            ":",
            "{method} {path}: a set follows"
        );
        let set_close = after.find('}').unwrap();
        let listed = strings(&after[set_open + 1..set_close]);
        assert!(!listed.is_empty(), "{method} {path} lists no slug");
        literals += 2 + listed.len();
        for slug in listed {
            slugs.insert((method.clone(), path.clone(), slug));
        }
        rest = &after[set_close + 1..];
    }
    assert_eq!(
        literals * 2,
        code.matches('"').count(),
        "every string of SLUGS read"
    );
    slugs
}

#[test]
fn contract_slugs_name_every_route_and_only_known_slugs() {
    let slugs = contract_slugs();
    let routes: BTreeSet<_> = slugs
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(routes, table, "SLUGS' routes are visa_core::routes' routes");
    for (method, path, slug) in &slugs {
        assert!(
            visa_core::problem::Problem::SLUGS.contains(&slug.as_str()),
            "{method} {path}: {slug} is no slug of problem.rs"
        );
    }
    // Spot checks that the parser read sets whole, comments and all.
    assert!(slugs.contains(&(
        "DELETE".into(),
        "/api/admin/invitations/{number}".into(),
        "invitation-already-used".into()
    )));
    assert!(slugs.contains(&("GET".into(), "/api/health".into(), "body-too-large".into())));
}

#[tokio::test]
async fn every_slug_of_every_route_is_answered() {
    register::all().await;
    confirm::all().await;
    officer::all().await;
    arrivals::all().await;
    groups::all().await;
    webhook::all().await;
    render::all().await;

    let mut promised = contract_slugs();
    for slug in CATCH_ALL_SLUGS {
        promised.insert((CATCH_ALL.0.into(), CATCH_ALL.1.into(), slug.into()));
    }
    let answered = answered();
    let line =
        |(method, path, slug): &(String, String, String)| format!("  {method} {path}: {slug}");
    let missing: Vec<_> = promised.difference(&answered).map(line).collect();
    let unpromised: Vec<_> = answered.difference(&promised).map(line).collect();
    assert!(
        missing.is_empty() && unpromised.is_empty(),
        "promised by contract.py, never answered in-process:\n{}\nanswered, but not in contract.py:\n{}",
        missing.join("\n"),
        unpromised.join("\n"),
    );
}
