//! A DNS server answering TXT questions from a closure, on a loopback port (UDP and TCP).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the server answers: the TXT strings at a name (lower case, no trailing dot).
pub type TxtLookup = Arc<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// TXT records a test sets by hand.
#[derive(Clone, Debug, Default)]
pub struct TxtRecords(Arc<Mutex<BTreeMap<String, Vec<String>>>>);

impl TxtRecords {
    pub fn set(&self, name: &str, values: &[&str]) {
        self.0.lock().unwrap().insert(name.to_ascii_lowercase(), values.iter().map(|v| (*v).to_owned()).collect());
    }

    pub fn remove(&self, name: &str) {
        self.0.lock().unwrap().remove(&name.to_ascii_lowercase());
    }

    pub fn lookup(&self) -> TxtLookup {
        let this = self.clone();
        Arc::new(move |name| this.0.lock().unwrap().get(name).cloned().unwrap_or_default())
    }
}

/// A running server; stops when dropped.
pub struct TxtDns {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn answer(request: &[u8], lookup: &TxtLookup) -> Option<Vec<u8>> {
    let req = Message::from_vec(request).ok()?;
    let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
    resp.metadata.authoritative = true;
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.add_queries(req.queries.clone());
    let mut found = false;
    for q in &req.queries {
        let name = q.name().to_ascii().trim_end_matches('.').to_ascii_lowercase();
        let values = lookup(&name);
        found |= !values.is_empty();
        if q.query_type() == RecordType::TXT {
            for v in values {
                resp.add_answer(Record::from_rdata(q.name().clone(), 0, RData::TXT(TXT::new(vec![v]))));
            }
        }
    }
    if !found {
        resp.metadata.response_code = ResponseCode::NXDomain;
    }
    resp.to_vec().ok()
}

impl TxtDns {
    /// # Panics
    /// If no loopback port is free for both UDP and TCP.
    pub fn start(lookup: TxtLookup) -> TxtDns {
        let (udp, tcp) = bind_pair();
        let addr = udp.local_addr().expect("udp address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("txt-dns".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    let udp = tokio::net::UdpSocket::from_std(udp).expect("tokio udp");
                    let tcp = tokio::net::TcpListener::from_std(tcp).expect("tokio tcp");
                    let serve_udp = {
                        let lookup = lookup.clone();
                        async move {
                            let mut buf = vec![0u8; 4096];
                            loop {
                                let Ok((n, from)) = udp.recv_from(&mut buf).await else { continue };
                                // The closure may block (it reads the DNS host's emulator).
                                let (req, lookup) = (buf[..n].to_vec(), lookup.clone());
                                let out =
                                    tokio::task::spawn_blocking(move || answer(&req, &lookup)).await.ok().flatten();
                                if let Some(out) = out {
                                    let _ = udp.send_to(&out, from).await;
                                }
                            }
                        }
                    };
                    let serve_tcp = async move {
                        loop {
                            let Ok((mut stream, _)) = tcp.accept().await else { continue };
                            let lookup = lookup.clone();
                            tokio::spawn(async move {
                                let mut len = [0u8; 2];
                                while stream.read_exact(&mut len).await.is_ok() {
                                    let mut req = vec![0u8; u16::from_be_bytes(len).into()];
                                    if stream.read_exact(&mut req).await.is_err() {
                                        return;
                                    }
                                    let lookup = lookup.clone();
                                    let Some(out) =
                                        tokio::task::spawn_blocking(move || answer(&req, &lookup)).await.ok().flatten()
                                    else {
                                        return;
                                    };
                                    let n = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
                                    if stream.write_all(&n).await.is_err() || stream.write_all(&out).await.is_err() {
                                        return;
                                    }
                                }
                            });
                        }
                    };
                    tokio::select! {
                        () = serve_udp => {}
                        () = serve_tcp => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("start the DNS thread");
        TxtDns { addr, stop: Some(stop), thread: Some(thread) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TxtDns {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind_pair() -> (std::net::UdpSocket, std::net::TcpListener) {
    for _ in 0..20 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
        let port = udp.local_addr().expect("udp address").port();
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            udp.set_nonblocking(true).expect("non-blocking udp");
            tcp.set_nonblocking(true).expect("non-blocking tcp");
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}
