//! The real `visa-local` binary as a child process: started on a free
//! port with its own data dir, killed with SIGKILL as a crash would, and
//! restarted on the same port and data dir.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Server {
    exe: PathBuf,
    data_dir: PathBuf,
    env: Vec<(&'static str, String)>,
    child: Option<Child>,
    /// `127.0.0.1:PORT`, fixed after the first start.
    pub addr: String,
    pub admin_token: String,
    pub log: PathBuf,
}

impl Server {
    pub async fn start(
        exe: &Path,
        data_dir: &Path,
        env: Vec<(&'static str, String)>,
    ) -> Result<Server, String> {
        let mut server = Server {
            exe: exe.to_owned(),
            data_dir: data_dir.to_owned(),
            env,
            child: None,
            addr: "127.0.0.1:0".into(),
            admin_token: String::new(),
            log: data_dir.join("visa-local.log"),
        };
        server.launch().await?;
        Ok(server)
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn launch(&mut self) -> Result<(), String> {
        // The old socket may linger a moment after a kill: try again briefly.
        let mut last = String::new();
        for _ in 0..50 {
            match self.launch_once().await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "visa-local did not start: {last} (log: {})",
            self.log.display()
        ))
    }

    async fn launch_once(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let mut cmd = Command::new(&self.exe);
        cmd.env("VISA_ADDR", &self.addr)
            .env("VISA_DATA_DIR", &self.data_dir)
            .env("VISA_DEMO", "0")
            .env(
                "RUST_LOG",
                std::env::var("VISA_LOAD_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: {e}", self.exe.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
            {
                Ok(Ok(Some(line))) => line,
                Ok(_) => {
                    let status = child.wait().await.map_err(|e| e.to_string())?;
                    return Err(format!("visa-local exited ({status}) before listening"));
                }
                Err(_) => return Err("visa-local printed no address in 30 s".into()),
            };
            if let Some(t) = line.strip_prefix("admin token: ") {
                self.admin_token = t.to_owned();
            }
            if let Some(addr) = line.strip_prefix("visa-local listening on http://") {
                self.addr = addr.to_owned();
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.child = Some(child);
        Ok(())
    }

    /// SIGKILL: no graceful shutdown, as a crash or a power cut of the process.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Err(e) = child.start_kill() {
                eprintln!("kill -9 visa-local: {e}");
            }
            if let Err(e) = child.wait().await {
                eprintln!("waiting for visa-local: {e}");
            }
        }
    }

    pub async fn restart(&mut self) -> Result<(), String> {
        self.kill9().await;
        self.launch().await
    }
}
