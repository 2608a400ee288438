//! `aer run FILE --set KEY=VALUE`: a setting of the pipeline file replaced (or added) without
//! editing the file. KEY is a dotted path into the TOML, array elements by their 0-based index
//! (`seed`, `stages.2.attack.eps`, `stages.0.train.epochs`); VALUE is read as a TOML value
//! (`0.2`, `[0.5, 0.9]` for a sweep, `"pgd"`), or as a string when it is not one (`cnn`).

use crate::error::{AerError, Result};
use toml::Value;

/// One `--set`: the path and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: Value,
    /// Whether the file had a value there (else the setting is added, and a name the file
    /// format does not know is refused when the file is read).
    pub existed: bool,
}

/// Parse `KEY=VALUE`.
pub fn parse_override(text: &str) -> Result<(String, Value)> {
    let (key, raw) = text.split_once('=').ok_or_else(|| AerError::Invalid(format!("--set {text}: give KEY=VALUE, e.g. --set stages.2.attack.eps=0.2 or --set seed=1")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(AerError::Invalid(format!("--set {text}: '{key}' is not a dotted path such as stages.2.attack.eps")));
    }
    let raw = raw.trim();
    // A TOML value when it is one (numbers, booleans, lists, quoted strings), else a string.
    let value = toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v")).unwrap_or_else(|| Value::String(raw.to_string()));
    Ok((key.to_string(), value))
}

/// Apply `sets` (each `KEY=VALUE`) to the parsed file, in order.
pub fn apply(root: &mut Value, sets: &[String]) -> Result<Vec<Override>> {
    let mut out = Vec::new();
    for text in sets {
        let (key, value) = parse_override(text)?;
        let parts: Vec<&str> = key.split('.').collect();
        let mut at = &mut *root;
        for (depth, part) in parts[..parts.len() - 1].iter().enumerate() {
            let here = parts[..=depth].join(".");
            at = match at {
                Value::Array(items) => {
                    let n = items.len();
                    let i: usize = part.parse().map_err(|_| AerError::Invalid(format!("--set {key}: {here} is a list: give an index from 0 to {}", n.saturating_sub(1))))?;
                    items.get_mut(i).ok_or_else(|| AerError::Invalid(format!("--set {key}: {here}: the file has {n} (indices 0 to {}); --set cannot add one", n.saturating_sub(1))))?
                }
                // A table the file leaves out (its settings all defaults) is added.
                Value::Table(t) => t.entry(part.to_string()).or_insert_with(|| Value::Table(Default::default())),
                _ => return Err(AerError::Invalid(format!("--set {key}: {} is a single value, not a table", parts[..depth].join(".")))),
            };
        }
        let last = parts[parts.len() - 1];
        let existed = match at {
            Value::Table(t) => t.insert(last.to_string(), value.clone()).is_some(),
            Value::Array(items) => {
                let n = items.len();
                let slot = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)).ok_or_else(|| AerError::Invalid(format!("--set {key}: give an index from 0 to {}", n.saturating_sub(1))))?;
                *slot = value.clone();
                true
            }
            _ => return Err(AerError::Invalid(format!("--set {key}: {} is a single value, not a table", parts[..parts.len() - 1].join(".")))),
        };
        out.push(Override { key, value, existed });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_take_their_toml_type_and_paths_reach_into_stages() {
        let mut v: Value = toml::from_str("seed = 0\n[[stages]]\nkind = \"train\"\n[[stages]]\nkind = \"attack\"\n").unwrap();
        let sets = ["seed=3", "stages.1.attack.eps=0.2", "stages.1.attack.attacks=[\"pgd\"]", "model=cnn", "stages.0.train.epochs=[1, 2]"].map(String::from);
        let o = apply(&mut v, &sets).unwrap();
        assert_eq!(v["seed"].as_integer(), Some(3));
        assert_eq!(v["stages"][1]["attack"]["eps"].as_float(), Some(0.2));
        assert_eq!(v["stages"][1]["attack"]["attacks"][0].as_str(), Some("pgd"));
        assert_eq!(v["model"].as_str(), Some("cnn"));
        assert_eq!(v["stages"][0]["train"]["epochs"].as_array().map(Vec::len), Some(2));
        assert!(o[0].existed && !o[1].existed);
        for (bad, says) in [("seed", "KEY=VALUE"), ("stages.5.n=1", "the file has 2"), ("stages.x.n=1", "is a list"), ("seed.x=1", "single value"), (".a=1", "dotted path")] {
            let e = apply(&mut v.clone(), &[bad.to_string()]).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
