//! The visa again without signing in, through the real visa-local binary:
//! visa number, passport number and date of birth, all three, give a fresh
//! link; every miss is the same 404; 20 misses from one client are 429.

mod common;

use common::{Gateway, assert_problem};
use serde_json::{Value, json};

#[tokio::test]
async fn a_lost_phone_gets_the_visa_back_by_three_details_alone() {
    let (gw, logs) = Gateway::start_logged();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let passport = issued["passport"]["number"].as_str().unwrap().to_owned();
    let dob = issued["passport"]["date_of_birth"]
        .as_str()
        .unwrap()
        .to_owned();
    let ask = |n: &str, p: &str, d: &str| json!({"visa_number": n, "passport_number": p, "date_of_birth": d});

    // Another device, no session: typed loosely (case, spaces) still matches.
    let (status, _, link) = gw
        .send(
            "POST",
            "/api/visa-retrievals",
            None,
            Some(ask(&number.to_lowercase(), &format!(" {passport} "), &dob)),
        )
        .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["visa_number"], number.as_str());
    let pdf = gw
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    // And a copy by email to the confirmed address, beside the first one;
    // three a day at most, however often the details are given.
    let copies = || {
        std::fs::read_dir(gw.data_dir.join("outbox"))
            .unwrap()
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&format!("e-visa-{number}-copy-"))
            })
            .count()
    };
    let start = std::time::Instant::now();
    while copies() < 1 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no copy emailed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..4 {
        let (status, _, _) = gw
            .send(
                "POST",
                "/api/visa-retrievals",
                None,
                Some(ask(&number, &passport, &dob)),
            )
            .await;
        assert_eq!(status, 200);
    }
    // Five asked: three sent, the last two refused (each says so in the log).
    let start = std::time::Instant::now();
    while logs.text().matches("TooManyCopies").count() < 2 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{}",
            logs.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let start = std::time::Instant::now();
    while copies() < 3 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "copies: {}",
            copies()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(copies(), 3);

    // Any one detail wrong: the very same answer.
    let misses: Vec<(u16, Value)> = answers_to(
        &gw,
        &[
            ask("ZZZZZZZZZ", &passport, &dob),
            ask(&number, "Z0000000", &dob),
            ask(&number, &passport, "1901-01-01"),
        ],
    )
    .await;
    for (status, body) in &misses {
        assert_eq!(*status, 404, "{body}");
        assert_eq!(body, &misses[0].1);
    }
    let invalid = gw
        .send(
            "POST",
            "/api/visa-retrievals",
            None,
            Some(ask(&number, &passport, "12/04/1990")),
        )
        .await;
    assert_problem(&invalid, 422, "validation");
}

async fn answers_to(gw: &Gateway, bodies: &[Value]) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    for body in bodies {
        let (status, _, answer) = gw
            .send("POST", "/api/visa-retrievals", None, Some(body.clone()))
            .await;
        out.push((status, answer));
    }
    out
}

#[tokio::test]
async fn twenty_misses_from_one_client_are_throttled_even_for_the_right_details() {
    let gw = Gateway::start();
    let (token, app) = gw.awaiting_payment("priya@example.com").await;
    let issued = gw.pay_and_wait_issued(&token, &app).await;
    let number = issued["visa"]["number"].as_str().unwrap().to_owned();
    let passport = issued["passport"]["number"].as_str().unwrap().to_owned();
    let dob = issued["passport"]["date_of_birth"]
        .as_str()
        .unwrap()
        .to_owned();
    let right = json!({"visa_number": number, "passport_number": passport, "date_of_birth": dob});
    // A match is not counted: the holder can come back.
    for _ in 0..3 {
        let (status, _, _) = gw
            .send("POST", "/api/visa-retrievals", None, Some(right.clone()))
            .await;
        assert_eq!(status, 200);
    }
    for n in 0..20 {
        let wrong = json!({"visa_number": number, "passport_number": format!("X{n:07}"), "date_of_birth": dob});
        let (status, _, body) = gw
            .send("POST", "/api/visa-retrievals", None, Some(wrong))
            .await;
        assert_eq!(status, 404, "miss {n}: {body}");
    }
    let held = gw
        .send("POST", "/api/visa-retrievals", None, Some(right))
        .await;
    assert_problem(&held, 429, "too-many-requests");
}
