//! render.rs decodes the QR code's SVG on a helper thread while typst
//! compiles, leaving the result in typst's memo. This checks that the
//! image's layout then takes that decoding instead of decoding again (the
//! arguments must match typst's own exactly). Its own test binary, so no
//! other test's render evicts the memo in between.

use typst::foundations::Bytes;
use typst::layout::{Frame, FrameItem};
use typst::visualize::{ImageKind, SvgImage};
use typst_layout::PagedDocument;
use visa_pdf::render::View;
use visa_pdf::world::{Assets, QrFile, VisaWorld};
use visa_pdf::{VisaDocument, qr};

fn svg_images(frame: &Frame, found: &mut Vec<SvgImage>) {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Group(group) => svg_images(&group.frame, found),
            FrameItem::Image(image, _, _) => {
                if let ImageKind::Svg(svg) = image.kind() {
                    found.push(svg.clone());
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_layout_reuses_the_helpers_decoding_of_the_qr_code() {
    let doc = VisaDocument::example();
    let assets = Assets::default();
    let svg = Bytes::from_string(qr::svg(&doc.qr_url).unwrap());
    let qr_file = QrFile::new();
    qr_file.set(Some(svg.clone())).unwrap();
    let data = serde_json::to_vec(&View::of(&doc)).unwrap();
    let world = VisaWorld::new(&assets, data, &qr_file, doc.issued_at)
        .with_seal(visa_pdf::seal::svg(&doc.seal).unwrap());

    let warmed = world.decode_qr(svg).expect("the QR code decodes");
    let document = typst::compile::<PagedDocument>(&world).output.unwrap();

    let mut laid_out = Vec::new();
    svg_images(&document.pages()[0].frame, &mut laid_out);
    assert_eq!(
        laid_out.len(),
        2,
        "two SVG images: the QR code and the seal"
    );
    assert!(
        laid_out
            .iter()
            .any(|svg| std::ptr::eq(svg.tree(), warmed.tree())),
        "the layout decoded the QR code again: QR_FAMILIES or the file id no longer match typst's"
    );
}
