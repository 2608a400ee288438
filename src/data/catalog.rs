//! The standard data sets by name: where each is published, the published MD5 of every file,
//! and where a download of it lives on this machine (a per-user cache directory, or
//! `AER_DATA_DIR`). Installing is `download::get`; this module never touches the network.

use crate::error::{AerError, Result};
use md5::{Digest, Md5};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One published file of a data set.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    pub file: &'static str,
    /// The MD5 its publishers give (the only checksum published for all of them).
    pub md5: &'static str,
    /// Its size as published, for the listing (the MD5 is the check).
    pub bytes: u64,
}

/// What to do with a file once it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpack {
    /// Keep it as it is (the IDX readers take gzip directly).
    Keep,
    /// Extract a .tar.gz into the data set's directory, then delete the archive.
    TarGz,
}

/// A data set aer can download by name.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub about: &'static str,
    /// Base URLs tried in order; a file's URL is base + file name.
    pub mirrors: &'static [&'static str],
    pub files: &'static [Remote],
    pub unpack: Unpack,
}

impl Entry {
    pub fn download_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

pub const CATALOG: &[Entry] = &[
    Entry {
        name: "mnist",
        about: "MNIST handwritten digits: 60,000 + 10,000 grey 28x28 images, 10 classes (LeCun et al. 1998)",
        mirrors: &["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        files: &[
            Remote { file: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873", bytes: 9_912_422 },
            Remote { file: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432", bytes: 28_881 },
            Remote { file: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3", bytes: 1_648_877 },
            Remote { file: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c", bytes: 4_542 },
        ],
        unpack: Unpack::Keep,
    },
    Entry {
        name: "fashion-mnist",
        about: "Fashion-MNIST clothing: 60,000 + 10,000 grey 28x28 images, 10 classes (Xiao et al. 2017)",
        mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        files: &[
            Remote { file: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", bytes: 26_421_880 },
            Remote { file: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe", bytes: 29_515 },
            Remote { file: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79", bytes: 4_422_102 },
            Remote { file: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310", bytes: 5_148 },
        ],
        unpack: Unpack::Keep,
    },
    Entry {
        name: "cifar10",
        about: "CIFAR-10 (binary version): 50,000 + 10,000 colour 32x32 images, 10 classes (Krizhevsky 2009)",
        mirrors: &["https://www.cs.toronto.edu/~kriz/"],
        files: &[Remote { file: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530", bytes: 170_052_171 }],
        unpack: Unpack::TarGz,
    },
    Entry {
        name: "cifar100",
        about: "CIFAR-100 (binary version): 50,000 + 10,000 colour 32x32 images, 100 fine classes (Krizhevsky 2009)",
        mirrors: &["https://www.cs.toronto.edu/~kriz/"],
        files: &[Remote { file: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8", bytes: 168_513_733 }],
        unpack: Unpack::TarGz,
    },
];

/// The catalog entry of `name`, or an error listing the names.
pub fn entry(name: &str) -> Result<&'static Entry> {
    CATALOG.iter().find(|e| e.name == name).ok_or_else(|| AerError::Invalid(format!("no data set named '{name}'; the names are {} (and mnist-10k, the bundled subset)", names())))
}

pub fn names() -> String {
    CATALOG.iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
}

/// The environment variable that moves the data directory.
pub const DATA_DIR_VAR: &str = "AER_DATA_DIR";

/// Where downloaded data sets live: `AER_DATA_DIR`, else the user's cache directory + aer/data.
pub fn data_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_VAR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    #[cfg(target_arch = "wasm32")]
    return Err(AerError::Invalid("a browser has no data directory: give the data's files to the page".into()));
    #[cfg(not(target_arch = "wasm32"))]
    dirs::cache_dir()
        .map(|d| d.join("aer").join("data"))
        .ok_or_else(|| AerError::Invalid(format!("this system has no per-user cache directory; set {DATA_DIR_VAR} to a directory for the data sets")))
}

/// The checksum manifest written last when a data set is installed: its presence says the
/// install is complete. It lists every file kept (after unpacking) with its MD5.
pub const MANIFEST: &str = "MD5SUMS";

/// A data set's directory under `root`.
pub fn install_dir(root: &Path, e: &Entry) -> PathBuf {
    root.join(e.name)
}

/// The data set's directory if its install finished.
pub fn installed(root: &Path, e: &Entry) -> Option<PathBuf> {
    let dir = install_dir(root, e);
    dir.join(MANIFEST).is_file().then_some(dir)
}

/// The lowercase hex MD5 of a file, read in blocks.
pub fn md5_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| AerError::file(path, format!("cannot read: {e}")))?;
    let mut h = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| AerError::file(path, format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `MD5SUMS` lines (`<md5>  <relative path>`) for every file under `dir` but the manifest.
pub fn write_manifest(dir: &Path) -> Result<()> {
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    // Only the data: not the manifest itself, the lock, or a partial download.
    files.retain(|f| f != Path::new(MANIFEST) && !f.to_string_lossy().starts_with('.') && f.extension().is_none_or(|x| x != "part"));
    files.sort();
    let mut text = String::new();
    for f in &files {
        text += &format!("{}  {}\n", md5_file(&dir.join(f))?, f.display());
    }
    crate::files::write_atomic(&dir.join(MANIFEST), text.as_bytes())
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| AerError::file(dir, format!("cannot list: {e}")))?;
    for ent in entries {
        let p = ent.map_err(|e| AerError::file(dir, format!("cannot list: {e}")))?.path();
        if p.is_dir() {
            collect_files(root, &p, out)?;
        } else {
            out.push(p.strip_prefix(root).expect("under root").to_path_buf());
        }
    }
    Ok(())
}

/// Check every file the manifest of an installed data set lists; the error names each file
/// that is missing or changed and says how to get it again.
pub fn verify(root: &Path, e: &Entry) -> Result<usize> {
    let dir = installed(root, e).ok_or_else(|| AerError::Invalid(format!("data set {} is not downloaded (no {}); run `aer data get {}`", e.name, install_dir(root, e).join(MANIFEST).display(), e.name)))?;
    let manifest = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&manifest).map_err(|err| AerError::file(&manifest, format!("cannot read: {err}")))?;
    let mut bad = Vec::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, file) = line.split_once("  ").ok_or_else(|| AerError::file(&manifest, format!("malformed line '{line}'; run `aer data get {} --force`", e.name)))?;
        let path = dir.join(file);
        count += 1;
        match path.is_file().then(|| md5_file(&path)).transpose()? {
            None => bad.push(format!("{} is missing", path.display())),
            Some(s) if s != sum => bad.push(format!("{} has MD5 {s}, expected {sum}", path.display())),
            Some(_) => {}
        }
    }
    if bad.is_empty() {
        Ok(count)
    } else {
        Err(AerError::Invalid(format!("data set {}: {}; run `aer data get {} --force` to download it again", e.name, bad.join("; "), e.name)))
    }
}
