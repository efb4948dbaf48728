//! The recycle check that a pooled connection is still in the state its
//! configuration gives it.
//!
//! A pool is keyed by its configuration (database, user, protocol), and a
//! borrower's commands go to a connection that the next borrower gets: a
//! borrower who sends `SELECT 7`, `AUTH other-user`, `HELLO 3`, `MULTI`
//! without `EXEC`, `SUBSCRIBE` or `CLIENT TRACKING on` would hand that state
//! on. So when a connection of a standalone or sentinel pool the cache owns
//! comes back into use, `CLIENT INFO` is asked (one round trip, after the
//! recycle's `UNWATCH` and `PING` or `ROLE`) and a connection whose database,
//! user, protocol, open transaction, subscriptions or tracking differ from a
//! fresh one's is discarded instead of lent.
//!
//! Only the fields the server reports are checked: `watch=` (watched keys)
//! from Redis 7.4, `resp=` and `ssub=` from 7.0; a server too old for
//! `CLIENT INFO` (before Redis 6.2) answers with an error, and the check is
//! skipped. So it is for a user the server's ACL does not allow `CLIENT
//! INFO` (`NOPERM`): discarding every recycled connection would make each
//! checkout open a new one. That is logged once per pool, as a warning, and
//! the pool does not ask again for its life.
//! Watched keys are unwatched by the recycle itself whatever the version
//! (`UNWATCH`). This is the server-side half; the client-side half,
//! for every topology, is `borrower_state.rs`: a connection on which a
//! borrower left a transaction, watched keys or a state tenure cannot undo is
//! discarded when dropped and never comes back to be checked.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use deadpool_redis::redis::{self, ErrorKind as RedisErrorKind, RedisError, aio::ConnectionLike};
use tenure_pool::deadpool::managed::{self, HookError};

use crate::{Protocol, RedisConfig};

/// What `CLIENT INFO` shows for a connection in the state a pool gives it.
#[derive(Debug)]
pub(crate) struct Expected {
    db: String,
    user: String,
    resp: &'static str,
    /// What events name the server by (`RedisConfig::target`: no credentials).
    target: String,
    /// Whether the pool's user was found not allowed `CLIENT INFO` (and that
    /// was logged).
    no_permission: AtomicBool,
}

impl Expected {
    pub(crate) fn of(config: &RedisConfig) -> Self {
        Self {
            target: config.target(),
            no_permission: AtomicBool::new(false),
            db: config.database().to_string(),
            // The `redis` crate authenticates (`AUTH`, or `HELLO 3 AUTH`) only
            // when there is a password: without one, a configured username is
            // not sent and the connection is the server's default user.
            user: match (config.username(), config.has_password()) {
                (Some(user), true) => user.to_owned(),
                _ => "default".to_owned(),
            },
            resp: match config.protocol() {
                Protocol::Resp2 => "2",
                Protocol::Resp3 => "3",
            },
        }
    }

    /// The first field of `info` (a `CLIENT INFO` line) that differs from a
    /// fresh connection's, by name; fields the server does not report (such
    /// as `watch=` before Redis 7.4) are not checked.
    fn drift(&self, info: &str) -> Option<&'static str> {
        info.split_ascii_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .find_map(|(field, value)| match field {
                "db" => (value != self.db).then_some("database"),
                "user" => (value != self.user).then_some("user"),
                "resp" => (value != self.resp).then_some("protocol"),
                "multi" => (value != "-1").then_some("transaction"),
                "watch" => (value != "0").then_some("watched keys"),
                "sub" | "psub" | "ssub" => (value != "0").then_some("subscriptions"),
                // Client-side caching (`CLIENT TRACKING on`).
                "flags" => value.contains('t').then_some("tracking"),
                _ => None,
            })
    }
}

/// A `post_recycle` hook: a connection whose state drifted is discarded.
pub(crate) fn hook<M>(expected: Expected) -> managed::Hook<M>
where
    M: managed::Manager<Error = RedisError>,
    M::Type: ConnectionLike + Send,
{
    // Shared by every check: a check clones a reference, not the strings.
    let expected = Arc::new(expected);
    managed::Hook::async_fn(move |conn: &mut M::Type, _| {
        let expected = Arc::clone(&expected);
        Box::pin(async move {
            // Not asked again, for the pool's life, once the user was found
            // not allowed to (each refusal would cost a round trip).
            if expected.no_permission.load(Ordering::Relaxed) {
                return Ok(());
            }
            let info: Result<String, RedisError> = redis::cmd("CLIENT").arg("INFO").query_async(conn).await;
            match info {
                Ok(info) => match expected.drift(&info) {
                    None => Ok(()),
                    Some(what) => {
                        tracing::debug!(
                            changed = what,
                            "a returned Redis connection was changed by its borrower; discarded"
                        );
                        Err(HookError::message(format!(
                            "the connection's {what} was changed by a borrower"
                        )))
                    }
                },
                // The user may not ask (an ACL without `client|info`): the
                // check cannot be made, as on an old server. The reply names
                // the user, so it is not logged.
                Err(error) if error.code() == Some("NOPERM") => {
                    if !expected.no_permission.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            target_server = %expected.target,
                            "the Redis user may not run `CLIENT INFO` (NOPERM; the ACL permission \
                             `+client|info` is missing): this pool lends recycled connections without \
                             checking their state on the server"
                        );
                    }
                    Ok(())
                }
                // The server cannot tell (no `CLIENT INFO` before Redis 6.2:
                // "unknown subcommand"). Any other error discards it.
                Err(error)
                    if matches!(error.kind(), RedisErrorKind::Server(_))
                        && error.to_string().to_ascii_lowercase().contains("unknown") =>
                {
                    Ok(())
                }
                Err(error) => Err(HookError::Backend(error)),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: &str = "id=3 addr=127.0.0.1:5555 laddr=127.0.0.1:6379 fd=8 name= age=0 idle=0 flags=N db=0 \
                         sub=0 psub=0 ssub=0 multi=-1 watch=0 qbuf=26 qbuf-free=20448 argv-mem=10 \
                         multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=client|info \
                         user=default redir=-1 resp=2 lib-name= lib-ver=";

    #[test]
    fn each_kind_of_drift_is_named_and_a_fresh_connection_has_none() {
        let expected = Expected {
            db: "0".to_owned(),
            user: "default".to_owned(),
            resp: "2",
            target: "127.0.0.1:6379".to_owned(),
            no_permission: AtomicBool::new(false),
        };
        assert_eq!(expected.drift(FRESH), None);
        for (from, to, what) in [
            (" db=0 ", " db=7 ", "database"),
            (" user=default ", " user=alice ", "user"),
            (" resp=2 ", " resp=3 ", "protocol"),
            (" multi=-1 ", " multi=2 ", "transaction"),
            (" sub=0 ", " sub=1 ", "subscriptions"),
            (" watch=0 ", " watch=1 ", "watched keys"),
            (" flags=N ", " flags=t ", "tracking"),
        ] {
            assert_eq!(expected.drift(&FRESH.replace(from, to)), Some(what), "{to}");
        }
        // An older server's line without some fields: those are not checked.
        assert_eq!(expected.drift("id=3 addr=127.0.0.1:5555 db=0 flags=N"), None);
    }
}
