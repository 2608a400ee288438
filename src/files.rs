//! Files that are either whole or absent: every result, checkpoint and table is written to a
//! temp file beside its place and renamed into it, so a killed run never leaves half a file
//! under the real name.

use crate::error::{AerError, Result};
use std::path::Path;

/// Held while a file is written: `exit_between_writes` takes it, so that a process told to
/// stop (SIGTERM from a scheduler) first finishes the write in progress.
fn writing() -> std::sync::MutexGuard<'static, ()> {
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    WRITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// End the process with `code` once no file is being written, and start no other write;
/// the run directories' locks this process holds are released first, so that a run that
/// starts again (a requeued job, on this or another machine) finds them free.
pub fn exit_between_writes(code: i32) -> ! {
    let _no_more_writes = writing();
    for lock in held().iter() {
        if std::fs::read_to_string(lock).is_ok_and(|t| t.trim() == std::process::id().to_string()) {
            let _ = std::fs::remove_file(lock);
        }
    }
    std::process::exit(code)
}

/// Write `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let _writing = writing();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| AerError::file(dir, format!("cannot create directory: {e}")))?;
    }
    // Commands that take no directory lock (eval, attack, quantize, import, resave...) would
    // otherwise keep the temp file of a killed write of this file for good.
    remove_stale_temps_of(path);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| AerError::file(&tmp, format!("cannot write: {e}")))?;
    crash_point(&tmp);
    std::fs::rename(&tmp, path).map_err(|e| AerError::file(path, format!("cannot rename the finished temp file into place: {e}")))?;
    crash_point(path);
    Ok(())
}

/// The variable that makes the process die at a chosen point of its writes, for the tests
/// that check that a run killed anywhere resumes to the same results (tests/pipeline_crash.rs).
pub const ABORT_AT_WRITE: &str = "AER_ABORT_AT_WRITE";

/// Test hook: with `AER_ABORT_AT_WRITE=N`, abort the process (no destructors, nothing flushed:
/// as kill -9 would) at the N-th point, counting two per atomic write: its temp file written,
/// then renamed into place. Unset (always, outside those tests) it does nothing.
fn crash_point(path: &Path) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static AT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let Some(at) = *AT.get_or_init(|| std::env::var(ABORT_AT_WRITE).ok().and_then(|v| v.parse().ok())) else { return };
    if COUNT.fetch_add(1, Ordering::SeqCst) + 1 == at {
        eprintln!("{ABORT_AT_WRITE}={at}: aborting after writing {}", path.display());
        std::process::abort();
    }
}

/// Write `value` as pretty JSON (`write_atomic`), each number as it prints: an f32 setting
/// shows as 0.001, not as the f64 it widens to (0.0010000000474974513).
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, to_json_pretty(value).as_bytes())
}

/// `value` as pretty JSON, each number as it prints (see `write_json`).
pub fn to_json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(&to_json_value(value)).expect("a JSON value prints")
}

/// `value` as the JSON value `write_json` writes (and reads back), each number as it prints.
pub fn to_json_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    let mut v = serde_json::to_value(value).expect("results serialize to JSON");
    shortest_numbers(&mut v);
    v
}

/// Numbers that are f32 values widened to f64 (json! and to_value widen every f32) are
/// replaced by the f32's shortest decimal, which reads back to the same f32.
fn shortest_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().expect("is f64");
            let f = x as f32;
            if f as f64 == x && f.is_finite() {
                if let Some(short) = f.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                    *n = short;
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(shortest_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(shortest_numbers),
        _ => {}
    }
}

/// The lock file that marks a directory as taken by a run.
pub const LOCK_FILE: &str = ".aer.lock";

/// An exclusive claim on a run directory for as long as the value lives: `<dir>/.aer.lock`,
/// created only where none exists and holding the process id, removed when dropped. A lock
/// left by a run that crashed (its process no longer runs) is taken over; half-written temp
/// files that such runs left (`write_atomic`'s `<name>.tmp<pid>`) are removed.
#[derive(Debug)]
pub struct DirLock {
    path: std::path::PathBuf,
    /// What taking the lock did (a stale lock taken over, temp files removed), worth a line.
    pub notes: Vec<String>,
}

/// Lock files this process holds (a pid alone cannot tell: a container may give a later
/// process the pid of one that crashed).
fn held() -> std::sync::MutexGuard<'static, std::collections::HashSet<std::path::PathBuf>> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<std::path::PathBuf>>> = std::sync::OnceLock::new();
    HELD.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

impl DirLock {
    /// Take `dir` (created when missing) for this process, or say which run holds it; stale
    /// temp files are removed in `dir` and its subdirectories `depth` levels down.
    pub fn acquire(dir: &Path, depth: usize) -> Result<DirLock> {
        std::fs::create_dir_all(dir).map_err(|e| AerError::file(dir, format!("cannot create directory: {e}")))?;
        let path = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()).join(LOCK_FILE);
        let mut notes = Vec::new();
        let mut held = held();
        for _ in 0..3 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(std::process::id().to_string().as_bytes()).map_err(|e| AerError::file(&path, format!("cannot write the lock file: {e}")))?;
                    held.insert(path.clone());
                    drop(held);
                    let removed = remove_stale_temps(dir, depth);
                    if !removed.is_empty() {
                        notes.push(format!("removed {} half-written temp file{} of an interrupted run under {}", removed.len(), if removed.len() == 1 { "" } else { "s" }, dir.display()));
                    }
                    return Ok(DirLock { path, notes });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let pid = text.trim().parse::<u32>().ok();
                    let stale = match pid {
                        Some(p) if p == std::process::id() => !held.contains(&path),
                        Some(p) => !pid_running(p),
                        // Empty: just created by a run that has not written its pid yet, or
                        // left by one that crashed in between.
                        None => std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|age| age.as_secs() > 10),
                    };
                    if !stale {
                        let who = pid.map(|p| format!("pid {p}")).unwrap_or_else(|| "pid not yet written".into());
                        return Err(AerError::Invalid(format!(
                            "{} is in use by another aer run ({who}); wait for it or use another --out (if no run is going, delete {})",
                            dir.display(),
                            path.display()
                        )));
                    }
                    let whose = pid.map(|p| format!(" of pid {p}")).unwrap_or_default();
                    notes.push(format!("{}: took over the lock{whose}, a run that no longer runs", dir.display()));
                    std::fs::remove_file(&path).or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) }).map_err(|e| AerError::file(&path, format!("cannot remove the stale lock file: {e}")))?;
                }
                Err(e) => return Err(AerError::file(&path, format!("cannot create the lock file: {e}"))),
            }
        }
        Err(AerError::file(&path, "another run keeps taking this lock; wait for it or use another --out"))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        held().remove(&self.path);
        // Only our own lock: one taken over by another run after ours went stale stays.
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t.trim() == std::process::id().to_string()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The process that holds `dir`'s lock (`DirLock`), when one is held by a process other
/// than this one that still runs on this machine.
pub fn lock_holder(dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let pid = text.trim().parse::<u32>().ok()?;
    (pid != std::process::id() && pid_running(pid)).then_some(pid)
}

/// Whether process `pid` runs. Where that cannot be told (no /proc), it is taken to run.
pub fn pid_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

/// Remove the temp files (`<name>.tmp<pid>`, see `write_atomic`) in `dir`, and in its
/// subdirectories `depth` levels down, whose writing process no longer runs; the paths removed.
pub fn remove_stale_temps(dir: &Path, depth: usize) -> Vec<std::path::PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return removed };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if depth > 0 {
                removed.extend(remove_stale_temps(&path, depth - 1));
            }
            continue;
        }
        if kind.is_file() && temp_pid(&path).is_some_and(|p| !pid_running(p)) && std::fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The writer's pid when `path` is a temp file of `write_atomic` (`<name>.tmp<pid>`).
fn temp_pid(path: &Path) -> Option<u32> {
    path.extension().and_then(|x| x.to_str()).and_then(|x| x.strip_prefix("tmp")).filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())).and_then(|d| d.parse::<u32>().ok())
}

/// Remove the temp files that killed writes of `path` left (`write_atomic` names them
/// `<stem>.tmp<pid>`); those of running processes stay.
pub fn remove_stale_temps_of(path: &Path) -> Vec<std::path::PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(stem) = path.file_stem() else { return Vec::new() };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        let ours = p.file_stem() == Some(stem) && e.file_type().is_ok_and(|k| k.is_file());
        if ours && temp_pid(&p).is_some_and(|pid| !pid_running(pid)) && std::fs::remove_file(&p).is_ok() {
            removed.push(p);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_numbers_print_as_their_settings_were_written() {
        let v = serde_json::json!({ "lr": 1e-3f32, "eps": 0.3f32, "exact": 0.1f64, "n": 7, "list": [0.05f32, 2.5f32] });
        let text = super::to_json_pretty(&v);
        for want in ["\"lr\": 0.001", "\"eps\": 0.3", "\"exact\": 0.1", "\"n\": 7", "0.05", "2.5"] {
            assert!(text.contains(want), "{want} in {text}");
        }
        assert!(!text.contains("0.0010000000474974513") && !text.contains("0.30000001192092896"), "{text}");
    }
}
