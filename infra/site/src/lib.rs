//! The site's pages with their words already in them: each `site/*.html`
//! carries only translation keys (`data-i18n`, `data-i18n-attr`,
//! `data-title`), which `site/js/i18n.js` fills in the browser; here the
//! same keys are filled from the same `site/i18n/<lang>.json` ahead of time,
//! so a page reads on a slow link before any script arrives, and without
//! scripts at all. The script then finds the words already there and
//! translates again only when the reader changes language.
//!
//! The local gateway renders a page per request; `visa-site build` writes
//! every page in every language for the deploy (`<out>/<lang>/<page>.html`).

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub const LANGUAGES: [&str; 3] = ["en", "ru", "kk"];
/// The cookie `site/js/i18n.js` sets when the reader picks a language (and
/// whenever it remembers one), so the next page arrives in it.
pub const LANG_COOKIE: &str = "visa_lang";

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a JSON object of strings: {1}")]
    Messages(PathBuf, String),
}

/// One language's messages (`site/i18n/<lang>.json`).
pub struct Messages(Map<String, Value>);

impl Messages {
    pub fn load(site_dir: &Path, lang: &str) -> Result<Messages, SiteError> {
        let path = site_dir.join("i18n").join(format!("{lang}.json"));
        let text = std::fs::read_to_string(&path).map_err(|e| SiteError::Io(path.clone(), e))?;
        Messages::parse(&text).map_err(|e| SiteError::Messages(path, e))
    }

    pub fn parse(text: &str) -> Result<Messages, String> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Messages(map)),
            Ok(_) => Err("not an object".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// A message the page can show as it is: one that needs no value the
    /// script alone knows (`{name}` placeholders stay for the script).
    fn plain(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|m| !m.contains('{'))
    }
}

/// The language a page request asks for: the reader's choice (the
/// cookie), else the first supported language of `Accept-Language`, else
/// English, as `i18n.js` chooses in the browser.
pub fn negotiate(cookie: Option<&str>, accept_language: Option<&str>) -> &'static str {
    let chosen = cookie
        .into_iter()
        .flat_map(|c| c.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name.trim() == LANG_COOKIE).then(|| value.trim())
        });
    if let Some(lang) = chosen.and_then(supported) {
        return lang;
    }
    // Quality values are not weighed: browsers send their list in order.
    accept_language
        .into_iter()
        .flat_map(|h| h.split(','))
        .filter_map(|tag| tag.split(';').next())
        .filter_map(|tag| tag.trim().split('-').next())
        .find_map(|base| supported(&base.to_ascii_lowercase()))
        .unwrap_or("en")
}

fn supported(code: &str) -> Option<&'static str> {
    LANGUAGES.into_iter().find(|l| *l == code)
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// A start tag as written: its name and attributes, in order.
struct StartTag {
    name: String,
    attrs: Vec<(String, Option<String>)>,
    self_closing: bool,
}

impl StartTag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn set(&mut self, name: &str, value: String) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = Some(value),
            None => self.attrs.push((name.to_owned(), Some(value))),
        }
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (name, value) in &self.attrs {
            out.push(' ');
            out.push_str(name);
            if let Some(v) = value {
                out.push_str("=\"");
                out.push_str(&escape_attr(v));
                out.push('"');
            }
        }
        out.push_str(if self.self_closing { " />" } else { ">" });
    }
}

/// Reads the start tag at `s` (just after its `<`): the tag and the length
/// read, up to and with its `>`; `None` for what is not one.
fn start_tag(s: &str) -> Option<(StartTag, usize)> {
    let bytes = s.as_bytes();
    let name_len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
        .count();
    if name_len == 0 || !bytes[0].is_ascii_alphabetic() {
        return None;
    }
    let mut tag = StartTag {
        name: s[..name_len].to_ascii_lowercase(),
        attrs: Vec::new(),
        self_closing: false,
    };
    let mut i = name_len;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        match bytes.get(i)? {
            b'>' => return Some((tag, i + 1)),
            b'/' if bytes.get(i + 1) == Some(&b'>') => {
                tag.self_closing = true;
                return Some((tag, i + 2));
            }
            _ => {}
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i]) {
            i += 1;
        }
        let name = s[start..i].to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        if bytes.get(i) != Some(&b'=') {
            tag.attrs.push((name, None));
            continue;
        }
        i += 1;
        let value = match bytes.get(i)? {
            q @ (b'"' | b'\'') => {
                let end = i + 1 + s[i + 1..].find(*q as char)?;
                let v = &s[i + 1..end];
                i = end + 1;
                v
            }
            _ => {
                let end = i + s[i..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .unwrap_or(s.len() - i);
                let v = &s[i..end];
                i = end;
                v
            }
        };
        tag.attrs.push((name, Some(unescape(value))));
    }
}

/// The entities the site's templates use in attribute values.
fn unescape(v: &str) -> String {
    v.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The page `template` in `lang`, its keys filled from `messages`: the
/// text of each empty element with `data-i18n` (unless it needs values
/// only the script has), each `data-i18n-attr` attribute, the title, and
/// `<html lang>`. Everything else is left as written.
pub fn render(template: &str, lang: &str, messages: &Messages) -> String {
    let mut out = String::with_capacity(template.len() + template.len() / 2);
    let mut rest = template;
    let mut title_key: Option<String> = None;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // Comments and declarations pass through whole.
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").map_or(rest.len(), |e| e + 7);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let Some((mut tag, len)) = start_tag(&rest[1..]) else {
            out.push('<');
            rest = &rest[1..];
            continue;
        };
        rest = &rest[1 + len..];
        if tag.name == "html" {
            tag.set("lang", lang.to_owned());
            title_key = tag.attr("data-title").map(str::to_owned);
        }
        if let Some(pairs) = tag.attr("data-i18n-attr").map(str::to_owned) {
            for pair in pairs.split(';') {
                if let Some((attr, key)) = pair.split_once(':')
                    && let Some(text) = messages.plain(key.trim())
                {
                    tag.set(attr.trim(), text.to_owned());
                }
            }
        }
        let close = format!("</{}>", tag.name);
        let empty = rest.starts_with(&close);
        let text = if !empty {
            None
        } else if tag.name == "title" {
            title_key.as_deref().and_then(|k| title(messages, k))
        } else if tag.attr("data-i18n-vars").is_some() {
            None
        } else {
            tag.attr("data-i18n")
                .and_then(|k| messages.plain(k))
                .map(str::to_owned)
        };
        tag.write(&mut out);
        if let Some(text) = text {
            out.push_str(&escape_text(&text));
        }
    }
    out.push_str(rest);
    out
}

/// "<page> – <service>", as `i18n.js` titles a page.
fn title(messages: &Messages, page_key: &str) -> Option<String> {
    let pattern = messages.get("title.pattern")?;
    Some(
        pattern
            .replace("{page}", messages.get(page_key)?)
            .replace("{service}", messages.get("service.name")?),
    )
}

/// The site's pages: every `*.html` at the top of `site_dir`.
pub fn pages(site_dir: &Path) -> Result<Vec<String>, SiteError> {
    let read = std::fs::read_dir(site_dir).map_err(|e| SiteError::Io(site_dir.into(), e))?;
    let mut names: Vec<String> = read
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".html").map(str::to_owned))
        .collect();
    names.sort();
    Ok(names)
}

/// One page in one language, read from `site_dir`.
pub fn render_page(site_dir: &Path, page: &str, lang: &str) -> Result<String, SiteError> {
    let path = site_dir.join(format!("{page}.html"));
    let template = std::fs::read_to_string(&path).map_err(|e| SiteError::Io(path, e))?;
    Ok(render(&template, lang, &Messages::load(site_dir, lang)?))
}

/// Every page in every language under `out_dir/<lang>/<page>.html`; the
/// files written.
pub fn build(site_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, SiteError> {
    let mut written = Vec::new();
    for lang in LANGUAGES {
        let messages = Messages::load(site_dir, lang)?;
        let dir = out_dir.join(lang);
        std::fs::create_dir_all(&dir).map_err(|e| SiteError::Io(dir.clone(), e))?;
        for page in pages(site_dir)? {
            let path = site_dir.join(format!("{page}.html"));
            let template =
                std::fs::read_to_string(&path).map_err(|e| SiteError::Io(path.clone(), e))?;
            let target = dir.join(format!("{page}.html"));
            std::fs::write(&target, render(&template, lang, &messages))
                .map_err(|e| SiteError::Io(target.clone(), e))?;
            written.push(target);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Messages {
        Messages::parse(
            r#"{"page.t": "Apply", "service.name": "e-Visa", "title.pattern": "{page} – {service}",
                "a.h": "Fish & <chips>", "a.n": "Hello {name}", "a.l": "Close \"now\""}"#,
        )
        .unwrap()
    }

    #[test]
    fn keys_become_words_and_the_rest_stays_as_written() {
        let page = r#"<!DOCTYPE html>
<html lang="en" data-title="page.t">
<head><title></title><!-- <h1 data-i18n="a.h"></h1> --></head>
<body><h1 data-i18n="a.h"></h1><p data-i18n="a.n"></p>
<p data-i18n="a.h" data-i18n-vars='{"n": 1}'></p><span data-i18n="a.h">kept</span>
<button type=button data-i18n-attr="aria-label:a.l; title:a.missing" disabled></button>
<input data-i18n-attr="placeholder:a.h" /> 3 < 4</body></html>"#;
        let out = render(page, "kk", &messages());
        assert!(
            out.starts_with("<!DOCTYPE html>\n<html lang=\"kk\" data-title=\"page.t\">"),
            "{out}"
        );
        assert!(out.contains("<title>Apply – e-Visa</title>"), "{out}");
        assert!(
            out.contains("<!-- <h1 data-i18n=\"a.h\"></h1> -->"),
            "comments untouched: {out}"
        );
        assert!(
            out.contains("<h1 data-i18n=\"a.h\">Fish &amp; &lt;chips&gt;</h1>"),
            "{out}"
        );
        // A placeholder is the script's to fill; so is a text with values.
        assert!(out.contains("<p data-i18n=\"a.n\"></p>"), "{out}");
        assert!(
            out.contains("data-i18n-vars=\"{&quot;n&quot;: 1}\"></p>"),
            "{out}"
        );
        assert!(out.contains("<span data-i18n=\"a.h\">kept</span>"), "{out}");
        assert!(
            out.contains("<button type=\"button\" data-i18n-attr=\"aria-label:a.l; title:a.missing\" disabled aria-label=\"Close &quot;now&quot;\"></button>"),
            "{out}"
        );
        assert!(out.contains("<input data-i18n-attr=\"placeholder:a.h\" placeholder=\"Fish &amp; &lt;chips&gt;\" />"), "{out}");
        assert!(out.ends_with(" 3 < 4</body></html>"), "{out}");
    }

    #[test]
    fn the_language_is_the_readers_choice_then_the_browsers_then_english() {
        assert_eq!(negotiate(Some("a=1; visa_lang=kk"), Some("ru-RU,en")), "kk");
        assert_eq!(
            negotiate(Some("visa_lang=fr"), Some("de, ru-KZ;q=0.9, en;q=0.8")),
            "ru"
        );
        assert_eq!(negotiate(None, Some("KK")), "kk");
        assert_eq!(negotiate(None, Some("de-DE, fr")), "en");
        assert_eq!(negotiate(None, None), "en");
    }

    /// The deploy's tree: every page in every language, under its language.
    #[test]
    fn build_writes_every_page_under_each_language() {
        let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../site");
        let out = std::env::temp_dir().join(format!("visa-site-{}", std::process::id()));
        let written = build(&site, &out).unwrap();
        let pages = pages(&site).unwrap();
        assert_eq!(written.len(), pages.len() * LANGUAGES.len());
        let kk = std::fs::read_to_string(out.join("kk").join("sign-in.html")).unwrap();
        let heading = Messages::load(&site, "kk")
            .unwrap()
            .get("sign_in.heading")
            .unwrap()
            .to_owned();
        assert!(kk.contains(&format!(">{heading}</h1>")), "{kk}");
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// Every page of the site, in every language: each heading has its
    /// words, and every key the page names that needs no script value is
    /// filled.
    #[test]
    fn every_page_of_the_site_arrives_with_its_words() {
        let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../site");
        let pages = pages(&site).unwrap();
        assert!(
            pages.contains(&"index".to_owned()) && pages.len() >= 10,
            "{pages:?}"
        );
        for lang in LANGUAGES {
            let messages = Messages::load(&site, lang).unwrap();
            for page in &pages {
                let out = render_page(&site, page, lang).unwrap();
                assert!(
                    out.contains(&format!("<html lang=\"{lang}\"")),
                    "{lang} {page}"
                );
                let h1 = out.split("<h1").nth(1).map(|rest| {
                    let body = &rest[rest.find('>').unwrap() + 1..];
                    body[..body.find("</h1>").unwrap()].to_owned()
                });
                if let Some(h1) = h1 {
                    assert!(!h1.trim().is_empty(), "{lang} {page}: an empty heading");
                }
                assert!(!out.contains("<title></title>"), "{lang} {page}: no title");
                for key in out
                    .split("data-i18n=\"")
                    .skip(1)
                    .filter_map(|rest| rest.split('"').next())
                {
                    assert!(
                        messages.get(key).is_some(),
                        "{lang} {page}: no message {key}"
                    );
                }
            }
        }
    }
}
