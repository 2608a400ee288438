//! Static checks of every shader as compiled (its file in shaders/ with the shaders/common/
//! snippets it uses appended): naga parses and validates it, `kernels::shaders::ALL`
//! embeds it, and each entry point fits WebGPU's default limits, so a kernel that only runs
//! on a generous native adapter fails here rather than in the browser. Workgroup sizes set
//! by overrides are checked at the overrides' defaults; launchers that pass other values
//! must keep them within the same limits.

use naga::back::pipeline_constants::process_overrides;
use naga::back::PipelineConstants;
use naga::valid::{ModuleInfo, ValidationFlags, Validator};
use naga::{AddressSpace, Module, ShaderStage};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

/// Every entry point the kernel tests exercise, as (file, entry). A new entry point must be
/// added here together with a test against its CPU reference, in `kernels-test/<file>.rs`
/// against `reference::<file>` (see `files_are_named_after_shaders`).
const TESTED: &[(&str, &str)] = &[
    ("bsr", "bsr_matmul"),
    ("bsr", "bsr_weight_grad"),
    ("bsr", "bsr_reduce"),
    ("bsr", "bsr_gather"),
    ("bsr_ternary", "bsr_ternary_matmul"),
    ("bsr_format", "block_flags"),
    ("bsr_format", "count_scan"),
    ("bsr_format", "fill_rows"),
    ("bsr_format", "fill_cols"),
    ("bsr_format", "block_norm_keys"),
    ("bsr_format", "expand_block_mask"),
    ("gradient_similarity", "row_cosine"),
    ("gradient_similarity", "unpair_points"),
    ("gradient_similarity", "scale_rows"),
    ("hypersphere", "row_norms"),
    ("hypersphere", "sphere_project"),
    ("hypersphere", "ternary_reinit"),
    ("ibp", "ibp_input"),
    ("ibp", "ibp_relu"),
    ("ibp", "ibp_relu_backward"),
    ("ibp", "ibp_maxpool"),
    ("ibp", "ibp_maxpool_backward"),
    ("ibp", "abs_values"),
    ("ibp", "negate_values"),
    ("ibp", "sign_accumulate"),
    ("ibp", "ibp_margin"),
    ("ibp", "ibp_margin_backward_input"),
    ("ibp", "ibp_margin_backward_weight"),
    ("ibp", "ibp_worst_from_bounds"),
    ("corrupt", "sum_squares_partial"),
    ("corrupt", "sum_squares_final"),
    ("corrupt", "l2_ascent"),
    ("corrupt", "l2_project"),
    ("corrupt", "linf_ascent"),
    ("corrupt", "random_corner"),
    ("corrupt", "random_normal"),
    ("faults", "flip_bits"),
    ("faults", "flip_bits_f16"),
    ("approx", "absmax_partial"),
    ("approx", "absmax_final"),
    ("approx", "quantize_i8"),
    ("approx", "lut_matmul"),
    ("adv_loss", "adv_loss"),
    ("pgd", "random_start"),
    ("pgd", "pgd_step"),
    ("pgd", "apgd_step"),
    ("pgd", "keep_best"),
    ("pgd", "keep_max"),
    ("pgd", "apgd_checkpoint"),
    ("bias", "bias_add"),
    ("bias", "bias_grad"),
    ("bias", "bias_grad_rows"),
    ("bias", "bias_relu"),
    ("bias", "relu_bias_grad"),
    ("conv2d", "im2col"),
    ("conv2d", "col2im"),
    ("conv2d", "cnhw_to_nchw"),
    ("conv2d", "nchw_to_cnhw"),
    ("conv_direct", "conv_direct"),
    ("conv_direct", "pack_weights"),
    ("conv_direct", "conv_direct_quads"),
    ("conv_direct", "conv_direct_single"),
    ("conv_direct", "weight_grad"),
    ("conv_direct", "reduce_weight_grad"),
    ("mask", "apply_mask"),
    ("mask", "mask_union"),
    ("mask", "nm_mask"),
    ("learned_mask", "score_grad"),
    ("learned_mask", "gate_forward"),
    ("learned_mask", "gate_backward"),
    ("learned_mask", "gate_open_probability"),
    ("matmul", "main"),
    ("matmul", "main_blocked"),
    ("matmul", "main_wide"),
    ("matmul", "main_dot"),
    ("matmul", "reduce_splits"),
    ("matmul", "matvec"),
    ("roofline", "fma_peak"),
    ("roofline", "stream_copy"),
    ("ternary", "ternary_matmul"),
    ("ternary", "ternary_matmul_wide"),
    ("ternary", "ternary_matmul_t"),
    ("ternary", "ternary_matmul_cols"),
    ("ternary", "ternary_matmul_t_cols"),
    ("ternary", "ternary_unpack"),
    ("ternary_f16", "ternary_matmul_f16"),
    ("ternary_f16", "f32_to_f16"),
    ("ternary_f16", "f16_to_f32"),
    ("quant", "ternary_threshold"),
    ("quant", "ternarize"),
    ("quant", "ternary_ste"),
    ("quant", "ternary_relax"),
    ("quant", "channel_lasso"),
    ("quant", "ternary_pack"),
    ("maxpool", "maxpool_forward"),
    ("maxpool", "maxpool_backward"),
    ("optim", "sgd"),
    ("optim", "adam"),
    ("relu", "relu_forward"),
    ("select", "magnitude_keys"),
    ("select", "radix_histogram"),
    ("select", "radix_pick"),
    ("select", "restrict_keys"),
    ("select", "mark_above"),
    ("select", "scan_counts"),
    ("select", "mark_ties"),
    ("relu", "relu_backward"),
    ("softmax_xent", "argmax"),
    ("softmax_xent", "softmax_xent"),
    ("softmax_xent", "trades_xent"),
    ("wta", "wta_select"),
    ("wta", "wta_apply"),
    ("channel_skip", "skip_linear"),
    ("channel_skip", "skip_conv"),
    ("channel_skip", "skip_conv_backward_data"),
    ("channel_skip", "skip_conv_weight_grad"),
    ("channel_skip", "kept_slots"),
    ("channel_skip", "skip_weight_grad_reduce"),
    ("act_threshold", "threshold_forward"),
    ("act_threshold", "threshold_backward"),
    ("act_threshold", "threshold_stats"),
    ("act_threshold", "threshold_learn"),
    ("channel_affine", "channel_affine"),
    ("channel_affine", "channel_scale"),
    ("avgpool", "global_avgpool_forward"),
    ("avgpool", "global_avgpool_backward"),
    ("dropout", "dropout"),
    ("batchnorm", "bn_train_stats"),
    ("batchnorm", "bn_eval_affine"),
    ("batchnorm_backward", "bn_backward_reduce"),
    ("batchnorm_backward", "bn_backward_dx"),
    ("augment", "augment"),
    ("augmix", "augmix_op"),
    ("spectrum", "spectrum_rows"),
    ("spectrum", "spectrum_cols"),
    ("spectrum", "spectrum_mean"),
    ("shift_noise", "gaussian_noise"),
    ("shift_noise", "shot_noise"),
    ("shift_noise", "impulse_noise"),
    ("shift_tone", "brightness"),
    ("shift_tone", "contrast"),
    ("shift_pattern", "stripe"),
    ("shift_pattern", "dotted_line"),
    ("shift_pattern", "zigzag"),
    ("shift_edges", "canny_smooth"),
    ("shift_edges", "canny_classify"),
    ("shift_edges", "canny_grow"),
    ("shift_edges", "canny_finish"),
    ("shift_block", "pixelate"),
    ("shift_block", "jpeg_forward"),
    ("shift_block", "jpeg_inverse"),
    ("shift_blur", "convolve"),
    ("shift_blur", "motion_blur"),
    ("shift_blur", "zoom_blur"),
    ("shift_blur", "glass_shuffle"),
    ("shift_warp", "affine_warp"),
    ("shift_warp", "displace"),
    ("shift_weather", "random_field"),
    ("shift_weather", "plasma"),
    ("shift_weather", "example_range"),
    ("shift_weather", "fog_mix"),
    ("shift_weather", "threshold_field"),
    ("shift_weather", "spatter_mix"),
    ("shift_weather", "snow_mix"),
    ("shift_weather", "frost"),
];

// WebGPU's default limits (https://www.w3.org/TR/webgpu/#limits).
const MAX_STORAGE_BUFFERS_PER_STAGE: usize = 8;
const MAX_UNIFORM_BUFFERS_PER_STAGE: usize = 12;
const MAX_INVOCATIONS: u32 = 256;
const MAX_WORKGROUP_SIZE: [u32; 3] = [256, 256, 64];
const MAX_WORKGROUP_STORAGE: u32 = 16384;

/// The `.wgsl` files directly in `dir` (`shaders/`, or `shaders/common/` for the snippets
/// appended to several shaders), as (stem, text), read at test time so a new file cannot be
/// missed.
fn wgsl_files(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "wgsl"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let src = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (name, src)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no .wgsl files in {}", dir.display());
    out
}

/// Every shader as compiled: `kernels::shaders::ALL`'s sources, each a file from `shaders/`
/// with the `shaders/common/` snippets it uses appended (`shaders_all_lists_every_file`
/// checks that they are the files on disk).
fn shader_files() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        aer::kernels::shaders::ALL.iter().map(|s| (s.name.to_string(), s.source.to_string())).collect();
    out.sort();
    out
}

/// The names of the functions a WGSL text declares at module scope.
fn declared_functions(src: &str) -> BTreeSet<String> {
    src.lines()
        .filter_map(|l| l.strip_prefix("fn "))
        .map(|rest| rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap().to_string())
        .collect()
}

fn validate(name: &str, src: &str) -> (Module, ModuleInfo) {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("shaders/{name}.wgsl does not parse:\n{}", e.emit_to_string(src)));
    let info = Validator::new(ValidationFlags::all(), aer::gpu::shader_capabilities(src))
        .validate(&module)
        .unwrap_or_else(|e| panic!("shaders/{name}.wgsl does not validate:\n{}", e.emit_to_string(src)));
    (module, info)
}

#[test]
fn every_shader_parses_and_validates() {
    for (name, src) in shader_files() {
        validate(&name, &src);
    }
}

#[test]
fn shaders_all_lists_every_file() {
    let files = wgsl_files("shaders");
    let common = wgsl_files("shaders/common");
    let on_disk: BTreeSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let listed: BTreeSet<&str> = aer::kernels::shaders::ALL.iter().map(|s| s.name).collect();
    assert_eq!(listed.len(), aer::kernels::shaders::ALL.len(), "shaders::ALL lists a shader twice");
    assert_eq!(listed, on_disk, "shaders::ALL and the files in shaders/ differ");
    let mut used = BTreeSet::new();
    for s in aer::kernels::shaders::ALL {
        let (_, src) = files.iter().find(|(n, _)| n == s.name).unwrap();
        let stale = || format!("shaders::{} embeds an older shaders/{0}.wgsl or shaders/common/*.wgsl: rebuild", s.name);
        // The file itself, then whole snippets from shaders/common/ and nothing else.
        let mut rest = s.source.strip_prefix(src.as_str()).unwrap_or_else(|| panic!("{}", stale()));
        while !rest.is_empty() {
            let (name, snippet) = common
                .iter()
                .find(|(_, c)| rest.starts_with(c.as_str()))
                .unwrap_or_else(|| panic!("{}", stale()));
            used.insert(name.as_str());
            rest = &rest[snippet.len()..];
        }
    }
    let unused: Vec<_> = common.iter().map(|(n, _)| n.as_str()).filter(|n| !used.contains(n)).collect();
    assert!(unused.is_empty(), "shaders/common/ snippets that no shader includes: {unused:?}");
}

/// Code kept once in shaders/common/ is not copied back into a shader: no file in shaders/
/// declares a function that a common snippet declares (it would not compile where both are
/// joined, and would drift where they are not).
#[test]
fn common_snippets_are_not_copied() {
    let common: Vec<_> = wgsl_files("shaders/common").into_iter().map(|(n, src)| (n, declared_functions(&src))).collect();
    let mut copies = Vec::new();
    for (name, src) in wgsl_files("shaders") {
        for f in declared_functions(&src) {
            for (c, fns) in &common {
                if fns.contains(&f) {
                    copies.push(format!("shaders/{name}.wgsl declares {f}, kept in shaders/common/{c}.wgsl"));
                }
            }
        }
    }
    assert!(copies.is_empty(), "{copies:#?}");
}

#[test]
fn every_entry_point_is_tested() {
    let mut untested = Vec::new();
    let mut all = BTreeSet::new();
    for (name, src) in shader_files() {
        let (module, _) = validate(&name, &src);
        for ep in &module.entry_points {
            all.insert((name.clone(), ep.name.clone()));
            if !TESTED.contains(&(name.as_str(), ep.name.as_str())) {
                untested.push(format!("{name}::{}", ep.name));
            }
        }
    }
    assert!(untested.is_empty(), "entry points without a kernel test: {untested:?}");
    let stale: Vec<_> = TESTED.iter().filter(|(f, e)| !all.contains(&(f.to_string(), e.to_string()))).collect();
    assert!(stale.is_empty(), "TESTED names entry points that no longer exist: {stale:?}");
}

/// The stems of the `.rs` files directly in `dir`.
fn rust_files(dir: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Every shader `shaders/<name>.wgsl` has its CPU reference in `src/reference/<name>.rs` and
/// its kernel test in `kernels-test/<name>.rs`, and every file there is named after a shader
/// (or a `shaders/common/` snippet), apart from the shared ones listed here.
#[test]
fn files_are_named_after_shaders() {
    const REFERENCE_SHARED: &[&str] = &["mod", "common"];
    const TEST_SHARED: &[&str] = &["main", "common", "shaders"];
    let shaders: BTreeSet<String> = wgsl_files("shaders").into_iter().map(|(n, _)| n).collect();
    let snippets: BTreeSet<String> = wgsl_files("shaders/common").into_iter().map(|(n, _)| n).collect();
    let mut problems = Vec::new();
    for (dir, files, shared) in
        [("src/reference", rust_files("src/reference"), REFERENCE_SHARED), ("kernels-test", rust_files("kernels-test"), TEST_SHARED)]
    {
        for name in &shaders {
            if !files.contains(name) {
                problems.push(format!("shaders/{name}.wgsl has no {dir}/{name}.rs"));
            }
        }
        for f in &files {
            if !shaders.contains(f) && !snippets.contains(f) && !shared.contains(&f.as_str()) {
                problems.push(format!("{dir}/{f}.rs is named after no shader in shaders/ or shaders/common/"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// One entry point with its overrides at their declared defaults, alone in its module: what a
/// pipeline created without constants would compile. Sizes set by overrides become concrete.
fn specialise<'a>(
    name: &str,
    module: &'a Module,
    info: &'a ModuleInfo,
    entry: &str,
) -> (Cow<'a, Module>, Cow<'a, ModuleInfo>) {
    process_overrides(module, info, Some((ShaderStage::Compute, entry)), &PipelineConstants::default())
        .unwrap_or_else(|e| panic!("shaders/{name}.wgsl::{entry}: evaluating overrides at their defaults: {e}"))
}

#[test]
fn entry_points_fit_default_webgpu_limits() {
    let mut problems = Vec::new();
    for (name, src) in shader_files() {
        let (module, info) = validate(&name, &src);
        for entry in &module.entry_points {
            let (module, info) = specialise(&name, &module, &info, &entry.name);
            let i = module.entry_points.iter().position(|e| e.name == entry.name).unwrap();
            let ep = &module.entry_points[i];
            let at = format!("shaders/{name}.wgsl::{}", ep.name);
            let size = ep.workgroup_size;
            let invocations: u32 = size.iter().product();
            if invocations > MAX_INVOCATIONS || size.iter().zip(MAX_WORKGROUP_SIZE).any(|(&s, m)| s > m) {
                problems.push(format!("{at}: workgroup size {size:?} ({invocations} invocations) exceeds {MAX_WORKGROUP_SIZE:?} / {MAX_INVOCATIONS}"));
            }
            // Globals this entry point reaches, directly or through functions it calls.
            let uses = info.get_entry_point(i);
            let used: Vec<_> =
                module.global_variables.iter().filter(|(h, _)| !uses[*h].is_empty()).map(|(_, g)| g).collect();
            let storage = used.iter().filter(|g| matches!(g.space, AddressSpace::Storage { .. })).count();
            if storage > MAX_STORAGE_BUFFERS_PER_STAGE {
                problems.push(format!("{at}: {storage} storage buffers, limit {MAX_STORAGE_BUFFERS_PER_STAGE}"));
            }
            let uniform = used.iter().filter(|g| g.space == AddressSpace::Uniform).count();
            if uniform > MAX_UNIFORM_BUFFERS_PER_STAGE {
                problems.push(format!("{at}: {uniform} uniform buffers, limit {MAX_UNIFORM_BUFFERS_PER_STAGE}"));
            }
            let shared: u32 = used
                .iter()
                .filter(|g| g.space == AddressSpace::WorkGroup)
                .map(|g| module.types[g.ty].inner.size(module.to_ctx()))
                .sum();
            if shared > MAX_WORKGROUP_STORAGE {
                problems.push(format!("{at}: {shared} bytes of workgroup storage, limit {MAX_WORKGROUP_STORAGE}"));
            }
        }
    }
    assert!(problems.is_empty(), "entry points over WebGPU's default limits:\n  {}", problems.join("\n  "));
}

/// The size computation above must see arrays at their full length; guard it on a known case.
#[test]
fn workgroup_storage_is_measured() {
    let src = "var<workgroup> t: array<f32, 1024>;\nvar<workgroup> u: array<vec4<f32>, 8>;\n\
               @compute @workgroup_size(64) fn main() { t[0] = u[0].x; }";
    let (module, _) = validate("inline", src);
    let total: u32 = module.global_variables.iter().map(|(_, g)| module.types[g.ty].inner.size(module.to_ctx())).sum();
    assert_eq!(total, 4096 + 128);
}
