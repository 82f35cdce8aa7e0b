//! The visa's ICAO Visible Digital Seal (`visa_core::vds`) as a Data
//! Matrix (ECC 200, the datamatrix crate's smallest square symbol that
//! holds it), drawn as one SVG path like the QR code.

use crate::RenderError;
use datamatrix::{DataMatrix, SymbolList};

/// Light modules around the symbol: ISO/IEC 16022 asks one; two leave room
/// for a scanner's framing on a printed page.
const QUIET_ZONE: usize = 2;

/// The Data Matrix of the seal's bytes as SVG, one unit per module.
pub fn svg(seal: &[u8]) -> Result<String, RenderError> {
    let code = DataMatrix::encode(seal, SymbolList::default().enforce_square())
        .map_err(|e| RenderError::Seal(format!("{e:?}")))?;
    let bitmap = code.bitmap();
    let (width, height) = (bitmap.width(), bitmap.height());
    let mut dark = vec![false; width * height];
    for (x, y) in bitmap.pixels() {
        dark[y * width + x] = true;
    }
    let size = width + 2 * QUIET_ZONE;
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" "#,
            r#"width="{size}" height="{size}" shape-rendering="crispEdges">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        size = size,
        path = crate::qr::outline(width, &dark, QUIET_ZONE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_of_a_hundred_bytes_is_a_square_symbol() {
        let svg = svg(&[0xDC; 120]).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains(r##"<path fill="#000" d="M"##),
            "{svg}"
        );
        assert!(svg.contains(r#"viewBox="0 0 "#));
    }
}
