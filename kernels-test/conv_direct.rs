//! conv_direct.wgsl (the direct convolution for small weights, and its weight and bias
//! gradients) against `reference::conv_direct`'s textbook loops.

use crate::common::*;
use crate::conv2d::{edge_geometries, geometry, random_geometry, ConvCase};
use aer::kernels::{self, Conv2dGeometry, QuadsInput};
use aer::reference;
use rand::Rng;

/// conv_direct (the small-weight path, bias and optional ReLU fused) against the textbook
/// convolution: random geometries with 1..=40 output channels that fit (several passes of
/// 16, most not a multiple), the edge geometries, weights that fill workgroup memory exactly, and
/// more positions than one grid dimension holds.
#[test]
fn conv_direct_matches_reference() {
    let mut cases: Vec<ConvCase> = (0..24)
        .map(|i| {
            let mut r = rng("conv_direct_geometry", i);
            let geometry = random_geometry(&mut r);
            let fits = 4096 / (16 * geometry.patch()) * 16;
            ConvCase { geometry, out_channels: r.random_range(1..=fits.min(40)) }
        })
        .collect();
    cases.extend(edge_geometries().into_iter().map(|geometry| ConvCase { geometry, out_channels: 3 }));
    // 32 x 128 weights: two passes of 16 channels over a patch of 128, all 4096 floats.
    cases.push(ConvCase { geometry: geometry(2, 8, 9, 7, 4, 1, 2), out_channels: 32 });
    cases.push(ConvCase { geometry: Conv2dGeometry { n: 1, c: 1, h: SPILL_1D + 4, w: 1, kh: 1, kw: 1, stride: 1, pad: 0 }, out_channels: 1 });
    // cnn's conv2 (the whole uniform array but a part) over 2 images, a buffer smaller than a
    // window, and over 11, 12,544 bytes each: three windows, the last one ending at the buffer's end.
    cases.push(ConvCase { geometry: geometry(2, 16, 14, 14, 5, 1, 2), out_channels: 32 });
    cases.push(ConvCase { geometry: geometry(11, 16, 14, 14, 5, 1, 2), out_channels: 32 });
    // Images of 64,464 bytes (3 x 79 x 68): one window each, most starting off a multiple of
    // 256 bytes; of 65,536 (16 x 32 x 32, CIFAR's ResNets), a whole window each; of 65,532
    // (3 x 43 x 127), the later ones too far past a multiple of 256 for a view: copied.
    cases.push(ConvCase { geometry: geometry(5, 3, 79, 68, 3, 1, 1), out_channels: 5 });
    cases.push(ConvCase { geometry: geometry(3, 16, 32, 32, 3, 1, 1), out_channels: 16 });
    cases.push(ConvCase { geometry: geometry(3, 3, 43, 127, 3, 1, 1), out_channels: 5 });
    for (i, case) in cases.iter().enumerate() {
        let (g, co) = (&case.geometry, case.out_channels);
        assert!(kernels::takes_direct(g, co), "case {case:?} does not fit conv_direct");
        let mut r = rng("conv_direct", i);
        let x = uniform(&mut r, g.n * g.c * g.h * g.w, -1.0, 1.0);
        let w = uniform(&mut r, co * g.patch(), -1.0, 1.0);
        let bias = uniform(&mut r, co, -1.0, 1.0);
        let relu = i % 2 == 1;
        let mut want = reference::conv2d_forward(g, &x, &w, &bias, co);
        if relu {
            want.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        let tol = Tol { abs: 2e-6 * (g.patch() as f64).sqrt() * max_abs(&x) * max_abs(&w), rel: 1e-6 };
        for input in [QuadsInput::Storage, QuadsInput::Window] {
            let y = gpu().full(&[g.n, co, g.oh(), g.ow()], f32::NAN);
            kernels::conv_direct_with(gpu(), input, g, &upload(&x), &upload(&w), &upload(&bias), &y, co, relu);
            assert_close(&format!("conv_direct y ({input:?})"), case, &read(&y), &want, tol);
        }
    }
    assert!(kernels::takes_direct(&geometry(1, 16, 14, 14, 5, 1, 2), 32), "cnn's conv2 (32 x 400) should run directly");
    assert!(!kernels::takes_direct(&geometry(1, 16, 14, 14, 5, 2, 2), 32), "32 x 400 weights at stride 2 should take the matmul path");
    assert!(!kernels::takes_direct(&geometry(1, 32, 14, 14, 5, 1, 2), 32), "32 x 800 weights should not fit");
}

/// conv_direct's weight and bias gradients against the textbook loops: random stride-1
/// geometries (kernels 1..=5, not square, widths not a multiple of its runs of four), output
/// channels not a multiple of its four per lane, several input channels, and a batch large
/// enough that many workgroups' partial sums are added up.
#[test]
fn conv_direct_weight_grad_matches_reference() {
    let mut cases: Vec<ConvCase> = (0..24)
        .map(|i| {
            let mut r = rng("conv_direct_weight_grad_geometry", i);
            let geometry = Conv2dGeometry { stride: 1, ..random_geometry(&mut r) };
            let fits = 4096 / (16 * geometry.patch()) * 16;
            ConvCase { geometry, out_channels: r.random_range(1..=fits.min(40)) }
        })
        .collect();
    cases.extend(edge_geometries().into_iter().filter(|g| g.stride == 1).map(|geometry| ConvCase { geometry, out_channels: 3 }));
    // cnn's first layer over 12 images: 2,352 runs of four, two workgroups of lanes.
    cases.push(ConvCase { geometry: geometry(12, 1, 28, 28, 5, 1, 2), out_channels: 16 });
    // Three input channels (CIFAR), 30 outputs: eight parts of four channels per input channel.
    cases.push(ConvCase { geometry: geometry(2, 3, 11, 9, 5, 1, 2), out_channels: 30 });
    // Images of 64,464 bytes (3 x 79 x 68): a window each, most starting off a multiple of 256
    // bytes; of 65,536 (16 x 32 x 32), a whole window each; of 65,532, later ones copied.
    cases.push(ConvCase { geometry: geometry(4, 3, 79, 68, 3, 1, 1), out_channels: 5 });
    cases.push(ConvCase { geometry: geometry(3, 16, 32, 32, 3, 1, 1), out_channels: 16 });
    cases.push(ConvCase { geometry: geometry(3, 3, 43, 127, 3, 1, 1), out_channels: 5 });
    // cnn's conv2 (12,800 weights, through windows only) over 7 images: two windows.
    cases.push(ConvCase { geometry: geometry(7, 16, 14, 14, 5, 1, 2), out_channels: 32 });
    for (i, case) in cases.iter().enumerate() {
        let (g, co) = (&case.geometry, case.out_channels);
        assert!(kernels::takes_direct_weight_grad_with(QuadsInput::Window, g, co), "case {case:?} does not fit conv_direct_weight_grad");
        let mut r = rng("conv_direct_weight_grad", i);
        let x = uniform(&mut r, g.n * g.c * g.h * g.w, -1.0, 1.0);
        let dy = uniform(&mut r, g.n * co * g.oh() * g.ow(), -1.0, 1.0);
        let tol = Tol { abs: 2e-5 * (g.positions() as f64).sqrt(), rel: 1e-6 };
        let (want_dw, want_db) = (reference::conv2d_backward_weight(g, &dy, &x, co), reference::bias_grad(&dy, co, g.oh() * g.ow()));
        // (Storage takes fewer weights: not cnn's conv2.)
        for input in [QuadsInput::Storage, QuadsInput::Window].into_iter().filter(|&input| kernels::takes_direct_weight_grad_with(input, g, co)) {
            // Stale values that must be overwritten.
            let (dw, db) = (upload(&vec![7.0; co * g.patch()]), upload(&vec![7.0; co]));
            kernels::conv_direct_weight_grad_with(gpu(), input, g, &upload(&x), &upload(&dy), &dw, &db, co);
            assert_close(&format!("conv_direct dw ({input:?})"), case, &read(&dw), &want_dw, tol);
            assert_close(&format!("conv_direct dbias ({input:?})"), case, &read(&db), &want_db, tol);
        }
    }
    for input in [QuadsInput::Storage, QuadsInput::Window] {
        assert!(!kernels::takes_direct_weight_grad_with(input, &geometry(1, 1, 28, 28, 5, 2, 2), 16), "stride 2 should take im2col and the product");
        assert!(!kernels::takes_direct_weight_grad_with(input, &geometry(1, 1, 28, 28, 7, 1, 3), 16), "7x7 should take im2col and the product");
    }
    assert!(!kernels::takes_direct_weight_grad_with(QuadsInput::Storage, &geometry(1, 16, 14, 14, 5, 1, 2), 32), "cnn's conv2 from storage should take im2col and the product");
    assert!(!kernels::takes_direct_weight_grad_with(QuadsInput::Window, &geometry(1, 32, 28, 28, 5, 1, 2), 16), "images of 100 kB do not fit a window");
}

/// conv_direct_input_grad (the turned weights packed with FLIP, then conv_direct_quads over
/// dy, or conv_direct_single for one input channel) against the textbook input gradient:
/// random stride-1 geometries with square kernels 1..=5 and padding below the kernel (widths
/// not a multiple of the quads), 16..=40 input channels (dx's, in parts of 16, most not
/// whole) or one (a quarter of the cases), 1..=33 output channels, weights that fill the
/// 64 KiB array exactly, and cnn's conv1 and conv2.
#[test]
fn conv_direct_input_grad_matches_reference() {
    let mut cases: Vec<ConvCase> = (0..32)
        .map(|i| {
            let mut r = rng("conv_direct_input_grad_geometry", i);
            loop {
                let k = r.random_range(1..=5);
                let c = if i % 4 == 3 { 1 } else { r.random_range(16..=40) };
                let geometry = Conv2dGeometry { c, kw: k, kh: k, stride: 1, pad: r.random_range(0..k), ..random_geometry(&mut r) };
                let case = ConvCase { geometry, out_channels: r.random_range(1..=33) };
                if geometry.h + 2 * geometry.pad >= k && geometry.w + 2 * geometry.pad >= k && kernels::takes_direct_input_grad(&geometry, case.out_channels) {
                    break case;
                }
            }
        })
        .collect();
    cases.push(ConvCase { geometry: geometry(1, 16, 1, 1, 1, 1, 0), out_channels: 1 });
    // 32 input channels x 512 taps of the turned weights: 16,384 floats, the whole array.
    cases.push(ConvCase { geometry: geometry(1, 32, 6, 5, 4, 1, 3), out_channels: 32 });
    // One channel: 40 output channels x 25 taps in parts of 16, 16,000 floats, nearly the whole
    // array; cnn's conv1 over 3 images (its 16 x 28 x 28 dy, 50,176 bytes: a window each).
    cases.push(ConvCase { geometry: geometry(2, 1, 9, 7, 5, 1, 2), out_channels: 40 });
    cases.push(ConvCase { geometry: geometry(3, 1, 28, 28, 5, 1, 2), out_channels: 16 });
    // dy of 65,536 bytes an image (16 x 32 x 32): a whole window each.
    cases.push(ConvCase { geometry: geometry(3, 16, 32, 32, 3, 1, 1), out_channels: 16 });
    // cnn's conv2 over 2 images (a dy smaller than a window) and 9 (25,088 bytes each: five windows).
    cases.push(ConvCase { geometry: geometry(2, 16, 14, 14, 5, 1, 2), out_channels: 32 });
    cases.push(ConvCase { geometry: geometry(9, 16, 14, 14, 5, 1, 2), out_channels: 32 });
    for (i, case) in cases.iter().enumerate() {
        let (g, co) = (&case.geometry, case.out_channels);
        assert!(kernels::takes_direct_input_grad(g, co), "case {case:?} does not fit conv_direct_input_grad");
        let mut r = rng("conv_direct_input_grad", i);
        let dy = uniform(&mut r, g.n * co * g.oh() * g.ow(), -1.0, 1.0);
        let w = uniform(&mut r, co * g.patch(), -1.0, 1.0);
        let tol = Tol { abs: 2e-6 * ((co * g.kh * g.kw) as f64).sqrt() * max_abs(&dy) * max_abs(&w), rel: 1e-6 };
        let want = reference::conv2d_backward_data(g, &dy, &w, co);
        for input in [QuadsInput::Storage, QuadsInput::Window] {
            let dx = upload(&vec![7.0; g.n * g.c * g.h * g.w]);
            kernels::conv_direct_input_grad_with(gpu(), input, g, &upload(&dy), &upload(&w), &dx, co);
            assert_close(&format!("conv_direct dx ({input:?})"), case, &read(&dx), &want, tol);
        }
    }
    assert!(!kernels::takes_direct_input_grad(&geometry(1, 3, 32, 32, 3, 1, 1), 16), "3 input channels should take the product and col2im");
    assert!(!kernels::takes_direct_input_grad(&geometry(1, 16, 28, 28, 5, 2, 2), 16), "stride 2 should take the product and col2im");
    assert!(!kernels::takes_direct_input_grad(&geometry(1, 16, 28, 28, 7, 1, 3), 16), "7x7 should take the product and col2im");
    assert!(!kernels::takes_direct_input_grad(&geometry(1, 16, 28, 28, 3, 1, 3), 16), "padding past the kernel should take the product and col2im");
    assert!(!kernels::takes_direct_input_grad(&geometry(1, 64, 8, 8, 5, 1, 2), 64), "64 x 1600 turned weights should not fit");
}
