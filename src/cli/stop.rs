//! SIGTERM, as schedulers send it to stop a job (Slurm on `scancel`, preemption or requeue,
//! before a SIGKILL after its grace time): the process ends between two file writes, so the
//! checkpoint being written is finished and the run resumes from it when it runs again.

/// From now on, SIGTERM ends the process (exit code 143) once no file is being written.
/// Call before any thread starts: the threads started later inherit the blocked signal, so
/// only the waiting thread receives it.
#[cfg(unix)]
pub fn stop_between_writes_on_sigterm() {
    // SAFETY: a signal set on the stack, initialised by sigemptyset before use; blocking a
    // signal and waiting for it on one thread is the documented way to receive it outside a
    // handler, where taking a lock is allowed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        std::thread::spawn(move || {
            let mut signal = 0;
            if libc::sigwait(&set, &mut signal) == 0 {
                eprintln!("SIGTERM: stopping after the file being written (if any); the same command resumes from there");
                crate::files::exit_between_writes(128 + libc::SIGTERM);
            }
        });
    }
}

#[cfg(not(unix))]
pub fn stop_between_writes_on_sigterm() {}
