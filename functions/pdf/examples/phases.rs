// TEMPORARY experiment, not committed.
use std::time::Instant;
use typst::foundations::Smart;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};
use visa_pdf::world::{Assets, VisaWorld};
use visa_pdf::{VisaDocument, qr, render::View};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let evict: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let vary = std::env::args().nth(3).is_some();
    let tpl = std::env::var("TPL")
        .ok()
        .map(|p| std::fs::read_to_string(p).unwrap());
    let assets = Assets::new(tpl.unwrap_or_else(|| visa_pdf::template::SOURCE.to_owned()));
    let standards = PdfStandards::new(&[PdfStandard::A_2b, PdfStandard::Ua_1]).unwrap();
    let (mut tq, mut tc, mut te) = (0.0, 0.0, 0.0);
    let names = [
        "ABRAHAMSSON",
        "KOWALCZYK",
        "NGUYEN",
        "O'BRIEN",
        "WOJCIECHOWSKI",
        "DUBOIS",
        "GARCÍA",
        "JØRGENSEN",
    ];
    for i in 0..n {
        let mut doc = VisaDocument::example();
        if vary {
            doc.visa_number = format!("KZ{:07}", i * 7919 % 10_000_000);
            doc.passport_number = format!("P{:08}", i * 104729 % 100_000_000);
            doc.surname = names[i % names.len()].into();
            doc.qr_url = format!(
                "{}{}",
                &doc.qr_url[..doc.qr_url.len() - 10],
                &format!("{:010}", i)
            );
        }
        let t0 = Instant::now();
        let data = serde_json::to_vec(&View::of(&doc)).unwrap();
        let svg = qr::svg(&doc.qr_url).unwrap();
        let t1 = Instant::now();
        let world = VisaWorld::new(&assets, data, svg, doc.issued_at);
        let d = typst::compile::<PagedDocument>(&world).output.unwrap();
        let t2 = Instant::now();
        let opts = PdfOptions {
            ident: Smart::Custom(doc.visa_number.clone()),
            creator: Smart::Auto,
            timestamp: Some(Timestamp::new_utc(
                typst::foundations::Datetime::from_ymd_hms(2026, 7, 14, 9, 30, 12).unwrap(),
            )),
            page_ranges: None,
            standards: standards.clone(),
            tagged: true,
            pretty: false,
        };
        let pdf = typst_pdf::pdf(&d, &opts).unwrap();
        let t3 = Instant::now();
        typst::comemo::evict(evict);
        if i > 0 {
            tq += (t1 - t0).as_secs_f64();
            tc += (t2 - t1).as_secs_f64();
            te += (t3 - t2).as_secs_f64();
        }
        if i == n - 1 {
            std::fs::write("/tmp/exp/out.pdf", pdf).unwrap();
        }
    }
    let k = (n - 1) as f64 * 1e-3;
    println!(
        "per warm render: qr+json {:.2} ms, compile {:.2} ms, export {:.2} ms",
        tq / k,
        tc / k,
        te / k
    );
}
