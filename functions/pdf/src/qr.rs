//! The visa's QR code as a small SVG: one `<path>` whose subpaths are the
//! outlines of the dark areas. One element per module made a warm render
//! several times slower (docs/FACTS.md); one rectangle
//! per horizontal run of dark modules has a quarter more vertices than the
//! outlines.
//!
//! The qrcode crate encodes; the mask is chosen here. Its own choice boxes
//! a closure per module position for each of the 8 masks (an allocation
//! each); the ISO/IEC 18004 penalty rules below score the masks with
//! shifts and popcounts instead (PERFORMANCE.md).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use qrcode::canvas::{Canvas, MaskPattern, Module};
use qrcode::{Color, EcLevel, Version, bits, ec};

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
            path.push('M');
            push_number(&mut path, sx + offset);
            path.push(' ');
            push_number(&mut path, sy + offset);
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
                        RIGHT | LEFT => {
                            path.push('H');
                            push_number(&mut path, x + offset);
                        }
                        _ => {
                            path.push('V');
                            push_number(&mut path, y + offset);
                        }
                    }
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

/// Appends `n` in decimal: thousands of vertices a code, and `write!`'s
/// formatting machinery was a third of the outline's time.
fn push_number(path: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    path.extend(digits[at..].iter().map(|&d| d as char));
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
    let mut canvas = unmasked(bits)?;
    // Each mask's symbol is its template XOR the data: scoring all eight is
    // a few thousand word operations instead of eight masked canvases.
    let data = data_lines(&canvas, width);
    let templates = templates(version, width);
    let mut best: Option<(usize, MaskPattern)> = None;
    for (i, pattern) in MASKS.into_iter().enumerate() {
        let score = templates.score(i, &data, width);
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, pattern));
        }
    }
    // qrcode itself draws the chosen mask and its format information.
    canvas.apply_mask(best.expect("eight masks").1);
    Ok((width, dark(canvas)))
}

/// The symbol with its function patterns and data drawn, not yet masked.
fn unmasked(bits: bits::Bits) -> Result<Canvas, RenderError> {
    let version = bits.version();
    let (data, ecc) = ec::construct_codewords(&bits.into_bytes(), version, EC_LEVEL)?;
    let mut canvas = Canvas::new(version, EC_LEVEL);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ecc);
    Ok(canvas)
}

/// The dark data modules of an unmasked canvas, as row and column bitsets.
fn data_lines(canvas: &Canvas, width: usize) -> (Vec<u128>, Vec<u128>) {
    let data_dark: Vec<bool> = (0..width * width)
        .map(|i| {
            let (x, y) = ((i % width) as i16, (i / width) as i16);
            canvas.get(x, y) == Module::Unmasked(Color::Dark)
        })
        .collect();
    bitsets(&data_dark, width)
}

/// A finished canvas's modules, row by row, `true` for dark.
fn dark(canvas: Canvas) -> Vec<bool> {
    canvas
        .into_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect()
}

fn xor(a: &[u128], b: &[u128]) -> Vec<u128> {
    a.iter().zip(b).map(|(a, b)| a ^ b).collect()
}

/// One version's symbol under each mask with all data modules light:
/// function patterns, format information, and dark wherever the mask
/// inverts a data module. XOR with the data gives the masked symbol.
struct MaskTemplates {
    rows: [Vec<u128>; 8],
    cols: [Vec<u128>; 8],
}

impl MaskTemplates {
    /// The penalty of mask `i` over the data lines of [`data_lines`].
    fn score(&self, i: usize, (rows, cols): &(Vec<u128>, Vec<u128>), width: usize) -> usize {
        penalty_lines(&xor(&self.rows[i], rows), &xor(&self.cols[i], cols), width)
    }
}

/// Built once per version and kept: a handful of versions cover every visa.
fn templates(version: Version, width: usize) -> Arc<MaskTemplates> {
    static BUILT: LazyLock<Mutex<HashMap<usize, Arc<MaskTemplates>>>> =
        LazyLock::new(Default::default);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    built
        .entry(width)
        .or_insert_with(|| {
            let lines = |pattern: MaskPattern| {
                let mut empty = Canvas::new(version, EC_LEVEL);
                empty.draw_all_functional_patterns();
                empty.apply_mask(pattern);
                bitsets(&dark(empty), width)
            };
            let all = MASKS.map(lines);
            Arc::new(MaskTemplates {
                rows: all.clone().map(|(rows, _)| rows),
                cols: all.map(|(_, cols)| cols),
            })
        })
        .clone()
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
/// and mask is slow.
#[cfg(test)]
fn penalty(dark: &[bool], width: usize) -> usize {
    let (rows, cols) = bitsets(dark, width);
    penalty_lines(&rows, &cols, width)
}

/// Rows and columns of `dark` as bitsets (bit `x + PAD` = module `x`).
fn bitsets(dark: &[bool], width: usize) -> (Vec<u128>, Vec<u128>) {
    let mut rows = vec![0u128; width];
    let mut cols = vec![0u128; width];
    for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
        let (x, y) = (i % width, i / width);
        rows[y] |= 1 << (x + PAD);
        cols[x] |= 1 << (y + PAD);
    }
    (rows, cols)
}

/// [`penalty`] of the symbol whose rows and columns are these bitsets.
fn penalty_lines(rows: &[u128], cols: &[u128], width: usize) -> usize {
    let symbol: u128 = ((1u128 << width) - 1) << PAD;
    let dark_count: usize = rows.iter().map(|r| r.count_ones() as usize).sum();
    let mut score = 0;
    for lines in [rows, cols] {
        for &line in lines {
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
    let percent = dark_count * 100 / (width * width);
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
    fn templates_score_every_mask_as_the_masked_symbol_would() {
        // The fast choice scores each mask from a template XOR the data;
        // masking a copy of the canvas with qrcode and scoring the result
        // module by module must give the same eight scores, whatever the
        // version.
        for text in [
            URL.to_owned(),
            format!("{URL}{}", "x".repeat(150)),
            "KZ".into(),
        ] {
            let bits = bits::encode_auto(text.as_bytes(), EC_LEVEL).unwrap();
            let version = bits.version();
            let width = version.width() as usize;
            let canvas = unmasked(bits).unwrap();
            let data = data_lines(&canvas, width);
            let t = templates(version, width);
            for (i, pattern) in MASKS.into_iter().enumerate() {
                let mut masked = canvas.clone();
                masked.apply_mask(pattern);
                let dark = dark(masked);
                let fast = t.score(i, &data, width);
                assert_eq!(fast, penalty(&dark, width), "{pattern:?} at width {width}");
            }
        }
    }

    #[test]
    fn the_chosen_mask_scores_lowest() {
        let (width, chosen) = modules(URL).unwrap();
        let best = penalty(&chosen, width);
        let theirs = qrcode::QrCode::with_error_correction_level(URL.as_bytes(), EC_LEVEL).unwrap();
        let theirs: Vec<bool> = theirs
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        assert!(
            best <= penalty(&theirs, width),
            "qrcode's own mask scores lower"
        );
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
    fn numbers_are_written_in_decimal() {
        let mut s = String::new();
        for n in [0, 7, 10, 89, 100, 12345] {
            push_number(&mut s, n);
            s.push(',');
        }
        assert_eq!(s, "0,7,10,89,100,12345,");
    }

    #[test]
    fn a_long_url_still_fits() {
        let long = format!("{URL}{}", "A".repeat(600));
        assert!(svg(&long).is_ok());
    }
}
