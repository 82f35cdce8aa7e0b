//! The site's pages over real HTTP: each arrives with its words in the
//! reader's language (the `visa_lang` cookie, else Accept-Language, else
//! English; `/ru/apply` names its own), as CloudFront's viewer-request
//! function maps them in the cloud.

mod common;

use common::Gateway;
use serde_json::Value;

fn message(lang: &str, key: &str) -> String {
    let path = format!("{}/../../site/i18n/{lang}.json", env!("CARGO_MANIFEST_DIR"));
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all[key].as_str().unwrap().to_owned()
}

async fn page(gw: &Gateway, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = gw.http.get(gw.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let lang = res
        .headers()
        .get("content-language")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, lang, res.text().await.unwrap())
}

#[tokio::test]
async fn pages_arrive_with_their_words_in_the_readers_language() {
    let gw = Gateway::start();
    let cases = [
        ("/", vec![], "en", "start.heading"),
        (
            "/sign-in",
            vec![("accept-language", "kk-KZ,ru;q=0.8")],
            "kk",
            "sign_in.heading",
        ),
        (
            "/sign-in",
            vec![("cookie", "a=b; visa_lang=ru"), ("accept-language", "kk")],
            "ru",
            "sign_in.heading",
        ),
        (
            "/kk/apply",
            vec![("cookie", "visa_lang=ru")],
            "kk",
            "apply.heading",
        ),
        ("/ru", vec![], "ru", "start.heading"),
        (
            "/officer/",
            vec![("accept-language", "de")],
            "en",
            "officer.sign_in.heading",
        ),
    ];
    for (path, headers, lang, key) in cases {
        let (status, content_language, html) = page(&gw, path, &headers).await;
        assert_eq!((status, content_language.as_str()), (200, lang), "{path}");
        assert!(
            html.contains(&format!("<html lang=\"{lang}\"")),
            "{path}: {html}"
        );
        let heading = message(lang, key);
        assert!(
            html.contains(&format!("data-i18n=\"{key}\">{heading}</h1>")),
            "{path}: no {heading:?} in {html}"
        );
    }
    for path in ["/nope", "/fr/apply", "/ru/nope", "/apply/x", "/Apply"] {
        let (status, _, _) = page(&gw, path, &[]).await;
        assert_eq!(status, 404, "{path}");
    }
    // Files are served as they are, whatever the language.
    let (status, _, css) = page(&gw, "/css/main.css", &[("cookie", "visa_lang=kk")]).await;
    assert_eq!(status, 200);
    assert!(!css.contains("<html"));
}
