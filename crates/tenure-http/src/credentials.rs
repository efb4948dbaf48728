//! User info in a request URI (`http://user:pass@host/`) is moved into an
//! `Authorization: Basic` header before hyper-util sees the URI.
//!
//! hyper-util keys its pool by scheme and authority and writes that key into
//! its DEBUG and TRACE events; an authority with user info would put the
//! password in the logs (and, over HTTP/2, in the `:authority` pseudo-header).

use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use http::uri::{Authority, Uri};

use crate::error::Error;

/// Removes user info from `uri`'s authority. Returns the `Basic` credentials
/// it held (marked sensitive), or `None` if it had none.
///
/// # Errors
///
/// [`ErrorKind::InvalidRequest`](crate::ErrorKind::InvalidRequest) if the URI
/// cannot be rebuilt without them; the message never contains the URI.
pub(crate) fn take_from_uri(uri: &mut Uri) -> Result<Option<HeaderValue>, Error> {
    let Some((userinfo, host_port)) = uri.authority().and_then(|a| a.as_str().rsplit_once('@')) else {
        return Ok(None);
    };
    let value = basic_from_userinfo(userinfo)
        .ok_or_else(|| Error::invalid_request("URI credentials could not be encoded", None))?;

    let authority = Authority::try_from(host_port)
        .map_err(|_| Error::invalid_request("URI authority is invalid once its credentials are removed", None))?;
    let mut parts = std::mem::take(uri).into_parts();
    parts.authority = Some(authority);
    // Sources are left out on purpose: they could describe the URI.
    *uri = Uri::from_parts(parts)
        .map_err(|_| Error::invalid_request("URI is invalid once its credentials are removed", None))?;
    Ok(Some(value))
}

/// The `Basic` header value (marked sensitive) for percent-encoded user info
/// `user[:password]`; `None` only if encoding failed, which base64 output
/// never does.
pub(crate) fn basic_from_userinfo(userinfo: &str) -> Option<HeaderValue> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let mut plain = percent_decode(user);
    plain.push(b':');
    plain.extend_from_slice(&percent_decode(password));
    let mut value = Vec::with_capacity(6 + plain.len().div_ceil(3) * 4);
    value.extend_from_slice(b"Basic ");
    base64_encode(&plain, &mut value);
    let mut value = HeaderValue::from_bytes(&value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Moves credentials from the request's URI into its `Authorization` header.
/// A header the request sets itself wins (the URI's credentials are dropped);
/// the URI's credentials win over the config's default headers, which are
/// applied afterwards and only to names the request does not carry.
pub(crate) fn move_to_header(uri: &mut Uri, headers: &mut HeaderMap) -> Result<(), Error> {
    if let Some(value) = take_from_uri(uri)?
        && !headers.contains_key(AUTHORIZATION)
    {
        headers.insert(AUTHORIZATION, value);
    }
    Ok(())
}

/// Decodes `%XX` escapes; anything else (including a malformed escape) is
/// kept as it is, as browsers and curl do.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Standard base64 with padding (RFC 4648), as `Basic` credentials use.
fn base64_encode(input: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let sextet = |shift: u32| ALPHABET[(n >> shift & 63) as usize];
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { b'=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        let mut out = Vec::new();
        base64_encode(s, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(b64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(b64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("p%40ss%3Aw"), b"p@ss:w");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
        assert_eq!(percent_decode("%e2%82%ac"), "€".as_bytes());
    }

    #[test]
    fn user_info_is_moved_out_of_the_uri() {
        let mut uri: Uri = "http://alice:s3cr%40t@example.com:8080/a?b=c".parse().unwrap();
        let value = take_from_uri(&mut uri).unwrap().unwrap();
        assert_eq!(uri.to_string(), "http://example.com:8080/a?b=c");
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().unwrap(), format!("Basic {}", b64(b"alice:s3cr@t")));

        let mut uri: Uri = "https://bob@example.com/".parse().unwrap();
        let value = take_from_uri(&mut uri).unwrap().unwrap();
        assert_eq!(uri.to_string(), "https://example.com/");
        assert_eq!(value.to_str().unwrap(), format!("Basic {}", b64(b"bob:")));

        let mut uri: Uri = "http://example.com/".parse().unwrap();
        assert!(take_from_uri(&mut uri).unwrap().is_none());
        assert_eq!(uri.to_string(), "http://example.com/");
    }

    #[test]
    fn the_requests_own_authorization_header_wins() {
        let mut uri: Uri = "http://alice:pw@example.com/".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer mine"));
        move_to_header(&mut uri, &mut headers).unwrap();
        assert_eq!(uri.to_string(), "http://example.com/");
        assert_eq!(headers[AUTHORIZATION], "Bearer mine");
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
    }
}
