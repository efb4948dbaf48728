//! TLS settings ([`TlsConfig`]) and the rustls client config built from them
//! (ring provider).

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::Error;

/// Trusted roots of a client: the web PKI roots (Mozilla's, through
/// `webpki-roots`) and/or extra root certificates (kept DER-encoded).
///
/// Part of [`HttpClientConfig`](crate::HttpClientConfig), so of the cache key.
/// Set through the config builder:
/// [`webpki_roots`](crate::HttpClientConfigBuilder::webpki_roots),
/// [`add_root_certificate_pem`](crate::HttpClientConfigBuilder::add_root_certificate_pem),
/// [`add_root_certificate_der`](crate::HttpClientConfigBuilder::add_root_certificate_der).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlsConfig {
    pub(crate) webpki_roots: bool,
    pub(crate) extra_roots: Vec<Vec<u8>>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            webpki_roots: true,
            extra_roots: Vec::new(),
        }
    }
}

impl TlsConfig {
    /// Whether the web PKI roots are trusted.
    #[must_use]
    pub fn webpki_roots(&self) -> bool {
        self.webpki_roots
    }

    /// The extra trusted root certificates, DER-encoded.
    pub fn extra_roots(&self) -> impl Iterator<Item = &[u8]> {
        self.extra_roots.iter().map(Vec::as_slice)
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("webpki_roots", &self.webpki_roots)
            .field("extra_roots", &self.extra_roots.len())
            .finish()
    }
}

/// Checks that `der` is one certificate usable as a trust anchor; else the error
/// names root `index` and why (never quoting it).
pub(crate) fn check_der(der: &[u8], index: usize) -> Result<(), Error> {
    check_trust_anchor(der, index, "DER")
}

/// The DER of every certificate of a PEM bundle (other blocks are skipped), if
/// there is at least one and each is usable as a trust anchor; else the error
/// names root `index` and why (never quoting it).
pub(crate) fn check_pem(pem: &[u8], index: usize) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::root_certificate(index, "PEM", pem_problem(&e), None))?;
        check_trust_anchor(cert.as_ref(), index, "PEM")?;
        out.push(cert.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(Error::root_certificate(
            index,
            "PEM",
            "no `CERTIFICATE` block found",
            None,
        ));
    }
    Ok(out)
}

fn check_trust_anchor(der: &[u8], index: usize, format: &'static str) -> Result<(), Error> {
    let mut store = rustls::RootCertStore::empty();
    store.add(CertificateDer::from(der.to_vec())).map_err(|e| {
        Error::root_certificate(
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

/// Builds the rustls client config: ring provider, safe default protocol
/// versions; ALPN is set by the connector from the HTTP version.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    let roots = root_store(tls)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::setting_with_source("tls", "ring".into(), "protocol versions unsupported", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// The roots a client trusts: the web PKI's (unless turned off), then the added ones.
fn root_store(tls: &TlsConfig) -> Result<rustls::RootCertStore, Error> {
    let mut roots = rustls::RootCertStore::empty();
    if tls.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (index, der) in tls.extra_roots.iter().enumerate() {
        // Checked when the config was built; checked again here, never panics.
        roots.add(CertificateDer::from(der.clone())).map_err(|e| {
            Error::root_certificate(
                index,
                "DER",
                "not an X.509 certificate usable as a trust anchor",
                Some(e.into()),
            )
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(webpki_roots: bool, extra_roots: Vec<Vec<u8>>) -> TlsConfig {
        TlsConfig {
            webpki_roots,
            extra_roots,
        }
    }

    #[test]
    fn webpki_roots_are_trusted_only_when_enabled() {
        let web = webpki_roots::TLS_SERVER_ROOTS.len();
        assert!(web > 10, "{web}");
        let ca = tenure_test_support::TestCertificates::generate()
            .unwrap()
            .ca_der()
            .to_vec();

        // `client_config` trusts exactly this store.
        let count = |tls: &TlsConfig| root_store(tls).unwrap().len();
        assert_eq!(count(&TlsConfig::default()), web);
        assert_eq!(count(&tls(true, Vec::new())), web);
        assert_eq!(count(&tls(false, Vec::new())), 0);
        assert_eq!(count(&tls(false, vec![ca.clone()])), 1);
        assert_eq!(count(&tls(true, vec![ca.clone()])), web + 1);

        // Through the config builder, as the clients get it.
        let config = |webpki: bool| {
            crate::HttpClientConfig::builder()
                .webpki_roots(webpki)
                .add_root_certificate_der(ca.clone())
                .build()
                .unwrap()
        };
        assert_eq!(count(config(false).tls()), 1);
        assert_eq!(count(config(true).tls()), web + 1);
    }
}
