//! Build script shared by the four Lambda crates (`build = "../lambda-link.rs"`):
//! how their release bootstraps are linked.
//!
//! - `-no-pie`: a fixed-address executable. A PIE bootstrap carries a
//!   relocation for every pointer in its read-only data (PERFORMANCE.md
//!   counts them) that the loader applies, dirtying those pages, at every cold
//!   start; Amazon Linux 2023's glibc (2.34) cannot read the packed (RELR)
//!   form. Inside a single-tenant Firecracker microVM the lost ASLR of the
//!   executable image is worth less than the smaller zip and the faster init.
//! - `--icf=all`: lld folds functions whose machine code is identical (generic
//!   code instantiated for types of the same layout).
//!   Rust promises nothing about function address uniqueness, so folding is
//!   safe. Only with rustc's own lld (the x86_64 default since Rust 1.90):
//!   GNU ld lacks it and zig's driver, which cargo-lambda links arm64 with,
//!   refuses to pass it on.
//!
//! Only for the `lambda` feature in the release profile on Linux: the dev
//! profile that tests build is untouched, and link arguments for binaries
//! never reach build scripts or proc macros (which must stay PIC).

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=../lambda-link.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |k: &str| env::var(k).unwrap_or_default();
    let shipping = env::var_os("CARGO_FEATURE_LAMBDA").is_some()
        && var("PROFILE") == "release"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if !shipping {
        return;
    }
    println!("cargo:rustc-link-arg-bins=-no-pie");
    let rust_lld = var("RUSTC_LINKER").is_empty() && var("TARGET") == "x86_64-unknown-linux-gnu";
    if rust_lld {
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}
