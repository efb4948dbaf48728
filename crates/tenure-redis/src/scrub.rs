//! A configuration's secrets, to remove them from text that tenure did not
//! write: a server's error reply, and the `redis` crate's or deadpool's
//! rendering of it, which tenure shows as the reason a connection failed.
//!
//! A server that does not know a command of the connection handshake replies
//! `unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'user'
//! 'password'` (Redis before 6, or `HELLO` renamed or disabled, with
//! `protocol=3`): the reply quotes the credentials. Two passes remove them:
//! the arguments a server quotes after `with args beginning with:` are cut,
//! whatever they hold (the server may truncate them, or replace characters in
//! them, so they need not match a secret); then every remaining occurrence of
//! the username, the password, and the sentinels' username and password is
//! replaced with `***`, as `Display` of a configuration shows them.

use std::{fmt, sync::Arc};

use crate::RedisConfig;

/// What Redis writes before the arguments of a command it refuses, from Redis
/// 4 to 7 and in Valkey (`unknown command`, `unknown subcommand`).
const ARGUMENTS_ECHO: &str = "with args beginning with:";

/// What takes the place of a secret, as in the configuration's `Display`.
const MASK: &str = "***";

/// The username, password, sentinel username and sentinel password of a
/// configuration, those that are set and not empty, longest first (so that a
/// secret holding another is removed whole). Cloning shares them; `Debug`
/// shows none.
#[derive(Clone, Default)]
pub(crate) struct Secrets(Option<Arc<[Box<str>]>>);

impl Secrets {
    pub(crate) fn of(config: &RedisConfig) -> Self {
        let mut secrets: Vec<Box<str>> = [
            config.username.as_deref(),
            config.password.as_ref().map(|p| p.expose()),
            config.sentinel_username.as_deref(),
            config.sentinel_password.as_ref().map(|p| p.expose()),
        ]
        .into_iter()
        .flatten()
        .filter(|secret| !secret.is_empty())
        // As written, and as a `str`'s `Debug` writes it inside its quotes
        // (a `"`, `\` or control character escaped), since deadpool's and the
        // `redis` crate's `Debug` are scrubbed too.
        .flat_map(|secret| {
            let quoted = format!("{secret:?}");
            let escaped = quoted[1..quoted.len() - 1].to_owned();
            let escaped = (escaped != secret).then(|| escaped.into_boxed_str());
            std::iter::once(Box::from(secret)).chain(escaped)
        })
        .collect();
        if secrets.is_empty() {
            return Self(None);
        }
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self(Some(secrets.into()))
    }

    /// `text` without the arguments a server quoted back, and with every
    /// secret replaced by `***` where it stands as a word of its own (see
    /// [`mask`]).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut scrubbed = cut_echoed_arguments(text);
        for secret in self.0.iter().flat_map(|secrets| secrets.iter()) {
            if scrubbed.contains(&**secret) {
                scrubbed = mask(&scrubbed, secret);
            }
        }
        scrubbed
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(<redacted>)")
    }
}

/// `text` with each occurrence of `secret` replaced by `***`, except where a
/// letter or digit of the text runs on into a letter or digit at the secret's
/// edge: the secret is then part of a longer word (a password `1` in
/// `os error 111`), which is not the secret being shown. Anywhere a server or a
/// library writes a credential, it stands apart from the text around it (in
/// quotes, after a `:` or a space).
fn mask(text: &str, secret: &str) -> String {
    let runs_on = |outside: Option<char>, edge: Option<char>| {
        outside.is_some_and(char::is_alphanumeric) && edge.is_some_and(char::is_alphanumeric)
    };
    let mut out = String::with_capacity(text.len());
    // `text[..copied]` is in `out`; occurrences are looked for from `from`.
    let (mut copied, mut from) = (0, 0);
    while let Some(found) = text[from..].find(secret) {
        let at = from + found;
        let end = at + secret.len();
        let mut before = text[..at].chars().rev();
        let glued_before = match (before.next(), before.next()) {
            // The letter of an escape (`\n`, `\t` in a `Debug` text) ends no word.
            (Some(_), Some('\\')) => false,
            (previous, _) => runs_on(previous, secret.chars().next()),
        };
        let glued = glued_before || runs_on(text[end..].chars().next(), secret.chars().next_back());
        if glued {
            // Look again from the next character on.
            from = at + text[at..].chars().next().map_or(1, char::len_utf8);
        } else {
            out.push_str(&text[copied..at]);
            out.push_str(MASK);
            (copied, from) = (end, end);
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// `text` with what follows each [`ARGUMENTS_ECHO`], up to the end of its line
/// (a Redis error reply is one line), replaced by `(not shown)`. It needs no
/// configuration: it also cuts what a command's error quotes
/// ([`ErrorKind::Command`](crate::ErrorKind::Command)).
pub(crate) fn cut_echoed_arguments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(ARGUMENTS_ECHO) {
        let (before, echoed) = rest.split_at(at + ARGUMENTS_ECHO.len());
        out.push_str(before);
        out.push_str(" (not shown)");
        rest = echoed.find(['\n', '\r']).map_or("", |end| &echoed[end..]);
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(url: &str) -> Secrets {
        Secrets::of(&RedisConfig::from_url(url).expect("a valid URL"))
    }

    #[test]
    fn echoed_arguments_and_every_secret_are_removed() {
        let s = secrets("redis://alice:hunter2@127.0.0.1:6390/0");
        let reply = "ResponseError: unknown command 'HELLO', with args beginning with: '3' 'AUTH' 'alice' 'hunter2' ";
        assert_eq!(
            s.scrub(reply),
            "ResponseError: unknown command 'HELLO', with args beginning with: (not shown)"
        );
        // Each line's echo is cut, the lines after it are kept.
        assert_eq!(
            s.scrub("a with args beginning with: 'x'\nb with args beginning with: 'y'\nc"),
            "a with args beginning with: (not shown)\nb with args beginning with: (not shown)\nc"
        );
        // Elsewhere, the secrets themselves.
        assert_eq!(s.scrub("WRONGPASS for alice: hunter2!"), "WRONGPASS for ***: ***!");
        assert_eq!(s.scrub("Connection refused"), "Connection refused");
        assert!(format!("{s:?}").contains("redacted") && !format!("{s:?}").contains("alice"));
    }

    #[test]
    fn a_secret_inside_another_is_removed_whole() {
        let s = secrets("redis://pw:pw-longer@127.0.0.1:6390/0");
        assert_eq!(s.scrub("x pw-longer y pw z"), "x *** y *** z");
        // No credentials: nothing but echoed arguments to remove.
        assert_eq!(secrets("redis://127.0.0.1:6390/0").scrub("user pw"), "user pw");
        // Part of a longer word, it is not the secret shown: left alone.
        let s = secrets("redis://default:1@127.0.0.1:6390/0");
        assert_eq!(
            s.scrub("os error 111 at 10.0.0.1, password '1'"),
            "os error 111 at 10.0.0.***, password '***'"
        );
        // Right after an escaped control character of a `Debug` text.
        let s = secrets("redis://u:hunter2@127.0.0.1:6390/0");
        assert_eq!(
            s.scrub(&format!("{:?}", "detail:\nhunter2 and\thunter2 and \"hunter2\"")),
            "\"detail:\\n*** and\\t*** and \\\"***\\\"\""
        );
        // As `Debug` escapes it, too (a `'` is not escaped there).
        let s = secrets("redis://u:a%22b%5Cc@127.0.0.1:6390/0");
        assert_eq!(s.scrub(&format!("{:?}", "x a\"b\\c y")), "\"x *** y\"");
        let s = secrets("redis://u:a%27b%22c@127.0.0.1:6390/0");
        assert_eq!(s.scrub(&format!("{:?}", "x a'b\"c y")), "\"x *** y\"");
    }

    #[cfg(feature = "sentinel")]
    #[test]
    fn the_sentinels_credentials_are_removed_too() {
        let config = RedisConfig::builder("redis+sentinel://user:master-pw@s1/mymaster")
            .sentinel_username("sentinel-user")
            .sentinel_password("sentinel-pw")
            .build()
            .expect("a sentinel configuration");
        let s = Secrets::of(&config);
        assert_eq!(s.scrub("user master-pw sentinel-user sentinel-pw"), "*** *** *** ***");
    }
}
