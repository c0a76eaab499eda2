//! The moto server: one per test binary, started on first use, gone when the binary exits.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::control;

const INSTALL: &str = "python3 -m venv .venv-moto && .venv-moto/bin/pip install 'moto[server]==5.2.5'";
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How a dedicated server is started. The defaults are those of the shared server.
#[derive(Debug, Clone, Default)]
pub struct MotoOptions {
    /// `MOTO_ACM_VALIDATION_WAIT`: seconds before a requested certificate reads as `ISSUED`.
    pub acm_validation_wait_secs: u64,
    /// More environment for the server process.
    pub env: Vec<(String, String)>,
}

/// A running moto server. Cheap to clone; a dedicated server stops when its last clone drops.
#[derive(Debug, Clone)]
pub struct MotoServer {
    inner: Arc<Inner>,
}

/// The name the brief uses; the same type.
pub type Moto = MotoServer;

#[derive(Debug)]
struct Inner {
    addr: SocketAddr,
    pid: u32,
    started_in: Duration,
    log: PathBuf,
    // The `sh` watchdog that kills moto when this process goes away, however it goes away: a
    // static is never dropped, and killing a child from a pre_exec hook would need unsafe code.
    watchdog: Child,
}

impl MotoServer {
    /// The server shared by every test of this binary; started on the first call.
    ///
    /// # Panics
    /// If moto cannot be started; the message says what to install. Tests fail, never skip.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        match SHARED.get_or_init(|| start(&MotoOptions::default())) {
            Ok(server) => server,
            Err(message) => panic!("{message}"),
        }
    }

    /// A server of its own, for tests that change server-global state (the state manager, the
    /// ACM validation wait). Stopped when the last clone is dropped.
    ///
    /// # Panics
    /// If moto cannot be started.
    pub fn start_dedicated(options: MotoOptions) -> MotoServer {
        start(&options).unwrap_or_else(|message| panic!("{message}"))
    }

    /// `http://127.0.0.1:PORT`, moto itself (no proxy, no account header).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// How long the server took to answer its first `/moto-api/` after launch.
    pub fn started_in(&self) -> Duration {
        self.inner.started_in
    }

    /// CloudFront distributions stay `InProgress` for `times - 1` reads and are `Deployed` on the
    /// `times`-th. Server-global: use a dedicated server.
    pub async fn set_distribution_transition_manual(&self, times: u32) {
        let body = serde_json::json!({
            "model_name": "cloudfront::distribution",
            "transition": {"progression": "manual", "times": times},
        });
        self.control("/moto-api/state-manager/set-transition", &body.to_string());
    }

    /// CloudFront distributions are `InProgress` until `secs` seconds after they were created or
    /// changed, as CloudFront takes minutes to deploy. Server-global: use a dedicated server.
    pub async fn set_distribution_transition_time(&self, secs: u32) {
        let body = serde_json::json!({
            "model_name": "cloudfront::distribution",
            "transition": {"progression": "time", "seconds": secs},
        });
        self.control("/moto-api/state-manager/set-transition", &body.to_string());
    }

    /// Back to moto's default: `InProgress` in the create response, `Deployed` on the next read.
    pub async fn unset_distribution_transition(&self) {
        let body = serde_json::json!({"model_name": "cloudfront::distribution"});
        self.control("/moto-api/state-manager/unset-transition", &body.to_string());
    }

    fn control(&self, path: &str, body: &str) {
        match control::request(self.inner.addr, "POST", path, body) {
            Ok((status, _)) if status < 300 => {}
            Ok((status, text)) => panic!("moto {path} answered {status}: {text}"),
            Err(e) => panic!("moto {path} failed: {e}"),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        stop(self.pid, &mut self.watchdog);
        // Return only once the port is closed, so a test that drops a server sees it gone (moto
        // exits a moment after SIGTERM); SIGKILL if it lingers.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(100)).is_ok()
            && Instant::now() < deadline
        {
            if deadline - Instant::now() < Duration::from_secs(3) {
                let _ = Command::new("kill").args(["-9", &self.pid.to_string()]).status();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

fn start(options: &MotoOptions) -> Result<MotoServer, String> {
    let exe = executable()?;
    // A free port can be taken between probing and moto binding it; try again on a new one.
    let mut attempt = 1;
    loop {
        match launch(&exe, options) {
            Err(e) if attempt < 3 && e.contains("Address already in use") => attempt += 1,
            result => return result,
        }
    }
}

fn launch(exe: &Path, options: &MotoOptions) -> Result<MotoServer, String> {
    let port = free_port().map_err(|e| format!("no free loopback port: {e}"))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let log = std::env::temp_dir().join(format!("sslprov-moto-{}-{port}.log", std::process::id()));
    let script = r#"
        "$1" -H 127.0.0.1 -p "$2" >"$3" 2>&1 </dev/null &
        moto=$!
        echo "$moto"
        while kill -0 "$PPID" 2>/dev/null && kill -0 "$moto" 2>/dev/null; do sleep 1; done
        kill "$moto" 2>/dev/null
        rm -f "$3"
    "#;
    let launched = Instant::now();
    let mut watchdog = Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(exe)
        .arg(port.to_string())
        .arg(&log)
        .env("MOTO_ACM_VALIDATION_WAIT", options.acm_validation_wait_secs.to_string())
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run sh to start moto: {e}"))?;
    let mut line = String::new();
    if let Some(out) = watchdog.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let pid: u32 = line.trim().parse().map_err(|_| format!("moto watchdog did not report a pid ({line:?})"))?;
    loop {
        if let Ok((200, _)) = control::request(addr, "GET", "/moto-api/", "") {
            let started_in = launched.elapsed();
            return Ok(MotoServer { inner: Arc::new(Inner { addr, pid, started_in, log, watchdog }) });
        }
        if !alive(pid) || launched.elapsed() > START_TIMEOUT {
            let tail = tail(&log, 30);
            stop(pid, &mut watchdog);
            return Err(format!(
                "moto_server ({}) did not answer on {addr} within {:?}.\n\
                 Install it in the workspace root with:\n    {INSTALL}\n\
                 or point SSLPROV_MOTO_SERVER at a moto_server executable.\n\
                 Server output ({}):\n{tail}",
                exe.display(),
                launched.elapsed(),
                log.display(),
            ));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn stop(pid: u32, watchdog: &mut Child) {
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = watchdog.kill();
    let _ = watchdog.wait();
}

/// `SSLPROV_MOTO_SERVER`, then the workspace's `.venv-moto`, then `moto_server` on `PATH`.
fn executable() -> Result<PathBuf, String> {
    if let Some(exe) = std::env::var_os("SSLPROV_MOTO_SERVER") {
        return Ok(PathBuf::from(exe));
    }
    if let Some(root) = workspace_root() {
        let venv = root.join(".venv-moto/bin/moto_server");
        if venv.is_file() {
            return Ok(venv);
        }
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("moto_server"))
        .find(|exe| exe.is_file())
        .ok_or_else(|| {
            format!(
                "moto_server not found (looked at $SSLPROV_MOTO_SERVER, <workspace>/.venv-moto, $PATH).\n\
                 Install it in the workspace root with:\n    {INSTALL}"
            )
        })
}

fn workspace_root() -> Option<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| {
            dir.join(".venv-moto").is_dir()
                || std::fs::read_to_string(dir.join("Cargo.toml"))
                    .is_ok_and(|toml| toml.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Whether the process runs (a zombie does not): saves waiting out the timeout when moto exits
/// at once, e.g. on a missing Python module. Where `/proc` is absent the timeout decides.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
