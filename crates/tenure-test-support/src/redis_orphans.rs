//! Keeping the `redis-server` processes this crate starts from outliving the test
//! process that started them, however it ends.
//!
//! Dropping a [`RedisServer`](crate::RedisServer) (or
//! [`kill_all_servers`](crate::redis_server::kill_all_servers)) stops its process,
//! but a test process that dies without unwinding (`SIGTERM`, `SIGKILL` from a CI
//! time limit, a server kept in a `static`) runs no destructor. Two mechanisms
//! cover that case:
//!
//! 1. **A watcher per server** ([`spawn_watcher`], Unix): a tiny `sh` process whose
//!    standard input is a pipe from the test process. Only the test process holds
//!    the pipe's write end (Rust opens pipes close-on-exec, so no other child
//!    inherits it), and nothing is ever written to it, so the watcher's `read`
//!    returns end-of-file exactly when the test process has exited, by any means,
//!    `SIGKILL` included. The watcher then kills the server (`SIGKILL`, after
//!    checking on Linux that the process is still a `redis-server` serving that
//!    directory) and removes the directory. It ignores `SIGHUP`, `SIGINT`,
//!    `SIGQUIT` and `SIGTERM`, so a Ctrl-C sent to the whole process group does not
//!    stop it before it has cleaned up. The server stays a direct child of the test
//!    process, so the `Child` the crate waits on and kills is the server itself.
//!    [`RedisServer::stop`](crate::RedisServer::stop) kills and reaps the watcher
//!    *before* reaping the server, so a watcher never outlives the server's process
//!    id (which cannot be reused while the test process has not reaped it).
//! 2. **Reaping at start** ([`reap_orphans_once`], Linux): the first server a
//!    process starts first looks in the temporary directory for
//!    `tenure-redis-test-<pid>-<n>` directories whose owner `<pid>` is gone (no
//!    `/proc/<pid>`, or a process there that started at another time than the one
//!    recorded in the directory's `owner` file: a reused pid), kills the
//!    `redis-server` processes serving them and removes them. This catches what a
//!    watcher could not (a watcher killed itself, no `sh`).
//!
//! A process is killed only if `/proc/<pid>/cmdline` is a `redis-server` whose
//! arguments name the directory (`--dir <dir>`, or `<dir>/sentinel.conf`; servers
//! run with `set-proc-title no` so that the arguments stay visible) or whose
//! working directory is that directory (servers `chdir` to their `--dir`; this
//! covers servers started before `set-proc-title no` was used). Never by port:
//! another Redis on the machine (such as the system's one on port 6379) is never
//! touched.
//!
//! Not Linux: there is no `/proc` to tell in safe Rust whether a process is alive
//! or what it runs, so reaping at start does nothing, and the watcher kills its
//! server without the identity check (safe by the ordering above). A directory of
//! the same name as a new server's is still removed first (see [`claim_dir`]).

use std::{
    collections::hash_map::RandomState,
    fs,
    hash::BuildHasher,
    io,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, SystemTime},
};

/// The prefix of a server directory's name: `tenure-redis-test-<pid>-<n>`.
const DIR_PREFIX: &str = "tenure-redis-test-";
/// The file in a server directory that identifies the test process owning it.
const OWNER_FILE: &str = "owner";
/// The file in a server directory holding the server's process id.
const PID_FILE: &str = "server.pid";

/// The watcher's script; `$1` is the server's pid, `$2` its directory, `$3` the
/// directory's canonical path (what `/proc/<pid>/cwd` shows), `$4` the file name
/// of the configured server binary. It waits for end-of-file on its stdin (the
/// test process exited), checks on Linux that `$1` is still the server of `$2`
/// (its program's file name contains `redis-server` or is `$4`, and an argument
/// names `$2` or `$2` is its working directory, as `serves` checks), kills
/// it, waits (up to 5 s) until it has exited or is a zombie, and removes `$2`.
const WATCHER_SCRIPT: &str = r#"trap '' HUP INT QUIT TERM
while read -r _; do :; done
pid=$1 dir=$2 real=$3 binary=$4 ours=yes
if [ -r /proc/self/cmdline ]; then
  ours=no
  prog=$(tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null | head -n 1)
  prog=${prog%% *}
  prog=${prog##*/}
  case $prog in
    *redis-server* | "$binary")
      tr '\000' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -e "$dir" -e "$dir/sentinel.conf" && ours=yes
      case $(readlink "/proc/$pid/cwd" 2>/dev/null) in "$real" | "$real (deleted)") ours=yes ;; esac
      ;;
  esac
fi
if [ "$ours" = yes ]; then
  kill -KILL "$pid" 2>/dev/null
  i=0
  while [ "$i" -lt 50 ] && kill -0 "$pid" 2>/dev/null; do
    grep -q '^State:[[:space:]]*[ZX]' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.1; i=$((i + 1))
  done
fi
rm -rf -- "$dir" 2>/dev/null || { sleep 1; rm -rf -- "$dir"; }
"#;

/// A value unique to this process (and to this copy of the crate in it), recorded
/// in the owner file so that a directory left by an earlier process with the same
/// pid is told apart from one of this process.
fn process_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        // `RandomState` is seeded randomly for each process.
        let hash = RandomState::new().hash_one((std::process::id(), SystemTime::now()));
        format!("{hash:016x}")
    })
}

/// The owner file's contents for this process.
fn owner_record() -> String {
    let mut record = format!("pid {}\ntoken {}\n", std::process::id(), process_token());
    #[cfg(target_os = "linux")]
    {
        if let Some(start) = linux::start_time("self") {
            record.push_str(&format!("start {start}\n"));
        }
        if let Some(boot) = linux::boot_id() {
            record.push_str(&format!("boot {boot}\n"));
        }
        if let Some(ns) = linux::pid_namespace() {
            record.push_str(&format!("pidns {ns}\n"));
        }
    }
    record
}

/// One field of an owner file.
fn owner_field<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then_some(v.trim())
    })
}

/// Records this process as the owner of `dir` (a server directory).
pub(crate) fn write_owner(dir: &Path) -> io::Result<()> {
    fs::write(dir.join(OWNER_FILE), owner_record())
}

/// Records the server's process id in `dir`.
pub(crate) fn write_pid(dir: &Path, pid: u32) -> io::Result<()> {
    fs::write(dir.join(PID_FILE), format!("{pid}\n"))
}

/// Creates a fresh, empty server directory for this process and returns it:
/// `<temp dir>/tenure-redis-test-<pid>-<n>` with `n` from `next_id`.
///
/// A directory of that name left by an earlier process that had the same pid is
/// cleaned up first (its server killed, on Linux, if still running) and removed; a
/// name this process already uses (another copy of this crate in the process) is
/// skipped.
pub(crate) fn claim_dir(mut next_id: impl FnMut() -> u64) -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    let pid = std::process::id();
    loop {
        let dir = base.join(format!("{DIR_PREFIX}{pid}-{}", next_id()));
        if let Ok(meta) = fs::symlink_metadata(&dir) {
            if !meta.is_dir() {
                // Not a directory this crate made (a symlink, a file): just the name goes.
                let _ = fs::remove_file(&dir);
                continue;
            }
            let record = fs::read_to_string(dir.join(OWNER_FILE)).unwrap_or_default();
            if owner_field(&record, "token") == Some(process_token()) {
                continue;
            }
            #[cfg(target_os = "linux")]
            if owner_field(&record, "pidns").is_some_and(|ns| Some(ns) != linux::pid_namespace().as_deref()) {
                // Another pid namespace's process with the same pid number may
                // still use it: leave it alone.
                continue;
            }
            reap_dir(&dir);
        }
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            // Left over and not removable, or created in between: use another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(&base)?,
            Err(e) => return Err(e),
        }
    }
}

/// Kills the `redis-server` processes serving `dir` (Linux; identified by their
/// command line or working directory, never by port) and removes `dir`.
fn reap_dir(dir: &Path) {
    #[cfg(target_os = "linux")]
    linux::kill_servers_of(&[dir.to_path_buf()]);
    remove_dir(dir);
}

fn remove_dir(dir: &Path) {
    if fs::remove_dir_all(dir).is_err() {
        // A file created while it was being removed: once more.
        std::thread::sleep(Duration::from_millis(100));
        let _ = fs::remove_dir_all(dir);
    }
}

/// Once per process: kills the servers of, and removes, the server directories
/// whose owning process is gone (see the [module docs](self)). Linux only.
pub(crate) fn reap_orphans_once() {
    static REAPED: OnceLock<()> = OnceLock::new();
    REAPED.get_or_init(|| {
        #[cfg(target_os = "linux")]
        linux::reap_orphans();
    });
}

/// Starts the watcher of the server `server_pid` serving `dir`: a `sh` that kills
/// the server and removes `dir` when this process exits (see the
/// [module docs](self)). `None` if it could not be started (no `sh`; reaping at
/// start still covers the server) or not on Unix.
///
/// The returned `Child` must be kept, with its stdin, for as long as the server
/// runs: closing its stdin makes it kill the server.
pub(crate) fn spawn_watcher(server_pid: u32, dir: &Path) -> Option<Child> {
    if !cfg!(unix) {
        return None;
    }
    let real = real_path(dir).unwrap_or_else(|| dir.to_path_buf());
    Command::new("sh")
        .arg("-c")
        .arg(WATCHER_SCRIPT)
        .arg("tenure-redis-watcher")
        .arg(server_pid.to_string())
        .arg(dir)
        .arg(real)
        .arg(crate::redis_server::server_binary().file_name().unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// `dir` with its parent canonical (what `/proc/<pid>/cwd` shows for a process in
/// `dir`); the last component itself is not followed if it is a symlink.
fn real_path(dir: &Path) -> Option<PathBuf> {
    Some(fs::canonicalize(dir.parent()?).ok()?.join(dir.file_name()?))
}

/// Whether this `redis-server` has `set-proc-title` (Redis 6.2 and newer), which the
/// harness turns off so that the server's arguments, naming its directory, stay
/// in `/proc/<pid>/cmdline` and `ps`.
pub(crate) fn has_set_proc_title(version_output: &str) -> bool {
    let Some(version) = version_output
        .split_whitespace()
        .find_map(|word| word.strip_prefix("v="))
    else {
        return false;
    };
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= (6, 2)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::{
        collections::BTreeSet,
        ffi::OsStr,
        fs,
        os::unix::ffi::OsStrExt,
        path::{Path, PathBuf},
        time::{Duration, Instant, SystemTime},
    };

    use std::os::unix::fs::MetadataExt;

    use super::{DIR_PREFIX, OWNER_FILE, PID_FILE, owner_field, real_path, remove_dir};

    /// A directory without an owner file is judged only once it is this old (its
    /// owner may be writing the file right now).
    const UNOWNED_GRACE: Duration = Duration::from_secs(10);
    /// How long to wait for a killed server to disappear.
    const KILL_WAIT: Duration = Duration::from_secs(2);

    /// Field `n` (3 or later) of `/proc/<pid>/stat`, if the process exists.
    fn stat_field(pid: &str, n: usize) -> Option<String> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Field 2 (the command name, in parentheses) may contain spaces.
        let rest = &stat[stat.rfind(')')? + 1..];
        // `rest` starts at field 3.
        rest.split_whitespace().nth(n - 3).map(str::to_owned)
    }

    /// When the process started, in clock ticks since boot (field 22).
    pub(super) fn start_time(pid: &str) -> Option<String> {
        stat_field(pid, 22)
    }

    pub(super) fn boot_id() -> Option<String> {
        fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|id| id.trim().to_owned())
    }

    pub(super) fn pid_namespace() -> Option<String> {
        fs::read_link("/proc/self/ns/pid")
            .ok()
            .map(|link| link.to_string_lossy().into_owned())
    }

    /// Whether the process `pid` is gone or a zombie (its state, field 3).
    fn exited(pid: &str) -> bool {
        stat_field(pid, 3).is_none_or(|state| state == "Z" || state == "X")
    }

    /// Whether the owner of `dir` (named `tenure-redis-test-<pid>-<n>`) has exited.
    /// When in doubt, no.
    fn owner_gone(pid: u32, dir: &Path) -> bool {
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        let Ok(record) = fs::read_to_string(dir.join(OWNER_FILE)) else {
            // An older harness, or a directory being created right now.
            let old = fs::metadata(dir)
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_some_and(|age| age >= UNOWNED_GRACE);
            return !alive && old;
        };
        if owner_field(&record, "pid") != Some(pid.to_string().as_str()) {
            return false;
        }
        // Another pid namespace: its pids mean nothing here.
        if owner_field(&record, "pidns").is_some_and(|ns| Some(ns) != pid_namespace().as_deref()) {
            return false;
        }
        if owner_field(&record, "boot").is_some_and(|boot| Some(boot) != boot_id().as_deref()) {
            return true;
        }
        if !alive {
            return true;
        }
        // The pid is in use: by the owner, or by a later process that reused it.
        match (owner_field(&record, "start"), start_time(&pid.to_string())) {
            (Some(recorded), Some(current)) => recorded != current,
            _ => false,
        }
    }

    /// Kills the servers of the directories whose owner is gone, and removes them.
    pub(super) fn reap_orphans() {
        let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        let own_pid = std::process::id();
        // Only this user's directories (the temporary directory may be shared).
        let Ok(own_uid) = fs::metadata("/proc/self").map(|meta| meta.uid()) else {
            return;
        };
        let stale: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            // Not following symlinks: a real directory, of this user.
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
            .filter(|entry| entry.metadata().is_ok_and(|meta| meta.uid() == own_uid))
            .filter_map(|entry| {
                let name = entry.file_name();
                let (pid, id) = name.to_str()?.strip_prefix(DIR_PREFIX)?.split_once('-')?;
                let pid: u32 = pid.parse().ok()?;
                id.parse::<u64>().ok()?;
                // This process's own directories are handled by `claim_dir`.
                (pid != own_pid && owner_gone(pid, &entry.path())).then(|| entry.path())
            })
            .collect();
        if stale.is_empty() {
            return;
        }
        kill_servers_of(&stale);
        for dir in &stale {
            remove_dir(dir);
        }
    }

    /// Kills (`SIGKILL`) every `redis-server` that serves one of `dirs` (see
    /// [`serves`]), and waits (briefly) until they have exited.
    pub(super) fn kill_servers_of(dirs: &[PathBuf]) {
        let dirs: Vec<(&Path, Option<PathBuf>)> = dirs.iter().map(|dir| (dir.as_path(), real_path(dir))).collect();
        // Candidates: the recorded pids, and every process (a server whose pid was
        // not recorded yet, or a restarted one).
        let mut candidates: BTreeSet<u32> = dirs
            .iter()
            .filter_map(|(dir, _)| fs::read_to_string(dir.join(PID_FILE)).ok())
            .filter_map(|pid| pid.trim().parse().ok())
            .collect();
        if let Ok(entries) = fs::read_dir("/proc") {
            candidates.extend(
                entries
                    .filter_map(Result::ok)
                    .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok()),
            );
        }
        let own_pid = std::process::id();
        let mut killed = Vec::new();
        for pid in candidates {
            if pid == own_pid || pid <= 1 {
                continue;
            }
            if dirs.iter().any(|(dir, real)| serves(pid, dir, real.as_deref())) {
                crate::redis_server::kill_pid(pid);
                killed.push(pid.to_string());
            }
        }
        let deadline = Instant::now() + KILL_WAIT;
        while !killed.iter().all(|pid| exited(pid)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether `pid` is a `redis-server` (its program's file name contains
    /// `redis-server`, or is that of the configured binary) serving `dir`: an
    /// argument is `dir` or a file in it, or its working directory is `dir`
    /// (`real`, canonical).
    fn serves(pid: u32, dir: &Path, real: Option<&Path>) -> bool {
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let mut args = cmdline.split(|&byte| byte == 0);
        // With a process title, argv[0] is "<program> <address> ...".
        let program = args
            .next()
            .and_then(|arg0| arg0.split(|&byte| byte == b' ').next())
            .map(|program| Path::new(OsStr::from_bytes(program)))
            .and_then(Path::file_name)
            .unwrap_or_default();
        let configured = crate::redis_server::server_binary();
        let is_server = program
            .as_bytes()
            .windows(b"redis-server".len())
            .any(|w| w == b"redis-server")
            || Some(program) == configured.file_name();
        if !is_server {
            return false;
        }
        let dir_bytes = dir.as_os_str().as_bytes();
        let names_dir =
            args.any(|arg| arg == dir_bytes || (arg.starts_with(dir_bytes) && arg.get(dir_bytes.len()) == Some(&b'/')));
        if names_dir {
            return true;
        }
        let Some(real) = real else {
            return false;
        };
        fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| {
            let cwd = cwd.as_os_str().as_bytes();
            let real = real.as_os_str().as_bytes();
            cwd == real || cwd.strip_prefix(real) == Some(b" (deleted)".as_slice())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_title_support_by_version() {
        assert!(has_set_proc_title(
            "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0"
        ));
        assert!(has_set_proc_title("Redis server v=6.2.0 sha=0"));
        assert!(!has_set_proc_title("Redis server v=6.0.16 sha=0"));
        assert!(!has_set_proc_title("something else"));
    }

    #[test]
    fn claim_dir_replaces_a_leftover_and_skips_a_name_in_use() -> io::Result<()> {
        let name = |id: u64| std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{id}", std::process::id()));
        let (leftover, in_use, next) = (u64::MAX - 3, u64::MAX - 2, u64::MAX - 1);
        // Left by an earlier process with this pid: another token.
        let old = name(leftover);
        fs::create_dir_all(&old)?;
        fs::write(old.join(OWNER_FILE), "pid 1\ntoken 0123456789abcdef\n")?;
        fs::write(old.join("nodes.conf"), "stale")?;
        assert_eq!(claim_dir(|| leftover)?, old);
        assert!(fs::read_dir(&old)?.next().is_none(), "the leftover's files are gone");
        // This process's own: kept, and the next name is used.
        write_owner(&old)?;
        fs::rename(&old, name(in_use))?;
        let mut ids = [in_use, next].into_iter();
        let claimed = claim_dir(|| ids.next().unwrap_or(next))?;
        assert_eq!(claimed, name(next));
        assert!(name(in_use).join(OWNER_FILE).exists());
        for id in [in_use, next] {
            fs::remove_dir_all(name(id))?;
        }
        Ok(())
    }

    #[test]
    fn owner_fields() {
        let record = owner_record();
        assert_eq!(
            owner_field(&record, "pid"),
            Some(std::process::id().to_string().as_str())
        );
        assert_eq!(owner_field(&record, "token"), Some(process_token()));
        #[cfg(target_os = "linux")]
        assert!(owner_field(&record, "start").is_some());
    }
}
