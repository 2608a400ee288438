//! Installing a data set of the catalog: each file downloaded beside its final name as
//! `<file>.part` (a stopped transfer resumes with an HTTP range request), checked against its
//! published MD5 (a corrupt or truncated file is deleted and named, never used), unpacked, and
//! the manifest written last so that only a complete install counts.
//!
//! Native only, and blocking: a command-line download, never part of the browser's async
//! code. `AER_DATA_MIRROR` replaces the published mirrors with one base URL (a local server
//! in tests, or a closer copy).

use super::catalog::{install_dir, installed, md5_file, write_manifest, Entry, Remote, Unpack};
use crate::error::{AerError, Result};
use crate::files::DirLock;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The environment variable that replaces the published mirrors.
pub const MIRROR_VAR: &str = "AER_DATA_MIRROR";

/// Tries of one file on one mirror: a dropped connection resumes where it stopped.
const TRIES: usize = 4;

/// What a download reports as it goes.
#[derive(Debug)]
pub enum Fetch<'a> {
    /// A file's transfer starts (again): its URL, its size where the server says, and the
    /// bytes already on disk from an earlier try.
    Start { file: &'a str, url: &'a str, total: Option<u64>, resumed_from: u64 },
    /// Bytes of the current file on disk so far.
    Progress(u64),
    /// A try failed and the next one follows (a resume, or the next mirror).
    Retry { file: &'a str, reason: String },
    /// A file arrived and matched its checksum.
    Checked { file: &'a str },
    Unpacking { file: &'a str },
}

/// The mirrors to try: `AER_DATA_MIRROR` alone when set, else the entry's.
pub fn mirrors(e: &Entry) -> Vec<String> {
    match std::env::var(MIRROR_VAR) {
        Ok(m) if !m.is_empty() => vec![if m.ends_with('/') { m } else { m + "/" }],
        _ => e.mirrors.iter().map(|m| m.to_string()).collect(),
    }
}

/// Install `e` under `root` (again, with `force`) and return its directory. Files already
/// checked are kept, so an interrupted `get` run again fetches only what is missing.
pub fn get(e: &Entry, root: &Path, force: bool, on: &mut dyn FnMut(Fetch)) -> Result<PathBuf> {
    let dir = install_dir(root, e);
    if force && dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|err| AerError::file(&dir, format!("cannot remove the old copy: {err}")))?;
    }
    if let Some(dir) = installed(root, e) {
        return Ok(dir);
    }
    let _lock = DirLock::acquire(&dir, 0)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into();
    let bases = mirrors(e);
    for remote in e.files {
        let done = dir.join(remote.file);
        let unpacked = e.unpack == Unpack::TarGz && dir.join(format!(".{}.unpacked", remote.file)).exists();
        let have = done.is_file() && md5_file(&done)? == remote.md5;
        if !unpacked && !have {
            fetch_checked(&agent, &bases, remote, &dir, on)?;
        }
        if e.unpack == Unpack::TarGz && !unpacked {
            on(Fetch::Unpacking { file: remote.file });
            untar(&done, &dir)?;
            crate::files::write_atomic(&dir.join(format!(".{}.unpacked", remote.file)), b"")?;
            std::fs::remove_file(&done).map_err(|err| AerError::file(&done, format!("cannot remove the unpacked archive: {err}")))?;
        }
    }
    write_manifest(&dir)?;
    Ok(dir)
}

/// Download one file from the first mirror that has it, resuming dropped transfers, and
/// check it; on a checksum mismatch the file is deleted and the error names it.
fn fetch_checked(agent: &ureq::Agent, bases: &[String], remote: &Remote, dir: &Path, on: &mut dyn FnMut(Fetch)) -> Result<()> {
    let part = dir.join(format!("{}.part", remote.file));
    let mut failures = Vec::new();
    for base in bases {
        let url = format!("{base}{}", remote.file);
        for _ in 0..TRIES {
            match transfer(agent, &url, remote.file, &part, on) {
                Ok(()) => {
                    let sum = md5_file(&part)?;
                    if sum != remote.md5 {
                        let size = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
                        let _ = std::fs::remove_file(&part);
                        return Err(AerError::Invalid(format!(
                            "{} from {url} is corrupt or truncated ({size} bytes, MD5 {sum}, published {}); it was deleted. Run `aer data get` again; if it fails again, the mirror serves a bad copy: set {MIRROR_VAR} to another",
                            remote.file, remote.md5
                        )));
                    }
                    let done = dir.join(remote.file);
                    std::fs::rename(&part, &done).map_err(|err| AerError::file(&done, format!("cannot move the download into place: {err}")))?;
                    on(Fetch::Checked { file: remote.file });
                    return Ok(());
                }
                // The server is there but the transfer broke off: resume from what arrived.
                Err(Failure::Interrupted(reason)) => {
                    on(Fetch::Retry { file: remote.file, reason: reason.clone() });
                    failures.push(format!("{url}: {reason}"));
                }
                Err(Failure::Unavailable(reason)) => {
                    on(Fetch::Retry { file: remote.file, reason: reason.clone() });
                    failures.push(format!("{url}: {reason}"));
                    break;
                }
                Err(Failure::Local(err)) => return Err(err),
            }
        }
    }
    let kept = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    Err(AerError::Invalid(format!(
        "could not download {}: {}{}; check the network (or set {MIRROR_VAR} to a mirror), then run `aer data get` again",
        remote.file,
        failures.join("; "),
        if kept > 0 { format!(" ({kept} bytes kept in {} to resume from)", part.display()) } else { String::new() }
    )))
}

enum Failure {
    /// No usable answer from this mirror: try the next.
    Unavailable(String),
    /// The transfer stopped part-way: try again from where it stopped.
    Interrupted(String),
    /// Writing here failed: no mirror helps.
    Local(AerError),
}

/// One HTTP request for `url` into `part`: a range request for the rest when part of the
/// file is there (a server that ignores it sends the whole file, which replaces the part).
fn transfer(agent: &ureq::Agent, url: &str, file: &str, part: &Path, on: &mut dyn FnMut(Fetch)) -> std::result::Result<(), Failure> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let mut resp = match req.call() {
        Ok(r) => r,
        // Asked for the rest of a file that is already whole (or longer): start again.
        Err(ureq::Error::StatusCode(416)) if have > 0 => {
            std::fs::remove_file(part).map_err(|e| Failure::Local(AerError::file(part, format!("cannot remove: {e}"))))?;
            return Err(Failure::Interrupted("the partial file did not fit the server's; starting it again".into()));
        }
        Err(ureq::Error::StatusCode(code)) => return Err(Failure::Unavailable(format!("HTTP {code}"))),
        Err(e) => return Err(Failure::Unavailable(e.to_string())),
    };
    let resumed = resp.status().as_u16() == 206;
    let from = if resumed { have } else { 0 };
    let length = resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let total = length.map(|l| l + from);
    on(Fetch::Start { file, url, total, resumed_from: from });
    let local = |e: std::io::Error| Failure::Local(AerError::file(part, format!("cannot write: {e}")));
    let mut out = std::fs::OpenOptions::new().create(true).write(true).append(resumed).truncate(!resumed).open(part).map_err(local)?;
    let mut reader = resp.body_mut().as_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut written = from;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                out.flush().map_err(local)?;
                return Err(Failure::Interrupted(format!("the transfer stopped after {written} bytes ({e})")));
            }
        };
        out.write_all(&buf[..n]).map_err(local)?;
        written += n as u64;
        on(Fetch::Progress(written));
    }
    out.sync_all().map_err(local)?;
    match total {
        Some(t) if written < t => Err(Failure::Interrupted(format!("the transfer stopped after {written} of {t} bytes"))),
        _ => Ok(()),
    }
}

/// Extract a checked .tar.gz into `dir` (entries that would land outside it are skipped by
/// the tar crate).
fn untar(archive: &Path, dir: &Path) -> Result<()> {
    let f = std::fs::File::open(archive).map_err(|e| AerError::file(archive, format!("cannot read: {e}")))?;
    tar::Archive::new(flate2::read::GzDecoder::new(f))
        .unpack(dir)
        .map_err(|e| AerError::file(archive, format!("cannot unpack: {e}; run `aer data get --force` to download it again")))
}
