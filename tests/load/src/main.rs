//! visa-load: N applicants through the whole flow against the real
//! visa-local binary at concurrency C, optionally with injected store
//! faults or a kill -9 mid-run; prints throughput, per-route latency
//! percentiles and problems by slug, writes an SVG latency chart, and
//! ends with a consistency audit of the store. Exit status 1 if a flow
//! failed, a 5xx came without problem+json, or the audit is not clean.
//! Speed targets are printed, never enforced (machines differ).

mod audit;
mod chart;
mod client;
mod flow;
mod server;

use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: visa-load [-n FLOWS] [-c CONCURRENCY] [--faults SHARE]
                 [--crash-after FLOWS [--crashes K]] [--label NAME] [--out DIR]
                 [--visa-local PATH] [--keep] [--duplicate-every K]
       visa-load --base http://127.0.0.1:PORT [--admin-token T] [--webhook-secret S]
                 [--data-dir DIR] [-n FLOWS] [-c CONCURRENCY] ...

Default (--spawn): starts target/<profile>/visa-local on a free port with a
temporary data dir. --faults 0.1 starts it with VISA_FAULTS=0.1; --crash-after
N kills it with SIGKILL after every N finished flows (--crashes times, default
1) and restarts it on the same port and data dir. --base drives a running
visa-local instead (token and secret default to the files in --data-dir,
default .visa-local). Defaults: -n 1000 -c 32 --duplicate-every 10.";

/// Routes in the order of the flow; password routes are bounded by Argon2id.
const ROUTES: &[(&str, bool)] = &[
    ("POST /api/admin/invitations", false),
    ("POST /api/accounts", true),
    ("POST /api/sessions", true),
    ("POST /api/applications", false),
    ("GET /api/applications", false),
    ("POST /api/applications/{id}/confirmation", false),
    ("POST /api/webhooks/payment", false),
    ("GET /api/applications/{id}", false),
    ("GET /api/applications/{id}/visa", false),
    ("GET /files/{key} (PDF)", false),
    ("GET /api/visas/{n}/verification", false),
];

const TARGET_P99_MS: f64 = 25.0;

struct Options {
    n: usize,
    c: usize,
    base: Option<String>,
    admin_token: Option<String>,
    webhook_secret: Option<String>,
    data_dir: Option<PathBuf>,
    faults: Option<f64>,
    crash_after: Option<usize>,
    crashes: usize,
    label: Option<String>,
    out: Option<PathBuf>,
    visa_local: Option<PathBuf>,
    keep: bool,
    duplicate_every: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        n: 1000,
        c: 32,
        base: None,
        admin_token: None,
        webhook_secret: None,
        data_dir: None,
        faults: None,
        crash_after: None,
        crashes: 1,
        label: None,
        out: None,
        visa_local: None,
        keep: false,
        duplicate_every: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{v}: not a number"));
        match arg.as_str() {
            "-n" | "--flows" => o.n = number(value()?)?,
            "-c" | "--concurrency" => o.c = number(value()?)?.max(1),
            "--spawn" => o.base = None,
            "--base" => o.base = Some(value()?),
            "--admin-token" => o.admin_token = Some(value()?),
            "--webhook-secret" => o.webhook_secret = Some(value()?),
            "--data-dir" => o.data_dir = Some(value()?.into()),
            "--faults" => {
                let v = value()?;
                o.faults = Some(
                    v.parse()
                        .ok()
                        .filter(|s: &f64| (0.0..=1.0).contains(s))
                        .ok_or(format!("--faults {v}: a share from 0 to 1"))?,
                )
            }
            "--crash-after" => o.crash_after = Some(number(value()?)?.max(1)),
            "--crashes" => o.crashes = number(value()?)?,
            "--label" => o.label = Some(value()?),
            "--out" => o.out = Some(value()?.into()),
            "--visa-local" => o.visa_local = Some(value()?.into()),
            "--keep" => o.keep = true,
            "--duplicate-every" => o.duplicate_every = number(value()?)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n\n{USAGE}")),
        }
    }
    if o.base.is_some() && (o.faults.is_some() || o.crash_after.is_some()) {
        return Err("--faults and --crash-after need a spawned visa-local (no --base)".into());
    }
    Ok(o)
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// `target/<profile>/` of this binary: visa-local sits beside it.
fn own_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

#[tokio::main]
async fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    match run(opts).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("visa-load: {e}");
            std::process::exit(2);
        }
    }
}

async fn run(opts: Options) -> Result<bool, String> {
    // A temporary data dir unless one is given; kept on --keep or failure.
    let mut temp = None;
    let mut server = None;
    let (base, admin_token, webhook_secret, data_dir) = match &opts.base {
        Some(base) => {
            let dir = opts
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".visa-local"));
            let from_file = |name: &str| {
                std::fs::read_to_string(dir.join(name))
                    .map(|s| s.trim().to_owned())
                    .map_err(|e| {
                        format!("{name}: pass it or point --data-dir at the gateway's ({e})")
                    })
            };
            let admin = match &opts.admin_token {
                Some(t) => t.clone(),
                None => from_file("admin-token")?,
            };
            let secret = match &opts.webhook_secret {
                Some(s) => s.clone(),
                None => from_file("webhook-secret")?,
            };
            (base.clone(), admin, secret, dir)
        }
        None => {
            let dir = match &opts.data_dir {
                Some(d) => d.clone(),
                None => {
                    let t = tempfile::Builder::new()
                        .prefix("visa-load-")
                        .tempdir()
                        .map_err(|e| format!("temp dir: {e}"))?;
                    let path = t.path().to_owned();
                    temp = Some(t);
                    path
                }
            };
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let exe = opts
                .visa_local
                .clone()
                .unwrap_or_else(|| own_dir().join("visa-local"));
            if !exe.exists() {
                return Err(format!(
                    "{} not found: build it first (cargo build -p visa-local), or pass --visa-local",
                    exe.display()
                ));
            }
            let secret = format!("whsec_load_{}", random_hex());
            let admin = format!("adm_load_{}", random_hex());
            let mut env = vec![
                ("PAYMENT_WEBHOOK_SECRET", secret.clone()),
                ("VISA_ADMIN_TOKEN", admin.clone()),
            ];
            if let Some(share) = opts.faults {
                env.push(("VISA_FAULTS", share.to_string()));
            }
            let s = server::Server::start(&exe, &dir, env).await?;
            let base = s.base();
            server = Some(s);
            (base, admin, secret, dir)
        }
    };

    let label = opts.label.clone().unwrap_or_else(|| {
        let mut l = format!("n{}-c{}", opts.n, opts.c);
        if let Some(f) = opts.faults {
            l += &format!("-faults{}", (f * 100.0).round());
        }
        if opts.crash_after.is_some() {
            l += "-crash";
        }
        l
    });
    println!(
        "visa-load {label}: {} flows at concurrency {} against {base} ({}{}{})",
        opts.n,
        opts.c,
        if server.is_some() {
            "spawned visa-local"
        } else {
            "running visa-local"
        },
        opts.faults
            .map(|f| format!(", {:.0}% injected store faults", f * 100.0))
            .unwrap_or_default(),
        opts.crash_after
            .map(|k| format!(", kill -9 after every {k} flows, {} times", opts.crashes))
            .unwrap_or_default(),
    );
    println!("machine: {}", machine());
    println!("data dir: {}", data_dir.display());

    let ctx = Arc::new(flow::Ctx {
        client: client::Client::new(&base),
        admin_token,
        webhook_secret,
        run_id: rand::random::<u32>() % 10_000,
        duplicate_every: opts.duplicate_every,
        issue_deadline: Duration::from_secs(if opts.crash_after.is_some() { 120 } else { 60 }),
        outbox: data_dir.join("outbox"),
    });
    let bar = ProgressBar::new(opts.n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} flows  {per_sec}  eta {eta}  {msg}",
        )
        .expect("template")
        .progress_chars("=> "),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let ledgers = Arc::new(Mutex::new(Vec::with_capacity(opts.n)));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..opts.c.min(opts.n.max(1)) {
        let (ctx, next, finished, ledgers, failures, bar) = (
            ctx.clone(),
            next.clone(),
            finished.clone(),
            ledgers.clone(),
            failures.clone(),
            bar.clone(),
        );
        let n = opts.n;
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let mut ledger = ctx.ledger(i);
                if let Err(e) = flow::run(&ctx, &mut ledger).await {
                    bar.println(format!("flow {i} failed: {e}"));
                    failures.lock().expect("failures").push((i, e));
                }
                ledgers.lock().expect("ledgers").push(ledger);
                finished.fetch_add(1, Ordering::SeqCst);
                bar.inc(1);
            }
        }));
    }

    // kill -9 the gateway after every `crash_after` finished flows.
    let mut crash_log = Vec::new();
    if let (Some(every), Some(server)) = (opts.crash_after, server.as_mut()) {
        for k in 1..=opts.crashes {
            while finished.load(Ordering::SeqCst) < k * every
                && finished.load(Ordering::SeqCst) < opts.n
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if finished.load(Ordering::SeqCst) >= opts.n {
                break;
            }
            let in_flight =
                next.load(Ordering::SeqCst).min(opts.n) - finished.load(Ordering::SeqCst);
            server.kill9().await;
            let down = Instant::now();
            // Stay down a moment: clients meet refused connections.
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.restart().await?;
            let line = format!(
                "kill -9 after {} finished flows ({in_flight} in flight); back in {} ms",
                finished.load(Ordering::SeqCst),
                down.elapsed().as_millis()
            );
            bar.println(&line);
            crash_log.push(line);
        }
    }
    for w in workers {
        w.await.map_err(|e| format!("worker: {e}"))?;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let failures = std::mem::take(&mut *failures.lock().expect("failures"));
    let mut ledgers = std::mem::take(&mut *ledgers.lock().expect("ledgers"));
    ledgers.sort_by_key(|l| l.index);
    let done = ledgers.iter().filter(|l| l.done).count();

    // The report.
    println!();
    for line in &crash_log {
        println!("{line}");
    }
    println!(
        "{done} of {} flows completed in {:.1} s: {:.1} flows/s",
        opts.n,
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    let paid = audit::drain(&data_dir, Duration::from_secs(60)).await?;
    if paid > 0 {
        println!("{paid} applications still paid, not issued, 60 s after the run");
    }
    let audit = audit::run(&data_dir, &ledgers, &ctx.client).await?;

    // The report, in a block so the stats lock is released before the awaits below.
    let ok = {
        let stats = ctx.client.stats.lock().expect("stats");
        println!(
            "\n{:<44} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8}  target",
            "route (latency in ms)", "count", "err", "p50", "p95", "p99", "max"
        );
        let mut order: Vec<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
        let others: Vec<&str> = stats
            .routes
            .keys()
            .map(|r| r.as_ref())
            .filter(|r| !order.contains(r))
            .collect();
        order.extend(others);
        let mut over = 0;
        for route in order {
            let Some(s) = stats.routes.get(route) else {
                continue;
            };
            let h = &s.latency_us;
            let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            let password = ROUTES.iter().any(|(r, p)| *r == route && *p);
            let target = if password {
                "Argon2id-bound".to_owned()
            } else if ms(0.99) <= TARGET_P99_MS {
                format!("ok (p99 <= {TARGET_P99_MS} ms)")
            } else {
                over += 1;
                format!("OVER {TARGET_P99_MS} ms")
            };
            println!(
                "{route:<44} {:>6} {:>5} {:>8.1} {:>8.1} {:>8.1} {:>8.1}  {target}",
                h.len(),
                s.errors,
                ms(0.5),
                ms(0.95),
                ms(0.99),
                h.max() as f64 / 1000.0
            );
        }
        println!(
            "non-password routes over the p99 target: {over}; client retries: {}",
            stats.retries
        );
        println!("\nproblems and transport errors by slug (every attempt, retries included):");
        if stats.slugs.is_empty() {
            println!("  (none)");
        }
        for (slug, n) in &stats.slugs {
            println!("  {slug:<40} {n}");
        }
        println!(
            "5xx answers without an application/problem+json body: {}",
            stats.bad_5xx.len()
        );
        for b in stats.bad_5xx.iter().take(5) {
            println!("  {b}");
        }
        if !failures.is_empty() {
            println!("\nfailed flows: {}", failures.len());
            for (i, e) in failures.iter().take(10) {
                println!("  flow {i}: {e}");
            }
        }
        audit.print();

        let out = opts.out.clone().unwrap_or_else(|| {
            own_dir()
                .parent()
                .map(|t| t.join("load"))
                .unwrap_or_else(|| PathBuf::from("target/load"))
        });
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let svg = out.join(format!("latency-{label}.svg"));
        chart::write(
            &svg,
            &format!(
                "visa-load {label}: {} flows, C={}, {:.1} flows/s",
                opts.n,
                opts.c,
                done as f64 / elapsed.as_secs_f64()
            ),
            &stats.routes,
        )?;
        println!("\nlatency chart: {}", svg.display());

        failures.is_empty() && stats.bad_5xx.is_empty() && audit.clean() && done == opts.n
    };
    if let Some(mut s) = server {
        s.kill9().await;
        if !ok {
            println!("visa-local log: {}", s.log.display());
        }
    }
    if let Some(t) = temp
        && (opts.keep || !ok)
    {
        println!("data dir kept: {}", t.keep().display());
    }
    println!("\nresult: {}", if ok { "PASS" } else { "FAIL" });
    Ok(ok)
}
