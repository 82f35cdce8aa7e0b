//! A forger's copy of a visa's two codes, for the offline verifier's browser
//! test (tests/browser/verify-offline.test.js): the QR code's URL with one
//! claim of its JWS changed (the surname) and the digital seal with its
//! passport number changed, each keeping the genuine signature, printed
//! side by side as a grayscale image (binary PGM).
//!
//!   forge-visa-codes --qr <the QR's text> --seal <the seal's bytes, hex> --out <file.pgm>

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use datamatrix::{DataMatrix, SymbolList};
use std::process::ExitCode;
use visa_core::vds;

/// Pixels per module, and light modules around each symbol.
const MODULE: usize = 8;
const QUIET: usize = 4;

type Failure = Box<dyn std::error::Error>;

fn forged_url(url: &str) -> Result<String, Failure> {
    let (origin, jws) = url.split_once('#').ok_or("the QR holds no #<JWS>")?;
    let [header, payload, signature] = jws.split('.').collect::<Vec<_>>()[..] else {
        return Err("not a compact JWS".into());
    };
    let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(payload)?)?;
    claims["sn"] = "FORGER".into();
    let payload = B64.encode(serde_json::to_vec(&claims)?);
    Ok(format!("{origin}#{header}.{payload}.{signature}"))
}

fn forged_seal(hex: &str) -> Result<Vec<u8>, Failure> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).ok_or("odd hex")?, 16).map_err(Failure::from))
        .collect::<Result<Vec<u8>, Failure>>()?;
    let seal = vds::decode(&bytes)?;
    let mut features = seal.features.clone();
    features.passport_number = Some("FORGED123".into());
    let unsigned = vds::encode_unsigned(&seal.header, &features)?;
    Ok(vds::with_signature(&unsigned, &seal.signature))
}

/// A symbol as rows of dark (true) and light modules.
fn qr_modules(text: &str) -> Result<Vec<Vec<bool>>, Failure> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    Ok(colors
        .chunks(width)
        .map(|row| row.iter().map(|c| *c == qrcode::Color::Dark).collect())
        .collect())
}

fn datamatrix_modules(bytes: &[u8]) -> Result<Vec<Vec<bool>>, Failure> {
    let code = DataMatrix::encode(bytes, SymbolList::default().enforce_square())
        .map_err(|e| format!("{e:?}"))?;
    let bitmap = code.bitmap();
    let mut rows = vec![vec![false; bitmap.width()]; bitmap.height()];
    for (x, y) in bitmap.pixels() {
        rows[y][x] = true;
    }
    Ok(rows)
}

/// The symbols side by side on white, as a binary PGM.
fn pgm(symbols: &[Vec<Vec<bool>>]) -> Vec<u8> {
    let size = |s: &Vec<Vec<bool>>| (s.len() + 2 * QUIET) * MODULE;
    // Even sides: the test's video frames are 4:2:0.
    let width = symbols.iter().map(size).sum::<usize>().next_multiple_of(2);
    let height = symbols
        .iter()
        .map(size)
        .max()
        .unwrap_or(0)
        .next_multiple_of(2);
    let mut pixels = vec![255u8; width * height];
    let mut left = 0;
    for symbol in symbols {
        for (y, row) in symbol.iter().enumerate() {
            for (x, dark) in row.iter().enumerate() {
                if !dark {
                    continue;
                }
                for dy in 0..MODULE {
                    let py = (QUIET + y) * MODULE + dy;
                    let px = left + (QUIET + x) * MODULE;
                    pixels[py * width + px..py * width + px + MODULE].fill(0);
                }
            }
        }
        left += size(symbol);
    }
    let mut out = format!("P5\n{width} {height}\n255\n").into_bytes();
    out.extend(pixels);
    out
}

fn run() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .ok_or_else(|| format!("{name} is required"))
    };
    let qr = qr_modules(&forged_url(arg("--qr")?)?)?;
    let seal = datamatrix_modules(&forged_seal(arg("--seal")?)?)?;
    std::fs::write(arg("--out")?, pgm(&[qr, seal]))?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forge-visa-codes: {e}");
            ExitCode::FAILURE
        }
    }
}
