//! How a key appears in a log event: its `Debug`, cut at a bounded length.
//!
//! A cache key can be large (a whole configuration, a 1 MiB blob by mistake);
//! every event that names a key would copy it into the log. Every tracing event
//! in this crate that prints a key does so through [`LogKey`].

use std::fmt::{self, Write as _};

/// The most bytes of a key's `Debug` output written to a log event.
pub(crate) const MAX_LOGGED_KEY_BYTES: usize = 256;

/// A key's `Debug`, at most [`MAX_LOGGED_KEY_BYTES`] of it, then `…(N bytes)`
/// with the full length when it was cut.
///
/// Formatting still walks the key's whole `Debug` output (to count it) but keeps
/// only the head, and only when the event is enabled.
///
/// A key whose `Debug` panics is written as [`KEY_DEBUG_PANICKED`]: the panic is
/// caught here, so a log line never cuts short the bookkeeping around it (a
/// close's accounting, a batch of retirements).
pub(crate) struct LogKey<'a, K: ?Sized>(pub(crate) &'a K);

/// What a log event shows for a key whose `Debug` panicked.
pub(crate) const KEY_DEBUG_PANICKED: &str = "<the key's Debug panicked>";

impl<K: fmt::Debug + ?Sized> fmt::Debug for LogKey<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut head = Head::default();
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| write!(head, "{:?}", self.0)));
        match written {
            Ok(result) => result?,
            Err(_) => return f.write_str(KEY_DEBUG_PANICKED),
        }
        f.write_str(&head.kept)?;
        if head.cut {
            write!(f, "…({} bytes)", head.total)?;
        }
        Ok(())
    }
}

/// Keeps the first [`MAX_LOGGED_KEY_BYTES`] bytes written (whole characters only)
/// and counts the rest.
#[derive(Default)]
struct Head {
    kept: String,
    total: usize,
    /// Set at the first byte not kept: nothing written after it is kept either.
    cut: bool,
}

impl fmt::Write for Head {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.total += s.len();
        if self.cut {
            return Ok(());
        }
        let room = MAX_LOGGED_KEY_BYTES - self.kept.len();
        if s.len() <= room {
            self.kept.push_str(s);
        } else {
            let mut end = room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.kept.push_str(&s[..end]);
            self.cut = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_logged_whole() {
        assert_eq!(format!("{:?}", LogKey(&"primary")), "\"primary\"");
        assert_eq!(format!("{:?}", LogKey(&(1, 2))), "(1, 2)");
    }

    #[test]
    fn long_keys_are_cut_with_their_length() {
        let key = "x".repeat(1 << 20);
        let logged = format!("{:?}", LogKey(&key));
        let full = (1 << 20) + 2; // the quotes
        assert_eq!(logged, format!("\"{}…({full} bytes)", "x".repeat(255)));
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        // "é" is two bytes: the quote plus 127 of them is 255 bytes, the next would cross 256.
        let key = "é".repeat(200);
        let logged = format!("{:?}", LogKey(&key));
        let (head, tail) = logged.split_once('…').unwrap();
        assert_eq!(head, format!("\"{}", "é".repeat(127)));
        assert_eq!(tail, format!("({} bytes)", 200 * 2 + 2));
    }

    #[test]
    fn a_key_of_exactly_the_limit_is_not_marked() {
        let key = "y".repeat(MAX_LOGGED_KEY_BYTES - 2);
        let logged = format!("{:?}", LogKey(&key));
        assert_eq!(logged.len(), MAX_LOGGED_KEY_BYTES);
        assert!(!logged.contains('…'));
    }
}
