//! Weights in and out as plain safetensors, so that models trained elsewhere can be attacked
//! and compressed here and ours used elsewhere.
//!
//! The naming is PyTorch's for a module with named layers: linear layers `fc1`, `fc2`, ... and
//! convolutions `conv1`, `conv2`, ... in the order the model spec lists them, each with
//! `.weight` (linear [out, in], conv [out, in, kh, kw]) and `.bias` [out]. Activations are
//! NCHW and `flatten` keeps (c, h, w) order, as `torch.flatten(x, 1)` does, so a state dict
//! of the same architecture loads as it is. An `nn.Sequential` state dict (`0.weight`,
//! `3.bias`, optionally under a prefix such as `features.`) loads too: its weight layers are
//! taken in index order. Batch normalization layers are `bn1`, `bn2`, ... with `.weight`,
//! `.bias`, `.running_mean` and `.running_var`; PyTorch's `num_batches_tracked` counters are
//! ignored. F32, F16, BF16 and F64 tensors are read.

use crate::error::{AerError, Result};
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};

/// Tensors of a safetensors file as f32, by name, with their shapes.
pub fn read_tensors(bytes: &[u8], origin: &str) -> Result<BTreeMap<String, (Vec<usize>, Vec<f32>)>> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| AerError::Invalid(format!("{origin}: not a safetensors file, or truncated ({e})")))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        // A count of batches, not a weight: nothing in aer reads it.
        if name.ends_with(".num_batches_tracked") {
            continue;
        }
        let d = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => d.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
            Dtype::F64 => d.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
            Dtype::F16 => d.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            Dtype::BF16 => d.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            other => return Err(AerError::Invalid(format!("{origin}: tensor '{name}' is {other:?}; weights must be F32, F16, BF16 or F64"))),
        };
        out.insert(name, (view.shape().to_vec(), values));
    }
    Ok(out)
}

/// Match a file's tensors to the parameters `expected` (name, shape, in model order): by our
/// names when the file has them all, else an `nn.Sequential` state dict by layer order.
pub fn match_tensors(file: &BTreeMap<String, (Vec<usize>, Vec<f32>)>, expected: &[(String, Vec<usize>)], origin: &str) -> Result<HashMap<String, Vec<f32>>> {
    let by_name = expected.iter().all(|(n, _)| file.contains_key(n));
    let ours: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let named = file.keys().filter(|k| ours.contains(k.as_str())).count();
    // Named as ours, but not one for one: say which tensors differ, not that nothing matched.
    if named > 0 && (!by_name || named < file.len()) {
        let missing: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).filter(|n| !file.contains_key(*n)).collect();
        let extra: Vec<&str> = file.keys().map(String::as_str).filter(|k| !ours.contains(k)).collect();
        return Err(AerError::Invalid(format!(
            "{origin}: the tensors do not fit the model: missing {missing:?}, not in the model {extra:?} (a batchnorm layer has weight, bias, running_mean and running_var); is this the same architecture?"
        )));
    }
    let source: Vec<(String, String)> = if by_name {
        expected.iter().map(|(n, _)| (n.clone(), n.clone())).collect()
    } else {
        sequential_names(file, expected, origin)?
    };
    let mut out = HashMap::new();
    for ((ours, shape), (_, theirs)) in expected.iter().zip(&source) {
        let (s, v) = &file[theirs];
        if s != shape {
            return Err(AerError::Invalid(format!("{origin}: {}", shape_mismatch(theirs, s, ours, shape))));
        }
        out.insert(ours.clone(), v.clone());
    }
    Ok(out)
}

/// Why tensor `theirs` of shape `stored` cannot be parameter `ours` of shape `want`; a weight
/// whose dimensions are reversed gets its own hint, since the values would fit but be
/// scrambled.
pub fn shape_mismatch(theirs: &str, stored: &[usize], ours: &str, want: &[usize]) -> String {
    let reversed: Vec<usize> = stored.iter().rev().copied().collect();
    let hint = if stored.len() == 2 && reversed == want {
        " (stored transposed, [in, out]: aer and PyTorch store a linear weight as [out, in]; transpose it before saving, as Keras-style kernels need)".to_string()
    } else if stored.iter().product::<usize>() == want.iter().product::<usize>() {
        " (the same number of values in another layout; is this the same architecture and layout?)".to_string()
    } else {
        "; is this the same architecture?".to_string()
    };
    let whose = if theirs == ours { String::new() } else { format!(", the model's '{ours}' is") };
    if whose.is_empty() {
        format!("tensor '{theirs}' has shape {stored:?}, the model expects {want:?}{hint}")
    } else {
        format!("tensor '{theirs}' is {stored:?}{whose} {want:?}{hint}")
    }
}

/// Pair our parameters with `<prefix><index>.weight` / `.bias` tensors in index order.
fn sequential_names(file: &BTreeMap<String, (Vec<usize>, Vec<f32>)>, expected: &[(String, Vec<usize>)], origin: &str) -> Result<Vec<(String, String)>> {
    let index_of = |name: &str, suffix: &str| -> Option<(u64, String)> {
        let stem = name.strip_suffix(suffix)?;
        let (prefix, idx) = match stem.rfind('.') {
            Some(p) => (&stem[..=p], &stem[p + 1..]),
            None => ("", stem),
        };
        Some((idx.parse().ok()?, prefix.to_string()))
    };
    let mut layers: Vec<(u64, String, String)> = file
        .keys()
        .filter_map(|k| index_of(k, ".weight").map(|(i, p)| (i, p.clone(), format!("{p}{i}"))))
        .collect();
    layers.sort();
    let want = expected.iter().filter(|(n, _)| n.ends_with(".weight")).count();
    if layers.len() != want {
        let ours: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        let theirs: Vec<&str> = file.keys().map(String::as_str).collect();
        return Err(AerError::Invalid(format!(
            "{origin}: cannot match the tensors to the model: it needs {ours:?} (or an nn.Sequential state dict with {want} weight layers), the file has {theirs:?}"
        )));
    }
    let mut out = Vec::new();
    let mut layer = layers.iter();
    let mut current = None;
    for (n, _) in expected {
        if n.ends_with(".weight") {
            current = layer.next();
            out.push((n.clone(), format!("{}.weight", current.unwrap().2)));
        } else {
            // The layer's other tensors, by the same suffix: bias, running_mean, running_var.
            let stem = &current.ok_or_else(|| AerError::Invalid(format!("{origin}: '{n}' comes before any weight")))?.2;
            let suffix = n.rsplit('.').next().unwrap_or("bias");
            let theirs = format!("{stem}.{suffix}");
            if !file.contains_key(&theirs) {
                return Err(AerError::Invalid(format!("{origin}: '{stem}.weight' has no '{theirs}'; aer's layers all have biases, and batch normalization layers running statistics")));
            }
            out.push((n.clone(), theirs));
        }
    }
    Ok(out)
}

/// A plain safetensors file of `tensors` (name, shape, values) with `metadata`.
pub fn write_tensors(tensors: &[(String, Vec<usize>, Vec<f32>)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, v)| (n.clone(), safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), bytemuck::cast_slice(v)).expect("consistent tensor")))
        .collect();
    safetensors::serialize(views, Some(metadata)).map_err(|e| AerError::Invalid(format!("serialising weights: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[(&str, Vec<usize>)]) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
        entries.iter().map(|(n, s)| (n.to_string(), (s.clone(), vec![0.5; s.iter().product()]))).collect()
    }

    fn expected() -> Vec<(String, Vec<usize>)> {
        vec![("conv1.weight".into(), vec![4, 1, 3, 3]), ("conv1.bias".into(), vec![4]), ("fc1.weight".into(), vec![10, 16]), ("fc1.bias".into(), vec![10])]
    }

    #[test]
    fn sequential_state_dicts_match_by_layer_order() {
        // Index 10 sorts after 2 numerically, not as text.
        let f = file(&[("net.10.weight", vec![10, 16]), ("net.10.bias", vec![10]), ("net.2.weight", vec![4, 1, 3, 3]), ("net.2.bias", vec![4])]);
        let m = match_tensors(&f, &expected(), "f").unwrap();
        assert_eq!(m["fc1.weight"].len(), 160);
        assert_eq!(m["conv1.bias"].len(), 4);
    }

    #[test]
    fn mismatches_name_both_sides() {
        let f = file(&[("conv1.weight", vec![4, 1, 5, 5]), ("conv1.bias", vec![4]), ("fc1.weight", vec![10, 16]), ("fc1.bias", vec![10])]);
        let e = match_tensors(&f, &expected(), "f.safetensors").unwrap_err().to_string();
        assert!(e.contains("[4, 1, 5, 5]") && e.contains("[4, 1, 3, 3]"), "{e}");
        let e = match_tensors(&file(&[("x", vec![3])]), &expected(), "f.safetensors").unwrap_err().to_string();
        assert!(e.contains("conv1.weight") && e.contains("\"x\""), "{e}");
    }

    fn with_bn() -> Vec<(String, Vec<usize>)> {
        let bn = ["weight", "bias", "running_mean", "running_var"].map(|t| (format!("bn1.{t}"), vec![4]));
        let mut e = expected();
        e.splice(2..2, bn);
        e
    }

    #[test]
    fn batchnorm_tensors_match_by_name_and_by_layer_order() {
        let mut named: Vec<(String, Vec<usize>)> = with_bn();
        let m = match_tensors(&file(&named.iter().map(|(n, s)| (n.as_str(), s.clone())).collect::<Vec<_>>()), &with_bn(), "f").unwrap();
        assert_eq!(m.len(), 8);
        // nn.Sequential(conv, bn, relu, flatten, linear): indices 0, 1 and 4.
        let seq = file(&[("0.weight", vec![4, 1, 3, 3]), ("0.bias", vec![4]), ("1.weight", vec![4]), ("1.bias", vec![4]), ("1.running_mean", vec![4]), ("1.running_var", vec![4]), ("4.weight", vec![10, 16]), ("4.bias", vec![10])]);
        assert_eq!(match_tensors(&seq, &with_bn(), "f").unwrap().len(), 8);
        // A missing running variance and an extra tensor are both named.
        named.remove(5);
        let f = file(&named.iter().map(|(n, s)| (n.as_str(), s.clone())).chain([("bn2.weight", vec![4])]).collect::<Vec<_>>());
        let e = match_tensors(&f, &with_bn(), "f.safetensors").unwrap_err().to_string();
        assert!(e.contains("bn1.running_var") && e.contains("bn2.weight") && e.contains("running_mean"), "{e}");
        // A model without batch normalization refuses a file with it.
        let f = file(&with_bn().iter().map(|(n, s)| (n.as_str(), s.clone())).collect::<Vec<_>>());
        let e = match_tensors(&f, &expected(), "f.safetensors").unwrap_err().to_string();
        assert!(e.contains("bn1.weight"), "{e}");
    }

    #[test]
    fn batch_counters_are_ignored() {
        let count = 7i64.to_le_bytes();
        let w = [1f32, 2.0];
        let views = vec![
            ("bn1.num_batches_tracked".to_string(), safetensors::tensor::TensorView::new(Dtype::I64, vec![], &count).unwrap()),
            ("bn1.weight".to_string(), safetensors::tensor::TensorView::new(Dtype::F32, vec![2], bytemuck::cast_slice(&w)).unwrap()),
        ];
        let bytes = safetensors::serialize(views, None).unwrap();
        let t = read_tensors(&bytes, "f").unwrap();
        assert_eq!(t.keys().collect::<Vec<_>>(), ["bn1.weight"]);
    }
}
