//! visa-tests: the harness the cross-crate tests share.
//!
//! - `moto`: moto's server started (and installed) on demand, tables and
//!   buckets shaped like infra/template.yaml's.

pub mod moto;
