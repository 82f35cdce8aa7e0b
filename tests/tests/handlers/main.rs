//! Handlers called as plain functions: no process, no socket, a pinned
//! clock and ids, the embedded store on a temp file. The inner ring of the
//! tests (the subprocess suites drive the same handlers through visa-local
//! and the Lambda binaries). Here: every route and every problem slug
//! contract.py promises for it, with the windows and expiries reached by
//! moving the clock, not by waiting; `coverage` fails when a promised
//! (route, slug) is not answered in-process.
//!
//! `cargo test -p visa-tests --all-features --test handlers`

/// Cases that are tests of their own and, all together, part of the
/// coverage test's drive: `cases! { a, b }` makes `pub async fn all()`
/// running `a` then `b`, and one `#[tokio::test]` per case in `each`.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        /// Every case of this module, one after the other.
        pub async fn all() {
            $($case().await;)*
        }

        mod each {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case().await
                }
            )*
        }
    };
}

mod arrivals;
mod confirm;
mod coverage;
mod groups;
mod officer;
mod register;
mod render;
mod support;
mod webhook;
