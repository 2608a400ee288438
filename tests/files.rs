//! Run directories: one run at a time (a lock file holding the pid), a lock left by a run
//! that crashed taken over, and the half-written temp files of killed writes removed.

mod common;

use aer::files::{remove_stale_temps, DirLock, LOCK_FILE};
use common::tmpdir;

/// A pid that no process has (Linux's pid_max is at most 2^22).
const DEAD_PID: u32 = 4_000_000_000;

#[test]
fn a_second_run_into_a_locked_directory_is_refused() {
    let d = tmpdir("lock");
    let first = DirLock::acquire(&d, 0).unwrap();
    assert_eq!(std::fs::read_to_string(d.join(LOCK_FILE)).unwrap(), std::process::id().to_string());
    let err = DirLock::acquire(&d, 0).unwrap_err().to_string();
    assert!(err.contains(&format!("{} is in use by another aer run (pid {})", d.display(), std::process::id())) && err.contains("another --out"), "{err}");
    drop(first);
    assert!(!d.join(LOCK_FILE).exists(), "the lock goes with its run");
    let again = DirLock::acquire(&d, 0).unwrap();
    assert!(again.notes.is_empty(), "{:?}", again.notes);
}

#[test]
fn a_stale_lock_is_taken_over_and_dead_temp_files_removed() {
    let d = tmpdir("stale-lock");
    std::fs::write(d.join(LOCK_FILE), DEAD_PID.to_string()).unwrap();
    let dead = d.join(format!("last.tmp{DEAD_PID}"));
    let live = d.join(format!("metrics.tmp{}", std::process::id()));
    let nested = d.join("01-train").join(format!("best.tmp{DEAD_PID}"));
    std::fs::create_dir_all(nested.parent().unwrap()).unwrap();
    for f in [&dead, &live, &nested] {
        std::fs::write(f, b"half").unwrap();
    }
    std::fs::write(d.join("notes.tmp"), b"not a temp of ours").unwrap();
    let lock = DirLock::acquire(&d, 0).unwrap();
    assert!(lock.notes.iter().any(|n| n.contains("took over") && n.contains(&DEAD_PID.to_string())), "{:?}", lock.notes);
    assert!(lock.notes.iter().any(|n| n.contains("removed 1 half-written temp file")), "{:?}", lock.notes);
    assert_eq!(std::fs::read_to_string(d.join(LOCK_FILE)).unwrap(), std::process::id().to_string());
    assert!(!dead.exists() && live.exists() && nested.exists() && d.join("notes.tmp").exists());
    // Deeper levels when asked (the pipeline's run directories).
    assert_eq!(remove_stale_temps(&d, 1), vec![nested.clone()]);
    assert!(!nested.exists());
}

/// Commands without a directory lock (eval, attack, quantize, import, resave...) write
/// through `write_atomic`, which removes the temp files that killed writes of the same file
/// left, and only those.
#[test]
fn a_write_removes_the_dead_temp_files_of_its_own_file() {
    let d = tmpdir("own-temps");
    let dead = d.join(format!("attack.tmp{DEAD_PID}"));
    let live = d.join(format!("attack.tmp{}", std::process::id()));
    let other = d.join(format!("verify.tmp{DEAD_PID}"));
    for f in [&dead, &live, &other] {
        std::fs::write(f, b"half").unwrap();
    }
    aer::files::write_atomic(&d.join("attack.json"), b"{}").unwrap();
    assert_eq!(std::fs::read(d.join("attack.json")).unwrap(), b"{}");
    assert!(!dead.exists(), "the dead writer's temp file of attack.json stays");
    assert!(other.exists(), "another file's temp file is not this write's to remove");
    // This process's own name was reused for the write and renamed away.
    assert!(!live.exists());
}
