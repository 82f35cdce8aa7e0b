//! The route table's matcher (functions/core/src/routes.rs) on arbitrary
//! methods and paths: it never panics; a path it matches is one of the
//! table's templates with each parameter a single non-empty segment as
//! sent, decoded once, never hiding a slash; a 405 names at least one method.

#![no_main]

use libfuzzer_sys::fuzz_target;
use visa_core::routes::{Resolved, resolve};

fuzz_target!(|input: (u8, &str)| {
    let (m, path) = input;
    let method = [
        http::Method::GET,
        http::Method::HEAD,
        http::Method::POST,
        http::Method::PUT,
        http::Method::DELETE,
        http::Method::OPTIONS,
    ][usize::from(m) % 6]
        .clone();
    match resolve(&method, path) {
        Resolved::Found(found) => {
            let template: Vec<&str> = found.route.path.split('/').collect();
            let given: Vec<&str> = path.split('/').collect();
            assert_eq!(
                template.len(),
                given.len(),
                "{path} vs {}",
                found.route.path
            );
            for (t, g) in template.iter().zip(&given) {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    assert!(!g.is_empty(), "{path}: empty {name}");
                    let decoded = percent_encoding::percent_decode_str(g)
                        .decode_utf8()
                        .unwrap();
                    assert_eq!(found.param(name), decoded, "{path}: {name}");
                    assert!(!decoded.contains('/'), "{path}: {name} hides a slash");
                } else {
                    assert_eq!(t, g, "{path}: fixed segment");
                }
            }
        }
        Resolved::MethodNotAllowed(allow) => assert!(!allow.is_empty()),
        Resolved::NotFound => {}
    }
});
