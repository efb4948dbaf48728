//! A bracketed URI host must be an IPv6 address the connector can use.
//!
//! The `http` crate's URI parser takes any hex digits, colons and dots in
//! brackets (`[zq::1]` too), and an RFC 6874 zone (`[fe80::1%25eth0]`), which
//! the connector cannot use either: such a request, or proxy, would fail only
//! when connecting. Callers refuse them up front, without quoting the host (the
//! host of a mangled URI may be part of its credentials).

/// What is wrong with a bracketed host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Not an IPv6 address.
    NotIpv6,
    /// An IPv6 address with a zone identifier (`%25...`).
    Zone,
}

/// What is wrong with `host` (as [`http::uri::Authority::host`] gives it), if
/// it is in brackets and not a plain IPv6 address.
pub(crate) fn problem(host: &str) -> Option<Problem> {
    let bracketed = host.strip_prefix('[')?;
    if bracketed
        .strip_suffix(']')
        .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    {
        return None;
    }
    Some(if bracketed.contains('%') {
        Problem::Zone
    } else {
        Problem::NotIpv6
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_ipv6_address_passes_in_brackets() {
        for fine in ["[::1]", "[2001:db8::1]", "host", "127.0.0.1"] {
            assert_eq!(problem(fine), None, "{fine}");
        }
        for bad in ["[zz::1]", "[::1::2]", "[1.2.3.4]", "[::1"] {
            assert_eq!(problem(bad), Some(Problem::NotIpv6), "{bad}");
        }
        assert_eq!(problem("[fe80::1%25eth0]"), Some(Problem::Zone));
    }
}
