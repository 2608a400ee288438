//! A PNG grid of clean / adversarial / perturbation images, one example per row. The
//! perturbation is shown around mid-grey, stretched so that the largest change is full
//! scale (the caption under `aer attack` gives that scale).

use crate::error::{AerError, Result};

/// Pixels per input pixel, so 28x28 digits are legible.
const ZOOM: usize = 4;
/// Background gap between tiles, in output pixels.
const GAP: usize = 4;

/// `rows` examples (indices into `clean`/`adv`, each [c, h, w] in [0, 1]) as an RGB PNG.
pub fn adversarial_grid(clean: &[f32], adv: &[f32], shape: [usize; 3], rows: &[usize]) -> Result<Vec<u8>> {
    let [c, h, w] = shape;
    let d = c * h * w;
    let (tw, th) = (w * ZOOM, h * ZOOM);
    let width = 3 * tw + 4 * GAP;
    let height = rows.len().max(1) * (th + GAP) + GAP;
    let mut rgb = vec![255u8; width * height * 3];
    let max_delta = rows
        .iter()
        .flat_map(|&i| clean[i * d..(i + 1) * d].iter().zip(&adv[i * d..(i + 1) * d]).map(|(a, b)| (b - a).abs()))
        .fold(0f32, f32::max)
        .max(1e-6);
    for (row, &i) in rows.iter().enumerate() {
        let tiles: [Box<dyn Fn(usize) -> f32>; 3] = [
            Box::new(|j| clean[i * d + j]),
            Box::new(|j| adv[i * d + j]),
            Box::new(|j| 0.5 + 0.5 * (adv[i * d + j] - clean[i * d + j]) / max_delta),
        ];
        for (col, value) in tiles.iter().enumerate() {
            let (x0, y0) = (GAP + col * (tw + GAP), GAP + row * (th + GAP));
            for y in 0..th {
                for x in 0..tw {
                    let (py, px) = (y / ZOOM, x / ZOOM);
                    let o = ((y0 + y) * width + x0 + x) * 3;
                    for ch in 0..3 {
                        let src = ch.min(c - 1);
                        rgb[o + ch] = (value(src * h * w + py * w + px).clamp(0.0, 1.0) * 255.0).round() as u8;
                    }
                }
            }
        }
    }
    encode_png(&rgb, width, height)
}

/// The corruption grid of `aer shift`: one row per corruption, columns the clean images then
/// each severity, each cell `examples` images [c, h, w] side by side (`clean` holds the clean
/// ones, `cells[row][col]` the corrupted ones), all in [0, 1]. Cells are separated by a wider
/// gap than the images in them.
pub fn corruption_grid(clean: &[f32], cells: &[Vec<Vec<f32>>], shape: [usize; 3], examples: usize) -> Result<Vec<u8>> {
    let [c, h, w] = shape;
    let d = c * h * w;
    let zoom = if h <= 32 { 2 } else { 1 };
    let (tw, th) = (w * zoom, h * zoom);
    let cell_w = examples * (tw + 1);
    let cols = 1 + cells.first().map_or(0, |r| r.len());
    let width = cols * (cell_w + 3 * GAP) + GAP;
    let height = cells.len().max(1) * (th + GAP) + GAP;
    let mut rgb = vec![255u8; width * height * 3];
    for (row, line) in cells.iter().enumerate() {
        for (col, images) in std::iter::once(clean).chain(line.iter().map(|v| v.as_slice())).enumerate() {
            for k in 0..examples.min(images.len() / d.max(1)) {
                let (x0, y0) = (GAP + col * (cell_w + 3 * GAP) + k * (tw + 1), GAP + row * (th + GAP));
                for y in 0..th {
                    for x in 0..tw {
                        let o = ((y0 + y) * width + x0 + x) * 3;
                        for ch in 0..3 {
                            let v = images[k * d + ch.min(c - 1) * h * w + (y / zoom) * w + x / zoom];
                            rgb[o + ch] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                    }
                }
            }
        }
    }
    encode_png(&rgb, width, height)
}

pub fn encode_png(rgb: &[u8], width: usize, height: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| AerError::Invalid(format!("PNG header: {e}")))?;
    writer.write_image_data(rgb).map_err(|e| AerError::Invalid(format!("PNG data: {e}")))?;
    writer.finish().map_err(|e| AerError::Invalid(format!("PNG end: {e}")))?;
    Ok(out)
}
