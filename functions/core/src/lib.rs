//! visa-core: the e-visa domain, free of AWS and of any HTTP server.
//!
//! Types and the rules of the seed (the Visa and Migration Portal's e-visa
//! page), the application state machine, the ports the adapters implement,
//! and RFC 9457 problems with the stable slugs of docs/API.md.

pub mod account;
pub mod annex;
pub mod application;
pub mod arrival;
pub mod audit;
pub mod auth;
pub mod category;
pub mod clock;
pub mod date;
pub mod decision;
pub mod group;
pub mod host;
pub mod http;
pub mod invitation;
pub mod invitation_request;
pub mod kz_id;
pub mod mime;
pub mod money;
pub mod mrz;
pub mod names;
pub mod notify;
pub mod passport;
pub mod payment;
pub mod printable;
pub mod problem;
pub mod retention;
pub mod routes;
pub mod rules;
pub mod search;
pub mod signing;
pub mod staff;
pub mod store;
pub mod vds;
pub mod verification;
pub mod visa_life;
pub mod workdays;

pub use application::{Application, Status};
pub use category::Category;
pub use money::Money;
pub use problem::{FieldError, Problem};
