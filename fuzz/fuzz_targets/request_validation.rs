//! Request validation in visa-core on arbitrary bodies: `read_json` for the
//! three JSON bodies applicants and officers send, then the checks the
//! handlers run on what parsed (passport normalisation and field errors,
//! declarations, the invitation's own validation, email and password
//! rules). Never a panic; every refusal is a 400/413/422 problem that
//! renders as RFC 9457 JSON with its `/problems/<slug>` type.

#![no_main]

use chrono::{NaiveDate, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use visa_core::account::{self, Credentials};
use visa_core::application::NewApplication;
use visa_core::http::read_json;
use visa_core::invitation::NewInvitation;
use visa_core::problem::Problem;
use visa_core::rules;

fn refused(p: Problem) {
    assert!(matches!(p.status, 400 | 413 | 422), "status {}", p.status);
    let json: serde_json::Value = serde_json::from_slice(&p.to_json()).expect("problem is JSON");
    assert_eq!(json["type"], format!("/problems/{}", p.slug));
    assert_eq!(json["status"], p.status);
}

fuzz_target!(|data: &[u8]| {
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    match read_json::<NewApplication>(data) {
        Ok(new) => {
            let passport = new.passport.normalised();
            for e in passport.field_errors("passport", today) {
                assert!(e.field.starts_with("passport."), "{}", e.field);
            }
            let _ = rules::missing_declarations(&new.declarations);
            let _ = rules::passport_valid_long_enough(passport.expiry_date, today);
        }
        Err(p) => refused(p),
    }
    match read_json::<NewInvitation>(data) {
        Ok(new) => {
            if let Ok(inv) = new.into_invitation("fuzz-officer", "250000000001".into(), today, now)
            {
                assert_eq!(inv.number.len(), 12);
                assert!(inv.valid_from >= today && inv.valid_from <= inv.valid_until);
            }
        }
        Err(p) => refused(p),
    }
    match read_json::<Credentials>(data) {
        Ok(c) => {
            if let Some(email) = account::normalise_email(&c.email) {
                assert_eq!(email, email.trim().to_lowercase());
                assert!(email.contains('@'));
            }
            let _ = account::password_problem(&c.password);
        }
        Err(p) => refused(p),
    }
});
