//! visa-tests: the harness the cross-crate tests share.
//!
//! - `moto`: moto's server started (and installed) on demand, tables and
//!   buckets shaped like infra/template.yaml's.
//! - `runtime_api`: a Lambda Runtime API emulator that runs the built
//!   function binaries as Lambda would, and times their init.
//! - `apigw`: API Gateway's routes as infra/template.yaml declares them,
//!   and the route AWS would select for a request.
//! - `counting_proxy`: counts the AWS calls a flow makes and, given the
//!   roles, authorises each against its function's role as AWS would.
//! - `iam`: the template's role and key policies, the ARN each call names,
//!   and the decision.
//! - `sigv4`: API Gateway's IAM authorisation of a signed request.
//! - `cognito`: the staff user pool in moto, and API Gateway's JWT
//!   authorizer of its tokens.

pub mod apigw;
pub mod cognito;
pub mod counting_proxy;
pub mod iam;
pub mod moto;
pub mod runtime_api;
pub mod sigv4;
