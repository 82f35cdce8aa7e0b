//! The few HTTP shapes every handler shares, on the plain `http` types
//! that both lambda_http and the local gateway speak. No server here.

use crate::problem::{FieldError, Problem};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Request = http::Request<Bytes>;
pub type Response = http::Response<Bytes>;

/// A function's HTTP side, as the Lambda main and the local gateway call
/// it: one request in, one response out (errors are problem responses).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send;
}

/// docs/API.md: bodies over 64 KiB get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).expect("response serialises");
    let mut res = http::Response::new(Bytes::from(bytes));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub fn no_content() -> Response {
    let mut res = http::Response::new(Bytes::new());
    *res.status_mut() = StatusCode::NO_CONTENT;
    res
}

/// The problem as a response. A 5xx's detail stays in the log: the client
/// gets fixed words and a reference to quote, never an SDK's error text
/// (account ids, role ARNs, table names).
pub fn problem(p: &Problem) -> Response {
    let sent;
    let p = if p.status >= 500 {
        let reference = ulid::Ulid::new();
        tracing::error!(slug = p.slug, detail = %p.detail, %reference, "request failed");
        sent = Problem {
            detail: format!(
                "{} Quote reference {reference} if you contact us.",
                server_side(p.status)
            ),
            errors: Vec::new(),
            ..p.clone()
        };
        &sent
    } else {
        p
    };
    let mut res = http::Response::new(Bytes::from(p.to_json()));
    *res.status_mut() = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if p.status == 401 {
        // RFC 9110 11.6.1: a 401 names the scheme that would be accepted.
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(seconds) = p.retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    res
}

/// What a client is told of a 5xx.
fn server_side(status: u16) -> &'static str {
    match status {
        502 => "A service we depend on did not answer; try again shortly.",
        503 => "The service is briefly unavailable; try again shortly.",
        _ => "Something went wrong on our side.",
    }
}

/// Turns a handler's result into a response.
pub fn respond(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(|p| problem(&p))
}

/// Parses a JSON body: not JSON at all is 400 `malformed-body`; JSON of the
/// wrong shape is 422 `validation` naming the field (e.g. `passport.expiry_date`).
pub fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    within_body_limit(body)?;
    // Syntax first, so a truncated body is "malformed" rather than "invalid".
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::malformed_body(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let message = e.inner().to_string();
        // "missing field `x`" is reported at the parent: name the field itself.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(missing) if field.is_empty() => missing.to_owned(),
            Some(missing) => format!("{field}.{missing}"),
            None => field,
        };
        Problem::invalid_fields(vec![FieldError::new(field, message)])
    })
}

/// docs/API.md's 64 KiB limit: a larger body is 413 `body-too-large`.
pub fn within_body_limit(body: &[u8]) -> Result<(), Problem> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Problem::body_too_large(format!("{} bytes", body.len())));
    }
    Ok(())
}

/// The bearer token of `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The first value of a query parameter, decoded as a form field
/// (`+` is a space).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What API Gateway says of a request (payload v2 `requestContext`), put
/// in the request's extensions by the Lambda bridge; absent locally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GatewayContext {
    /// The route API Gateway matched: `POST /api/admin/invitations`, or a
    /// catch-all's `ANY /api/{proxy+}`.
    pub route_key: String,
    /// The IAM caller's ARN when the route is authorised with AWS_IAM
    /// (`requestContext.authorizer.iam.userArn`).
    pub iam_caller: Option<String>,
    /// The claims of the JWT the route's authorizer verified
    /// (`requestContext.authorizer.jwt.claims`), as API Gateway passes
    /// them: every value a string. The local gateway verifies its own
    /// staff tokens and fills this the same way.
    pub jwt_claims: Option<std::collections::BTreeMap<String, String>>,
}

/// The client's address, as the gateway saw it: the viewer's address
/// CloudFront reports in the cloud, the TCP peer locally. Per-client
/// counters key on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub String);

/// The client's address, or `unknown` (all such requests share a count).
pub fn client_addr(req: &Request) -> String {
    req.extensions()
        .get::<ClientAddr>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.clone())
}

/// 405 with the methods the resource does allow.
pub fn method_not_allowed(allow: &'static str) -> Response {
    let mut res = problem(&Problem::method_not_allowed(format!("allowed: {allow}")));
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        passport: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        expiry_date: chrono::NaiveDate,
        number: String,
    }

    #[test]
    fn malformed_json_is_400_and_bad_shapes_name_the_field() {
        assert_eq!(
            read_json::<Body>(b"{\"passport\":").unwrap_err().slug,
            "malformed-body"
        );
        let p = read_json::<Body>(br#"{"passport":{"expiry_date":"31/01/2031","number":"X"}}"#)
            .unwrap_err();
        assert_eq!((p.status, p.slug), (422, "validation"));
        assert_eq!(p.errors[0].field, "passport.expiry_date");
        let p = read_json::<Body>(br#"{"passport":{"expiry_date":"2031-01-31"}}"#).unwrap_err();
        assert_eq!(p.errors[0].field, "passport.number");
        let p = read_json::<Body>(b"[1]").unwrap_err();
        assert_eq!(p.slug, "validation");
    }

    #[test]
    fn server_errors_keep_their_detail_in_the_log() {
        let res = problem(&Problem::unavailable(
            "dispatch failure: arn:aws:iam::123456789012:role/visa-RenderVisaRole is not authorized",
        ));
        assert_eq!(res.status(), 503);
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(
            !detail.contains("arn:") && !detail.contains("123456789012"),
            "{detail}"
        );
        assert!(detail.contains("Quote reference "), "{detail}");
        assert_eq!(body["type"], "/problems/unavailable");
        // Below 500 the detail is the client's to read.
        let res = problem(&Problem::not_found("no such application"));
        let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
        assert_eq!(body["detail"], "no such application");
    }

    #[test]
    fn query_parameters_are_decoded_as_form_fields() {
        let req = http::Request::get("/api/x?a=1&passport_number=Z%2012&b=x+y")
            .body(Bytes::new())
            .unwrap();
        assert_eq!(
            query_param(&req, "passport_number").as_deref(),
            Some("Z 12")
        );
        assert_eq!(query_param(&req, "b").as_deref(), Some("x y"));
        assert_eq!(query_param(&req, "c"), None);
    }
}
