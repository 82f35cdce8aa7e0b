//! The ICAO Visible Digital Seal (Doc 9303 Part 13, version 4) of a visa:
//! the bytes a DataMatrix on the visa carries, encoded and decoded here.
//!
//! A seal is a header (magic `0xDC`, version `0x03`, the issuing state and
//! the signer's identifier and certificate reference in C40, the issue and
//! signature dates, the document feature definition reference and the
//! document type category), a message zone of TLV features (for a visa:
//! the MRV-B machine-readable zone, the number of entries, the duration of
//! stay, the passport number), and the signature over both (tag `0xFF`,
//! the ECDSA signature as raw r||s). Checked against the worked visa
//! example of BSI TR-03137 Part 1, Annex F, byte for byte.

use chrono::{Datelike, NaiveDate};

pub const MAGIC: u8 = 0xDC;
/// Version 4 of the seal, written `0x03`.
pub const VERSION_4: u8 = 0x03;
/// The visa profile's document feature definition reference (93).
pub const VISA_FEATURE_REFERENCE: u8 = 0x5D;
/// The visa profile's document type category.
pub const VISA_TYPE_CATEGORY: u8 = 0x01;

/// The visa profile's features (message zone tags).
pub mod tag {
    /// The MRZ of an MRV-A visa (48 bytes of C40).
    pub const MRZ_MRV_A: u8 = 0x01;
    /// The MRZ of an MRV-B visa (44 bytes of C40).
    pub const MRZ_MRV_B: u8 = 0x02;
    pub const NUMBER_OF_ENTRIES: u8 = 0x03;
    /// Days, months, years: one byte each.
    pub const DURATION_OF_STAY: u8 = 0x04;
    pub const PASSPORT_NUMBER: u8 = 0x05;
    pub const SIGNATURE: u8 = 0xFF;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VdsError {
    #[error("not a digital seal: {0}")]
    Malformed(&'static str),
    #[error("unsupported seal version {0:#04x}")]
    Version(u8),
    #[error("a character C40 cannot carry: {0:?}")]
    Character(char),
}

/// The header of a version 4 seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Three letters, `<` for filler (`D<<`, `KAZ`).
    pub issuing_state: String,
    /// Four characters: the signer's country (2) and its identifier (2).
    pub signer: String,
    /// The signer certificate's reference (hex digits of its serial).
    pub certificate_reference: String,
    pub issued: NaiveDate,
    pub signed: NaiveDate,
    pub feature_reference: u8,
    pub type_category: u8,
}

/// A visa's features.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisaFeatures {
    /// The MRV-B MRZ's two lines joined (72 characters); the seal keeps
    /// its first 64 (the eight optional-data characters ending line two
    /// come back as fillers).
    pub mrz_b: Option<String>,
    pub entries: Option<u8>,
    /// (days, months, years).
    pub duration_of_stay: Option<(u8, u8, u8)>,
    pub passport_number: Option<String>,
}

/// A decoded seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub header: Header,
    pub features: VisaFeatures,
    /// The message zone's features as they came (tag, value), unknown
    /// tags included.
    pub message: Vec<(u8, Vec<u8>)>,
    /// What the signature covers: the header and the message zone.
    pub signed_bytes: Vec<u8>,
    /// Raw r||s.
    pub signature: Vec<u8>,
}

// ---------- C40 (ISO/IEC 16022 as Doc 9303-13 uses it) ----------

fn c40_value(c: char) -> Result<u16, VdsError> {
    Ok(match c {
        ' ' | '<' => 3,
        '0'..='9' => c as u16 - '0' as u16 + 4,
        'A'..='Z' => c as u16 - 'A' as u16 + 14,
        _ => return Err(VdsError::Character(c)),
    })
}

/// C40 bytes of `text` (`<` written as a space, as the seal does).
pub fn c40_encode(text: &str) -> Result<Vec<u8>, VdsError> {
    let values = text.chars().map(c40_value).collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(values.len() * 2 / 3 + 2);
    let mut chunks = values.chunks_exact(3);
    for triple in chunks.by_ref() {
        let v = 1600 * triple[0] + 40 * triple[1] + triple[2] + 1;
        out.extend(v.to_be_bytes());
    }
    match *chunks.remainder() {
        [] => {}
        // Two left: padded with Shift 1 (0).
        [a, b] => out.extend((1600 * a + 40 * b + 1).to_be_bytes()),
        // One left: unlatch (0xFE), then the character as ASCII + 1.
        [_] => {
            let last = text
                .chars()
                .last()
                .map_or(b' ', |c| if c == '<' { b' ' } else { c as u8 });
            out.extend([0xFE, last + 1]);
        }
        _ => unreachable!("a remainder of three is a chunk"),
    }
    Ok(out)
}

/// The text of C40 bytes; spaces are written `<`, as in an MRZ.
pub fn c40_decode(bytes: &[u8]) -> Result<String, VdsError> {
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0xFE {
            let c = *bytes
                .get(i + 1)
                .ok_or(VdsError::Malformed("C40 unlatch without a character"))?;
            match c.wrapping_sub(1) {
                b' ' => out.push('<'),
                ascii => out.push(char::from(ascii)),
            }
            i += 2;
            continue;
        }
        let pair = bytes
            .get(i..i + 2)
            .ok_or(VdsError::Malformed("C40 of an odd length"))?;
        let v = u16::from_be_bytes([pair[0], pair[1]])
            .checked_sub(1)
            .ok_or(VdsError::Malformed("C40 value 0"))?;
        for value in [v / 1600, (v / 40) % 40, v % 40] {
            match value {
                0 => {} // Shift 1: padding.
                3 => out.push('<'),
                4..=13 => out.push(char::from(b'0' + (value - 4) as u8)),
                14..=39 => out.push(char::from(b'A' + (value - 14) as u8)),
                _ => return Err(VdsError::Malformed("C40 value outside the basic set")),
            }
        }
        i += 2;
    }
    Ok(out)
}

// ---------- dates, lengths ----------

/// A date as the seal writes it: the integer MMDDYYYY in three bytes.
pub fn encode_date(d: NaiveDate) -> [u8; 3] {
    let n = d.month() * 1_000_000 + d.day() * 10_000 + d.year() as u32;
    let b = n.to_be_bytes();
    [b[1], b[2], b[3]]
}

pub fn decode_date(b: &[u8]) -> Result<NaiveDate, VdsError> {
    let [x, y, z] = b else {
        return Err(VdsError::Malformed("a date is three bytes"));
    };
    let n = u32::from_be_bytes([0, *x, *y, *z]);
    NaiveDate::from_ymd_opt((n % 10_000) as i32, n / 1_000_000, (n / 10_000) % 100)
        .ok_or(VdsError::Malformed("not a date"))
}

/// A DER length (the seal's TLV lengths).
fn encode_length(n: usize, out: &mut Vec<u8>) {
    match n {
        0..=0x7F => out.push(n as u8),
        0x80..=0xFF => out.extend([0x81, n as u8]),
        _ => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
}

fn decode_length(bytes: &[u8], at: &mut usize) -> Result<usize, VdsError> {
    let first = *bytes
        .get(*at)
        .ok_or(VdsError::Malformed("a length is missing"))?;
    *at += 1;
    match first {
        0..=0x7F => Ok(first as usize),
        0x81 | 0x82 => {
            let n = (first - 0x80) as usize;
            let raw = bytes
                .get(*at..*at + n)
                .ok_or(VdsError::Malformed("a length is cut"))?;
            *at += n;
            Ok(raw.iter().fold(0, |acc, b| (acc << 8) | *b as usize))
        }
        _ => Err(VdsError::Malformed("a length over 65535")),
    }
}

// ---------- the seal ----------

/// The MRZ characters an MRV-B seal keeps: line one (36) and line two up
/// to its last check digit (28); the optional data that ends line two is
/// left out.
const MRV_B_SEAL_CHARS: usize = 64;

/// What the signature covers: the header, then the message zone.
pub fn encode_unsigned(header: &Header, features: &VisaFeatures) -> Result<Vec<u8>, VdsError> {
    if header.issuing_state.chars().count() != 3
        || header.signer.chars().count() != 4
        || header.certificate_reference.chars().count() > 0xFF
    {
        return Err(VdsError::Malformed(
            "a header needs a 3-character state, a 4-character signer and a reference of at most 255",
        ));
    }
    let mut out = vec![MAGIC, VERSION_4];
    out.extend(c40_encode(&header.issuing_state)?);
    let signer = format!(
        "{}{:02X}{}",
        header.signer,
        header.certificate_reference.len(),
        header.certificate_reference
    );
    out.extend(c40_encode(&signer)?);
    out.extend(encode_date(header.issued));
    out.extend(encode_date(header.signed));
    out.extend([header.feature_reference, header.type_category]);
    let mut feature = |tag: u8, value: Vec<u8>| {
        out.push(tag);
        encode_length(value.len(), &mut out);
        out.extend(value);
    };
    if let Some(mrz) = &features.mrz_b {
        let kept: String = mrz.chars().take(MRV_B_SEAL_CHARS).collect();
        feature(tag::MRZ_MRV_B, c40_encode(&kept)?);
    }
    if let Some(n) = features.entries {
        feature(tag::NUMBER_OF_ENTRIES, vec![n]);
    }
    if let Some((d, m, y)) = features.duration_of_stay {
        feature(tag::DURATION_OF_STAY, vec![d, m, y]);
    }
    if let Some(number) = &features.passport_number {
        feature(tag::PASSPORT_NUMBER, c40_encode(number)?);
    }
    Ok(out)
}

/// The whole seal: what was signed, then the signature (raw r||s).
pub fn with_signature(unsigned: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = unsigned.to_vec();
    out.push(tag::SIGNATURE);
    encode_length(signature.len(), &mut out);
    out.extend(signature);
    out
}

/// Reads a version 4 seal.
pub fn decode(bytes: &[u8]) -> Result<Seal, VdsError> {
    if bytes.first() != Some(&MAGIC) {
        return Err(VdsError::Malformed("no magic constant"));
    }
    match bytes.get(1) {
        Some(&VERSION_4) => {}
        Some(&v) => return Err(VdsError::Version(v)),
        None => return Err(VdsError::Malformed("no version")),
    }
    let take = |from: usize, n: usize| {
        bytes
            .get(from..from + n)
            .ok_or(VdsError::Malformed("the header is cut"))
    };
    let issuing_state = c40_decode(take(2, 2)?)?;
    if issuing_state.chars().count() != 3 {
        return Err(VdsError::Malformed(
            "the issuing state is not three characters",
        ));
    }
    // The signer (4 characters) and the reference's length (2 hex digits)
    // are the first 6 characters: 4 bytes of C40; the reference follows.
    let lead = c40_decode(take(4, 4)?)?;
    if lead.len() != 6 {
        return Err(VdsError::Malformed("the signer identifier is cut"));
    }
    let reference_chars = usize::from_str_radix(&lead[4..6], 16)
        .map_err(|_| VdsError::Malformed("the certificate reference's length is not hex"))?;
    // The remaining characters: whole triplets, two bytes each (a last
    // pair or single is padded into a triplet, or unlatched).
    let total_chars = 6 + reference_chars;
    let signer_bytes = total_chars.div_ceil(3) * 2;
    let signer_all = c40_decode(take(4, signer_bytes)?)?;
    let signer = signer_all[..4].to_owned();
    let certificate_reference = signer_all
        .get(6..total_chars)
        .ok_or(VdsError::Malformed("the certificate reference is cut"))?
        .to_owned();
    if signer_all.len() != total_chars {
        return Err(VdsError::Malformed(
            "the certificate reference is not as long as its header says",
        ));
    }
    let mut at = 4 + signer_bytes;
    let issued = decode_date(take(at, 3)?)?;
    let signed = decode_date(take(at + 3, 3)?)?;
    let feature_reference = *take(at + 6, 1)?.first().expect("one byte");
    let type_category = *take(at + 7, 1)?.first().expect("one byte");
    at += 8;
    let header = Header {
        issuing_state,
        signer,
        certificate_reference,
        issued,
        signed,
        feature_reference,
        type_category,
    };
    let mut message = Vec::new();
    let mut features = VisaFeatures::default();
    let mut signature = None;
    let mut signed_end = bytes.len();
    while at < bytes.len() {
        let tag = bytes[at];
        let tag_at = at;
        at += 1;
        let len = decode_length(bytes, &mut at)?;
        let value = bytes
            .get(at..at + len)
            .ok_or(VdsError::Malformed("a feature is cut"))?
            .to_vec();
        at += len;
        if tag == tag::SIGNATURE {
            signed_end = tag_at;
            signature = Some(value);
            if at != bytes.len() {
                return Err(VdsError::Malformed("bytes after the signature"));
            }
            break;
        }
        match tag {
            tag::MRZ_MRV_B => {
                let mut mrz = c40_decode(&value)?;
                while mrz.chars().count() < 72 {
                    mrz.push('<');
                }
                features.mrz_b = Some(mrz);
            }
            tag::NUMBER_OF_ENTRIES => features.entries = value.first().copied(),
            tag::DURATION_OF_STAY => {
                if let [d, m, y] = value[..] {
                    features.duration_of_stay = Some((d, m, y));
                }
            }
            tag::PASSPORT_NUMBER => features.passport_number = Some(c40_decode(&value)?),
            _ => {}
        }
        message.push((tag, value));
    }
    Ok(Seal {
        header,
        features,
        message,
        signed_bytes: bytes[..signed_end].to_vec(),
        signature: signature.ok_or(VdsError::Malformed("no signature"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BSI TR-03137 Part 1 (v2.5), Annex F: the worked example of a
    /// digital seal for a visa sticker (signed with brainpoolP224r1).
    const BSI_VISA: &str = "dc036abc6d32c8a72cb10f7134b798155d01\
        022cdd52134a74da1347c6fed95cb89f9fce133c133c133c133c2038337\
        34aaf47f0c32f1a1e20eb2625393afe31\
        0403a00000\
        050633be1fed20c6\
        ff38d5573247608c9b64cae022c1c5249660e51ae316d600f974aac2129c3f093c35955314026304705cd24c1b8100711bd4411f068e8d93e8b7";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_bsi_worked_visa_example_decodes_field_by_field() {
        let bytes = hex(BSI_VISA);
        let seal = decode(&bytes).unwrap();
        assert_eq!(
            seal.header,
            Header {
                issuing_state: "D<<".into(),
                signer: "DETS".into(),
                certificate_reference: "32".into(),
                issued: date(2020, 1, 1),
                signed: date(2021, 12, 3),
                feature_reference: VISA_FEATURE_REFERENCE,
                type_category: VISA_TYPE_CATEGORY,
            }
        );
        assert_eq!(
            seal.features.mrz_b.as_deref(),
            Some("VCD<<DENT<<ARTHUR<PHILIP<<<<<<<<<<<<1234567XY7GBR5203116M2005250<<<<<<<<")
        );
        assert_eq!(seal.features.duration_of_stay, Some((160, 0, 0)));
        assert_eq!(seal.features.passport_number.as_deref(), Some("47110815P"));
        assert_eq!(seal.features.entries, None);
        assert_eq!(
            seal.signature.len(),
            56,
            "brainpoolP224r1: r and s of 28 bytes"
        );
        assert_eq!(&seal.signed_bytes[..], &bytes[..bytes.len() - 58]);
    }

    #[test]
    fn encoding_the_same_fields_gives_the_bsi_bytes_exactly() {
        let bytes = hex(BSI_VISA);
        let seal = decode(&bytes).unwrap();
        let unsigned = encode_unsigned(&seal.header, &seal.features).unwrap();
        assert_eq!(unsigned, seal.signed_bytes);
        assert_eq!(with_signature(&unsigned, &seal.signature), bytes);
    }

    #[test]
    fn c40_pads_pairs_and_unlatches_singles() {
        // D<< is 0x6abc in the example; a pair is padded with Shift 1, a
        // single is unlatched.
        assert_eq!(c40_encode("D<<").unwrap(), [0x6a, 0xbc]);
        for text in ["KAZ", "KZ", "K", "KAZ1", "KAZ12", "Z1234567", "<"] {
            let bytes = c40_encode(text).unwrap();
            assert_eq!(c40_decode(&bytes).unwrap(), text, "{bytes:02x?}");
        }
        assert_eq!(c40_encode("K").unwrap(), [0xFE, b'K' + 1]);
        assert_eq!(c40_encode("é"), Err(VdsError::Character('é')));
    }

    #[test]
    fn dates_lengths_and_refusals() {
        assert_eq!(encode_date(date(2020, 1, 1)), [0x0f, 0x71, 0x34]);
        assert_eq!(decode_date(&[0xb7, 0x98, 0x15]).unwrap(), date(2021, 12, 3));
        assert!(decode_date(&[0x00, 0x00, 0x00]).is_err());
        let mut long = Vec::new();
        encode_length(300, &mut long);
        let mut at = 0;
        assert_eq!(decode_length(&long, &mut at).unwrap(), 300);
        let bytes = hex(BSI_VISA);
        assert_eq!(
            decode(&bytes[1..]),
            Err(VdsError::Malformed("no magic constant"))
        );
        let mut v3 = bytes.clone();
        v3[1] = 0x02;
        assert_eq!(decode(&v3), Err(VdsError::Version(0x02)));
        assert!(
            decode(&bytes[..bytes.len() - 10]).is_err(),
            "a cut signature"
        );
        assert!(decode(&bytes[..30]).is_err(), "a cut feature");
        // An issuing state of Shift-1 padding only (found by fuzzing): not
        // three characters, so not a seal.
        let mut empty_state = bytes.clone();
        empty_state[2..4].copy_from_slice(&[0x00, 0x01]);
        assert_eq!(
            decode(&empty_state),
            Err(VdsError::Malformed(
                "the issuing state is not three characters"
            ))
        );
    }

    #[test]
    fn a_kazakh_visa_seal_round_trips() {
        let header = Header {
            issuing_state: "KAZ".into(),
            signer: "KZVS".into(),
            certificate_reference: "1A2B".into(),
            issued: date(2026, 12, 5),
            signed: date(2026, 12, 5),
            feature_reference: VISA_FEATURE_REFERENCE,
            type_category: VISA_TYPE_CATEGORY,
        };
        let mrz = "VBKAZSHARMA<<PRIYA<ANIL<<<<<<<<<<<<<K7Q4M2X9A4IND9004127F2701170<<<<<<<<";
        assert_eq!(mrz.len(), 72);
        let features = VisaFeatures {
            mrz_b: Some(mrz.into()),
            entries: Some(1),
            duration_of_stay: Some((30, 0, 0)),
            passport_number: Some("Z1234567".into()),
        };
        let unsigned = encode_unsigned(&header, &features).unwrap();
        let sealed = with_signature(&unsigned, &[7u8; 64]);
        let seal = decode(&sealed).unwrap();
        assert_eq!(seal.header, header);
        assert_eq!(seal.features, features);
        assert_eq!(seal.signed_bytes, unsigned);
        assert_eq!(seal.signature, [7u8; 64]);
    }
}
