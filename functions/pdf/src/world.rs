//! A minimal typst `World`: the template, the visa's data and its QR code,
//! all in memory at fixed virtual paths, and only the fonts the visa uses.

use std::sync::{LazyLock, OnceLock};

use chrono::{DateTime, Datelike, Utc};
use typst::comemo::Track;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::visualize::SvgImage;
use typst::{Library, LibraryExt, World};

use crate::template;

/// The faces the template uses, embedded so a Lambda needs no font files.
/// Only these: typst-assets' `fonts` feature would add megabytes to the
/// zip, including a GPL-licensed face (docs/FACTS.md). Sources and licences: fonts/README.md.
const FONT_FILES: [&[u8]; 3] = [
    include_bytes!("../fonts/LibertinusSerif-Regular.otf"),
    include_bytes!("../fonts/LibertinusSerif-Bold.otf"),
    include_bytes!("../fonts/OCRB.otf"),
];

/// `FileId`s are interned process-wide in a u16 table that panics after
/// 65,535 distinct paths, so every render reuses these three.
static MAIN: LazyLock<FileId> = LazyLock::new(|| file_id("/main.typ"));
static DATA: LazyLock<FileId> = LazyLock::new(|| file_id("/data.json"));
static QR: LazyLock<FileId> = LazyLock::new(|| file_id("/qr.svg"));
static SEAL: LazyLock<FileId> = LazyLock::new(|| file_id("/seal.svg"));

/// Path the template reads the visa's fields from.
pub const DATA_PATH: &str = "/data.json";
/// Path the template reads the QR code from.
pub const QR_PATH: &str = "/qr.svg";
/// Path the template reads the digital seal's Data Matrix from.
pub const SEAL_PATH: &str = "/seal.svg";

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a fixed, valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// What every render shares: parsed fonts, the font book, the standard
/// library and the parsed template. Built once per process.
pub struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
}

impl Assets {
    /// Assets for the typst source `template` (normally
    /// [`template::SOURCE`]).
    pub fn new(template: String) -> Self {
        let fonts: Vec<Font> = FONT_FILES
            .iter()
            .flat_map(|data| Font::iter(Bytes::new(*data)))
            .collect();
        Self {
            library: LazyHash::new(Library::builder().build()),
            book: LazyHash::new(FontBook::from_fonts(&fonts)),
            fonts,
            main: Source::new(*MAIN, template),
        }
    }

    /// The families of the embedded faces, for tests and diagnostics.
    pub fn font_families(&self) -> Vec<String> {
        self.fonts.iter().map(|f| f.info().family.clone()).collect()
    }

    #[cfg(test)]
    fn fonts(&self) -> &[Font] {
        &self.fonts
    }
}

impl Default for Assets {
    fn default() -> Self {
        Self::new(template::SOURCE.to_owned())
    }
}

/// The world of one render: shared assets plus this visa's two files.
pub struct VisaWorld<'a> {
    assets: &'a Assets,
    data: Bytes,
    qr: &'a QrFile,
    /// The digital seal's SVG (empty: the visa carries none).
    seal: Bytes,
    issued_at: DateTime<Utc>,
}

/// The QR code's SVG, made on another thread while typst starts: reading
/// it waits until it is there. `None`: it could not be made.
pub type QrFile = OnceLock<Option<Bytes>>;

/// The font families in effect where the template places the QR code
/// (`#set text(font: ..., fallback: false)`), as typst passes them to the
/// SVG decoder; a test checks that the warm-up below hits.
const QR_FAMILIES: [&str; 1] = ["libertinus serif"];

impl<'a> VisaWorld<'a> {
    pub fn new(
        assets: &'a Assets,
        data: Vec<u8>,
        qr: &'a QrFile,
        issued_at: DateTime<Utc>,
    ) -> Self {
        Self {
            assets,
            data: Bytes::new(data),
            qr,
            seal: Bytes::new(Vec::new()),
            issued_at,
        }
    }

    /// The same world with the digital seal's SVG.
    pub fn with_seal(mut self, svg: String) -> Self {
        self.seal = Bytes::from_string(svg);
        self
    }

    /// Decodes the QR code's SVG as typst's image layout would, leaving it
    /// in typst's memo, where the layout then finds it. (The SVG links no
    /// file, so decoding it never reads `/qr.svg` itself.)
    pub fn decode_qr(&self, svg: Bytes) -> Option<SvgImage> {
        let world: &dyn World = self;
        SvgImage::with_fonts_images(svg, world.track(), &QR_FAMILIES, Some(*QR)).ok()
    }
}

impl World for VisaWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        *MAIN
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == *MAIN {
            Ok(self.assets.main.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == *DATA {
            Ok(self.data.clone())
        } else if id == *QR {
            self.qr.wait().clone().ok_or_else(|| not_found(id))
        } else if id == *SEAL && !self.seal.is_empty() {
            Ok(self.seal.clone())
        } else if id == *MAIN {
            Ok(Bytes::from_string(self.assets.main.text().to_owned()))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    /// The issue date, never the clock: the same visa must give the same
    /// bytes whenever it is rendered.
    fn today(&self, offset: Option<Duration>) -> Option<Datetime> {
        let hours = offset.map_or(0, |d| d.hours() as i64);
        let date = (self.issued_at + chrono::Duration::hours(hours)).date_naive();
        Datetime::from_ymd(date.year(), date.month() as u8, date.day() as u8)
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_without_slash().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use typst::text::FontWeight;

    #[test]
    fn embeds_only_the_three_faces() {
        let families = Assets::default().font_families();
        assert_eq!(families, ["Libertinus Serif", "Libertinus Serif", "OCR B"]);
    }

    #[test]
    fn text_face_covers_kazakh_and_russian() {
        let assets = Assets::default();
        let kazakh = "АӘБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ";
        let text = format!("{kazakh}{}—·№", kazakh.to_lowercase());
        for font in &assets.fonts()[..2] {
            for c in text.chars() {
                assert!(
                    font.info().coverage.contains(c as u32),
                    "{} lacks {c:?}",
                    font.info().family
                );
            }
        }
    }

    #[test]
    fn the_domain_accepts_exactly_what_the_bold_face_prints() {
        // Names and inviters are refused up front unless every character
        // is printable; every field value is set in the bold face.
        let assets = Assets::default();
        let bold = &assets.fonts()[1];
        assert_eq!(bold.info().variant.weight, FontWeight::BOLD);
        let differ: Vec<String> = (0..=0x2_FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| {
                bold.info().coverage.contains(c as u32) != visa_core::printable::is_printable(c)
            })
            .map(|c| format!("U+{:04X}", c as u32))
            .collect();
        assert!(
            differ.is_empty(),
            "visa_core::printable and the bold face disagree: {differ:?}"
        );
    }

    /// OS/2 `fsType` of an OpenType file, read from its table directory.
    fn fs_type(font: &[u8]) -> u16 {
        let u16_at = |at: usize| u16::from_be_bytes([font[at], font[at + 1]]);
        let u32_at = |at: usize| u32::from_be_bytes(font[at..at + 4].try_into().unwrap());
        let os2 = (0..usize::from(u16_at(4)))
            .map(|i| 12 + 16 * i)
            .find(|&record| &font[record..record + 4] == b"OS/2")
            .expect("an OS/2 table");
        u16_at(u32_at(os2 + 8) as usize + 8)
    }

    #[test]
    fn every_face_forbids_subsetting() {
        // fsType bit 8: the PDF writer embeds each face whole and compresses
        // it once per process (fonts/make-faces.py, vendor/README.md).
        for font in FONT_FILES {
            assert_ne!(fs_type(font) & 0x0100, 0);
        }
    }

    #[test]
    fn ocr_b_covers_the_mrz_alphabet() {
        let assets = Assets::default();
        let ocrb = &assets.fonts()[2];
        for c in ('A'..='Z').chain('0'..='9').chain(['<']) {
            assert!(ocrb.info().coverage.contains(c as u32), "OCR B lacks {c:?}");
        }
    }

    #[test]
    fn file_ids_are_fixed() {
        assert_eq!(*MAIN, file_id("/main.typ"));
        assert_eq!(*DATA, file_id(DATA_PATH));
        assert_eq!(*QR, file_id(QR_PATH));
    }
}
