//! TLS settings ([`TlsConfig`]) and the rustls client config built from them
//! (ring provider).

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::Error;

/// Trusted roots of a client: the web PKI roots (Mozilla's, through
/// `webpki-roots`) and/or extra root certificates (DER).
///
/// Part of [`HttpClientConfig`](crate::HttpClientConfig), so of the cache key.
/// Set through the config builder:
/// [`webpki_roots`](crate::HttpClientConfigBuilder::webpki_roots),
/// [`add_root_certificate_der`](crate::HttpClientConfigBuilder::add_root_certificate_der),
/// [`add_root_certificates_pem`](crate::HttpClientConfigBuilder::add_root_certificates_pem).
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

/// Checks that `der` is a certificate usable as a trust anchor.
pub(crate) fn validate_der(der: &[u8]) -> Result<(), Error> {
    let mut store = rustls::RootCertStore::empty();
    store.add(CertificateDer::from(der.to_vec())).map_err(|e| {
        Error::setting_with_source(
            "root_certificate",
            format!("<{} DER bytes>", der.len()),
            "not a valid X.509 certificate",
            e,
        )
    })
}

/// Parses every `CERTIFICATE` block of a PEM bundle and validates each.
pub(crate) fn parse_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let mut out = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| {
            Error::setting_with_source(
                "root_certificates_pem",
                format!("<{} PEM bytes>", pem.len()),
                "invalid PEM",
                e.to_string(),
            )
        })?;
        validate_der(cert.as_ref())?;
        out.push(cert.as_ref().to_vec());
    }
    if out.is_empty() {
        return Err(Error::setting(
            "root_certificates_pem",
            format!("<{} PEM bytes>", pem.len()),
            "no CERTIFICATE block found",
        ));
    }
    Ok(out)
}

/// Builds the rustls client config: ring provider, safe default protocol
/// versions; ALPN is set by the connector from the HTTP version.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    if tls.webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for der in &tls.extra_roots {
        // Validated when the config was built; re-checked here, never panics.
        roots.add(CertificateDer::from(der.clone())).map_err(|e| {
            Error::setting_with_source(
                "root_certificate",
                format!("<{} DER bytes>", der.len()),
                "not a valid X.509 certificate",
                e,
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::setting_with_source("tls", "ring".into(), "protocol versions unsupported", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}
