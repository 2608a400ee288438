//! The IDX format of the MNIST files: a magic number (two zero bytes, a type code, the number
//! of dimensions), big-endian u32 sizes, then the data. Plain or gzip-compressed.

use crate::error::{AerError, Result};
use std::io::Read;
use std::path::Path;

/// An unsigned-byte IDX array.
#[derive(Debug)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Read an IDX file of unsigned bytes with `ndim` dimensions (3 for images, 1 for labels).
pub fn read_idx(path: &Path, ndim: usize) -> Result<IdxArray> {
    let raw = std::fs::read(path).map_err(|e| AerError::file(path, format!("cannot read: {e}")))?;
    parse_idx(&raw, ndim).map_err(|reason| AerError::file(path, reason))
}

/// Parse IDX bytes (plain or gzip) of `ndim` dimensions; the error says what is wrong. The
/// declared sizes are checked against the data there is before anything is allocated for
/// them: a damaged header cannot ask for a giant buffer.
pub fn parse_idx(raw: &[u8], ndim: usize) -> std::result::Result<IdxArray, String> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        // Compressed: read the header, then no more than the data it declares (and one byte
        // to tell that there is enough), so memory grows only with data actually present.
        let mut gz = flate2::read::GzDecoder::new(raw);
        let mut head = Vec::new();
        (&mut gz).take(4 + 4 * ndim as u64).read_to_end(&mut head).map_err(corrupt_gzip)?;
        let (dims, n) = parse_header(&head, ndim)?;
        let mut data = Vec::new();
        gz.take(n as u64).read_to_end(&mut data).map_err(corrupt_gzip)?;
        return whole(dims, n, data);
    }
    let (dims, n) = parse_header(raw, ndim)?;
    let body = &raw[4 + 4 * ndim..];
    whole(dims, n, body[..n.min(body.len())].to_vec())
}

fn corrupt_gzip(e: std::io::Error) -> String {
    format!("corrupt gzip data ({e}); re-download the file")
}

/// The dimensions and element count of an IDX header at the start of `bytes`.
fn parse_header(bytes: &[u8], ndim: usize) -> std::result::Result<(Vec<usize>, usize), String> {
    let expected_magic = 0x0800 + ndim as u32;
    if bytes.len() < 4 {
        return Err(format!("truncated: {} bytes, too short for an IDX header", bytes.len()));
    }
    let magic = u32::from_be_bytes(bytes[0..4].try_into().unwrap());
    if magic != expected_magic {
        return Err(format!(
            "wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} (an IDX file of unsigned bytes with {ndim} dimension{}); is this the right file?",
            if ndim == 1 { "" } else { "s" }
        ));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(format!("truncated: the header needs {header} bytes, the file has {}", bytes.len()));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let n = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| format!("dimensions {dims:?} multiply past the largest size this machine can hold: the header is corrupt"))?;
    Ok((dims, n))
}

/// The array when `data` holds all `n` bytes the dimensions declare.
fn whole(dims: Vec<usize>, n: usize, data: Vec<u8>) -> std::result::Result<IdxArray, String> {
    if data.len() < n {
        return Err(format!("truncated: dimensions {dims:?} need {n} bytes of data, the file has {}; re-download it", data.len()));
    }
    Ok(IdxArray { dims, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(data);
        v
    }

    #[test]
    fn reads_plain_and_gzip() {
        let raw = idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx(&raw, 3).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data[11], 12);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let b = parse_idx(&gz.finish().unwrap(), 3).unwrap();
        assert_eq!(b.data, a.data);
    }

    #[test]
    fn rejects_bad_files() {
        let raw = idx(&[4], &[1, 2, 3, 4]);
        assert!(parse_idx(&raw, 3).unwrap_err().contains("wrong magic"));
        assert!(parse_idx(&raw[..6], 1).unwrap_err().contains("truncated"));
        assert!(parse_idx(&raw[..10], 1).unwrap_err().contains("truncated"));
        assert!(parse_idx(&[0x1f, 0x8b, 1, 2], 1).unwrap_err().contains("gzip"));
    }

    #[test]
    fn huge_or_overflowing_dimensions_are_refused_without_allocating() {
        // 2^32-1 cubed overflows 64 bits; 60,000 x 28 x 28 fits but the file has 3 bytes.
        let overflow = idx(&[u32::MAX, u32::MAX, u32::MAX], &[1, 2, 3]);
        assert!(parse_idx(&overflow, 3).unwrap_err().contains("corrupt"), "{:?}", parse_idx(&overflow, 3));
        let huge = idx(&[60_000, 28, 28], &[1, 2, 3]);
        assert!(parse_idx(&huge, 3).unwrap_err().contains("need 47040000 bytes"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &huge).unwrap();
        assert!(parse_idx(&gz.finish().unwrap(), 3).unwrap_err().contains("truncated"));
    }
}
