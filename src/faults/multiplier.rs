//! 8-bit multipliers as product tables: the exact one, truncated approximations, and tables
//! read from files in the layout of published approximate-multiplier libraries' truth tables
//! (EvoApprox8b's signed 8x8 multipliers and the like).
//!
//! File format: 65,536 little-endian signed 16-bit products (131,072 bytes), entry
//! (a, b) at index ((a as u8) << 8) | (b as u8), for a and b in -128..=127 (two's complement).

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct ProductTable {
    pub name: String,
    /// [65536], see the module.
    pub entries: Vec<i32>,
}

/// How far a table is from exact multiplication, over all operand pairs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TableError {
    /// Share of operand pairs whose product is wrong.
    pub error_rate: f64,
    pub mean_abs_error: f64,
    pub max_abs_error: i32,
    /// Mean of |error| / |exact| over pairs with a nonzero exact product (MRED).
    pub mean_relative_error: f64,
}

fn operands() -> impl Iterator<Item = (usize, i32, i32)> {
    (0..65_536usize).map(|i| (i, (i >> 8) as u8 as i8 as i32, (i & 255) as u8 as i8 as i32))
}

impl ProductTable {
    pub fn exact() -> ProductTable {
        ProductTable { name: "exact".into(), entries: operands().map(|(_, a, b)| a * b).collect() }
    }

    /// The magnitude product with its `bits` low bits dropped (their partial products never
    /// computed), the sign restored: error grows with `bits`.
    pub fn truncated(bits: u32) -> ProductTable {
        let entries = operands().map(|(_, a, b)| (a * b).signum() * (((a * b).abs() >> bits) << bits)).collect();
        ProductTable { name: format!("trunc{bits}"), entries }
    }

    /// `exact`, `trunc:<bits>`, or a table file.
    pub fn parse(spec: &str) -> Result<ProductTable> {
        if spec == "exact" {
            return Ok(ProductTable::exact());
        }
        if let Some(bits) = spec.strip_prefix("trunc:") {
            let bits: u32 = bits.parse().ok().filter(|b| *b <= 14).ok_or_else(|| AerError::Invalid(format!("multiplier '{spec}': give trunc:<bits> with 0 to 14 low bits dropped")))?;
            return Ok(ProductTable::truncated(bits));
        }
        ProductTable::load(Path::new(spec))
    }

    pub fn load(path: &Path) -> Result<ProductTable> {
        let bytes = std::fs::read(path).map_err(|e| AerError::file(path, format!("cannot read the product table ({e}); give exact, trunc:<bits> or a table file")))?;
        if bytes.len() != 2 * 65_536 {
            return Err(AerError::file(path, format!("is {} bytes; a product table holds 65,536 little-endian i16 products (131,072 bytes)", bytes.len())));
        }
        let entries = bytes.chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as i32).collect();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "table".into());
        Ok(ProductTable { name, entries })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.entries.iter().flat_map(|&v| (v as i16).to_le_bytes()).collect()
    }

    pub fn error(&self) -> TableError {
        let (mut wrong, mut abs, mut max, mut rel, mut nonzero) = (0usize, 0f64, 0i32, 0f64, 0usize);
        for (i, a, b) in operands() {
            let e = (self.entries[i] - a * b).abs();
            wrong += (e != 0) as usize;
            abs += e as f64;
            max = max.max(e);
            if a * b != 0 {
                rel += e as f64 / (a * b).abs() as f64;
                nonzero += 1;
            }
        }
        TableError { error_rate: wrong as f64 / 65_536.0, mean_abs_error: abs / 65_536.0, max_abs_error: max, mean_relative_error: rel / nonzero as f64 }
    }

    pub fn upload(&self, gpu: &Gpu) -> Tensor {
        let bits: Vec<u32> = self.entries.iter().map(|&v| v as u32).collect();
        gpu.upload_u32(&bits, &[65_536])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_are_the_generated_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/multipliers");
        assert_eq!(ProductTable::load(&dir.join("mul8s_exact.bin")).unwrap().entries, ProductTable::exact().entries);
        assert_eq!(ProductTable::load(&dir.join("mul8s_trunc8.bin")).unwrap().entries, ProductTable::truncated(8).entries);
    }

    #[test]
    fn truncation_error_grows_with_the_bits_dropped() {
        assert_eq!(ProductTable::exact().error().error_rate, 0.0);
        let e: Vec<f64> = (0..10).map(|b| ProductTable::truncated(b).error().mean_relative_error).collect();
        assert_eq!(e[0], 0.0);
        assert!(e.windows(2).all(|w| w[1] > w[0]), "{e:?}");
        assert_eq!(ProductTable::exact().entries[(((-128i32) as u8 as usize) << 8) | ((-128i32) as u8 as usize)], 16384);
        let t = ProductTable::truncated(4);
        assert_eq!(ProductTable { name: "x".into(), entries: t.to_bytes().chunks(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as i32).collect() }.entries, t.entries);
    }
}
