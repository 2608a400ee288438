//! The crate's layers import in one direction only (docs/architecture.md): every `crate::x`
//! path in `src/` names a module of the same layer or of a lower one, and modules of one layer
//! never import each other in a circle. Run with `--nocapture` to print the import table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer, lowest first. Keep in step with
/// docs/architecture.md.
const LAYERS: &[(&str, usize)] = &[
    ("error", 0),
    ("files", 0),
    ("gpu", 1),
    ("data", 1),
    ("kernels", 2),
    ("reference", 3),
    ("nn", 4),
    ("train", 5),
    ("attack", 6),
    ("verify", 6),
    ("faults", 6),
    ("sparse", 6),
    ("quant", 6),
    ("watermark", 6),
    ("uncertainty", 6),
    ("shift", 6),
    ("methods", 7),
    ("deck", 7),
    ("pipeline", 8),
    ("bench", 9),
    ("report", 9),
    ("cli", 10),
    ("web", 10),
];

/// Names the crate root re-exports from `error`.
const ROOT_ITEMS: &[&str] = &["AerError", "Result"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source without comments (line, doc and block comments) and without string contents, so
/// a path named in prose is not an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        if in_str {
            // String contents are not code either.
            if b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                in_str = false;
                out.push('"');
            }
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i = text[i..].find("*/").map_or(b.len(), |j| i + j + 2);
        } else {
            if b[i] == b'"' && !(i > 0 && b[i - 1] == b'\'') {
                in_str = true;
            }
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The top-level modules a file's code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            group.split(',').map(|s| s.trim().split("::").next().unwrap_or("").trim()).collect()
        } else {
            vec![&rest[..rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len())]]
        };
        for n in names.into_iter().filter(|n| !n.is_empty()) {
            out.insert(if ROOT_ITEMS.contains(&n) { "error".to_string() } else { n.to_string() });
        }
    }
    out
}

/// module -> module -> files that import it.
fn import_table() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut table: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let from = match rel.components().next().unwrap().as_os_str().to_str().unwrap() {
            top if top.ends_with(".rs") => top.trim_end_matches(".rs").to_string(),
            top => top.to_string(),
        };
        if from == "lib" || from == "main" {
            continue;
        }
        for to in imports(&code_only(&std::fs::read_to_string(&f).unwrap())) {
            if to != from {
                table.entry(from.clone()).or_default().entry(to).or_default().push(rel.display().to_string());
            }
        }
    }
    table
}

#[test]
fn every_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for e in std::fs::read_dir(&src).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let module = name.trim_end_matches(".rs");
        if module != "lib" && module != "main" {
            assert!(layer(module).is_some(), "src/{name} has no layer: add it to LAYERS here and to docs/architecture.md");
        }
    }
}

#[test]
fn imports_point_down_the_layers() {
    let table = import_table();
    let mut wrong = Vec::new();
    for (from, tos) in &table {
        let line: Vec<String> = tos.iter().map(|(to, files)| format!("{to}({})", files.len())).collect();
        println!("{from} -> {}", line.join(" "));
        for (to, files) in tos {
            match (layer(from), layer(to)) {
                (Some(a), Some(b)) if b <= a => {}
                (_, None) => wrong.push(format!("{from} -> crate::{to}: no such module in LAYERS ({})", files.join(", "))),
                _ => wrong.push(format!("{from} (layer {:?}) imports {to} (layer {:?}) from a layer above: {}", layer(from), layer(to), files.join(", "))),
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layers (docs/architecture.md):\n{}", wrong.join("\n"));
}

#[test]
fn modules_of_one_layer_import_no_circle() {
    let table = import_table();
    let same: BTreeMap<&str, Vec<&str>> = table
        .iter()
        .map(|(from, tos)| (from.as_str(), tos.keys().map(String::as_str).filter(|to| layer(to) == layer(from)).collect()))
        .collect();
    // Depth-first search for a back edge.
    fn visit<'a>(m: &'a str, g: &BTreeMap<&'a str, Vec<&'a str>>, path: &mut Vec<&'a str>, done: &mut BTreeSet<&'a str>) -> Option<String> {
        if let Some(at) = path.iter().position(|&p| p == m) {
            return Some(format!("{} -> {m}", path[at..].join(" -> ")));
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for &next in g.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for &m in same.keys() {
        if let Some(circle) = visit(m, &same, &mut Vec::new(), &mut done) {
            panic!("modules of one layer import each other in a circle: {circle}");
        }
    }
}

#[test]
fn the_checker_sees_imports_and_ignores_prose() {
    let code = code_only("use crate::{AerError, gpu::Gpu};\n/// see crate::bench\nlet s = \"crate::web\"; // crate::cli\nlet x = crate::nn::Model::new();");
    let got: Vec<String> = imports(&code).into_iter().collect();
    assert_eq!(got, ["error", "gpu", "nn"]);
}
