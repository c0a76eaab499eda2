//! A test certificate authority: its root goes to `verify --ca-file`, and it issues leaf
//! certificates for any names, valid or expired.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as a server presents them (leaf first, then the issuer).
#[derive(Clone, Debug)]
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER.
    pub key: Vec<u8>,
}

impl Leaf {
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()))
    }
}

impl TestCa {
    /// # Panics
    /// If the key or certificate cannot be generated.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(3650);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate().expect("CA key");
        TestCa { issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate") }
    }

    /// The root certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the root certificate as PEM to `path` (for `--ca-file`).
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn write_pem(&self, path: &Path) {
        std::fs::write(path, self.pem()).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// A certificate for `names` (DNS names, wildcards allowed) that expires in `days` (negative:
    /// expired that many days ago), issued 60 days before it expires or today, whichever is earlier.
    ///
    /// # Panics
    /// If a name is invalid or signing fails.
    pub fn issue(&self, names: &[&str], days: i64) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        let now = OffsetDateTime::now_utc();
        params.not_after = now + Duration::days(days);
        params.not_before = (params.not_after - Duration::days(60)).min(now - Duration::days(1));
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf { chain: vec![cert.der().clone(), self.issuer.der().clone()], key: key.serialize_der() }
    }
}
