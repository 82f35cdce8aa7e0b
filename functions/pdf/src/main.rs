//! `visa-pdf render --data visa.json --out visa.pdf [--repeat N]`: renders a
//! visa for template designers; with `--repeat` it is the render benchmark.
//! `visa-pdf view --data visa.json` prints what the template is given (the
//! formatted fields, the MRZ and the QR code's SVG) as JSON, so the Chromium
//! comparison (compare-chromium.sh) lays out exactly the same visa.
//! Arguments are parsed by hand to keep the build light.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use visa_pdf::render::{Stages, View};
use visa_pdf::{Renderer, VisaDocument};

const USAGE: &str = concat!(
    "usage: visa-pdf render --data visa.json --out visa.pdf [--repeat N] [--template visa.typ]\n",
    "       visa-pdf view --data visa.json"
);

struct Args {
    command: Command,
    data: String,
    out: String,
    repeat: usize,
    /// A typst file to use instead of the built-in template.
    template: Option<String>,
}

#[derive(Debug, PartialEq)]
enum Command {
    Render,
    View,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = match args.next().as_deref() {
        Some("render") => Command::Render,
        Some("view") => Command::View,
        _ => return Err(USAGE.into()),
    };
    let (mut data, mut out, mut repeat, mut template) = (None, None, 1, None);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--data" => data = Some(value()?),
            "--out" => out = Some(value()?),
            "--repeat" => {
                repeat = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--repeat needs a positive whole number")?
            }
            "--template" => template = Some(value()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if command == Command::View {
        // view prints to stdout and renders nothing.
        if out.is_some() || repeat != 1 || template.is_some() {
            return Err(format!("view takes only --data\n{USAGE}"));
        }
        out = Some(String::new());
    }
    Ok(Args {
        command,
        data: data.ok_or(USAGE)?,
        out: out.ok_or(USAGE)?,
        repeat,
        template,
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("visa-pdf: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args(std::env::args().skip(1))?;
    let json = std::fs::read_to_string(&args.data).map_err(|e| format!("{}: {e}", args.data))?;
    let doc: VisaDocument =
        serde_json::from_str(&json).map_err(|e| format!("{}: {e}", args.data))?;
    if args.command == Command::View {
        let qr_svg = visa_pdf::qr::svg(&doc.qr_url).map_err(|e| e.to_string())?;
        let view = serde_json::json!({"view": View::of(&doc), "qr_svg": qr_svg});
        println!("{view}");
        return Ok(());
    }

    let template = match &args.template {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?),
        None => None,
    };

    let started = Instant::now();
    let renderer = template.map_or_else(Renderer::new, Renderer::with_template);
    let init = started.elapsed();

    let mut times = Vec::with_capacity(args.repeat);
    let mut pdf = Vec::new();
    let mut warm_cpu = Duration::ZERO;
    let mut stages = Vec::with_capacity(args.repeat);
    for i in 1..=args.repeat {
        // Renders after the first are of other visas, as an issuer's are:
        // typst's memo cache must not serve a repeat from the last render.
        let this = if i == 1 {
            doc.clone()
        } else {
            variant(&doc, i)
        };
        let (t, cpu) = (Instant::now(), cpu_time());
        let (bytes, warnings, stage) = renderer.render_timed(&this).map_err(|e| e.to_string())?;
        times.push(t.elapsed());
        if i > 1 {
            warm_cpu += cpu_time().saturating_sub(cpu);
            stages.push(stage);
        }
        if i == 1 {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
        }
        if i == 1 {
            pdf = bytes;
        }
        // The 1st, the 100th (warm) and the last render are the ones the
        // benchmark compares; the others show the shape of any growth.
        let checkpoint = matches!(i, 1 | 100 | 1000 | 2000 | 5000) || i == args.repeat;
        if args.repeat > 1 && checkpoint {
            println!("RSS after render {i:>6}: {}", rss());
        }
    }
    std::fs::write(&args.out, &pdf).map_err(|e| format!("{}: {e}", args.out))?;

    println!("init (fonts, book, library): {:.2} ms", ms(init));
    println!("first render: {:.2} ms", ms(times[0]));
    if args.repeat > 1 {
        let mut warm = times[1..].to_vec();
        warm.sort();
        let pick = |q: f64| warm[((warm.len() - 1) as f64 * q).round() as usize];
        println!(
            "warm renders (each of another visa): {}  median {:.2} ms  p95 {:.2} ms  min {:.2} ms  max {:.2} ms",
            warm.len(),
            ms(pick(0.5)),
            ms(pick(0.95)),
            ms(warm[0]),
            ms(warm[warm.len() - 1]),
        );
        // On a busy machine wall time includes waiting for a core; on-CPU
        // time per render does not.
        println!(
            "warm renders: mean on-CPU time {:.2} ms",
            ms(warm_cpu) / warm.len() as f64
        );
        let median = |pick: fn(&Stages) -> Duration| {
            let mut v: Vec<Duration> = stages.iter().map(pick).collect();
            v.sort();
            ms(v[v.len() / 2])
        };
        println!(
            "warm renders by stage (medians): prepare (data, MRZ) {:.2} ms  compile (typst; the QR code on a second thread) {:.2} ms  export (PDF) {:.2} ms",
            median(|s| s.prepare),
            median(|s| s.compile),
            median(|s| s.export),
        );
    }
    println!("wrote {} ({} bytes)", args.out, pdf.len());
    Ok(())
}

/// Visa number `i` of a benchmark run: another number, holder, passport
/// and signature (same length, so the same QR version), as a day of real
/// issuance would bring.
fn variant(doc: &VisaDocument, i: usize) -> VisaDocument {
    const HOLDERS: [(&str, &str); 6] = [
        ("NGUYEN", "THI MAI"),
        ("WOJCIECHOWSKA", "ZOFIA"),
        ("O'BRIEN", "SEÁN PATRICK"),
        ("SHARMA", "PRIYA ANIL"),
        ("GARCÍA LÓPEZ", "JOSÉ MANUEL"),
        ("ERIKSSON", "ANNA MARIA"),
    ];
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (surname, given_names) = HOLDERS[i % HOLDERS.len()];
    let mut seed = i as u64;
    let mut next = || {
        // SplitMix64: a fixed sequence per i, so runs are repeatable.
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let (origin, token) = doc.qr_url.split_once('#').unwrap_or((&doc.qr_url, ""));
    let token: String = token
        .chars()
        .map(|c| match c {
            '.' => '.',
            _ => B64URL[(next() % 64) as usize] as char,
        })
        .collect();
    VisaDocument {
        visa_number: format!("KZ{:07}", i % 10_000_000),
        passport_number: format!("P{:08}", next() % 100_000_000),
        surname: surname.into(),
        given_names: given_names.into(),
        qr_url: format!("{origin}#{token}"),
        ..doc.clone()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Time this thread has spent on a CPU (Linux schedstat; updated at
/// scheduler ticks, so only sums over many renders are accurate).
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

/// Resident set size from /proc/self/status (Linux), e.g. "31240 kB".
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        parse_args(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_render_with_repeat() {
        let a = args("render --data v.json --out v.pdf --repeat 5").unwrap();
        assert_eq!(
            (a.data.as_str(), a.out.as_str(), a.repeat),
            ("v.json", "v.pdf", 5)
        );
        assert_eq!(a.command, Command::Render);
        assert_eq!(args("view --data v.json").unwrap().command, Command::View);
    }

    #[test]
    fn benchmark_variants_differ_but_keep_the_qr_size() {
        let doc = VisaDocument::example();
        let (a, b) = (variant(&doc, 2), variant(&doc, 3));
        assert_ne!(a.visa_number, b.visa_number);
        assert_ne!(a.qr_url, b.qr_url);
        assert_eq!(a.qr_url.len(), doc.qr_url.len());
        assert_eq!(a, variant(&doc, 2), "repeatable");
        assert!(visa_pdf::Renderer::new().render(&a).is_ok());
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(args("").is_err());
        assert!(args("render --data v.json").is_err());
        assert!(args("render --data v.json --out v.pdf --repeat 0").is_err());
        assert!(args("render --data v.json --out v.pdf --bogus").is_err());
        assert!(args("view --data v.json --out v.pdf").is_err());
        assert!(args("draw --data v.json").is_err());
    }
}
