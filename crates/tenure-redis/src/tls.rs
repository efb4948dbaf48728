//! Extra trusted roots (feature `rustls`): checked by the builder, kept as DER, and
//! handed to the `redis` crate as one PEM bundle.

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use rustls::pki_types::{CertificateDer, pem::PemObject};

use crate::Error;

/// A root certificate as it was added to a [`RedisConfigBuilder`](crate::RedisConfigBuilder).
#[derive(Clone)]
pub(crate) enum RootCertificate {
    /// One or more `CERTIFICATE` blocks.
    Pem(Vec<u8>),
    /// One DER-encoded X.509 certificate.
    Der(Vec<u8>),
}

impl RootCertificate {
    /// The DER of each certificate, if each is usable as a trust anchor; else the
    /// error names root `index` and why (never quoting it).
    pub(crate) fn check(&self, index: usize) -> Result<Vec<Vec<u8>>, Error> {
        match self {
            Self::Der(der) => {
                check_trust_anchor(der, index, "DER")?;
                Ok(vec![der.clone()])
            }
            Self::Pem(pem) => {
                let mut out = Vec::new();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert =
                        cert.map_err(|e| Error::invalid_root_certificate(index, "PEM", pem_problem(&e), None))?;
                    check_trust_anchor(cert.as_ref(), index, "PEM")?;
                    out.push(cert.as_ref().to_vec());
                }
                if out.is_empty() {
                    return Err(Error::invalid_root_certificate(
                        index,
                        "PEM",
                        "no `CERTIFICATE` block found",
                        None,
                    ));
                }
                Ok(out)
            }
        }
    }
}

fn check_trust_anchor(der: &[u8], index: usize, format: &str) -> Result<(), Error> {
    let mut store = rustls::RootCertStore::empty();
    store.add(CertificateDer::from(der.to_vec())).map_err(|e| {
        Error::invalid_root_certificate(
            index,
            format,
            "not an X.509 certificate usable as a trust anchor",
            Some(e.into()),
        )
    })
}

/// What is wrong with the PEM, in words that never quote it (the PEM parser's own
/// messages may quote a line).
fn pem_problem(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error as PemError;
    match e {
        PemError::MissingSectionEnd { .. } => "invalid PEM: a section has no END line",
        PemError::IllegalSectionStart { .. } => "invalid PEM: a section has a malformed BEGIN line",
        PemError::Base64Decode(_) => "invalid PEM: a section is not valid base64",
        PemError::SectionTooLarge => "invalid PEM: a section is larger than 256 MB",
        _ => "invalid PEM",
    }
}

/// The certificates as one PEM bundle, the form the `redis` crate takes.
pub(crate) fn pem_bundle(ders: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for der in ders {
        out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        let encoded = BASE64.encode(der);
        for line in encoded.as_bytes().chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_parses_back_to_the_same_certificates() {
        // Arbitrary bytes: the PEM layer does not care what the DER holds.
        let ders = vec![(0..=255u8).collect::<Vec<u8>>(), vec![1, 2, 3, 4, 5]];
        let bundle = pem_bundle(&ders);
        let back: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(&bundle)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .expect("the bundle is valid PEM");
        assert_eq!(back, ders);
    }
}
