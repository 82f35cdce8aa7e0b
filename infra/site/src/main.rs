//! `visa-site build <site dir> <out dir>`: every page in every language,
//! its words in it, for the deploy to upload (infra/README.md, "Upload
//! the site").

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, site, out] = args.as_slice() else {
        eprintln!("usage: visa-site build <site dir> <out dir>");
        return ExitCode::from(2);
    };
    if command != "build" {
        eprintln!("unknown command {command:?}; usage: visa-site build <site dir> <out dir>");
        return ExitCode::from(2);
    }
    match visa_site::build(&PathBuf::from(site), &PathBuf::from(out)) {
        Ok(written) => {
            println!("{} pages written under {out}", written.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
