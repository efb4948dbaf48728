//! Extra trusted roots (feature `rustls`): checked by the builder, kept as DER, and
//! handed to the `redis` crate as one PEM bundle.

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
        let encoded = base64(der);
        for line in encoded.chunks(64) {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    out
}

/// Standard base64 with padding (RFC 4648), as PEM wants it.
fn base64(bytes: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 0x3f) as usize];
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected.as_bytes(), "{input}");
        }
    }

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
