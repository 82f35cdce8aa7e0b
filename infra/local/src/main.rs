use visa_local::blobs::FolderBlobs;
use visa_local::sqlite::SqliteStore;
use visa_local::{config::Config, demo, gateway::Gateway};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower=warn,hyper=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from_env()?;
    let mut args = std::env::args().skip(1);
    if let Some(command) = args.next() {
        return match command.as_str() {
            "sweep" => sweep(config, args).await,
            "visa" | "audit" | "officer" => console(config, &command, args.collect()).await,
            other => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "unknown command {other:?}; usage: visa-local [sweep [--at <RFC 3339 instant>]]\n{}",
                    visa_local::console::USAGE
                ),
            )),
        };
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let config = config.with_bound_addr(listener.local_addr()?);
    let (wake, woken) = tokio::sync::mpsc::unbounded_channel();
    let gw = Gateway::open(config, wake)?;
    println!("data dir: {}", gw.config.data_dir.display());
    println!("admin token: {}", gw.config.admin_token);
    if let Some(f) = gw.config.faults {
        println!(
            "faults: failing {:.0}% of store and blob calls (VISA_FAULTS)",
            f.share * 100.0
        );
    }
    if gw.config.demo {
        let created = demo::seed(&gw).await.map_err(std::io::Error::other)?;
        for i in &created {
            println!(
                "demo invitation {} ({}): {} {}, nationality {}, born {}, passport {}, stay {} to {}",
                i.number,
                i.category,
                i.invitee.surname,
                i.invitee.given_names,
                i.invitee.nationality,
                i.invitee.date_of_birth,
                i.invitee.passport_number,
                i.valid_from,
                i.valid_until
            );
        }
    }
    visa_local::issuer::spawn(gw.clone(), woken);
    visa_local::retention::spawn(gw.clone());
    visa_local::reminders::spawn(gw.clone());
    visa_local::serve(listener, gw).await
}

/// `visa-local visa ...` and `visa-local audit ...` (console.rs).
async fn console(config: Config, command: &str, args: Vec<String>) -> std::io::Result<()> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    if command == "officer" {
        let store = SqliteStore::open(&config.data_dir.join("visa.sqlite3"))
            .map_err(std::io::Error::other)?;
        let out = visa_local::console::officer(&store, &args)
            .await
            .map_err(invalid)?;
        println!("{out}");
        return Ok(());
    }
    if command == "audit" {
        let store = SqliteStore::open(&config.data_dir.join("visa.sqlite3"))
            .map_err(std::io::Error::other)?;
        let csv = visa_local::console::audit(&store, &args)
            .await
            .map_err(invalid)?;
        use std::io::Write;
        return std::io::stdout().write_all(&csv);
    }
    // The gateway's own store, and its email path: the holder's email is written to the outbox before the command ends.
    let (wake, _) = tokio::sync::mpsc::unbounded_channel();
    let gw = Gateway::open(config, wake)?;
    let emails = visa_local::console::InlineMail {
        render: gw.render.clone(),
    };
    let done = visa_local::console::visa(&gw.store, &emails, &args)
        .await
        .map_err(invalid)?;
    println!("{done}");
    Ok(())
}

/// `visa-local sweep [--at <instant>]`: one retention sweep of the data
/// dir, at the given instant (an operator checking what a date would
/// erase, or a test on a pinned clock) or now.
async fn sweep(config: Config, mut args: impl Iterator<Item = String>) -> std::io::Result<()> {
    let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, m);
    let now = match (args.next().as_deref(), args.next()) {
        (None, _) => visa_core::clock::Clock::now(&visa_core::clock::SystemClock),
        (Some("--at"), Some(at)) => chrono::DateTime::parse_from_rfc3339(&at)
            .map_err(|e| invalid(format!("--at {at}: {e}")))?
            .with_timezone(&chrono::Utc),
        _ => {
            return Err(invalid(
                "usage: visa-local sweep [--at <RFC 3339 instant>]".into(),
            ));
        }
    };
    let store =
        SqliteStore::open(&config.data_dir.join("visa.sqlite3")).map_err(std::io::Error::other)?;
    let blobs = FolderBlobs::new(
        config.data_dir.join("blobs"),
        config.link_key.clone(),
        config.site_origin.clone(),
    )?;
    let swept = visa_local::retention::sweep(&store, &blobs, config.retention, now)
        .await
        .map_err(std::io::Error::other)?;
    println!("{}", visa_local::retention::summary(&swept, now));
    for id in &swept.applications {
        println!("erased application {id}");
    }
    Ok(())
}
