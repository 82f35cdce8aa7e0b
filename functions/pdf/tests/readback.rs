//! Reads a rendered visa back the way a person or a border scanner would:
//! poppler's pdftotext and pdfinfo (Debian poppler-utils) for the text, and
//! pdftoppm + zbarimg (Debian zbar-tools) for the QR code. Missing tools fail
//! the test: a skipped read-back would hide a broken visa.

use std::path::{Path, PathBuf};

use visa_pdf::{Renderer, VisaDocument, readback};

/// The shared read-back helpers, failing the test with their message.
fn tool(name: &str, args: &[&str], package: &str) -> String {
    readback::tool(name, args, package).unwrap_or_else(|e| panic!("{e}"))
}

fn value_below(text: &str, label: &str) -> String {
    readback::value_below(text, label)
        .unwrap_or_else(|| panic!("no value below {label:?}:\n{text}"))
}

fn render_to(dir: &Path, doc: &VisaDocument) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let pdf = Renderer::new().render(doc).expect("the visa renders");
    let path = dir.join("visa.pdf");
    std::fs::write(&path, pdf).unwrap();
    path
}

fn workdir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("readback-{name}-{}", std::process::id()))
}

/// ICAO Doc 9303 Part 3, 4.9, written again here on purpose so the crate's
/// own check-digit code is not the only judge.
fn icao_check(field: &str) -> u32 {
    let mut sum = 0;
    for (i, b) in field.bytes().enumerate() {
        let v = match b {
            b'0'..=b'9' => (b - b'0') as u32,
            b'A'..=b'Z' => (b - b'A') as u32 + 10,
            b'<' => 0,
            _ => panic!("{:?} is outside the MRZ alphabet", b as char),
        };
        sum += v * [7, 3, 1][i % 3];
    }
    sum % 10
}

/// The check digits of an MRV-B line 2 (Doc 9303 Part 7): document number
/// 1-9 with 10, birth date 14-19 with 20, expiry 22-27 with 28.
fn mrv_b_line2_is_valid(line: &str) -> bool {
    let digit = |pos: usize| line[pos..pos + 1].parse::<u32>().ok();
    line.len() == 36
        && digit(9) == Some(icao_check(&line[0..9]))
        && digit(19) == Some(icao_check(&line[13..19]))
        && digit(27) == Some(icao_check(&line[21..27]))
}

#[test]
fn the_independent_checker_agrees_with_the_icao_specimen() {
    // ICAO Doc 9303 Part 7 MRV-B specimen.
    assert!(mrv_b_line2_is_valid("L898902C<3UTO6908061F9406236ZE184226"));
    assert!(!mrv_b_line2_is_valid(
        "L898902C<4UTO6908061F9406236ZE184226"
    ));
    assert!(!mrv_b_line2_is_valid(
        "L898902C<3UTO6908071F9406236ZE184226"
    ));
    assert!(!mrv_b_line2_is_valid(
        "L898902C<3UTO6908061F9406246ZE184226"
    ));
    // Doc 9303 Part 3 worked example, and the TD3 specimen's fields.
    assert_eq!(icao_check("520727"), 3);
    assert_eq!(icao_check("L898902C3"), 6);
    assert_eq!(icao_check("740812"), 2);
    assert_eq!(icao_check("120415"), 9);
    // The crate's MRZ code reproduces the specimen too.
    let [l1, l2] = visa_core::mrz::MrvB {
        issuing_state: "UTO",
        surname: "ERIKSSON",
        given_names: "ANNA MARIA",
        document_number: "L898902C",
        nationality: "UTO",
        date_of_birth: chrono::NaiveDate::from_ymd_opt(1969, 8, 6).unwrap(),
        sex: "F",
        expiry: chrono::NaiveDate::from_ymd_opt(1994, 6, 23).unwrap(),
        optional_data: "ZE184226",
    }
    .lines();
    assert_eq!(l1, "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<");
    assert_eq!(l2, "L898902C<3UTO6908061F9406236ZE184226");
}

#[test]
fn every_field_and_the_mrz_read_back_from_the_pdf() {
    let doc = VisaDocument::example();
    let dir = workdir("text");
    let pdf = render_to(&dir, &doc);
    let pdf = pdf.to_str().unwrap();

    let info = tool("pdfinfo", &[pdf], "poppler-utils");
    let info_field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
            .unwrap_or_else(|| panic!("pdfinfo has no {key}:\n{info}"))
    };
    assert_eq!(info_field("Pages"), "1");
    assert_eq!(info_field("Tagged"), "yes");
    assert_eq!(info_field("PDF version"), "1.7");
    assert!(
        info_field("Page size").ends_with("x 841.89 pts (A4)"),
        "{info}"
    );
    assert!(info_field("Title").contains("KZ1234567"), "{info}");

    let text = tool("pdftotext", &["-layout", pdf, "-"], "poppler-utils");
    // -layout pads columns with runs of spaces: compare on single spaces.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let expected = [
        "Republic of Kazakhstan — Electronic visa",
        "Қазақстан Республикасы",
        "Электронная виза",
        "KZ1234567",
        "Tourist",
        "Single entry",
        "01.08.2026",
        "30.08.2026",
        "MÜLLER",
        "ANNA-LENA SOPHIE",
        "Germany (DEU)",
        "14.03.1988",
        "C4J7K2L9X",
        "Kazakh Tourism JSC",
        "123456789012",
        "Astana International Airport (NQZ)",
        "Almaty International Airport (ALA)",
        "This e-visa is valid only with the passport it was issued for.",
        "discrepancy",
        "invalid",
    ];
    for want in expected {
        assert!(
            flat.contains(want),
            "{want:?} is missing from the PDF text:\n{text}"
        );
    }
    // Labelled values sit under their label in the -layout text.
    assert_eq!(value_below(&text, "SEX / ПОЛ"), "F");
    assert_eq!(value_below(&text, "DATE OF BIRTH"), "14.03.1988");
    assert_eq!(value_below(&text, "PASSPORT NUMBER"), "C4J7K2L9X");
    assert_eq!(value_below(&text, "VALID UNTIL"), "30.08.2026");

    // Both MRZ lines, each whole on one line of the extracted text.
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let line1 = "V<KAZMUELLER<<ANNA<LENA<SOPHIE<<<<<<";
    assert!(lines.contains(&line1), "MRZ line 1 missing:\n{text}");
    let line2 = lines
        .iter()
        .find(|l| l.len() == 36 && l.starts_with("KZ1234567"))
        .unwrap_or_else(|| panic!("MRZ line 2 missing:\n{text}"));
    assert!(mrv_b_line2_is_valid(line2), "bad check digits in {line2}");
    let expected_line2 = format!(
        "KZ1234567{}D<<880314{}F260830{}<<<<<<<<",
        icao_check("KZ1234567"),
        icao_check("880314"),
        icao_check("260830"),
    );
    assert_eq!(*line2, expected_line2);

    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_qr_code_decodes_to_the_verification_url() {
    let doc = VisaDocument::example();
    assert!(doc.qr_url.len() >= 380, "the sample URL is realistic");
    let dir = workdir("qr");
    let pdf = render_to(&dir, &doc);
    let prefix = dir.join("page");
    tool(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-png",
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
        "poppler-utils",
    );
    let png = dir.join("page.png");
    let decoded = tool(
        "zbarimg",
        &["--raw", "-q", png.to_str().unwrap()],
        "zbar-tools",
    );
    assert_eq!(decoded.trim_end_matches('\n'), doc.qr_url);
    std::fs::remove_dir_all(&dir).ok();
}
