//! A custom certificate and its key: the key must be the certificate's.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The DER inside the first PEM block labelled `label`.
fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// `Ok` when `key_pem` (PKCS#8, ECDSA P-256: what sslprov uploads) is the key of the first
/// certificate of `cert_pem`.
pub fn matching_pair(cert_pem: &str, key_pem: &str) -> Result<(), String> {
    let cert = pem_block(cert_pem, "CERTIFICATE").ok_or("customsslcert is not a PEM certificate")?;
    let (_, cert) = X509Certificate::from_der(&cert).map_err(|e| format!("customsslcert: {e}"))?;
    let key = pem_block(key_pem, "PRIVATE KEY").ok_or("customsslkey is not a PEM private key")?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key)
        .map_err(|_| "customsslkey is not a PKCS#8 ECDSA P-256 key (the only kind the emulator reads)".to_owned())?;
    if cert.public_key().subject_public_key.data.as_ref() != pair.public_key().as_ref() {
        return Err("customsslkey does not belong to customsslcert".into());
    }
    Ok(())
}
