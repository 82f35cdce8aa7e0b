//! The Kazakhstan e-visa as a one-page PDF, rendered in process with typst.
//!
//! [`Renderer::render`] turns a [`VisaDocument`] into PDF/A-2b + PDF/UA-1
//! bytes: the same visa always gives the same bytes.

/// Why a render failed.
pub mod error;
/// The QR code, as one SVG path.
pub mod qr;
/// Reading a rendered visa back with poppler and zbar (tests).
pub mod readback;
/// Compile and export.
pub mod render;
/// The ICAO digital seal, as one SVG path of a Data Matrix.
pub mod seal;
/// The typst source of the page.
pub mod template;
/// The in-memory typst `World`.
pub mod world;

pub use error::RenderError;
pub use render::Renderer;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use visa_core::Category;
use visa_core::application::Entries;
use visa_core::passport::Sex;

/// Everything printed on a visa, as the domain knows it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct VisaDocument {
    /// Nine characters: the MRZ document number.
    pub visa_number: String,
    pub category: Category,
    pub entries: Entries,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// Also the PDF's creation date and typst's `today`.
    pub issued_at: DateTime<Utc>,
    pub surname: String,
    pub given_names: String,
    /// ISO 3166-1 alpha-3.
    pub nationality: String,
    pub nationality_name: String,
    pub date_of_birth: NaiveDate,
    pub sex: Sex,
    pub passport_number: String,
    pub inviter_name: String,
    pub inviter_bin: String,
    pub entry_points: Vec<String>,
    /// `<origin>/verify#<compact JWS>`, encoded in the QR code.
    pub qr_url: String,
    /// The ICAO Visible Digital Seal (`visa_core::vds`, signed), printed as
    /// a Data Matrix; none leaves it off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seal: Vec<u8>,
}

impl VisaDocument {
    /// The visa's machine-readable zone (`visa_core::mrz`, the one MRZ).
    pub fn mrz(&self) -> [String; 2] {
        visa_core::mrz::KazakhVisa {
            surname: &self.surname,
            given_names: &self.given_names,
            visa_number: &self.visa_number,
            nationality: &self.nationality,
            date_of_birth: self.date_of_birth,
            sex: self.sex,
            valid_until: self.valid_until,
        }
        .lines()
    }

    /// The sample visa of `examples/visa.json`, for tests and template work.
    pub fn example() -> Self {
        serde_json::from_str(include_str!("../examples/visa.json"))
            .expect("examples/visa.json is a valid visa")
    }
}
