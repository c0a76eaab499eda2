//! TLS as a mail client meets it: a handshake with SNI = the tracking domain, the chain checked
//! against the trusted roots. The handshake itself accepts any certificate so that a wrong,
//! expired or untrusted one can still be shown; trust is judged afterwards, and nothing is sent
//! over a connection whose certificate failed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::certificate::Leaf;
use super::report::{Check, CheckKind};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA file {path}: {source}")]
    CaFile { path: PathBuf, source: rustls::pki_types::pem::Error },
    #[error("the CA file {0} holds no certificate")]
    EmptyCaFile(PathBuf),
    #[error("no trusted root certificates found on this system{0}; name some with --ca-file")]
    NoSystemRoots(String),
    #[error("cannot build the certificate verifier: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    #[error("cannot configure TLS: {0}")]
    Config(#[from] rustls::Error),
}

pub struct Tls {
    connector: TlsConnector,
    verifier: Arc<WebPkiServerVerifier>,
}

impl Tls {
    /// Trusting the roots in `ca_file`, or the system's.
    pub fn new(ca_file: Option<&Path>) -> Result<Tls, TrustError> {
        let mut roots = RootCertStore::empty();
        match ca_file {
            Some(path) => {
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|source| TrustError::CaFile { path: path.to_owned(), source })?;
                if roots.add_parsable_certificates(certs).0 == 0 {
                    return Err(TrustError::EmptyCaFile(path.to_owned()));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                if roots.add_parsable_certificates(found.certs).0 == 0 {
                    let why = found.errors.iter().map(|e| format!(": {e}")).collect::<String>();
                    return Err(TrustError::NoSystemRoots(why));
                }
            }
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider)).build()?;
        let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Observe(provider)))
            .with_no_client_auth();
        Ok(Tls { connector: TlsConnector::from(Arc::new(config)), verifier })
    }

    /// A TLS connection to `addr` with SNI = `host`, whatever certificate it presents.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        host: &str,
        timeout: Duration,
    ) -> Result<TlsStream<TcpStream>, String> {
        let name =
            ServerName::try_from(host.to_owned()).map_err(|e| format!("{host} is not a valid server name: {e}"))?;
        let attempt = async {
            let tcp = TcpStream::connect(addr).await.map_err(|e| format!("cannot connect to {addr}: {e}"))?;
            self.connector
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {addr} (SNI {host}) failed: {e}"))
        };
        tokio::time::timeout(timeout, attempt).await.unwrap_or_else(|_| {
            Err(format!("no TLS answer from {addr} within {}", humantime::format_duration(timeout)))
        })
    }

    /// Whether the chain leads to a trusted root. Judged at a moment inside the leaf's validity,
    /// so that an expired certificate is reported as expired (by the certificate check) and not
    /// as untrusted, and a name mismatch is left to that check too.
    fn trusted(&self, chain: &[CertificateDer<'_>], host: &str, leaf: &Leaf, now: i64) -> Result<(), String> {
        let (ee, intermediates) = chain.split_first().ok_or("the server sent no certificate")?;
        let at = now.clamp(leaf.not_before, leaf.not_after);
        let at = UnixTime::since_unix_epoch(Duration::from_secs(at.max(0).unsigned_abs()));
        let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
        match self.verifier.verify_server_cert(ee, intermediates, &name, &[], at) {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(()),
            Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                Err(format!("issued by {}, which is not a trusted authority", leaf.issuer))
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// The outcome of the handshake: the `tls` and `certificate` checks, and the leaf when one came.
pub struct Handshake {
    pub tls: Check,
    pub certificate: Check,
    pub leaf: Option<Leaf>,
}

impl Handshake {
    /// Whether HTTPS requests may go over this server: what a mail client would accept.
    pub fn usable(&self) -> bool {
        self.tls.status == super::report::Status::Pass && self.certificate.status != super::report::Status::Fail
    }
}

pub async fn check(
    tls: &Tls,
    addr: SocketAddr,
    host: &str,
    timeout: Duration,
    now: i64,
    fixes: &crate::template::CertificateFixes,
) -> Handshake {
    let skip = || Check::skip(CheckKind::Certificate, "no certificate: the TLS handshake failed");
    let stream = match tls.connect(addr, host, timeout).await {
        Ok(s) => s,
        Err(e) => {
            let fix = format!("the CDN must answer HTTPS for this name with a certificate for it ({})", fixes.no_tls);
            return Handshake { tls: Check::fail(CheckKind::Tls, e, fix), certificate: skip(), leaf: None };
        }
    };
    let conn = stream.get_ref().1;
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS",
    };
    let chain: Vec<CertificateDer<'static>> =
        conn.peer_certificates().unwrap_or_default().iter().map(|c| c.clone().into_owned()).collect();
    let leaf = match chain.first().map(|c| Leaf::parse(c)) {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            return Handshake {
                tls: Check::fail(CheckKind::Tls, e, "the CDN serves a malformed certificate"),
                certificate: skip(),
                leaf: None,
            };
        }
        None => {
            return Handshake {
                tls: Check::fail(CheckKind::Tls, "the server sent no certificate", "check the CDN's certificate"),
                certificate: skip(),
                leaf: None,
            };
        }
    };
    let tls_check = match tls.trusted(&chain, host, &leaf, now) {
        Ok(()) => Check::pass(
            CheckKind::Tls,
            format!("{version} with SNI {host} at {addr}; chain trusted (issuer {})", leaf.issuer),
        ),
        Err(why) => Check::fail(
            CheckKind::Tls,
            format!("{version} with SNI {host} at {addr}; chain not trusted: {why}"),
            format!(
                "serve a certificate from a public authority ({}), as `sslprov apply` sets up; mail clients refuse others",
                fixes.untrusted
            ),
        ),
    };
    let certificate = super::certificate::judge(&leaf, host, now, fixes);
    Handshake { tls: tls_check, certificate, leaf: Some(leaf) }
}

/// Completes every handshake, checking the server's signatures but not its certificate: the
/// certificate is judged afterwards, so that a wrong one can be shown rather than just refused.
#[derive(Debug)]
struct Observe(Arc<CryptoProvider>);

impl ServerCertVerifier for Observe {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
