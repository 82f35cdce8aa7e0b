//! The seed's rules at their boundaries, over real HTTP through visa-local:
//! each annex admits only its own categories; every passport field the
//! invitation names must match it; the passport must outlast the visa by
//! three months to the day; the visa names Astana (NQZ) and Almaty (ALA) as
//! its only entry points. Each refusal changes nothing.

mod common;

use chrono::{Months, NaiveDate};
use common::*;
use serde_json::{Value, json};

async fn apply(gw: &Gateway, token: &str, body: Value) -> (u16, String, Value) {
    gw.send("POST", "/api/applications", Some(token), Some(body))
        .await
}

#[tokio::test]
async fn each_annex_admits_only_its_own_categories() {
    let gw = Gateway::start();
    let token = gw.applicant("annex@example.com").await;
    // India is on Annex 1 (tourist) only; Serbia on Annex 2 (business,
    // medical) only; Viet Nam on both.
    let cases = [
        ("business", "IND", false),
        ("medical", "IND", false),
        ("tourist", "SRB", false),
        ("business", "SRB", true),
        ("medical", "VNM", true),
        ("tourist", "VNM", true),
    ];
    for (category, nationality, eligible) in cases {
        let inv = gw
            .create_invitation(invitation(category, nationality))
            .await;
        let before = gw.snapshot();
        let got = apply(&gw, &token, application(&inv)).await;
        if eligible {
            assert_eq!(got.0, 201, "{category} {nationality}: {}", got.2);
            assert_eq!(got.2["category"], category);
        } else {
            assert_problem(&got, 422, "not-eligible");
            assert_eq!(got.2["errors"][0]["field"], "passport.nationality");
            assert_eq!(gw.snapshot(), before, "{category} {nationality}");
        }
        // What anyone may read before applying says the same.
        let path = format!("/api/requirements?nationality={nationality}&category={category}");
        let (status, _, req) = gw.send("GET", &path, None, None).await;
        assert_eq!(status, 200, "{req}");
        assert_eq!(req["eligible"], eligible, "{category} {nationality}");
    }
}

#[tokio::test]
async fn every_field_the_invitation_names_must_match_the_passport() {
    let gw = Gateway::start();
    let token = gw.applicant("match@example.com").await;
    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let good = application(&inv);
    let before = gw.snapshot();
    let cases = [
        ("surname", json!("MULLERS")),
        ("given_names", json!("ANNA")),
        ("nationality", json!("BGD")),
        ("date_of_birth", json!("1990-04-13")),
        ("number", json!("Z1234568")),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body["passport"][field] = value.clone();
        if field == "nationality" {
            body["passport"]["issuing_state"] = value;
        }
        let got = apply(&gw, &token, body).await;
        assert_problem(&got, 422, "invitation-mismatch");
        assert_eq!(
            got.2["errors"][0]["field"],
            format!("passport.{field}"),
            "{}",
            got.2
        );
        assert_eq!(got.2["errors"].as_array().unwrap().len(), 1, "{}", got.2);
    }
    assert_eq!(gw.snapshot(), before, "refusals wrote nothing");
    // Case, spacing and diacritics are not differences.
    let (status, _, app) = apply(&gw, &token, good).await;
    assert_eq!(status, 201, "{app}");
}

#[tokio::test]
async fn the_passport_must_outlast_the_visa_by_three_months_to_the_day() {
    let gw = Gateway::start();
    let token = gw.applicant("expiry@example.com").await;
    let inv = gw.create_invitation(invitation("tourist", "IND")).await;
    let last_day: NaiveDate = inv["valid_until"].as_str().unwrap().parse().unwrap();
    let earliest = last_day.checked_add_months(Months::new(3)).unwrap();
    let before = gw.snapshot();
    let mut body = application(&inv);
    body["passport"]["expiry_date"] = json!(earliest.pred_opt().unwrap().to_string());
    let got = apply(&gw, &token, body.clone()).await;
    assert_problem(&got, 422, "passport-expires-too-soon");
    assert_eq!(got.2["errors"][0]["field"], "passport.expiry_date");
    assert!(
        got.2["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(&earliest.to_string()),
        "names the earliest date: {}",
        got.2
    );
    assert_eq!(gw.snapshot(), before);
    body["passport"]["expiry_date"] = json!(earliest.to_string());
    let (status, _, app) = apply(&gw, &token, body).await;
    assert_eq!(status, 201, "exactly three months is enough: {app}");
}

#[tokio::test]
async fn the_visa_names_astana_and_almaty_as_its_only_entry_points() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("airports@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    assert_eq!(
        issued["visa"]["entry_points"],
        json!([
            "Astana International Airport (NQZ)",
            "Almaty International Airport (ALA)"
        ])
    );
    assert_eq!(issued["visa"]["entries"], "single");
    // The rules an applicant reads say so too.
    let (_, _, req) = gw
        .send(
            "GET",
            "/api/requirements?nationality=IND&category=tourist",
            None,
            None,
        )
        .await;
    let rules = req.to_string();
    assert!(rules.contains("Astana and Almaty"), "{rules}");
}
