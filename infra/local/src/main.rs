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
    visa_local::serve(listener, gw).await
}
