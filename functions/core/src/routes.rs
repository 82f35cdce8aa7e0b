//! Every `/api` route as data: method, path template, the function that
//! owns it and who may call it. The handlers dispatch from this table, the
//! local gateway picks the owning function from it, and a test holds it
//! equal to `infra/openapi.yaml` and to `infra/template.yaml`'s routes.
//!
//! Matching is strict, on the path exactly as received: no empty segment
//! dropped, no trailing slash ignored, nothing percent-decoded before the
//! match (`/api/admin/invitation%73` is no route). Path parameters are
//! decoded once, after matching. A GET route answers HEAD too (RFC 9110
//! 9.3.2).
//!
//! Adding a route: a row here, its handler arm, its operation in
//! `infra/openapi.yaml` and its `AWS::ApiGatewayV2::Route` in
//! `infra/template.yaml` (with a HEAD twin for a GET).

use crate::http::{Request, Response, method_not_allowed};
use crate::problem::Problem;
use http::Method;
use std::sync::LazyLock;

/// The Lambda functions (and binaries) that serve `/api`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    Register,
    ConfirmInvitation,
    PayWebhook,
    RenderVisa,
}

impl Function {
    pub const ALL: [Function; 4] = [
        Function::Register,
        Function::ConfirmInvitation,
        Function::PayWebhook,
        Function::RenderVisa,
    ];

    /// The binary's name (the template's `BuildProperties.Binary`).
    pub fn binary(self) -> &'static str {
        match self {
            Function::Register => "register",
            Function::ConfirmInvitation => "confirm-invitation",
            Function::PayWebhook => "pay-webhook",
            Function::RenderVisa => "render-visa",
        }
    }
}

/// The function that receives what matches no route (the template's
/// catch-all `ANY /api/{proxy+}`): it answers 404 or 405 from this table.
pub const CATCH_ALL: Function = Function::ConfirmInvitation;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    /// A session token of `POST /api/sessions`.
    Applicant,
    /// A migration officer: IAM in the cloud, the admin token locally.
    Officer,
    /// The payment provider, proven by the webhook signature.
    Webhook,
    /// A signed-in member of staff, any group (officer or auditor): the
    /// gateway's JWT authorizer, the group checked again by the function.
    Staff,
    /// A signed-in member of staff in the `officer` group: what changes
    /// records.
    StaffOfficer,
    /// A signed-in member of staff in the `border` group: entries and exits.
    StaffBorder,
}

impl Access {
    /// Behind the staff pool's JWT authorizer.
    pub fn is_staff(self) -> bool {
        matches!(
            self,
            Access::Staff | Access::StaffOfficer | Access::StaffBorder
        )
    }
}

/// What a route does: one per operation of `infra/openapi.yaml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    GetHealth,
    ListCountries,
    GetRequirements,
    CreateAccount,
    CreateSession,
    DeleteCurrentSession,
    RequestPasswordReset,
    ResetPassword,
    GetCurrentAccount,
    DeleteCurrentAccount,
    RequestEmailVerification,
    VerifyEmail,
    RegisterHost,
    GetCurrentHost,
    RequestInvitations,
    ListHostRequests,
    ListHostInvitees,
    ListHostArrivals,
    FileArrivalNotice,
    CreateApplication,
    ListApplications,
    GetApplication,
    ConfirmApplication,
    CreateGroup,
    GetGroup,
    DissolveGroup,
    ConfirmGroup,
    ReceivePaymentWebhook,
    GetVisaDownload,
    VerifyVisa,
    RetrieveVisa,
    GetJwks,
    GetSealCertificates,
    CreateSealCertificateRequest,
    CreateInvitation,
    RevokeInvitation,
    CancelVisa,
    RestoreVisa,
    ShortenVisa,
    ExportAuditEvents,
    StartStaffSignIn,
    CompleteStaffSignIn,
    GetStaffMember,
    SearchApplications,
    GetApplicationRecord,
    GetInvitation,
    IssueInvitation,
    WithdrawInvitation,
    OfficerCancelVisa,
    OfficerRestoreVisa,
    OfficerShortenVisa,
    ReadAuditEvents,
    ListHosts,
    DecideHost,
    ListInvitationRequests,
    DecideInvitationRequest,
    ListArrivals,
    ListReviews,
    DecideReview,
    SearchInvitations,
    RecordEntry,
    RecordExit,
}

#[derive(Debug)]
pub struct Route {
    pub op: Op,
    /// The openapi.yaml `operationId`.
    pub operation_id: &'static str,
    pub method: Method,
    /// `/api/...` with `{name}` parameters, as in openapi.yaml.
    pub path: &'static str,
    pub function: Function,
    pub access: Access,
}

impl Route {
    /// API Gateway's route key for this route (`requestContext.routeKey`).
    pub fn route_key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

macro_rules! routes {
    ($($op:ident $id:literal $method:ident $path:literal $function:ident $access:ident;)*) => {
        /// The table. Order does not matter: paths are matched by a radix tree.
        pub static ROUTES: &[Route] = &[$(Route {
            op: Op::$op,
            operation_id: $id,
            method: Method::$method,
            path: $path,
            function: Function::$function,
            access: Access::$access,
        }),*];
    };
}

routes! {
    GetHealth "getHealth" GET "/api/health" ConfirmInvitation Public;
    ListCountries "listCountries" GET "/api/countries" ConfirmInvitation Public;
    GetRequirements "getRequirements" GET "/api/requirements" ConfirmInvitation Public;
    CreateAccount "createAccount" POST "/api/accounts" Register Public;
    CreateSession "createSession" POST "/api/sessions" Register Public;
    DeleteCurrentSession "deleteCurrentSession" DELETE "/api/sessions/current" Register Applicant;
    RequestPasswordReset "requestPasswordReset" POST "/api/password-resets" Register Public;
    ResetPassword "resetPassword" POST "/api/password-resets/confirmation" Register Public;
    GetCurrentAccount "getCurrentAccount" GET "/api/accounts/current" Register Applicant;
    DeleteCurrentAccount "deleteCurrentAccount" DELETE "/api/accounts/current" Register Applicant;
    RequestEmailVerification "requestEmailVerification" POST "/api/email-verifications" Register Applicant;
    VerifyEmail "verifyEmail" POST "/api/email-verifications/confirmation" Register Public;
    RegisterHost "registerHost" POST "/api/hosts" Register Applicant;
    GetCurrentHost "getCurrentHost" GET "/api/hosts/current" Register Applicant;
    RequestInvitations "requestInvitations" POST "/api/hosts/current/invitation-requests" ConfirmInvitation Applicant;
    ListHostRequests "listHostRequests" GET "/api/hosts/current/invitation-requests" ConfirmInvitation Applicant;
    ListHostInvitees "listHostInvitees" GET "/api/hosts/current/invitees" ConfirmInvitation Applicant;
    ListHostArrivals "listHostArrivals" GET "/api/hosts/current/arrivals" ConfirmInvitation Applicant;
    FileArrivalNotice "fileArrivalNotice" POST "/api/hosts/current/arrivals/{request_id}/notice" ConfirmInvitation Applicant;
    CreateApplication "createApplication" POST "/api/applications" ConfirmInvitation Applicant;
    ListApplications "listApplications" GET "/api/applications" ConfirmInvitation Applicant;
    GetApplication "getApplication" GET "/api/applications/{id}" ConfirmInvitation Applicant;
    ConfirmApplication "confirmApplication" POST "/api/applications/{id}/confirmation" ConfirmInvitation Applicant;
    CreateGroup "createGroup" POST "/api/groups" ConfirmInvitation Applicant;
    GetGroup "getGroup" GET "/api/groups/{id}" ConfirmInvitation Applicant;
    DissolveGroup "dissolveGroup" DELETE "/api/groups/{id}" ConfirmInvitation Applicant;
    ConfirmGroup "confirmGroup" POST "/api/groups/{id}/confirmation" ConfirmInvitation Applicant;
    ReceivePaymentWebhook "receivePaymentWebhook" POST "/api/webhooks/payment" PayWebhook Webhook;
    GetVisaDownload "getVisaDownload" GET "/api/applications/{id}/visa" RenderVisa Applicant;
    VerifyVisa "verifyVisa" GET "/api/visas/{visa_number}/verification" RenderVisa Public;
    RetrieveVisa "retrieveVisa" POST "/api/visa-retrievals" RenderVisa Public;
    GetJwks "getJwks" GET "/api/.well-known/jwks.json" RenderVisa Public;
    GetSealCertificates "getSealCertificates" GET "/api/.well-known/seal-certificates.pem" RenderVisa Public;
    CreateSealCertificateRequest "createSealCertificateRequest" POST "/api/admin/seal-certificate-requests" RenderVisa Officer;
    CreateInvitation "createInvitation" POST "/api/admin/invitations" ConfirmInvitation Officer;
    RevokeInvitation "revokeInvitation" DELETE "/api/admin/invitations/{number}" ConfirmInvitation Officer;
    CancelVisa "cancelVisa" POST "/api/admin/visas/{visa_number}/cancellation" ConfirmInvitation Officer;
    RestoreVisa "restoreVisa" POST "/api/admin/visas/{visa_number}/restoration" ConfirmInvitation Officer;
    ShortenVisa "shortenVisa" POST "/api/admin/visas/{visa_number}/shortening" ConfirmInvitation Officer;
    ExportAuditEvents "exportAuditEvents" GET "/api/admin/audit-events" ConfirmInvitation Officer;
    StartStaffSignIn "startStaffSignIn" POST "/api/officer/sessions" ConfirmInvitation Public;
    CompleteStaffSignIn "completeStaffSignIn" POST "/api/officer/sessions/totp" ConfirmInvitation Public;
    GetStaffMember "getStaffMember" GET "/api/officer/me" ConfirmInvitation Staff;
    SearchApplications "searchApplications" GET "/api/officer/applications" ConfirmInvitation Staff;
    GetApplicationRecord "getApplicationRecord" GET "/api/officer/applications/{id}" ConfirmInvitation Staff;
    GetInvitation "getInvitation" GET "/api/officer/invitations/{number}" ConfirmInvitation Staff;
    IssueInvitation "issueInvitation" POST "/api/officer/invitations" ConfirmInvitation StaffOfficer;
    WithdrawInvitation "withdrawInvitation" POST "/api/officer/invitations/{number}/revocation" ConfirmInvitation StaffOfficer;
    OfficerCancelVisa "officerCancelVisa" POST "/api/officer/visas/{visa_number}/cancellation" ConfirmInvitation StaffOfficer;
    OfficerRestoreVisa "officerRestoreVisa" POST "/api/officer/visas/{visa_number}/restoration" ConfirmInvitation StaffOfficer;
    OfficerShortenVisa "officerShortenVisa" POST "/api/officer/visas/{visa_number}/shortening" ConfirmInvitation StaffOfficer;
    ReadAuditEvents "readAuditEvents" GET "/api/officer/audit-events" ConfirmInvitation Staff;
    ListHosts "listHosts" GET "/api/officer/hosts" ConfirmInvitation Staff;
    DecideHost "decideHost" POST "/api/officer/hosts/{id}/decision" ConfirmInvitation StaffOfficer;
    ListInvitationRequests "listInvitationRequests" GET "/api/officer/invitation-requests" ConfirmInvitation Staff;
    DecideInvitationRequest "decideInvitationRequest" POST "/api/officer/invitation-requests/{id}/decision" ConfirmInvitation StaffOfficer;
    ListArrivals "listArrivals" GET "/api/officer/arrivals" ConfirmInvitation Staff;
    ListReviews "listReviews" GET "/api/officer/reviews" ConfirmInvitation Staff;
    DecideReview "decideReview" POST "/api/officer/applications/{id}/review-decision" ConfirmInvitation StaffOfficer;
    SearchInvitations "searchInvitations" GET "/api/officer/invitations" ConfirmInvitation Staff;
    RecordEntry "recordEntry" POST "/api/officer/visas/{visa_number}/entry" ConfirmInvitation StaffBorder;
    RecordExit "recordExit" POST "/api/officer/visas/{visa_number}/exit" ConfirmInvitation StaffBorder;
}

/// One path template: its routes by method, and the `Allow` it answers.
struct Resource {
    routes: Vec<&'static Route>,
    allow: String,
}

static TREE: LazyLock<matchit::Router<Resource>> = LazyLock::new(|| {
    let mut paths: Vec<&'static str> = ROUTES.iter().map(|r| r.path).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut tree = matchit::Router::new();
    for path in paths {
        let routes: Vec<_> = ROUTES.iter().filter(|r| r.path == path).collect();
        let mut methods: Vec<&str> = routes.iter().map(|r| r.method.as_str()).collect();
        if methods.contains(&"GET") {
            methods.push("HEAD");
        }
        methods.sort_unstable();
        let allow = methods.join(", ");
        tree.insert(path, Resource { routes, allow })
            .expect("route templates do not conflict");
    }
    tree
});

/// A request's route, with its path parameters decoded.
#[derive(Debug)]
pub struct Matched {
    pub route: &'static Route,
    params: Vec<(&'static str, String)>,
}

impl Matched {
    /// A path parameter, percent-decoded.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

#[derive(Debug)]
pub enum Resolved {
    Found(Matched),
    /// The path is a route's, the method none of its: the methods that are.
    MethodNotAllowed(&'static str),
    NotFound,
}

/// The route of `method` on `path` (the path exactly as received, without
/// the query).
pub fn resolve(method: &Method, path: &str) -> Resolved {
    let Ok(found) = TREE.at(path) else {
        return Resolved::NotFound;
    };
    // A parameter that is empty (a doubled slash), not UTF-8, or hides a
    // slash (a segment boundary) names nothing, whatever the method.
    let template = found.value.routes[0].path;
    let mut params = Vec::with_capacity(found.params.len());
    for (name, raw) in found.params.iter() {
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(value) if !value.is_empty() && !value.contains('/') => {
                params.push((route_param_name(template, name), value.into_owned()));
            }
            _ => return Resolved::NotFound,
        }
    }
    let wanted = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let Some(route) = found.value.routes.iter().find(|r| r.method == wanted) else {
        return Resolved::MethodNotAllowed(found.value.allow.as_str());
    };
    Resolved::Found(Matched { route, params })
}

/// The parameter's name as a `&'static str` of the route's own template.
fn route_param_name(path: &'static str, name: &str) -> &'static str {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .find(|n| *n == name)
        .unwrap_or("")
}

/// The function that serves `method` on `path`: the route's owner, else
/// the catch-all (which answers 404 or 405), as API Gateway routes it.
pub fn owner(method: &Method, path: &str) -> Function {
    match resolve(method, path) {
        Resolved::Found(m) => m.route.function,
        _ => CATCH_ALL,
    }
}

/// The route `function` serves for this request, or the answer when there
/// is none: 404 for an unknown path, 405 with `Allow` for a wrong method.
/// A route of another function (a gateway that routes wrongly) is 404 too.
///
/// A body over docs/API.md's 64 KiB is 413 first, on every route and on
/// none, as the local gateway answers before routing: API Gateway hands a
/// Lambda bodies of megabytes, and a route that reads no JSON body would
/// otherwise never say so.
pub fn dispatch(function: Function, req: &Request) -> Result<Matched, Box<Response>> {
    if let Err(p) = crate::http::within_body_limit(req.body()) {
        return Err(Box::new(crate::http::problem(&p)));
    }
    match resolve(req.method(), req.uri().path()) {
        Resolved::Found(m) if m.route.function == function => Ok(m),
        Resolved::Found(m) => {
            tracing::error!(
                route = %m.route.route_key(),
                owner = m.route.function.binary(),
                function = function.binary(),
                "a route reached a function that does not own it"
            );
            Err(Box::new(not_found()))
        }
        Resolved::MethodNotAllowed(allow) => Err(Box::new(method_not_allowed(allow))),
        Resolved::NotFound => Err(Box::new(not_found())),
    }
}

fn not_found() -> Response {
    crate::http::problem(&Problem::not_found("no such route"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: Method, path: &str) -> Option<(Op, Vec<(&'static str, String)>)> {
        match resolve(&method, path) {
            Resolved::Found(m) => Some((m.route.op, m.params)),
            _ => None,
        }
    }

    #[test]
    fn routes_match_exactly_and_decode_parameters_once() {
        assert_eq!(
            found(Method::GET, "/api/applications/01J%20X"),
            Some((Op::GetApplication, vec![("id", "01J X".to_owned())]))
        );
        assert_eq!(
            found(Method::HEAD, "/api/.well-known/jwks.json").map(|f| f.0),
            Some(Op::GetJwks)
        );
        assert_eq!(
            found(Method::DELETE, "/api/admin/invitations/250000000001"),
            Some((
                Op::RevokeInvitation,
                vec![("number", "250000000001".to_owned())]
            ))
        );
        // Decoded once: %2541 is "%41", not "A".
        assert_eq!(
            found(Method::GET, "/api/applications/%2541").unwrap().1,
            [("id", "%41".to_owned())]
        );
    }

    #[test]
    fn near_misses_are_no_route() {
        for path in [
            "/api/admin/invitation%73",
            "/api//admin/invitations",
            "/api/admin/invitations/",
            "/api/admin//invitations",
            "/api/admin%2Finvitations",
            "/api/%61dmin/invitations",
            "/api/admin/invitations/%2F",
            "/api/applications/",
            "/api/applications//visa",
            "/api/applications/a/b",
            "/api/%2Ewell-known/jwks.json",
            "/api/applications/%FF",
            "/api/health/",
            "//api/health",
            "/api",
            "/api/",
            "/apix/health",
            "/API/health",
        ] {
            assert!(
                matches!(resolve(&Method::POST, path), Resolved::NotFound),
                "{path} matched"
            );
            assert!(
                matches!(resolve(&Method::DELETE, path), Resolved::NotFound),
                "{path} matched"
            );
        }
    }

    #[test]
    fn wrong_methods_name_the_allowed_ones() {
        let allow = |m: Method, p: &str| match resolve(&m, p) {
            Resolved::MethodNotAllowed(a) => a,
            other => panic!("{m} {p}: {other:?}"),
        };
        assert_eq!(allow(Method::PUT, "/api/accounts"), "POST");
        assert_eq!(
            allow(Method::DELETE, "/api/applications"),
            "GET, HEAD, POST"
        );
        assert_eq!(allow(Method::POST, "/api/applications/x"), "GET, HEAD");
        assert_eq!(allow(Method::GET, "/api/admin/invitations/1"), "DELETE");
        assert_eq!(allow(Method::OPTIONS, "/api/health"), "GET, HEAD");
    }

    #[test]
    fn owners_and_the_catch_all() {
        assert_eq!(owner(&Method::POST, "/api/accounts"), Function::Register);
        assert_eq!(
            owner(&Method::HEAD, "/api/applications/a/visa"),
            Function::RenderVisa
        );
        assert_eq!(owner(&Method::PUT, "/api/accounts"), CATCH_ALL);
        assert_eq!(owner(&Method::POST, "/api/nope"), CATCH_ALL);
        let req = http::Request::put("/api/accounts")
            .body(bytes::Bytes::new())
            .unwrap();
        let res = dispatch(CATCH_ALL, &req).unwrap_err();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], "POST");
        let req = http::Request::post("/api/accounts")
            .body(bytes::Bytes::new())
            .unwrap();
        assert_eq!(dispatch(CATCH_ALL, &req).unwrap_err().status(), 404);
        assert!(dispatch(Function::Register, &req).is_ok());
        let big = bytes::Bytes::from(vec![b' '; crate::http::MAX_BODY_BYTES + 1]);
        let req = http::Request::get("/api/health").body(big).unwrap();
        assert_eq!(dispatch(CATCH_ALL, &req).unwrap_err().status(), 413);
    }

    #[test]
    fn every_operation_once_and_admin_routes_are_confirm_invitations() {
        let mut ids: Vec<_> = ROUTES.iter().map(|r| r.operation_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ROUTES.len());
        for r in ROUTES {
            assert!(r.path.starts_with("/api/"), "{}", r.path);
            if r.access == Access::Officer {
                // But the seal's certificate request: render-visa alone may
                // sign with the visa key.
                let signer = r.op == Op::CreateSealCertificateRequest;
                assert_eq!(
                    r.function,
                    if signer {
                        Function::RenderVisa
                    } else {
                        Function::ConfirmInvitation
                    }
                );
                assert!(r.path.starts_with("/api/admin/"));
            }
            // The JWT authorizer sits on /api/officer/* and nowhere else.
            if r.access.is_staff() {
                assert!(r.path.starts_with("/api/officer/"), "{}", r.path);
            } else if r.path.starts_with("/api/officer/") {
                assert!(r.path.starts_with("/api/officer/sessions"), "{}", r.path);
            }
        }
    }
}
