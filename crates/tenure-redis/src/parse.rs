//! Parsing the URL forms users have: `redis://`, `rediss://`, a list of cluster
//! nodes, `redis+sentinel://`, or a list of sentinels. Errors never quote the input,
//! but for three parts that cannot be a credential: a scheme written as one
//! (`name://`), a query parameter's name that is a plain identifier, and a wildcard
//! address. A URL with an `@` after the end of its authority is refused first
//! (see [`check_authority_end`]), so no part of its credentials is taken for
//! one of those.

use url::{Host, Url};

use crate::{Error, Protocol, RedisConfig, Topology, secret::Password, topology::Node};

/// The port of a server or cluster node when a URL names none.
const DEFAULT_PORT: u16 = 6379;
/// The port of a sentinel when a URL names none.
const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// One `redis://` URL, taken apart.
struct NodeUrl {
    node: Node,
    tls: bool,
    username: Option<String>,
    password: Option<Password>,
    database: i64,
    protocol: Protocol,
}

/// A configuration with default pool settings.
fn config(topology: Topology, nodes: Vec<Node>, first: NodeUrl, service_name: Option<String>) -> RedisConfig {
    RedisConfig {
        topology,
        nodes,
        service_name,
        username: first.username,
        password: first.password,
        sentinel_username: None,
        sentinel_password: None,
        tls: first.tls,
        root_certificates: Vec::new(),
        database: first.database,
        protocol: first.protocol,
        max_connections: RedisConfig::DEFAULT_MAX_CONNECTIONS,
        connect_timeout: RedisConfig::DEFAULT_CONNECT_TIMEOUT,
        response_timeout: RedisConfig::DEFAULT_RESPONSE_TIMEOUT,
        wait_timeout: RedisConfig::DEFAULT_WAIT_TIMEOUT,
    }
}

/// A standalone `redis://`/`rediss://` URL or a `redis+sentinel://` URL.
pub(crate) fn parse_url(input: &str) -> Result<RedisConfig, Error> {
    let scheme = input.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis+sentinel" | "rediss+sentinel") => parse_sentinel_url(input),
        _ => {
            let url = parse_node_url(input, DEFAULT_PORT)?;
            let nodes = vec![url.node.clone()];
            Ok(config(Topology::Standalone, nodes, url, None))
        }
    }
}

/// A cluster's startup nodes.
pub(crate) fn parse_cluster<I>(nodes: I) -> Result<RedisConfig, Error>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let (first, nodes) = parse_node_list(nodes, Topology::Cluster, DEFAULT_PORT)?;
    Ok(config(Topology::Cluster, nodes, first, None))
}

/// A list of sentinels plus the service name; credentials in the sentinels' URLs
/// are the sentinels' own.
pub(crate) fn parse_sentinels<I>(sentinels: I, service_name: &str) -> Result<RedisConfig, Error>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let service_name = check_service_name(service_name)?;
    let (mut first, nodes) = parse_node_list(sentinels, Topology::Sentinel, DEFAULT_SENTINEL_PORT)?;
    let sentinel_username = first.username.take();
    let sentinel_password = first.password.take();
    let mut config = config(Topology::Sentinel, nodes, first, Some(service_name));
    config.sentinel_username = sentinel_username;
    config.sentinel_password = sentinel_password;
    Ok(config)
}

fn check_service_name(name: &str) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::missing_service_name());
    }
    // `.` and `..` are dot segments to a URL parser: written in a URL they
    // would not parse back to this name.
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) || name == "." || name == ".." {
        return Err(Error::invalid_service_name());
    }
    Ok(name.to_owned())
}

/// Parses each node (a URL or a bare `host:port`) and checks that they agree on
/// what the `redis` crate takes from the first one.
fn parse_node_list<I>(items: I, topology: Topology, default_port: u16) -> Result<(NodeUrl, Vec<Node>), Error>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut first: Option<NodeUrl> = None;
    let mut nodes = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let item = item.as_ref().trim();
        let parsed = if item.contains("://") {
            parse_node_url(item, default_port)
        } else {
            parse_node_url(&format!("redis://{item}"), default_port)
        }
        .map_err(|error| error.in_node(topology, index))?;
        // A sentinel's URL says how to reach the sentinel, not which database
        // of the master to use: a database there would be ignored, so it is
        // refused, with where the master's goes.
        if topology == Topology::Sentinel && parsed.database != 0 {
            return Err(Error::malformed_url(
                "a sentinel's URL names no database; set the master's with \
                 `RedisConfigBuilder::database` (or `/service/db` in a `redis+sentinel://` URL)",
            )
            .in_node(topology, index));
        }
        nodes.push(parsed.node.clone());
        match &first {
            None => first = Some(parsed),
            Some(first) => {
                // A node without credentials uses the first node's; one with other
                // credentials is refused.
                let mismatch = if parsed.tls != first.tls {
                    Some("TLS (`redis://` vs `rediss://`)")
                } else if parsed.username.is_some() && parsed.username != first.username {
                    Some("username")
                } else if parsed.password.is_some() && parsed.password != first.password {
                    Some("password")
                } else if parsed.protocol != first.protocol {
                    Some("protocol")
                } else if parsed.database != first.database {
                    Some("database")
                } else {
                    None
                };
                if let Some(part) = mismatch {
                    return Err(Error::mismatched_node(topology, index, part));
                }
            }
        }
    }
    let first = first.ok_or_else(|| Error::no_nodes(topology))?;
    Ok((first, nodes))
}

/// Refuses a URL with an `@` after the end of its authority, which is its
/// first `/`, `?` or `#` (for the URL parser as for the sentinel URL's own
/// split): one of those was left unencoded in the credentials, and the user
/// name would be taken for the host, the rest for the path, a query
/// parameter (whose name an error would show) or the fragment
/// (`redis://alice:12/pw@host`, `redis://alice:1?pw=x@host`). No `@` belongs
/// there: the path is a database index or a service name (whose `@` is
/// written `%40`, as `Display` writes it), and the only query parameter is
/// `protocol`.
fn check_authority_end(input: &str) -> Result<(), Error> {
    if split_authority(input).1.contains('@') {
        return Err(Error::unencoded_delimiter_in_credentials());
    }
    Ok(())
}

/// `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/service[/db][?protocol=...]`.
fn parse_sentinel_url(input: &str) -> Result<RedisConfig, Error> {
    check_authority_end(input)?;
    let (scheme, _) = input
        .split_once("://")
        .ok_or_else(|| Error::malformed_url("no `://` after the scheme"))?;
    let tls = scheme.eq_ignore_ascii_case("rediss+sentinel");
    let (authority, tail) = split_authority(input);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        // Credentials come once, before the first sentinel. A `,` before the
        // last `@` means a host is in front of them (`s1,user:pass@s2`) or a
        // sentinel has its own (`:pass@s1,:pass@s2`): either way the hosts
        // before it would be taken for credentials, so it is refused.
        Some((userinfo, _)) if userinfo.contains(',') => {
            return Err(Error::malformed_url(
                "credentials go once, before the first sentinel (`user:password@s1,s2`); \
                 a `,` or `@` inside them must be percent-encoded (`%2C`, `%40`)",
            ));
        }
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(userinfo) => {
            let (user, pass) = match userinfo.split_once(':') {
                Some((user, pass)) => (user, Some(pass)),
                None => (userinfo, None),
            };
            let username = match user {
                "" => None,
                raw => Some(percent_decode(raw).ok_or_else(|| Error::invalid_credentials("username"))?),
            };
            let password = match pass {
                None => None,
                Some(raw) => Some(Password::new(
                    percent_decode(raw).ok_or_else(|| Error::invalid_credentials("password"))?,
                )),
            };
            (username, password)
        }
    };
    if hosts.is_empty() {
        return Err(Error::no_nodes(Topology::Sentinel));
    }
    let mut nodes = Vec::new();
    for (index, host) in hosts.split(',').enumerate() {
        let node = parse_node_url(&format!("redis://{host}"), DEFAULT_SENTINEL_PORT)
            .map(|url| url.node)
            .map_err(|error| error.in_node(Topology::Sentinel, index))?;
        nodes.push(node);
    }
    // `.` and `..` segments (written or percent-encoded) would be resolved by
    // the URL parser into another service or database than the text shows.
    for (index, segment) in path_of(tail).split('/').filter(|s| !s.is_empty()).enumerate() {
        if is_dot_segment(segment) {
            return Err(if index == 0 {
                Error::invalid_service_name()
            } else {
                Error::invalid_database()
            });
        }
    }
    // The path, query and fragment, parsed by the URL parser behind a placeholder host.
    let tail = Url::parse(&format!("redis://sentinel{tail}")).map_err(Error::invalid_url)?;
    if tail.fragment().is_some() {
        return Err(Error::unsupported_fragment());
    }
    let mut segments = tail.path_segments().into_iter().flatten().filter(|s| !s.is_empty());
    let service = segments.next().ok_or_else(Error::missing_service_name)?;
    let service = percent_decode(service).ok_or_else(Error::invalid_service_name)?;
    let service = check_service_name(&service)?;
    let database = match segments.next() {
        None => 0,
        Some(db) => parse_database(db)?,
    };
    if segments.next().is_some() {
        return Err(Error::invalid_database());
    }
    let protocol = parse_query(&tail)?;
    if tls && !cfg!(feature = "rustls") {
        return Err(Error::tls_not_enabled(
            &nodes.iter().map(Node::to_string).collect::<Vec<_>>().join(","),
        ));
    }
    let first = NodeUrl {
        node: nodes[0].clone(),
        tls,
        username,
        password,
        database,
        protocol,
    };
    Ok(config(Topology::Sentinel, nodes, first, Some(service)))
}

/// A host name as the URL parser hands it over: a `redis` URL's host is opaque
/// to it, so it is left percent-encoded (`%40` for an `@`, and every non-ASCII
/// character). Only what a resolver can look up passes: ASCII letters, digits,
/// `-`, `_` (container and service names) and `.`.
fn check_host_name(name: &str) -> Result<&str, Error> {
    if name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
    {
        Ok(name)
    } else {
        Err(Error::invalid_host())
    }
}

/// Whether `name` is an IPv4 address of value 0 (`0.0.0.0`) in any spelling
/// the system's resolver takes for a numeric address (`inet_aton`'s forms,
/// which `getaddrinfo` accepts): one to four `.`-separated parts, each decimal,
/// octal (a leading `0`) or hexadecimal (`0x`), so `0`, `0x0`, `0.0`,
/// `000.000.000.000`. The address is 0 only if every part is, so it is enough
/// that each part is a zero literal (`0`s, or `0x` followed by at least one
/// `0` and nothing else); a name of other parts is left to the resolver.
fn is_zero_ipv4(name: &str) -> bool {
    name.split('.').count() <= 4
        && name.split('.').all(|part| {
            let digits = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X"));
            match digits {
                // `0x` alone is no number to the resolver.
                Some(hex) => !hex.is_empty() && hex.bytes().all(|byte| byte == b'0'),
                None => !part.is_empty() && part.bytes().all(|byte| byte == b'0'),
            }
        })
}

/// A `redis://` or `rediss://` URL naming one server.
fn parse_node_url(input: &str, default_port: u16) -> Result<NodeUrl, Error> {
    check_authority_end(input)?;
    let url = Url::parse(input).map_err(Error::invalid_url)?;
    let tls = match url.scheme() {
        "redis" => false,
        "rediss" => true,
        // Echoed only if written as a scheme (`other://`): in `user:s3cret@host`
        // the URL parser takes `user` for the scheme, and in `s3cret:x@host` the
        // password.
        other if input.get(other.len()..).is_some_and(|rest| rest.starts_with("://")) => {
            return Err(Error::unsupported_scheme(Some(other)));
        }
        _ => return Err(Error::unsupported_scheme(None)),
    };
    let (host, wildcard) = match url.host() {
        // A `redis` URL's host is opaque to the URL parser: an IPv4 address
        // arrives as a domain.
        Some(Host::Domain(name)) if !name.is_empty() => (check_host_name(name)?.to_owned(), is_zero_ipv4(name)),
        Some(Host::Ipv4(ip)) => (ip.to_string(), ip.is_unspecified()),
        // `::ffff:0.0.0.0` is the IPv4 wildcard written as IPv6.
        Some(Host::Ipv6(ip)) => (
            ip.to_string(),
            ip.is_unspecified() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_unspecified()),
        ),
        _ => return Err(Error::missing_host()),
    };
    if wildcard {
        return Err(Error::wildcard_host(&host));
    }
    let port = url.port().unwrap_or(default_port);
    if port == 0 {
        return Err(Error::invalid_port());
    }
    let node = Node { host, port };
    if tls && !cfg!(feature = "rustls") {
        return Err(Error::tls_not_enabled(&node.to_string()));
    }
    if url.fragment().is_some() {
        return Err(Error::unsupported_fragment());
    }
    // The path as written: the URL parser resolves `.` and `..` segments
    // (`/5/..` would read as database 0).
    let path = path_of(split_authority(input).1);
    let database = match path.strip_prefix('/').map(|db| db.strip_suffix('/').unwrap_or(db)) {
        None | Some("") => 0,
        Some(db) => parse_database(db)?,
    };
    let protocol = parse_query(&url)?;
    let username = match url.username() {
        "" => None,
        raw => Some(percent_decode(raw).ok_or_else(|| Error::invalid_credentials("username"))?),
    };
    let password = match url.password() {
        None => None,
        Some(raw) => Some(Password::new(
            percent_decode(raw).ok_or_else(|| Error::invalid_credentials("password"))?,
        )),
    };
    Ok(NodeUrl {
        node,
        tls,
        username,
        password,
        database,
        protocol,
    })
}

/// A database index: digits only (no sign), within `i64`.
fn parse_database(text: &str) -> Result<i64, Error> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid_database());
    }
    text.parse::<i64>().map_err(|_| Error::invalid_database())
}

/// A URL as written, after its `scheme://`: its authority (credentials and
/// hosts), and its tail (path, query and fragment). No `://`: both empty.
fn split_authority(input: &str) -> (&str, &str) {
    let Some((_, rest)) = input.split_once("://") else {
        return ("", "");
    };
    rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()))
}

/// The path of a URL's tail as written (`/service/1?protocol=resp3#x`: up to
/// the query or fragment).
fn path_of(tail: &str) -> &str {
    &tail[..tail.find(['?', '#']).unwrap_or(tail.len())]
}

/// `.` or `..`, written or percent-encoded (`%2e`, `%2E%2e`, ...).
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// The `protocol` query parameter, the only one understood; given at most once
/// (a repeated one would otherwise silently take the last value).
fn parse_query(url: &Url) -> Result<Protocol, Error> {
    let mut protocol = None;
    for (name, value) in url.query_pairs() {
        if name != "protocol" {
            return Err(Error::unsupported_parameter(&name));
        }
        if protocol.is_some() {
            return Err(Error::duplicate_parameter("protocol"));
        }
        protocol = Some(match value.as_ref() {
            "2" | "resp2" => Protocol::Resp2,
            "3" | "resp3" => Protocol::Resp3,
            _ => return Err(Error::invalid_protocol()),
        });
    }
    Ok(protocol.unwrap_or_default())
}

/// Decodes `%XX` escapes; `None` if the result is not UTF-8. A `%` not followed by
/// two hex digits is kept as is, as the `redis` crate does.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits are at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}
