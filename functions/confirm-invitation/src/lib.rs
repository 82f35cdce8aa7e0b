//! confirm-invitation: the applicant turns an approved invitation into an
//! application, confirms the data against the passport and is sent to pay;
//! the migration officer creates and revokes invitations.

mod admin;
mod applications;
mod arrivals;
mod catalogue;
mod groups;
mod hosts;
mod officer;
mod requests;
mod staff;
mod verdict;
mod visas;

use std::sync::Arc;
use visa_core::annex::Annexes;
use visa_core::clock::{Clock, Ids};
use visa_core::http::{Request, Response, respond};
use visa_core::money::Fees;
use visa_core::notify::EmailQueue;
use visa_core::payment::PaymentProvider;
use visa_core::problem::Problem;
use visa_core::routes::{self, Function, Op};
use visa_core::staff::StaffDirectory;
use visa_core::store::{
    Applications, Arrivals, AuditTrail, Groups, Hosts, InvitationRequests, Invitations, Sessions,
    Visas,
};

pub use visa_core::auth::AdminAuth;

pub struct Deps {
    pub invitations: Arc<dyn Invitations>,
    pub applications: Arc<dyn Applications>,
    pub sessions: Arc<dyn Sessions>,
    /// Officers' changes to issued visas, and the audit trail they write.
    pub visas: Arc<dyn Visas>,
    pub audit: Arc<dyn AuditTrail>,
    /// The holder of a changed visa is emailed (render-visa sends it).
    pub emails: Arc<dyn EmailQueue>,
    pub payments: Arc<dyn PaymentProvider>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub annexes: &'static Annexes,
    pub fees: Fees,
    /// Where the site lives, for the checkout's return links.
    pub site_origin: String,
    pub admin: AdminAuth,
    /// Where staff sign in: Cognito's user pool in the cloud, visa-local's
    /// directory on a laptop.
    pub staff: Arc<dyn StaffDirectory>,
    /// How long a checkout session takes payment (Stripe: 30 min to 24 h).
    pub checkout_lifetime: chrono::Duration,
    /// Inviting parties, which officers approve.
    pub hosts: Arc<dyn Hosts>,
    /// Their invitation requests, which officers decide.
    pub requests: Arc<dyn InvitationRequests>,
    /// Their arrival notices, which the border's entries open.
    pub arrivals: Arc<dyn Arrivals>,
    /// Families and groups paying once.
    pub groups: Arc<dyn Groups>,
}

impl Deps {
    /// What the visa's life (`visa_core::visa_life`) reads, writes and tells.
    pub(crate) fn ports(&self) -> visa_core::visa_life::Ports<'_> {
        visa_core::visa_life::Ports {
            applications: self.applications.as_ref(),
            visas: self.visas.as_ref(),
            emails: self.emails.as_ref(),
            clock: self.clock.as_ref(),
            ids: self.ids.as_ref(),
            invitations: self.invitations.as_ref(),
            requests: self.requests.as_ref(),
            arrivals: self.arrivals.as_ref(),
        }
    }
}

/// Stripe's longest, less an hour's margin for clocks and retries.
pub const DEFAULT_CHECKOUT_MINUTES: i64 = 23 * 60;

impl visa_core::http::Handler for Deps {
    fn handle(&self, req: Request) -> impl Future<Output = Response> + Send {
        handle(self, req)
    }
}

pub async fn handle(deps: &Deps, req: Request) -> Response {
    let m = match routes::dispatch(Function::ConfirmInvitation, &req) {
        Ok(m) => m,
        Err(res) => return *res,
    };
    match m.route.op {
        Op::GetHealth => catalogue::health(),
        Op::ListCountries => catalogue::countries(deps),
        Op::GetRequirements => respond(catalogue::requirements(deps, &req)),
        Op::CreateApplication => respond(applications::create(deps, &req).await),
        Op::ListApplications => respond(applications::list(deps, &req).await),
        Op::GetApplication => respond(applications::get(deps, &req, m.param("id")).await),
        Op::ConfirmApplication => respond(applications::confirm(deps, &req, m.param("id")).await),
        Op::CreateGroup => respond(groups::create(deps, &req).await),
        Op::GetGroup => respond(groups::get(deps, &req, m.param("id")).await),
        Op::DissolveGroup => respond(groups::dissolve(deps, &req, m.param("id")).await),
        Op::ConfirmGroup => respond(groups::confirm(deps, &req, m.param("id")).await),
        Op::CreateInvitation | Op::IssueInvitation => {
            respond(admin::create(deps, &req, m.route).await)
        }
        Op::RevokeInvitation | Op::WithdrawInvitation => {
            respond(admin::revoke(deps, &req, m.route, m.param("number")).await)
        }
        Op::CancelVisa
        | Op::RestoreVisa
        | Op::ShortenVisa
        | Op::OfficerCancelVisa
        | Op::OfficerRestoreVisa
        | Op::OfficerShortenVisa => {
            respond(visas::change(deps, &req, m.route, m.param("visa_number")).await)
        }
        Op::ExportAuditEvents | Op::ReadAuditEvents => {
            respond(visas::export(deps, &req, m.route).await)
        }
        Op::StartStaffSignIn => respond(staff::start(deps, &req).await),
        Op::CompleteStaffSignIn => respond(staff::complete(deps, &req).await),
        Op::GetStaffMember => respond(staff::me(deps, &req, m.route)),
        Op::SearchApplications => respond(officer::search(deps, &req, m.route).await),
        Op::GetApplicationRecord => {
            respond(officer::record(deps, &req, m.route, m.param("id")).await)
        }
        Op::RecordEntry | Op::RecordExit => {
            respond(officer::crossing(deps, &req, m.route, m.param("visa_number")).await)
        }
        Op::SearchInvitations => respond(officer::invitations(deps, &req, m.route).await),
        Op::ListReviews => respond(officer::reviews(deps, &req, m.route).await),
        Op::DecideReview => respond(officer::decide(deps, &req, m.route, m.param("id")).await),
        Op::ListHosts => respond(hosts::list(deps, &req, m.route).await),
        Op::RequestInvitations => respond(requests::create(deps, &req).await),
        Op::ListHostRequests => respond(requests::list_own(deps, &req).await),
        Op::ListHostInvitees => respond(requests::invitees(deps, &req).await),
        Op::ListHostArrivals => respond(arrivals::list_own(deps, &req).await),
        Op::FileArrivalNotice => respond(arrivals::file(deps, &req, m.param("request_id")).await),
        Op::ListArrivals => respond(arrivals::list(deps, &req, m.route).await),
        Op::ListInvitationRequests => respond(requests::list(deps, &req, m.route).await),
        Op::DecideInvitationRequest => {
            respond(requests::decide(deps, &req, m.route, m.param("id")).await)
        }
        Op::DecideHost => respond(hosts::decide(deps, &req, m.route, m.param("id")).await),
        Op::GetInvitation => {
            respond(officer::invitation(deps, &req, m.route, m.param("number")).await)
        }
        // routes::dispatch hands this function only its own routes.
        _ => respond(Err(Problem::not_found("no such route"))),
    }
}
