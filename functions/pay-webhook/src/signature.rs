//! `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256 of
//! `"<t>.<raw body>"`. Any one `v1` may match (Stripe sends several while
//! a secret rotates; async-stripe keeps only the last, hence our own).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default tolerance between the signed time and ours.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("malformed Stripe-Signature header: {0}")]
    Malformed(&'static str),
    #[error("the signature's timestamp is more than {TOLERANCE_SECS} s away")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

#[derive(Debug, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses the header strictly: one `t`, at least one well-formed `v1`;
/// other schemes (`v0`) are skipped as Stripe's own libraries do.
pub fn parse(header: &str) -> Result<SignatureHeader, SignatureError> {
    if header.len() > 4096 {
        return Err(SignatureError::Malformed("too long"));
    }
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed("item without '='"))?;
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed("more than one t"));
                }
                if value.is_empty()
                    || value.len() > 12
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(SignatureError::Malformed("t is not a unix time"));
                }
                timestamp = Some(
                    value
                        .parse()
                        .map_err(|_| SignatureError::Malformed("t is not a unix time"))?,
                );
            }
            // Any one v1 that matches is enough (docs/API.md), so an entry that
            // is not a SHA-256 digest is skipped rather than fatal, as
            // Stripe's own libraries do: it can never match.
            "v1" => {
                let mut sig = [0u8; 32];
                if hex::decode_to_slice(value, &mut sig).is_ok() {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t"))?;
    if v1.is_empty() {
        return Err(SignatureError::Malformed("no v1 of 64 hex digits"));
    }
    Ok(SignatureHeader { timestamp, v1 })
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Verifies `header` over the raw `body` against any of `secrets`, at `now` (unix seconds).
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let parsed = parse(header.ok_or(SignatureError::Missing)?)?;
    if (now - parsed.timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    for secret in secrets {
        for candidate in &parsed.v1 {
            // verify_slice compares in constant time.
            if mac(secret.as_bytes(), parsed.timestamp, body)
                .verify_slice(candidate)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

/// The header a provider would send: used by the sandbox and by tests.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let sig = mac(secret.as_bytes(), timestamp, body)
        .finalize()
        .into_bytes();
    format!("t={timestamp},v1={}", hex::encode(sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_790_000_000;

    #[test]
    fn accepts_a_fresh_signature_and_any_of_several_v1() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_a", NOW, body);
        assert_eq!(
            verify(Some(&good), body, &["whsec_a".into()], NOW + 10),
            Ok(())
        );
        let other = sign("whsec_old", NOW, body);
        let good_v1 = good.split(',').nth(1).unwrap();
        let both = format!("{other},{good_v1}");
        assert_eq!(verify(Some(&both), body, &["whsec_a".into()], NOW), Ok(()));
        // An entry that is not a digest at all does not hide one that matches.
        let beside_junk = format!("t={NOW},v1=deadbeef,{good_v1},v1=zz");
        assert_eq!(
            verify(Some(&beside_junk), body, &["whsec_a".into()], NOW),
            Ok(())
        );
        // Rotation on our side: either configured secret will do.
        assert_eq!(
            verify(
                Some(&other),
                body,
                &["whsec_a".into(), "whsec_old".into()],
                NOW
            ),
            Ok(())
        );
    }

    #[test]
    fn refuses_wrong_secret_altered_body_stale_and_malformed() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign("whsec_a", NOW, body);
        let secrets = ["whsec_a".to_string()];
        assert_eq!(
            verify(Some(&sign("whsec_b", NOW, body)), body, &secrets, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), br#"{"id":"evt_2"}"#, &secrets, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), body, &secrets, NOW + 3600),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&good), body, &secrets, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(None, body, &secrets, NOW),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,t=2,v1=00",
            "garbage",
            "t=1,v1=zz",
        ] {
            assert!(
                matches!(
                    verify(Some(bad), body, &secrets, NOW),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad}"
            );
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in ".{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn parser_round_trips_signed_headers(t in 0i64..4_000_000_000, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let header = sign("s", t, &body);
            let parsed = parse(&header).unwrap();
            prop_assert_eq!(parsed.timestamp, t);
            prop_assert_eq!(parsed.v1.len(), 1);
            prop_assert!(verify(Some(&header), &body, &["s".to_string()], t).is_ok());
        }

        #[test]
        fn any_flipped_byte_of_the_body_fails(body in proptest::collection::vec(any::<u8>(), 1..200), i in any::<prop::sample::Index>()) {
            let header = sign("s", NOW, &body);
            let mut altered = body.clone();
            let at = i.index(altered.len());
            altered[at] ^= 1;
            prop_assert_eq!(verify(Some(&header), &altered, &["s".to_string()], NOW), Err(SignatureError::Mismatch));
        }
    }
}
