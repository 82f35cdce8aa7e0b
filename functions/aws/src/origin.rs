//! Only CloudFront reaches the public routes. CloudFront adds
//! `X-Origin-Verify: <secret>` to every /api request it forwards; a request
//! without it came to the execute-api endpoint directly, past the WAF's
//! per-client limits, and is refused. IAM-authorised requests (the
//! officers' routes, SigV4-signed straight to execute-api) are proven by
//! API Gateway instead and need no header.

use bytes::Bytes;
use subtle::ConstantTimeEq;
use visa_core::http::{GatewayContext, Response, respond};
use visa_core::problem::Problem;

pub const HEADER: &str = "x-origin-verify";
/// The value CloudFront sends (the template's `OriginVerifySecret`).
pub const SECRET_VAR: &str = "ORIGIN_VERIFY_SECRET";
/// A second accepted value while the secret is rotated (infra/README.md).
pub const SECRET_ALT_VAR: &str = "ORIGIN_VERIFY_SECRET_ALT";

#[derive(Clone, Debug, Default)]
pub struct OriginGuard {
    accepted: Vec<String>,
}

impl OriginGuard {
    /// Accepts requests carrying any of `values` (empty ones ignored). No
    /// value at all leaves every request through: a function run outside
    /// the stack (tests, the emulator) has no CloudFront in front.
    pub fn new<I: IntoIterator<Item = String>>(values: I) -> Self {
        OriginGuard {
            accepted: values.into_iter().filter(|v| !v.is_empty()).collect(),
        }
    }

    pub fn from_env() -> Self {
        OriginGuard::new(
            [SECRET_VAR, SECRET_ALT_VAR]
                .into_iter()
                .filter_map(|name| std::env::var(name).ok()),
        )
    }

    /// Lets `req` on (without the header, which no handler needs), or
    /// answers it 403 `forbidden`.
    pub fn admit(&self, req: &mut http::Request<Bytes>) -> Result<(), Box<Response>> {
        if self.accepted.is_empty() {
            return Ok(());
        }
        let given = req.headers_mut().remove(HEADER);
        let iam = req
            .extensions()
            .get::<GatewayContext>()
            .is_some_and(|c| c.iam_caller.is_some());
        let matches = given.is_some_and(|given| {
            // Every value compared, in constant time: how much of a guess
            // matched must not show in the timing.
            self.accepted.iter().fold(false, |hit, v| {
                hit | bool::from(v.as_bytes().ct_eq(given.as_bytes()))
            })
        });
        if matches || iam {
            Ok(())
        } else {
            tracing::warn!(path = %req.uri().path(), "request without CloudFront's origin header refused");
            Err(Box::new(respond(Err(Problem::forbidden(
                "this endpoint is served only through the portal's address",
            )))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(header: Option<&str>, iam: bool) -> http::Request<Bytes> {
        let mut req = http::Request::builder().uri("/api/countries");
        if let Some(h) = header {
            req = req.header(HEADER, h);
        }
        let mut req = req.body(Bytes::new()).unwrap();
        req.extensions_mut().insert(GatewayContext {
            route_key: "GET /api/countries".into(),
            iam_caller: iam.then(|| "arn:aws:iam::1:user/officer".to_owned()),
            jwt_claims: None,
        });
        req
    }

    #[test]
    fn only_cloudfronts_value_or_an_iam_caller_gets_through() {
        let guard = OriginGuard::new(["s3cret-current".to_owned(), "s3cret-next".to_owned()]);
        for ok in ["s3cret-current", "s3cret-next"] {
            let mut req = request(Some(ok), false);
            assert!(guard.admit(&mut req).is_ok(), "{ok}");
            assert!(
                req.headers().get(HEADER).is_none(),
                "the header goes no further"
            );
        }
        for bad in [
            Some("s3cret-curren"),
            Some("s3cret-current "),
            Some(""),
            None,
        ] {
            let refused = guard.admit(&mut request(bad, false)).unwrap_err();
            assert_eq!(refused.status(), 403, "{bad:?}");
            assert_eq!(
                refused.headers()["content-type"],
                "application/problem+json"
            );
        }
        assert!(guard.admit(&mut request(None, true)).is_ok());
    }

    #[test]
    fn without_a_configured_value_nothing_is_checked() {
        let guard = OriginGuard::new([String::new()]);
        assert!(guard.admit(&mut request(None, false)).is_ok());
    }
}
