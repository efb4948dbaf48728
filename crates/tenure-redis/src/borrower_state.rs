//! What a borrower left on a connection: tracked client-side, from the commands
//! a [`RedisConnection`](crate::RedisConnection) sends, so that a connection a
//! borrower left in a transaction, watching keys, or in a state tenure cannot
//! undo is discarded when it is dropped instead of going back to its pool.
//!
//! It needs no round trip, so it works for every topology, including a cluster
//! (whose recycle waits on no server) and servers before Redis 6.2 (without the
//! `CLIENT INFO` check of `connection_state.rs`). A command is marked before it
//! is sent; `EXEC`, `DISCARD` and `UNWATCH` clear their marks only once their
//! reply has come back and is not an error, so a command whose future is
//! dropped mid-flight, or whose reply is lost, leaves the connection marked.
//!
//! Every command (or pipeline) also counts as unanswered from the moment it is
//! sent until its future returns with a result that shows it is no longer
//! running on the server ([`finished`]). One still unanswered when the
//! connection is dropped (its future was cancelled, it timed out, ...) may
//! still be running: a blocking command (`BLPOP key 0`, `XREAD BLOCK`, `WAIT`)
//! would hold the connection, and take the data it waits for, from the next
//! borrower. Such a connection is discarded too.

use deadpool_redis::redis::{self, Arg, Cmd, Pipeline, RedisResult, Value};

/// What one command does to the connection's state, as far as tracked here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// `MULTI`: opens a transaction.
    Multi,
    /// `EXEC` or `DISCARD`: ends one (and, on one server, unwatches its keys).
    EndTransaction,
    /// `WATCH`.
    Watch,
    /// `UNWATCH` (sent to every primary of a cluster).
    Unwatch,
    /// A command whose state tenure cannot undo, by name.
    Lasting(&'static str),
    /// Anything else.
    None,
}

impl Effect {
    /// The effect of `cmd`, from its name (and, for `CLIENT`, its subcommand).
    pub(crate) fn of(cmd: &Cmd) -> Self {
        let mut args = cmd.args_iter().filter_map(|arg| match arg {
            Arg::Simple(bytes) => Some(bytes),
            // A cursor (`Arg` is non-exhaustive): never a command's name.
            _ => None,
        });
        let Some(name) = args.next() else {
            return Self::None;
        };
        let is = |expected: &str| name.eq_ignore_ascii_case(expected.as_bytes());
        if is("MULTI") {
            Self::Multi
        } else if is("EXEC") || is("DISCARD") {
            Self::EndTransaction
        } else if is("WATCH") {
            Self::Watch
        } else if is("UNWATCH") {
            Self::Unwatch
        } else if let Some(lasting) = LASTING.iter().find(|lasting| is(lasting)) {
            Self::Lasting(lasting)
        } else if is("CLIENT") {
            let Some(sub) = args.next() else {
                return Self::None;
            };
            CLIENT_LASTING
                .iter()
                .find(|lasting| sub.eq_ignore_ascii_case(lasting.as_bytes()))
                .map_or(Self::None, |lasting| Self::Lasting(lasting))
        } else {
            Self::None
        }
    }
}

/// Commands whose effect on the connection tenure cannot undo: subscriptions
/// (a multiplexed connection with RESP3 takes them), the database, the user,
/// the protocol, a cluster node's read mode, `RESET` (back to database 0, the
/// default user and RESP2, whatever the configuration says), `MONITOR`,
/// `ASKING` (a flag for the connection's next command, which may be the next
/// borrower's), `SYNC`/`PSYNC` (the connection becomes a replication
/// stream) and `QUIT` (the server closes it). The crate docs (`lib.rs`) list
/// them too.
const LASTING: [&str; 14] = [
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "SELECT",
    "AUTH",
    "HELLO",
    "READONLY",
    "READWRITE",
    "RESET",
    "MONITOR",
    "ASKING",
    "SYNC",
    "PSYNC",
    "QUIT",
];

/// `CLIENT` subcommands that change the connection's state.
const CLIENT_LASTING: [&str; 7] = [
    "TRACKING", "REPLY", "SETNAME", "SETINFO", "NO-EVICT", "NO-TOUCH", "CACHING",
];

/// What the borrowers of one connection left on it so far.
#[derive(Debug)]
pub(crate) struct BorrowerState {
    /// `MULTI`s sent and not known to be ended (each `MULTI` of a cluster
    /// connection may go to another node).
    open_transactions: u32,
    /// Whether keys may be watched.
    watching: bool,
    /// The first command seen whose state tenure cannot undo.
    lasting: Option<&'static str>,
    /// Commands and pipelines sent whose reply has not come back.
    unanswered: u32,
    /// Whether an `EXEC` or `DISCARD` unwatches every watched key: true on
    /// one server; false for a cluster connection, which sends them to a
    /// random node while `WATCH` goes to the keys' nodes.
    end_unwatches: bool,
}

impl BorrowerState {
    /// A fresh connection's: nothing left behind. `end_unwatches`: see the field.
    pub(crate) fn new(end_unwatches: bool) -> Self {
        Self {
            open_transactions: 0,
            watching: false,
            lasting: None,
            unanswered: 0,
            end_unwatches,
        }
    }

    /// Marks what `effects` may leave, before they are sent.
    fn sending(&mut self, effects: impl IntoIterator<Item = Effect>) {
        for effect in effects {
            match effect {
                Effect::Multi => self.open_transactions = self.open_transactions.saturating_add(1),
                Effect::Watch => self.watching = true,
                Effect::Lasting(name) => {
                    self.lasting.get_or_insert(name);
                }
                Effect::EndTransaction | Effect::Unwatch | Effect::None => {}
            }
        }
    }

    /// Clears, in order, what the replies show ended: `replies` pairs each
    /// effect (as passed to [`sending`](Self::sending)) with whether its reply
    /// came back without an error, or, for `EXEC`, with `EXECABORT` (the
    /// server ended the transaction; see [`ended`]) (`None`: not known, as
    /// for the commands queued in a transaction). `in_pipeline`: the commands
    /// went as one pipeline, which a cluster connection sends to one node
    /// only, so an `UNWATCH` in it clears the watch only on one server.
    fn answered(&mut self, replies: impl IntoIterator<Item = (Effect, Option<bool>)>, in_pipeline: bool) {
        let unwatch_clears = self.end_unwatches || !in_pipeline;
        for (effect, ok) in replies {
            match (effect, ok) {
                // A refused `MULTI` (nested) opened nothing.
                (Effect::Multi, Some(false)) => self.open_transactions = self.open_transactions.saturating_sub(1),
                (Effect::EndTransaction, Some(true)) => {
                    self.open_transactions = self.open_transactions.saturating_sub(1);
                    if self.end_unwatches {
                        self.watching = false;
                    }
                }
                // A `WATCH` after an `UNWATCH` of the same batch watches again.
                (Effect::Watch, _) => self.watching = true,
                (Effect::Unwatch, Some(true)) if unwatch_clears => self.watching = false,
                _ => {}
            }
        }
    }

    /// A command or pipeline is about to be sent.
    fn sent(&mut self) {
        self.unanswered += 1;
    }

    /// A command or pipeline that [`sent`](Self::sent) counted is no longer
    /// running on the server ([`finished`]).
    fn replied(&mut self) {
        self.unanswered = self.unanswered.saturating_sub(1);
    }

    /// Marks what `cmd` may leave, before it is sent; returns its effect, for
    /// [`command_returned`](Self::command_returned).
    pub(crate) fn command_sent(&mut self, cmd: &Cmd) -> Effect {
        let effect = Effect::of(cmd);
        self.sent();
        self.sending([effect]);
        effect
    }

    /// What `cmd` (sent with `effect`) left, now that its future returned `reply`.
    pub(crate) fn command_returned(&mut self, cmd: &Cmd, effect: Effect, reply: &RedisResult<Value>) {
        if finished([cmd], reply) {
            self.replied();
        }
        if effect == Effect::None {
            return;
        }
        if let Ok(value) = reply {
            let ok = if effect == Effect::EndTransaction {
                ended(value)
            } else {
                is_ok(value)
            };
            self.answered([(effect, Some(ok))], false);
        }
    }

    /// Marks what `pipeline` may leave, before it is sent; returns its
    /// effects, for [`pipeline_returned`](Self::pipeline_returned) (`None`: nothing
    /// to track, as for most pipelines, and no list made). An atomic pipeline
    /// is sent as `MULTI`, its commands, `EXEC` (`cmd_iter` yields its commands only).
    pub(crate) fn pipeline_sent(&mut self, pipeline: &Pipeline) -> Option<Vec<Effect>> {
        self.sent();
        let atomic = pipeline.is_transaction();
        if !atomic && pipeline.cmd_iter().all(|c| Effect::of(c) == Effect::None) {
            return None;
        }
        let mut effects = Vec::new();
        if atomic {
            effects.push(Effect::Multi);
        }
        effects.extend(pipeline.cmd_iter().map(Effect::of));
        if atomic {
            effects.push(Effect::EndTransaction);
        }
        self.sending(effects.iter().copied());
        Some(effects)
    }

    /// What `pipeline` (sent with `effects`, its values read from `offset`)
    /// left, now that its future returned `reply`.
    pub(crate) fn pipeline_returned(
        &mut self,
        pipeline: &Pipeline,
        effects: Option<Vec<Effect>>,
        offset: usize,
        reply: &RedisResult<Vec<Value>>,
    ) {
        if finished(pipeline.cmd_iter(), reply) {
            self.replied();
        }
        let Some(effects) = effects else {
            return;
        };
        let atomic = pipeline.is_transaction();
        // An atomic pipeline the server aborted (`EXECABORT`: a command was
        // refused while queued) comes back as an error, but the server
        // ended its transaction all the same.
        if atomic && reply.as_ref().is_err_and(|error| error.code() == Some("EXECABORT")) {
            let ended = effects.iter().map(|effect| match effect {
                Effect::Multi | Effect::EndTransaction => Some(true),
                _ => None,
            });
            self.answered(effects.iter().copied().zip(ended), true);
        }
        if let Ok(values) = reply {
            let last = effects.len() - 1;
            let replies: Vec<Option<bool>> = if atomic {
                // The values are `EXEC`'s reply only: its commands were
                // queued (their replies not known here), and its `MULTI`
                // was taken, or the `EXEC` would have been refused.
                (0..effects.len())
                    .map(|i| match i {
                        0 => Some(true),
                        i if i == last => values.last().map(ended),
                        _ => None,
                    })
                    .collect()
            } else if offset == 0 && values.len() == effects.len() {
                // Each command's own reply, judged as it would be sent alone:
                // an `EXEC` the server aborted ended its transaction.
                effects
                    .iter()
                    .zip(values)
                    .map(|(effect, value)| {
                        Some(if *effect == Effect::EndTransaction {
                            ended(value)
                        } else {
                            is_ok(value)
                        })
                    })
                    .collect()
            } else {
                vec![None; effects.len()]
            };
            self.answered(effects.into_iter().zip(replies), true);
        }
    }

    /// What the connection was left with, if anything: it must not be lent again.
    pub(crate) fn left_behind(&self) -> Option<&'static str> {
        if self.unanswered > 0 {
            Some("a command that may still run on the server (cancelled or timed out before its reply)")
        } else if self.open_transactions > 0 {
            Some("an open transaction (MULTI)")
        } else if self.watching {
            Some("watched keys (WATCH)")
        } else {
            self.lasting
        }
    }
}

/// Whether `commands`, sent together, can no longer be running on the server
/// once their future returned `reply`. Not when the reply timed out (the
/// server may still be at work, or blocked), nor when a reply was made up by
/// the client (a command sent with `set_no_response`), nor when a `WAIT` or
/// `WAITAOF` failed (a cluster connection sends it to every primary and
/// returns at the first error, while others may still wait). Any other error
/// came from the server (which answered), from the client before anything was
/// sent, or from a broken socket (whose commands the server drops with it).
fn finished<'c, T>(commands: impl IntoIterator<Item = &'c Cmd>, reply: &RedisResult<T>) -> bool {
    if reply.as_ref().is_err_and(redis::RedisError::is_timeout) {
        return false;
    }
    let may_run = |cmd: &Cmd| cmd.is_no_response() || (reply.is_err() && waits_on_replicas(cmd));
    !commands.into_iter().any(may_run)
}

/// `WAIT` or `WAITAOF`.
fn waits_on_replicas(cmd: &Cmd) -> bool {
    name(cmd).is_some_and(|name| name.eq_ignore_ascii_case(b"WAIT") || name.eq_ignore_ascii_case(b"WAITAOF"))
}

/// The command's name (its first argument), if it has one.
fn name(cmd: &Cmd) -> Option<&[u8]> {
    cmd.args_iter().find_map(|arg| match arg {
        Arg::Simple(bytes) => Some(bytes),
        _ => None,
    })
}

/// Whether `value`, one reply, is not an error.
fn is_ok(value: &Value) -> bool {
    !matches!(value, Value::ServerError(_))
}

/// Whether `value`, the reply to an `EXEC`, shows the transaction ended: any
/// reply but an error, and the error `EXECABORT` (a command was refused while
/// it was queued, and the server discarded the transaction). Another error
/// (`EXEC without MULTI`, as when a cluster connection sends it to a node
/// where no `MULTI` is open) ends nothing.
fn ended(value: &Value) -> bool {
    match value {
        Value::ServerError(error) => error.code() == "EXECABORT",
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use deadpool_redis::redis::cmd;

    use super::*;

    fn run(state: &mut BorrowerState, batch: &[(&str, Option<bool>)]) {
        let effects: Vec<Effect> = batch.iter().map(|(c, _)| Effect::of(&parse(c))).collect();
        state.sending(effects.iter().copied());
        state.answered(effects.into_iter().zip(batch.iter().map(|(_, ok)| *ok)), false);
    }

    fn parse(text: &str) -> Cmd {
        let mut words = text.split(' ');
        let mut c = cmd(words.next().unwrap_or_default());
        for word in words {
            c.arg(word);
        }
        c
    }

    #[test]
    fn a_command_without_its_reply_is_left_behind_until_the_server_answers() {
        let mut state = BorrowerState::new(true);
        state.sent();
        state.sent();
        assert!(state.left_behind().is_some_and(|left| left.contains("may still run")));
        state.replied();
        assert!(state.left_behind().is_some(), "one of two still unanswered");
        state.replied();
        assert_eq!(state.left_behind(), None);

        let timed_out: redis::RedisResult<()> = Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "response timed out",
        )));
        let get = parse("GET k");
        assert!(!finished([&get], &timed_out), "a timeout is no answer");
        let refused: redis::RedisResult<()> = Err(redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "WRONGTYPE",
        )));
        assert!(finished([&get], &refused), "an error reply is an answer");
        let client_side: redis::RedisResult<()> =
            Err(redis::RedisError::from((redis::ErrorKind::Client, "empty command")));
        assert!(finished([&get], &client_side), "nothing was sent");
        assert!(finished([&get], &Ok::<_, redis::RedisError>(())));
        let wait = parse("wait 1 0");
        assert!(finished([&wait], &Ok::<_, redis::RedisError>(())));
        assert!(
            !finished([&get, &wait], &refused),
            "a failed WAIT may still wait elsewhere"
        );
        let mut no_reply = parse("BLPOP k 0");
        no_reply.set_no_response(true);
        assert!(
            !finished([&no_reply], &Ok::<_, redis::RedisError>(())),
            "a reply the client made up"
        );
    }

    #[test]
    fn commands_are_classified_by_name_and_client_subcommand() {
        assert_eq!(Effect::of(&parse("multi")), Effect::Multi);
        assert_eq!(Effect::of(&parse("EXEC")), Effect::EndTransaction);
        assert_eq!(Effect::of(&parse("discard")), Effect::EndTransaction);
        assert_eq!(Effect::of(&parse("WATCH k")), Effect::Watch);
        assert_eq!(Effect::of(&parse("UNWATCH")), Effect::Unwatch);
        assert_eq!(Effect::of(&parse("select 3")), Effect::Lasting("SELECT"));
        assert_eq!(Effect::of(&parse("SSUBSCRIBE ch")), Effect::Lasting("SSUBSCRIBE"));
        assert_eq!(Effect::of(&parse("CLIENT tracking on")), Effect::Lasting("TRACKING"));
        assert_eq!(Effect::of(&parse("CLIENT NO-EVICT on")), Effect::Lasting("NO-EVICT"));
        assert_eq!(Effect::of(&parse("CLIENT INFO")), Effect::None);
        assert_eq!(Effect::of(&parse("CLIENT")), Effect::None);
        assert_eq!(Effect::of(&parse("GET multi")), Effect::None);
    }

    #[test]
    fn what_is_left_and_what_clears_it() {
        let fresh = || BorrowerState::new(true);
        // Completed transactions leave nothing.
        let mut s = fresh();
        run(
            &mut s,
            &[("MULTI", Some(true)), ("SET k v", None), ("EXEC", Some(true))],
        );
        run(
            &mut s,
            &[("WATCH k", Some(true)), ("MULTI", Some(true)), ("DISCARD", Some(true))],
        );
        run(&mut s, &[("WATCH k", Some(true)), ("UNWATCH", Some(true))]);
        assert_eq!(s.left_behind(), None);
        // An open transaction, watched keys, a lasting command.
        let mut s = fresh();
        run(&mut s, &[("MULTI", Some(true)), ("SET k v", Some(true))]);
        assert!(s.left_behind().is_some_and(|what| what.contains("MULTI")));
        let mut s = fresh();
        run(&mut s, &[("WATCH k", Some(true))]);
        assert!(s.left_behind().is_some_and(|what| what.contains("WATCH")));
        let mut s = fresh();
        run(&mut s, &[("SELECT 2", Some(true)), ("SELECT 0", Some(true))]);
        assert_eq!(s.left_behind(), Some("SELECT"));
        // An EXEC refused (no MULTI on the node it went to), or not answered,
        // clears nothing; a nested MULTI refused opens nothing more.
        let mut s = fresh();
        run(&mut s, &[("MULTI", Some(true)), ("EXEC", Some(false))]);
        run(&mut s, &[("EXEC", None)]);
        assert!(s.left_behind().is_some());
        let mut s = fresh();
        run(
            &mut s,
            &[("MULTI", Some(true)), ("MULTI", Some(false)), ("EXEC", Some(true))],
        );
        assert_eq!(s.left_behind(), None);
        // Sent, no reply yet (a future dropped mid-flight): marked.
        let mut s = fresh();
        s.sending([Effect::Watch]);
        assert!(s.left_behind().is_some());
        // Order within a batch: UNWATCH then WATCH leaves a watch.
        let mut s = fresh();
        run(&mut s, &[("UNWATCH", Some(true)), ("WATCH k", Some(true))]);
        assert!(s.left_behind().is_some());
        // A cluster: EXEC goes to a random node, so only UNWATCH unwatches.
        let mut s = BorrowerState::new(false);
        run(
            &mut s,
            &[("WATCH k", Some(true)), ("MULTI", Some(true)), ("EXEC", Some(true))],
        );
        assert!(s.left_behind().is_some_and(|what| what.contains("WATCH")));
        run(&mut s, &[("UNWATCH", Some(true))]);
        assert_eq!(s.left_behind(), None);
        // ... and only on its own: a cluster pipeline goes to one node.
        let mut s = BorrowerState::new(false);
        run(&mut s, &[("WATCH k", Some(true))]);
        let effects = [Effect::Unwatch, Effect::None];
        s.sending(effects);
        s.answered(effects.into_iter().zip([Some(true), Some(true)]), true);
        assert!(s.left_behind().is_some_and(|what| what.contains("WATCH")));
    }

    #[test]
    fn an_exec_aborted_by_the_server_ends_its_transaction() {
        // The replies as a server sends them.
        let reply = |wire: &[u8]| deadpool_redis::redis::parse_redis_value(wire).expect("a reply");
        let aborted = reply(b"-EXECABORT Transaction discarded because of previous errors.\r\n");
        assert!(matches!(aborted, Value::ServerError(_)), "{aborted:?}");
        assert!(ended(&aborted), "EXECABORT ends the transaction");
        let refused = reply(b"-ERR EXEC without MULTI\r\n");
        assert!(!ended(&refused), "another error ends nothing");
        assert!(ended(&Value::Nil), "aborted by a watched key: ended");
        let mut s = BorrowerState::new(true);
        run(
            &mut s,
            &[("MULTI", Some(true)), ("GET", None), ("EXEC", Some(ended(&aborted)))],
        );
        assert_eq!(s.left_behind(), None);
    }
}
