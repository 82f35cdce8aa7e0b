//! The visa's QR code as a small SVG: one `<path>` whose subpaths are the
//! outlines of the dark areas. One element per module made a warm render of
//! a ~400-character URL take ~16 ms instead of ~6 (FACTS.md); one rectangle
//! per horizontal run of dark modules has a quarter more vertices than the
//! outlines.
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
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" "#,
            r#"width="{size}" height="{size}" shape-rendering="crispEdges">"#,
            r##"<rect width="{size}" height="{size}" fill="#fff"/>"##,
            r##"<path fill="#000" d="{path}"/></svg>"##
        ),
        size = size,
        path = outline(width, &dark, QUIET_ZONE),
    ))
}

/// Directions along the module grid (y grows downwards, as in SVG).
const RIGHT: u8 = 0;
const DOWN: u8 = 1;
const LEFT: u8 = 2;
const UP: u8 = 3;

/// The outlines of the dark areas as SVG path data (`M`, `H`, `V`, `Z`),
/// shifted by `offset` modules: one closed subpath per boundary, with a
/// vertex only where the boundary turns. Outer boundaries run clockwise and
/// holes anticlockwise, so the default non-zero fill paints exactly the dark
/// modules. About a quarter fewer vertices than one rectangle per run of
/// dark modules, and every vertex costs three times over in a render: SVG
/// parsing, the PDF content stream, and that stream's compression.
pub fn outline(width: usize, dark: &[bool], offset: usize) -> String {
    let is_dark = |x: isize, y: isize| {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && dark[y as usize * width + x as usize]
    };
    // Directed boundary edges, keyed by their start vertex: bit `d` of
    // `out[v]` is an edge leaving vertex v in direction d, with the dark
    // module on its right.
    let side = width + 1;
    let mut out = vec![0u8; side * side];
    for y in 0..width as isize {
        for x in 0..width as isize {
            if !is_dark(x, y) {
                continue;
            }
            let (ux, uy) = (x as usize, y as usize);
            if !is_dark(x, y - 1) {
                out[uy * side + ux] |= 1 << RIGHT;
            }
            if !is_dark(x + 1, y) {
                out[uy * side + ux + 1] |= 1 << DOWN;
            }
            if !is_dark(x, y + 1) {
                out[(uy + 1) * side + ux + 1] |= 1 << LEFT;
            }
            if !is_dark(x - 1, y) {
                out[(uy + 1) * side + ux] |= 1 << UP;
            }
        }
    }

    let mut path = String::with_capacity(width * width * 2);
    for start in 0..out.len() {
        while out[start] != 0 {
            let (sx, sy) = (start % side, start / side);
            write!(path, "M{} {}", sx + offset, sy + offset).expect("writing to a String");
            let (mut x, mut y) = (sx, sy);
            let mut heading = out[start].trailing_zeros() as u8;
            loop {
                let v = y * side + x;
                // Where two dark modules touch only at a corner, turn right
                // (towards the dark side) so the boundaries never cross.
                let turn = [(heading + 1) % 4, heading, (heading + 3) % 4]
                    .into_iter()
                    .find(|d| out[v] & (1 << d) != 0);
                let Some(d) = turn else { break };
                if d != heading {
                    // The boundary turns here: finish the straight stretch.
                    match heading {
                        RIGHT | LEFT => write!(path, "H{}", x + offset),
                        _ => write!(path, "V{}", y + offset),
                    }
                    .expect("writing to a String");
                    heading = d;
                }
                out[v] &= !(1 << d);
                match d {
                    RIGHT => x += 1,
                    DOWN => y += 1,
                    LEFT => x -= 1,
                    _ => y -= 1,
                }
                if (x, y) == (sx, sy) {
                    break;
                }
            }
            // The last stretch runs back to the start: Z draws it.
            path.push('Z');
        }
    }
    path
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

    /// Which modules a path of `M`/`H`/`V`/`Z` commands paints under the
    /// non-zero rule: the winding number of each module's centre, counted on
    /// a ray to the right (only vertical edges cross it).
    fn paint(width: usize, d: &str, offset: usize) -> Vec<bool> {
        let mut vertical = Vec::new(); // (x, y from, y to)
        for subpath in d.split('Z').filter(|p| !p.is_empty()) {
            let mut parts = subpath.split(['H', 'V']);
            let (mx, my) = parts.next().unwrap()[1..].split_once(' ').unwrap();
            let start: (i64, i64) = (mx.parse().unwrap(), my.parse().unwrap());
            let (mut at, mut commands) = (start, subpath.chars().filter(|c| "HV".contains(*c)));
            for value in parts {
                let v: i64 = value.parse().unwrap();
                match commands.next().unwrap() {
                    'H' => at.0 = v,
                    _ => {
                        vertical.push((at.0, at.1, v));
                        at.1 = v;
                    }
                }
            }
            // Z: back to the start.
            assert!(at.1 == start.1 || at.0 == start.0, "Z closes straight");
            if at.0 == start.0 && at.1 != start.1 {
                vertical.push((at.0, at.1, start.1));
            }
        }
        let mut painted = vec![false; width * width];
        for y in 0..width {
            for x in 0..width {
                let (cx, cy) = ((x + offset) as f64 + 0.5, (y + offset) as f64 + 0.5);
                let winding: i64 = vertical
                    .iter()
                    .filter(|(vx, y0, y1)| {
                        (*vx as f64) > cx && (*y0.min(y1) as f64) < cy && (*y0.max(y1) as f64) > cy
                    })
                    .map(|(_, y0, y1)| if y1 > y0 { 1 } else { -1 })
                    .sum();
                painted[y * width + x] = winding != 0;
            }
        }
        painted
    }

    #[test]
    fn the_outline_paints_exactly_the_dark_modules() {
        let (width, modules) = modules(URL).unwrap();
        let d = outline(width, &modules, QUIET_ZONE);
        assert!(paint(width, &d, QUIET_ZONE) == modules);
        // Fewer vertices than one rectangle per run of dark modules.
        let runs = modules
            .chunks(width)
            .map(|row| row.windows(2).filter(|w| !w[0] && w[1]).count() + row[0] as usize)
            .sum::<usize>();
        let vertices = d.matches(['M', 'H', 'V']).count();
        assert!(
            vertices * 5 < runs * 4 * 4,
            "{vertices} vertices, {runs} runs"
        );
    }

    #[test]
    fn outlines_of_awkward_shapes() {
        // A hole, two modules touching only at a corner, a full edge row,
        // and a lone module: each painted exactly.
        let shapes: [&[&str]; 4] = [
            &["###", "#.#", "###"],
            &["#..", ".#.", "..#"],
            &[".#.", "#.#", ".#."],
            &["####", "#..#", "#.##", "####"],
        ];
        for rows in shapes {
            let width = rows.len();
            let dark: Vec<bool> = rows
                .iter()
                .flat_map(|r| r.bytes().map(|b| b == b'#'))
                .collect();
            let d = outline(width, &dark, 1);
            assert!(paint(width, &d, 1) == dark, "{rows:?}: {d}");
        }
        assert_eq!(outline(1, &[true], 0), "M0 0H1V1H0Z");
        assert_eq!(outline(1, &[false], 0), "");
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
