//! Visa data in, PDF bytes out: typst compile, then PDF/A-2b + PDF/UA-1
//! export, deterministic for a given visa.

use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::Serialize;
use typst::diag::SourceDiagnostic;
use typst::ecow::EcoVec;
use typst::foundations::{Bytes, Datetime, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use crate::world::{Assets, QrFile, VisaWorld};
use crate::{RenderError, VisaDocument, qr, template};
use visa_core::Category;
use visa_core::application::Entries;

/// Renders visas. Build one per process (a Lambda's init, a server's
/// start-up) and share it: it holds the parsed fonts, the font book, the
/// typst standard library and the parsed template (its init time:
/// PERFORMANCE.md).
pub struct Renderer {
    assets: Assets,
    standards: PdfStandards,
}

impl Renderer {
    pub fn new() -> Self {
        Self::with_template(template::SOURCE.to_owned())
    }

    /// A renderer for another version of `visa.typ`, for template designers
    /// (`visa-pdf render --template`); production uses [`Renderer::new`].
    pub fn with_template(source: String) -> Self {
        let standards = PdfStandards::new(&[PdfStandard::A_2b, PdfStandard::Ua_1])
            .expect("PDF/A-2b and PDF/UA-1 are compatible (both PDF 1.7)");
        Self {
            assets: Assets::new(source),
            standards,
        }
    }

    /// The visa as a one-page PDF. The same visa always gives the same bytes.
    pub fn render(&self, doc: &VisaDocument) -> Result<Vec<u8>, RenderError> {
        self.render_with_warnings(doc).map(|(pdf, _)| pdf)
    }

    /// As [`render`](Self::render), also returning typst's warnings (a
    /// missing font family, say), which a template designer wants to see.
    pub fn render_with_warnings(
        &self,
        doc: &VisaDocument,
    ) -> Result<(Vec<u8>, Vec<String>), RenderError> {
        self.render_timed(doc)
            .map(|(pdf, warnings, _)| (pdf, warnings))
    }

    /// As [`render_with_warnings`](Self::render_with_warnings), also
    /// returning how long each stage took (the benchmark prints them).
    pub fn render_timed(
        &self,
        doc: &VisaDocument,
    ) -> Result<(Vec<u8>, Vec<String>, Stages), RenderError> {
        let started = Instant::now();
        let data = serde_json::to_vec(&View::of(doc))?;
        let prepared = Instant::now();
        let timestamp =
            Timestamp::new_utc(datetime(doc.issued_at).ok_or(RenderError::Date("issue time"))?);
        let qr_file = QrFile::new();
        let mut world = VisaWorld::new(&self.assets, data, &qr_file, doc.issued_at);
        if !doc.seal.is_empty() {
            world = world.with_seal(crate::seal::svg(&doc.seal)?);
        }

        // typst memoises every compile in a process-wide cache that grows
        // with every render unless evicted after each one, failed ones too.
        // Entries the last render used are kept: the next visa reuses the
        // static parts (labels, headings, notice) and RSS still stays flat.
        let _evict = EvictOnDrop;

        // The QR code (encoding, mask, outline) and typst's decoding of its
        // SVG, a quarter of a render's work, run on a second core while typst
        // evaluates the template and lays out the page's head; the image's
        // layout then finds the decoded SVG in typst's memo.
        let (qr, warned) = std::thread::scope(|scope| {
            let helper = scope.spawn(|| make_qr(&doc.qr_url, &world, &qr_file));
            let warned = typst::compile::<PagedDocument>(&world);
            let qr = helper
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (qr, warned)
        });
        // A QR code that cannot be made is the error, not the missing file.
        qr?;
        let warnings = warned
            .warnings
            .iter()
            .map(|w| w.message.to_string())
            .collect();
        let document = warned
            .output
            .map_err(|e| RenderError::Compile(diagnostics(&e)))?;
        if document.pages().len() != 1 {
            return Err(RenderError::PageCount(document.pages().len()));
        }
        let compiled = Instant::now();
        let options = PdfOptions {
            ident: Smart::Custom(doc.visa_number.clone()),
            creator: Smart::Custom(Some("Republic of Kazakhstan e-visa portal".into())),
            timestamp: Some(timestamp),
            page_ranges: None,
            standards: self.standards.clone(),
            tagged: true,
            pretty: false,
        };
        let pdf = typst_pdf::pdf(&document, &options)
            .map_err(|e| RenderError::Export(diagnostics(&e)))?;
        let stages = Stages {
            prepare: prepared - started,
            compile: compiled - prepared,
            export: compiled.elapsed(),
        };
        Ok((pdf, warnings, stages))
    }
}

/// Where a render's time went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stages {
    /// The template's data (fields, MRZ).
    pub prepare: Duration,
    /// typst: evaluation and layout; meanwhile, on another thread, the QR
    /// code and its decoding.
    pub compile: Duration,
    /// typst-pdf: PDF/A-2b + UA-1 export (content, tags, compression; the
    /// fonts come from the memo after the first render).
    pub export: Duration,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

/// The QR code's SVG into `file`, then decoded into typst's memo. typst
/// reads the file when it evaluates `image(..)`, long before laying the
/// image out: publishing before decoding lets evaluation go on meanwhile
/// (publishing after was measurably slower). `file` is set whatever
/// happens (to `None` on an error or a panic): typst's read waits until it is.
fn make_qr(url: &str, world: &VisaWorld, file: &QrFile) -> Result<(), RenderError> {
    let _failed_unless_set = SetOnDrop(file);
    let bytes = Bytes::from_string(qr::svg(url)?);
    file.get_or_init(|| Some(bytes.clone()));
    world.decode_qr(bytes);
    Ok(())
}

/// Sets the QR file to `None` when dropped, unless it is already set.
struct SetOnDrop<'a>(&'a QrFile);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.get_or_init(|| None);
    }
}

struct EvictOnDrop;

/// Memo entries unused for this many renders are dropped (comemo's
/// `max_age`): 0 would keep nothing between renders.
const MEMO_MAX_AGE: usize = 1;

impl Drop for EvictOnDrop {
    fn drop(&mut self) {
        typst::comemo::evict(MEMO_MAX_AGE);
    }
}

fn diagnostics(errors: &EcoVec<SourceDiagnostic>) -> String {
    errors
        .iter()
        .map(|e| {
            let hints: String = e
                .hints
                .iter()
                .map(|h| format!("\n  hint: {}", h.v))
                .collect();
            format!("{:?}: {}{hints}", e.severity, e.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn datetime(t: DateTime<Utc>) -> Option<Datetime> {
    Datetime::from_ymd_hms(
        t.year(),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
}

/// What the template shows, already formatted: the template only lays out.
#[derive(Debug, Serialize)]
pub struct View<'a> {
    pub visa_number: &'a str,
    pub category: &'static str,
    pub category_ru: &'static str,
    pub entries: &'static str,
    pub valid_from: String,
    pub valid_until: String,
    pub issued_at: String,
    pub surname: String,
    pub given_names: String,
    pub nationality: String,
    pub date_of_birth: String,
    pub sex: &'static str,
    pub passport_number: &'a str,
    pub inviter_name: &'a str,
    pub inviter_bin: &'a str,
    pub entry_points: &'a [String],
    pub verify_url: &'a str,
    pub qr_alt: String,
    /// Whether the visa carries the ICAO digital seal (`/seal.svg`).
    pub has_seal: bool,
    pub seal_alt: String,
    pub mrz: [String; 2],
}

impl<'a> View<'a> {
    pub fn of(doc: &'a VisaDocument) -> Self {
        let (category, category_ru) = match doc.category {
            Category::Tourist => ("Tourist", "Туристическая"),
            Category::Business => ("Business", "Деловая"),
            Category::Medical => ("Medical", "Лечение"),
        };
        let entries = match doc.entries {
            Entries::Single => "Single entry",
            Entries::Double => "Double entry",
            Entries::Multiple => "Multiple entry",
        };
        let sex = doc.sex.as_str();
        // Border control opens the verification page without the JWS.
        let verify_url = doc.qr_url.split('#').next().unwrap_or_default();
        Self {
            visa_number: &doc.visa_number,
            category,
            category_ru,
            entries,
            valid_from: display_date(doc.valid_from),
            valid_until: display_date(doc.valid_until),
            issued_at: format!("{} UTC", doc.issued_at.format("%d.%m.%Y %H:%M")),
            surname: doc.surname.to_uppercase(),
            given_names: doc.given_names.to_uppercase(),
            nationality: format!("{} ({})", doc.nationality_name, doc.nationality),
            date_of_birth: display_date(doc.date_of_birth),
            sex,
            passport_number: &doc.passport_number,
            inviter_name: &doc.inviter_name,
            inviter_bin: &doc.inviter_bin,
            entry_points: &doc.entry_points,
            verify_url,
            qr_alt: format!(
                "QR code with the signed verification link of e-visa {}",
                doc.visa_number
            ),
            has_seal: !doc.seal.is_empty(),
            seal_alt: format!(
                "Data Matrix with the ICAO digital seal of e-visa {}",
                doc.visa_number
            ),
            mrz: doc.mrz(),
        }
    }
}

/// Dates as printed on Kazakh documents: day.month.year.
pub fn display_date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_page_without_warnings() {
        let renderer = Renderer::new();
        let (pdf, warnings) = renderer
            .render_with_warnings(&VisaDocument::example())
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn same_visa_same_bytes() {
        let renderer = Renderer::new();
        let doc = VisaDocument::example();
        let a = renderer.render(&doc).unwrap();
        let b = renderer.render(&doc).unwrap();
        assert!(a == b, "two renders of one visa differ");
        // A fresh renderer (as a new Lambda instance would have) agrees too.
        let c = Renderer::new().render(&doc).unwrap();
        assert!(a == c, "a second renderer gives other bytes");
    }

    #[test]
    fn different_visas_differ() {
        let renderer = Renderer::new();
        let a = renderer.render(&VisaDocument::example()).unwrap();
        let mut other = VisaDocument::example();
        other.passport_number = "C01X00T47".into();
        assert!(a != renderer.render(&other).unwrap());
    }

    /// The embedded font programs (`FontFile3` streams), as written.
    fn font_programs(pdf: &[u8]) -> Vec<&[u8]> {
        const MARK: &[u8] = b"/Subtype/CIDFontType0C>>\nstream\n";
        let find = |from: usize, what: &[u8]| {
            pdf[from..]
                .windows(what.len())
                .position(|w| w == what)
                .map(|at| from + at)
        };
        let mut programs = Vec::new();
        let mut from = 0;
        while let Some(at) = find(from, MARK) {
            let dict = pdf[..at].iter().rposition(|&b| b == b'<').unwrap();
            let length = find(dict, b"/Length ").unwrap() + b"/Length ".len();
            let digits = pdf[length..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let length: usize = std::str::from_utf8(&pdf[length..length + digits])
                .unwrap()
                .parse()
                .unwrap();
            let start = at + MARK.len();
            programs.push(&pdf[start..start + length]);
            from = start + length;
        }
        programs
    }

    #[test]
    fn every_visa_embeds_the_same_whole_fonts() {
        // The faces forbid subsetting, so the patched PDF writer embeds
        // them whole (vendor/README.md): identical programs, whatever the
        // names, which it compresses once per process.
        let renderer = Renderer::new();
        let first = renderer.render(&VisaDocument::example()).unwrap();
        let mut other = VisaDocument::example();
        other.surname = "ΠΑΠΑΔΟΠΟΥΛΟΣ".into();
        other.given_names = "NGUYỄN THỊ ĐOÀN".into();
        let second = renderer.render(&other).unwrap();
        let programs = font_programs(&first);
        assert_eq!(programs.len(), 3, "Libertinus regular and bold, OCR B");
        assert_eq!(programs, font_programs(&second));
        // What came before in the process does not change a visa's bytes.
        assert!(first == renderer.render(&VisaDocument::example()).unwrap());
    }

    #[test]
    fn renders_many_times() {
        let renderer = Renderer::new();
        let mut doc = VisaDocument::example();
        let first = renderer.render(&doc).unwrap();
        for i in 0..200 {
            doc.visa_number = format!("KZ{i:07}");
            renderer.render(&doc).unwrap();
        }
        doc = VisaDocument::example();
        assert!(first == renderer.render(&doc).unwrap());
    }

    #[test]
    fn long_and_non_latin_names_still_fit_one_page() {
        let renderer = Renderer::new();
        let mut doc = VisaDocument::example();
        doc.surname = "Nilavadhanananda-Wattanasiriwong".into();
        doc.given_names = "Chayapa Dejthamrong Krasuang Somchai Phraya".into();
        doc.inviter_name =
            "Товарищество с ограниченной ответственностью «Қазақ Туристік Компаниясы»".into();
        doc.qr_url = format!("{}{}", doc.qr_url, "x".repeat(300));
        let (_, warnings) = renderer.render_with_warnings(&doc).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_broken_template_is_a_compile_error() {
        let broken = Renderer::with_template("#let d = json(\"/data.json\")\n#d.nope".into());
        let err = broken.render(&VisaDocument::example()).unwrap_err();
        assert!(
            matches!(&err, RenderError::Compile(m) if m.contains("nope")),
            "{err}"
        );
        // The same renderer still works afterwards for a good template.
        assert!(Renderer::new().render(&VisaDocument::example()).is_ok());
    }

    #[test]
    fn a_template_reading_other_files_fails_cleanly() {
        let r = Renderer::with_template("#read(\"/etc/passwd\")".into());
        assert!(matches!(
            r.render(&VisaDocument::example()),
            Err(RenderError::Compile(_))
        ));
    }

    #[test]
    fn an_oversized_qr_payload_is_an_error() {
        let renderer = Renderer::new();
        let mut doc = VisaDocument::example();
        doc.qr_url = "x".repeat(5000);
        assert!(matches!(renderer.render(&doc), Err(RenderError::Qr(_))));
    }
}
