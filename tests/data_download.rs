//! `aer data get` against a local HTTP server (these machines have no internet): resumed
//! transfers, a corrupt file deleted and named, a .tar.gz unpacked into a CIFAR-100 directory,
//! and the command line end to end on the real MNIST files where they are at hand.

mod common;

use aer::data::catalog::{self, Entry, Remote, Unpack};
use aer::data::download::{get, Fetch};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How the server answers a file's requests.
#[derive(Clone, Copy)]
enum Serve {
    Whole,
    /// The first request gets this many bytes, then the connection closes.
    CutFirst(usize),
    /// Every request gets this many bytes, then the connection closes.
    CutAlways(usize),
    /// Every request gets the file with one byte changed.
    Corrupt,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 for `files`, honouring `Range: bytes=N-`;
/// it records each request as "path from-byte" and ends after 64 connections.
fn serve(files: HashMap<String, (Vec<u8>, Serve)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        let mut served: HashMap<String, usize> = HashMap::new();
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut b = [0u8; 1];
            while !req.ends_with(b"\r\n\r\n") && s.read(&mut b).unwrap_or(0) == 1 {
                req.push(b[0]);
            }
            let text = String::from_utf8_lossy(&req).to_string();
            let path = text.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let from: usize = text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("range: bytes=").map(|r| r.trim_end_matches('-').parse().unwrap())).unwrap_or(0);
            seen.lock().unwrap().push(format!("{path} {from}"));
            let Some((data, how)) = files.get(&path) else {
                let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                continue;
            };
            let n = served.entry(path.clone()).or_default();
            *n += 1;
            let mut body = data.clone();
            if let Serve::Corrupt = how {
                let mid = body.len() / 2;
                body[mid] ^= 0x55;
            }
            let (status, body) = if from > 0 { ("206 Partial Content", &body[from..]) } else { ("200 OK", &body[..]) };
            let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let send = match how {
                Serve::CutFirst(k) if *n == 1 => &body[..*k],
                Serve::CutAlways(k) => &body[..(*k).min(body.len())],
                _ => body,
            };
            let _ = s.write_all(send);
        }
    });
    (url, log)
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed).collect()
}

fn md5(data: &[u8]) -> &'static str {
    let dir = tempdir("md5");
    let p = dir.join("f");
    std::fs::write(&p, data).unwrap();
    Box::leak(catalog::md5_file(&p).unwrap().into_boxed_str())
}

fn tempdir(tag: &str) -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    common::tmpdir(&format!("download-{tag}-{thread}"))
}

fn entry(name: &'static str, files: &[(&'static str, &[u8])], unpack: Unpack, mirror: String) -> Entry {
    let remotes: Vec<Remote> = files.iter().map(|(f, d)| Remote { file: f, md5: md5(d), bytes: d.len() as u64 }).collect();
    Entry { name, about: "test", mirrors: Box::leak(vec![&*Box::leak(mirror.into_boxed_str())].into_boxed_slice()), files: Box::leak(remotes.into_boxed_slice()), unpack }
}

fn quiet(_: Fetch) {}

#[test]
fn a_dropped_transfer_resumes_with_a_range_request() {
    let (a, b) = (bytes(300_000, 1), bytes(5_000, 2));
    let (url, log) = serve(HashMap::from([("a.gz".into(), (a.clone(), Serve::CutFirst(120_000))), ("b.gz".into(), (b.clone(), Serve::Whole))]));
    let e = entry("resume", &[("a.gz", &a), ("b.gz", &b)], Unpack::Keep, url);
    let root = tempdir("resume");
    let mut retries = 0;
    let dir = get(&e, &root, false, &mut |ev| retries += matches!(ev, Fetch::Retry { .. }) as usize).unwrap();
    assert_eq!(std::fs::read(dir.join("a.gz")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("b.gz")).unwrap(), b);
    assert_eq!(retries, 1);
    assert_eq!(*log.lock().unwrap(), ["a.gz 0", "a.gz 120000", "b.gz 0"]);
    assert_eq!(catalog::verify(&root, &e).unwrap(), 2);
    assert!(!dir.join("a.gz.part").exists());
    // Installed: a second get asks the server nothing.
    get(&e, &root, false, &mut quiet).unwrap();
    assert_eq!(log.lock().unwrap().len(), 3);
    // A file changed on disk is named by verify.
    std::fs::write(dir.join("b.gz"), b"x").unwrap();
    let err = catalog::verify(&root, &e).unwrap_err().to_string();
    assert!(err.contains("b.gz has MD5") && err.contains("--force"), "{err}");
}

#[test]
fn a_corrupt_download_is_deleted_and_named() {
    let (a, b) = (bytes(50_000, 3), bytes(70_000, 4));
    let (url, _) = serve(HashMap::from([("a.gz".into(), (a.clone(), Serve::Whole)), ("b.gz".into(), (b.clone(), Serve::Corrupt))]));
    let e = entry("corrupt", &[("a.gz", &a), ("b.gz", &b)], Unpack::Keep, url);
    let root = tempdir("corrupt");
    let err = get(&e, &root, false, &mut quiet).unwrap_err().to_string();
    assert!(err.contains("b.gz") && err.contains("corrupt") && err.contains("deleted"), "{err}");
    let dir = catalog::install_dir(&root, &e);
    assert!(!dir.join("b.gz").exists() && !dir.join("b.gz.part").exists());
    assert!(catalog::installed(&root, &e).is_none(), "a failed install must not count as installed");
    // The file that was fine stays, so the next try fetches only the other.
    assert_eq!(std::fs::read(dir.join("a.gz")).unwrap(), a);
}

#[test]
fn a_get_that_gives_up_keeps_the_part_and_the_next_one_resumes_it() {
    let a = bytes(200_000, 5);
    // Every answer is cut at 20,000 bytes: each try adds that much, then the get gives up.
    let (flaky, _) = serve(HashMap::from([("a.gz".into(), (a.clone(), Serve::CutAlways(20_000)))]));
    let e = entry("part", &[("a.gz", &a)], Unpack::Keep, flaky);
    let root = tempdir("part");
    let err = get(&e, &root, false, &mut quiet).unwrap_err().to_string();
    assert!(err.contains("could not download a.gz") && err.contains("80000 bytes kept"), "{err}");
    let (good, log) = serve(HashMap::from([("a.gz".into(), (a.clone(), Serve::Whole))]));
    let e = Entry { mirrors: Box::leak(vec![&*Box::leak(good.into_boxed_str())].into_boxed_slice()), ..e };
    get(&e, &root, false, &mut quiet).unwrap();
    assert_eq!(*log.lock().unwrap(), ["a.gz 80000"]);
    assert_eq!(std::fs::read(root.join("part/a.gz")).unwrap(), a);
}

#[test]
fn a_tar_gz_unpacks_into_a_cifar100_directory_that_loads() {
    // 200 CIFAR-100 records (coarse label, fine label, 3,072 pixels), fine labels 0..99.
    let record = |i: usize, fine: usize| -> Vec<u8> {
        let mut r = vec![(fine / 5) as u8, fine as u8];
        r.extend(bytes(3072, i as u8));
        r
    };
    let train: Vec<u8> = (0..200).flat_map(|i| record(i, i % 100)).collect();
    let test: Vec<u8> = (0..100).flat_map(|i| record(i, 99 - i)).collect();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (name, data) in [("cifar-100-binary/train.bin", &train), ("cifar-100-binary/test.bin", &test)] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, name, &data[..]).unwrap();
    }
    let archive = tar.into_inner().unwrap().finish().unwrap();
    let (url, _) = serve(HashMap::from([("c.tar.gz".into(), (archive.clone(), Serve::Whole))]));
    let e = entry("c100", &[("c.tar.gz", &archive)], Unpack::TarGz, url);
    let root = tempdir("tar");
    let dir = get(&e, &root, false, &mut quiet).unwrap();
    assert!(!dir.join("c.tar.gz").exists(), "the archive is removed once unpacked");
    assert_eq!(catalog::verify(&root, &e).unwrap(), 2);
    let s = aer::data::load_dir(&dir, Some(20)).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len(), s.classes, s.train.shape), (180, 20, 100, 100, [3, 32, 32]));
    assert_eq!(s.test.labels[0], 99);
}

/// The command line on the real MNIST files, served locally, where a copy is at hand.
#[test]
fn aer_data_get_mnist_from_a_local_mirror() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/mnist");
    if !shared.join("MD5SUMS").exists() {
        eprintln!("skipped: no MNIST files at {}", shared.display());
        return;
    }
    let files: HashMap<String, (Vec<u8>, Serve)> = catalog::entry("mnist").unwrap().files.iter().map(|f| (f.file.to_string(), (std::fs::read(shared.join(f.file)).unwrap(), Serve::Whole))).collect();
    let (url, _) = serve(files);
    let root = tempdir("cli");
    let aer = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aer")).args(args).env("AER_DATA_DIR", &root).env("AER_DATA_MIRROR", &url).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, text) = aer(&["data", "path", "mnist"]);
    assert!(!ok && text.contains("aer data get mnist"), "{text}");
    let (ok, text) = aer(&["data", "get", "mnist"]);
    assert!(ok, "{text}");
    let (ok, text) = aer(&["data", "verify", "mnist"]);
    assert!(ok && text.contains("4 files match"), "{text}");
    let (ok, text) = aer(&["data", "path", "mnist"]);
    assert!(ok && text.trim() == root.join("mnist").display().to_string(), "{text}");
    let (ok, text) = aer(&["data", "list"]);
    assert!(ok && text.contains(&root.join("mnist").display().to_string()), "{text}");
}
