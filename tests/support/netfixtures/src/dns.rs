//! An authoritative DNS server for the records a test gives it, on a loopback port (UDP and TCP).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::TokioRuntimeProvider;
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};

use crate::thread::Background;

/// Records to serve. They all live in one root zone, so the server answers for any name:
/// NXDOMAIN for names it was not given, and CNAME chains within its records followed in one
/// answer, like a recursive resolver's.
#[derive(Clone, Debug, Default)]
pub struct Zone {
    records: Vec<(String, RData)>,
}

impl Zone {
    pub fn new() -> Zone {
        Zone::default()
    }

    pub fn cname(mut self, name: &str, target: &str) -> Zone {
        self.records.push((name.to_owned(), RData::CNAME(CNAME(fqdn(target)))));
        self
    }

    /// An A or AAAA record, by the address's family.
    pub fn address(mut self, name: &str, ip: IpAddr) -> Zone {
        let data = match ip {
            IpAddr::V4(v4) => RData::A(A(v4)),
            IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
        };
        self.records.push((name.to_owned(), data));
        self
    }
}

fn fqdn(name: &str) -> Name {
    let name = if name.ends_with('.') { name.to_owned() } else { format!("{name}.") };
    Name::from_ascii(&name).unwrap_or_else(|e| panic!("bad DNS name {name}: {e}"))
}

/// A running DNS server; stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    _background: Background,
}

impl DnsServer {
    /// # Panics
    /// If no loopback port can be bound or a record is invalid.
    pub fn start(zone: Zone) -> DnsServer {
        let (udp, tcp) = bind_pair();
        let addr = udp.local_addr().expect("udp address");
        let mut handler =
            InMemoryZoneHandler::<TokioRuntimeProvider>::empty(Name::root(), ZoneType::Primary, AxfrPolicy::Deny);
        let soa = SOA::new(fqdn("ns.test"), fqdn("hostmaster.test"), 1, 3600, 600, 86400, 0);
        assert!(handler.upsert_mut(Record::from_rdata(Name::root(), 60, RData::SOA(soa)), 1));
        for (name, data) in zone.records {
            assert!(handler.upsert_mut(Record::from_rdata(fqdn(&name), 60, data), 1), "cannot add a record for {name}");
        }
        let handler: Arc<dyn ZoneHandler> = Arc::new(handler);
        let background = Background::spawn("dns-fixture", move || async move {
            let mut catalog = Catalog::new();
            catalog.upsert(LowerName::new(&Name::root()), vec![handler]);
            let mut server = Server::new(catalog);
            server.register_socket(tokio::net::UdpSocket::from_std(udp).expect("tokio udp"));
            server.register_listener(
                tokio::net::TcpListener::from_std(tcp).expect("tokio tcp"),
                Duration::from_secs(5),
                64,
            );
            let _ = server.block_until_done().await;
        });
        DnsServer { addr, _background: background }
    }

    /// `127.0.0.1:PORT`, for `sslprov verify --nameserver`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A UDP socket and a TCP listener on the same free loopback port.
fn bind_pair() -> (UdpSocket, std::net::TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
        let port = udp.local_addr().expect("udp address").port();
        // The port is free for UDP; another process may hold it for TCP: then try another.
        if let Ok(tcp) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            udp.set_nonblocking(true).expect("non-blocking udp");
            tcp.set_nonblocking(true).expect("non-blocking tcp");
            return (udp, tcp);
        }
    }
    panic!("no loopback port free for both UDP and TCP");
}
