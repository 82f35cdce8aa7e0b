//! The ICAO digital seal's decoder (functions/core/src/vds.rs) on arbitrary
//! bytes, what a border scanner may hand it: never a panic; and a seal it
//! accepts re-encodes from its fields to the bytes it was read from (the
//! visa profile's features in their order, which is how the portal writes
//! them), or it held something the profile does not write.

#![no_main]

use libfuzzer_sys::fuzz_target;
use visa_core::vds;

fuzz_target!(|data: &[u8]| {
    let Ok(seal) = vds::decode(data) else {
        return;
    };
    // What the signature covers is a prefix of the input.
    assert!(data.starts_with(&seal.signed_bytes));
    let known = seal.message.iter().map(|(tag, _)| *tag).collect::<Vec<_>>();
    let canonical = [
        vds::tag::MRZ_MRV_B,
        vds::tag::NUMBER_OF_ENTRIES,
        vds::tag::DURATION_OF_STAY,
        vds::tag::PASSPORT_NUMBER,
    ];
    // Only a seal in the portal's own shape is expected to round-trip.
    if known.iter().any(|t| !canonical.contains(t)) || !known.is_sorted() || {
        let mut dedup = known.clone();
        dedup.dedup();
        dedup.len() != known.len()
    } {
        return;
    }
    if let Ok(again) = vds::encode_unsigned(&seal.header, &seal.features) {
        let reread = vds::decode(&vds::with_signature(&again, &seal.signature))
            .expect("what the encoder writes, the decoder reads");
        assert_eq!(reread.header, seal.header);
        assert_eq!(
            reread.features.passport_number,
            seal.features.passport_number
        );
        assert_eq!(reread.features.entries, seal.features.entries);
        assert_eq!(
            reread.features.duration_of_stay,
            seal.features.duration_of_stay
        );
    }
});
