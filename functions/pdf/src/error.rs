//! Everything that can go wrong while making a visa PDF.

/// Why a visa could not be rendered. All of these are bugs or bad input,
/// never transient: retrying the same visa gives the same error.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The QR payload does not fit in a QR code (over ~2,300 bytes at level M).
    #[error("the QR code cannot hold the verification URL: {0}")]
    Qr(#[from] qrcode::types::QrError),
    /// The data handed to the template could not be serialised.
    #[error("the visa data could not be serialised: {0}")]
    Data(#[from] serde_json::Error),
    /// The digital seal does not fit a Data Matrix (over ~1,500 bytes).
    #[error("the digital seal cannot be drawn: {0}")]
    Seal(String),
    /// A date or time is outside what a PDF can record.
    #[error("the {0} is out of range")]
    Date(&'static str),
    /// The typst template failed to compile (a bug in `visa.typ` or in the
    /// data it was given); the typst diagnostics, one per line.
    #[error("the visa template failed to compile:\n{0}")]
    Compile(String),
    /// typst-pdf refused the document, e.g. a PDF/A or PDF/UA violation.
    #[error("the visa could not be exported as PDF/A-2b + PDF/UA-1:\n{0}")]
    Export(String),
    /// The page count is not one: the layout overflowed.
    #[error("the visa laid out on {0} pages instead of one")]
    PageCount(usize),
}
