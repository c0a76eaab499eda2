//! An issued chain, read: its expiry, fingerprint and names, and whether it is for our key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// What sslprov needs of a certificate chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issued {
    pub not_after: SystemTime,
    /// SHA-256 of the leaf's DER, lower-case hex.
    pub sha256: String,
    pub names: Vec<String>,
}

/// Reads the leaf (the first certificate) of `chain_pem`, and checks that its public key is the
/// one of `key_pkcs8`.
pub(crate) fn read(chain_pem: &str, key_pkcs8: Option<&[u8]>) -> Result<Issued, String> {
    let pem = x509_parser::pem::Pem::iter_from_buffer(chain_pem.as_bytes())
        .next()
        .ok_or("the CA's answer holds no certificate")?
        .map_err(|e| format!("the CA's answer is not PEM: {e}"))?;
    let (_, leaf) = X509Certificate::from_der(&pem.contents).map_err(|e| format!("unreadable certificate: {e}"))?;
    let secs = leaf.validity().not_after.timestamp();
    let not_after = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    let names = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(key) = key_pkcs8 {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key)
            .map_err(|_| "the sealed key is not an ECDSA P-256 key".to_owned())?;
        if leaf.public_key().subject_public_key.data.as_ref() != pair.public_key().as_ref() {
            return Err("the CA's certificate is not for the key sslprov sealed for it".into());
        }
    }
    Ok(Issued { not_after, sha256: sha256_hex(&pem.contents), names })
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// `t` as RFC 3339, seconds.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_read_and_held_to_its_key() {
        let key = crate::sealed::new_certificate_key().unwrap();
        let pair = rcgen::KeyPair::try_from(key.as_slice()).unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["url1234.acme.com".to_owned()]).unwrap().self_signed(&pair).unwrap();
        let issued = read(&cert.pem(), Some(&key)).unwrap();
        assert_eq!(issued.names, ["url1234.acme.com"]);
        assert_eq!(issued.sha256.len(), 64);
        assert!(issued.not_after > SystemTime::now());
        let other = crate::sealed::new_certificate_key().unwrap();
        assert!(read(&cert.pem(), Some(&other)).unwrap_err().contains("not for the key"));
        assert!(read("nothing", None).is_err());
    }
}
