//! Pebble itself: configuration, certificate, process, and the proxy in front of it.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use sslprov_netfixtures::TestCa;

use crate::dns::{TxtDns, TxtLookup};
use crate::proxy::{Logged, Proxy};

/// A running Pebble; stops (and its DNS server and proxy with it) when dropped.
pub struct Pebble {
    child: Child,
    dir: tempfile::TempDir,
    dns: TxtDns,
    proxy: Proxy,
    management: SocketAddr,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port").local_addr().expect("address").port()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

impl Pebble {
    /// Starts Pebble with its DNS-01 lookups answered by `txt`.
    ///
    /// # Panics
    /// If `pebble` is not installed (`apt-get install -y pebble`; `tests/test.sh` does it) or does
    /// not start within 15 s.
    pub fn start(txt: TxtLookup) -> Pebble {
        let dns = TxtDns::start(txt);
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("sslprov test ACME server CA");
        let leaf = ca.issue(&["127.0.0.1", "localhost"], 3650);
        let cert_path = dir.path().join("cert.pem");
        let key_path = dir.path().join("key.pem");
        let chain: String = leaf.chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        std::fs::write(&cert_path, chain).expect("write the certificate");
        std::fs::write(&key_path, pem("PRIVATE KEY", &leaf.key)).expect("write the key");
        ca.write_pem(&dir.path().join("ca.pem"));
        let (listen, management) = (free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": cert_path,
            "privateKey": key_path,
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_path = dir.path().join("pebble-config.json");
        std::fs::write(&config_path, config.to_string()).expect("write the config");
        let log = std::fs::File::create(dir.path().join("pebble.log")).expect("log file");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .arg("-dnsserver")
            .arg(dns.addr().to_string())
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start pebble ({e}): install it with `apt-get install -y pebble` (tests/test.sh does)")
            });
        let upstream: SocketAddr = ([127, 0, 0, 1], listen).into();
        let mut pebble = Pebble {
            child,
            proxy: Proxy::start(&leaf, ca.pem().as_bytes(), upstream),
            dir,
            dns,
            management: ([127, 0, 0, 1], management).into(),
        };
        pebble.wait_until_up(upstream);
        pebble
    }

    fn wait_until_up(&mut self, upstream: SocketAddr) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pebble exited ({status}): {}", self.log());
            }
            if TcpStream::connect_timeout(&upstream, Duration::from_millis(200)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pebble did not listen on {upstream} within 15 s: {}", self.log());
    }

    /// Pebble's own output, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The directory URL, through the proxy: what `SSLPROV_ACME_DIRECTORY` is set to.
    pub fn directory_url(&self) -> String {
        format!("https://{}/dir", self.proxy.addr)
    }

    /// The root of the test CA behind Pebble's TLS certificate: what `SSLPROV_ACME_CA_FILE` is
    /// set to.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The DNS server Pebble validates against: what `SSLPROV_ACME_RESOLVER` is set to.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns.addr()
    }

    /// Pebble's management interface (its issuing roots at `/roots/0`).
    pub fn management(&self) -> SocketAddr {
        self.management
    }

    /// The next `n` requests are answered `status` (429 with `Retry-After: 0`, or a 5xx) by the
    /// proxy, with an ACME problem document, instead of reaching Pebble.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.proxy.shared.failures.lock().unwrap().extend(std::iter::repeat_n(status, n));
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.proxy.shared.log.lock().unwrap().clone()
    }

    /// The environment sslprov needs to order from this Pebble (besides `SSLPROV_ACME_KEY`).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SSLPROV_ACME_DIRECTORY".into(), self.directory_url()),
            ("SSLPROV_ACME_CA_FILE".into(), path_string(&self.ca_file())),
            ("SSLPROV_ACME_RESOLVER".into(), self.dns_addr().to_string()),
        ]
    }
}

fn path_string(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
