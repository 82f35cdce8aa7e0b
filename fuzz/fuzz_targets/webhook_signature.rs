//! The `Stripe-Signature` header parser and verifier
//! (functions/pay-webhook/src/signature.rs) on arbitrary headers, bodies,
//! secrets and clocks: no panic, and the properties the handler relies on:
//! a header `sign` made verifies within the tolerance, and the same header
//! never verifies another body or a clock more than 300 s away.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use visa_pay_webhook::signature::{self, SignatureError, TOLERANCE_SECS};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    header: &'a str,
    body: &'a [u8],
    other_body: &'a [u8],
    secret: &'a str,
    timestamp: u32,
    skew: i16,
    now: i64,
}

fuzz_target!(|input: Input| {
    let secrets = vec![input.secret.to_owned()];
    // Arbitrary headers: parse and verify must answer, never panic.
    if let Ok(parsed) = signature::parse(input.header) {
        assert!(!parsed.v1.is_empty(), "a parsed header has a v1");
        assert!(parsed.timestamp >= 0, "t is digits only");
    }
    let _ = signature::verify(Some(input.header), input.body, &secrets, input.now);

    // Round trip: what the provider signs verifies, within the tolerance only.
    let t = i64::from(input.timestamp);
    let header = signature::sign(input.secret, t, input.body);
    let now = t + i64::from(input.skew);
    let verdict = signature::verify(Some(&header), input.body, &secrets, now);
    if (now - t).abs() <= TOLERANCE_SECS {
        assert_eq!(verdict, Ok(()), "{header}");
        if input.other_body != input.body {
            assert_eq!(
                signature::verify(Some(&header), input.other_body, &secrets, now),
                Err(SignatureError::Mismatch)
            );
        }
        // Junk items around the good one do not stop it matching (rotation).
        let noisy = format!("v0=abc,{header},v1={}", "0".repeat(64));
        assert_eq!(
            signature::verify(Some(&noisy), input.body, &secrets, now),
            Ok(())
        );
    } else {
        assert_eq!(verdict, Err(SignatureError::Stale));
    }
});
