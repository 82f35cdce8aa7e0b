//! The visa's QR code as a small SVG: one `<path>` whose subpaths are the
//! horizontal runs of dark modules. One element per module made a warm
//! render of a ~400-character URL take ~16 ms instead of ~6 (FACTS.md).
//!
//! The qrcode crate encodes; the mask is chosen here. Its own choice boxes
//! a closure per module position for each of the 8 masks (~100,000
//! allocations, ~8 ms for a 500-character URL); the ISO/IEC 18004 penalty
//! rules below pick a mask in well under a millisecond.

use std::fmt::Write;

use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, bits, ec};

use crate::RenderError;

/// Light modules around the symbol, as ISO/IEC 18004 requires.
const QUIET_ZONE: usize = 4;

/// Error correction level M (15% of codewords recoverable) keeps a 600-
/// character URL at a module size a 300 dpi scan of a 45 mm code decodes,
/// while surviving a fold or smudge on a printed page.
const EC_LEVEL: EcLevel = EcLevel::M;

/// The QR code of `text` as SVG, one unit per module, quiet zone included.
pub fn svg(text: &str) -> Result<String, RenderError> {
    let (width, dark) = modules(text)?;
    let size = width + 2 * QUIET_ZONE;

    let mut path = String::with_capacity(width * width);
    for (y, row) in dark.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] {
                let start = x;
                while x < width && row[x] {
                    x += 1;
                }
                let (sx, sy, run) = (start + QUIET_ZONE, y + QUIET_ZONE, x - start);
                // A run is a closed rectangle: move, across, down, back. (A
                // line stroked one module wide is shorter SVG but slower:
                // krilla outlines strokes itself.)
                write!(path, "M{sx} {sy}h{run}v1h-{run}z").expect("writing to a String");
            } else {
                x += 1;
            }
        }
    }

    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" "#,
            r#"width="{size}" height="{size}" shape-rendering="crispEdges">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        size = size,
        path = path,
    ))
}

/// The symbol's width and its modules, row by row, `true` for dark.
pub fn modules(text: &str) -> Result<(usize, Vec<bool>), RenderError> {
    let bits = bits::encode_auto(text.as_bytes(), EC_LEVEL)?;
    let version = bits.version();
    let width = version.width() as usize;
    if width + 2 * PAD > 128 {
        // Beyond version 25 (~800 bytes): rare enough for qrcode's slow path.
        let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), EC_LEVEL)?;
        let dark = code.to_colors().into_iter().map(|c| c == Color::Dark);
        return Ok((code.width(), dark.collect()));
    }
    let (data, ecc) = ec::construct_codewords(&bits.into_bytes(), version, EC_LEVEL)?;
    let mut canvas = Canvas::new(version, EC_LEVEL);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ecc);
    let mut best: Option<(usize, Vec<bool>)> = None;
    for pattern in MASKS {
        let mut masked = canvas.clone();
        masked.apply_mask(pattern);
        let dark: Vec<bool> = masked
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        let score = penalty(&dark, width);
        if best.as_ref().is_none_or(|(s, _)| score < *s) {
            best = Some((score, dark));
        }
    }
    Ok((width, best.expect("eight masks").1))
}

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Light modules assumed on each side of a row when scoring: the quiet zone.
const PAD: usize = 4;

/// The mask penalty of ISO/IEC 18004:2015, 7.8.3.1: runs of five or more
/// alike (N1 = 3, +1 per extra module), 2x2 blocks alike (N2 = 3),
/// 1:1:3:1:1 finder-like patterns with four light modules on either side
/// (N3 = 40; the quiet zone counts as light), and dark/light imbalance
/// (N4 = 10 per 5% off 50%).
///
/// Each row and column is one u128 (bit `x + PAD` = module `x`), so every
/// rule is a few shifts and popcounts per line: this crate's own code is not
/// optimised in the dev profile, where scanning module by module per rule
/// and mask cost ~25 ms.
fn penalty(dark: &[bool], width: usize) -> usize {
    let mut rows = vec![0u128; width];
    let mut cols = vec![0u128; width];
    let mut dark_count = 0;
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (i % width, i / width);
        rows[y] |= 1 << (x + PAD);
        cols[x] |= 1 << (y + PAD);
        dark_count += 1;
    }
    let symbol: u128 = ((1u128 << width) - 1) << PAD;

    let mut score = 0;
    for lines in [&rows, &cols] {
        for &line in lines.iter() {
            let light = !line & symbol;
            score += runs_penalty(line) + runs_penalty(light) + finder_penalty(line);
        }
        // N2 in one direction suffices: a 2x2 block is the same either way.
    }
    for pair in rows.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let same_vertically = !(a ^ b) & symbol;
        let same_horizontally = !(a ^ (a >> 1));
        let blocks = same_vertically & (same_vertically >> 1) & same_horizontally & (symbol >> 1);
        score += 3 * blocks.count_ones() as usize;
    }
    let percent = dark_count * 100 / dark.len();
    score + 10 * (percent.abs_diff(50) / 5)
}

/// N1 for the modules set in `bits`: a run of k >= 5 scores k - 2, which is
/// (k - 4) windows of five plus 2 for the run.
fn runs_penalty(bits: u128) -> usize {
    let five = bits & (bits >> 1) & (bits >> 2) & (bits >> 3) & (bits >> 4);
    let starts = five & !(five << 1);
    (five.count_ones() + 2 * starts.count_ones()) as usize
}

/// N3: dark-light-dark-dark-dark-light-dark with four light modules before
/// or after it, 40 each.
fn finder_penalty(line: u128) -> usize {
    let light = !line;
    let core =
        line & (light >> 1) & (line >> 2) & (line >> 3) & (line >> 4) & (light >> 5) & (line >> 6);
    let four_light = light & (light >> 1) & (light >> 2) & (light >> 3);
    let hits = core & ((four_light << 4) | (four_light >> 7));
    40 * hits.count_ones() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://evisa.example.kz/verify#eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjYtMDEifQ.eyJ2biI6IktaMTIzNDU2NyJ9.c2lnbmF0dXJl";

    #[test]
    fn the_code_is_one_path() {
        let svg = svg(URL).unwrap();
        assert_eq!(svg.matches("<path").count(), 1);
        assert_eq!(svg.matches("<rect").count(), 1, "only the background");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn the_path_draws_every_dark_module_once() {
        let (_, modules) = modules(URL).unwrap();
        let dark = modules.iter().filter(|d| **d).count();
        let svg = svg(URL).unwrap();
        let d = svg.split(" d=\"").nth(1).unwrap();
        let covered: usize = d
            .split('h')
            .skip(1)
            .step_by(2)
            .map(|run| run.split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(covered, dark);
    }

    #[test]
    fn same_symbol_as_the_qrcode_crate_up_to_the_mask() {
        // Same version and the same function patterns: only the mask (and so
        // the format information) may differ from qrcode's own choice.
        let (width, _) = modules(URL).unwrap();
        let theirs = qrcode::QrCode::with_error_correction_level(URL.as_bytes(), EC_LEVEL).unwrap();
        assert_eq!(width, theirs.width());
    }

    #[test]
    fn penalty_follows_iso_18004() {
        // 5x5 all light: N1 = 5 rows + 5 columns of 5 = 10 x 3; N2 = 16 x 3;
        // N4: 0% dark is 10 steps of 5% = 100.
        assert_eq!(penalty(&[false; 25], 5), 30 + 48 + 100);
        // A run of 7 in a row scores 3 + 2.
        assert_eq!(runs_penalty(0b111_1111 << 4), 5);
        assert_eq!(runs_penalty(0b1111 << 4), 0);
        // Finder-like pattern with the quiet zone before it: once.
        assert_eq!(finder_penalty(0b1011101 << 4), 40);
        // Dark right before it: only the light after counts.
        assert_eq!(finder_penalty(0b1011101 << 4 | 1 << 3), 40);
        // Dark on both sides within four modules: nothing.
        assert_eq!(finder_penalty(0b1011101 << 5 | 1 << 4 | 1 << 15), 0);
        // A lone finder-like row in a light 11-wide symbol scores N3 twice
        // (light on both sides).
        let mut m = vec![false; 11 * 11];
        for (x, d) in [
            false, false, false, false, true, false, true, true, true, false, true,
        ]
        .into_iter()
        .enumerate()
        {
            m[5 * 11 + x] = d;
        }
        let without = {
            let mut n = m.clone();
            n[5 * 11 + 4] = false;
            penalty(&n, 11)
        };
        assert!(penalty(&m, 11) > without);
    }

    #[test]
    fn a_long_url_still_fits() {
        let long = format!("{URL}{}", "A".repeat(600));
        assert!(svg(&long).is_ok());
    }
}
