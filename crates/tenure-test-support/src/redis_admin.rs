//! The harness's admin connections: short-lived, named, through the `redis` crate.

use std::{
    collections::HashMap,
    io,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use redis::{ConnectionAddr, FromRedisValue, IntoConnectionInfo, Value};

use crate::redis_server::ADMIN_CLIENT_NAME;

/// Connect, read and write timeout of an admin connection.
const ADMIN_IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The lock the admin connections to `port` take turns with.
///
/// A server lists a connection from the moment it accepts it, unnamed until its
/// `CLIENT SETNAME` arrives: an admin connection that another thread is still
/// setting up would be counted as a client by a concurrent `CLIENT LIST`.
/// Holding the port's lock from before the connect to after the reply, no
/// admin connection of this process is ever half set up while another runs a
/// command on the same server (the servers are private to the process).
fn port_lock(port: u16) -> Arc<Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<u16, Arc<Mutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    Arc::clone(locks.entry(port).or_default())
}

/// Runs `args` on a fresh admin connection to `127.0.0.1:port`, after naming it
/// [`ADMIN_CLIENT_NAME`], and converts the reply. Admin connections to one
/// port take turns ([`port_lock`]).
pub(crate) fn query<T: FromRedisValue>(port: u16, args: &[&str]) -> io::Result<T> {
    let lock = port_lock(port);
    let _turn = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let (name, rest) = args
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "an empty command"))?;
    let info = ConnectionAddr::Tcp("127.0.0.1".to_owned(), port)
        .into_connection_info()
        .map_err(to_io)?;
    let client = redis::Client::open(info).map_err(to_io)?;
    let mut conn = client.get_connection_with_timeout(ADMIN_IO_TIMEOUT).map_err(to_io)?;
    conn.set_read_timeout(Some(ADMIN_IO_TIMEOUT)).map_err(to_io)?;
    conn.set_write_timeout(Some(ADMIN_IO_TIMEOUT)).map_err(to_io)?;
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(ADMIN_CLIENT_NAME)
        .query::<()>(&mut conn)
        .map_err(to_io)?;
    let mut cmd = redis::cmd(name);
    for arg in rest {
        cmd.arg(*arg);
    }
    cmd.query(&mut conn).map_err(to_io)
}

/// A reply as text: strings as they are, integers in decimal, nil as the empty
/// string, arrays (and maps, flattened) one element a line.
pub(crate) fn render(value: &Value) -> String {
    match value {
        Value::Nil => String::new(),
        Value::Int(n) => n.to_string(),
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_owned(),
        Value::Array(items) | Value::Set(items) => items.iter().map(render).collect::<Vec<_>>().join("\n"),
        Value::Map(pairs) => pairs
            .iter()
            .flat_map(|(k, v)| [render(k), render(v)])
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Double(d) => d.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => format!("{other:?}"),
    }
}

fn to_io(e: redis::RedisError) -> io::Error {
    if e.is_timeout() {
        io::Error::new(io::ErrorKind::TimedOut, e.to_string())
    } else if e.is_connection_refusal() {
        io::Error::new(io::ErrorKind::ConnectionRefused, e.to_string())
    } else {
        io::Error::other(format!("redis error: {e}"))
    }
}
