//! Project checks that `cargo test` runs (see the test at the bottom) and that
//! `cargo run -p xtask -- tidy` runs by hand:
//!
//! * each crate depends only on the tieout crates the architecture allows
//!   (dependencies point inward to core; formats and store never meet);
//! * the domain core has no floating point, and no crate but the binary reads the
//!   environment or the wall clock.

use std::path::{Path, PathBuf};

/// crate directory -> tieout crates it may depend on (normal dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("crates/core", &[]),
    ("crates/formats", &["tieout-core"]),
    ("crates/store", &["tieout-core"]),
    ("crates/service", &["tieout-core", "tieout-formats", "tieout-store"]),
    ("crates/demo", &["tieout-core"]),
    ("crates/server", &["tieout-core", "tieout-service"]),
    ("crates/cli", &["tieout-core", "tieout-formats", "tieout-service", "tieout-demo", "tieout-server"]),
];

/// External crates the core may use: it does no IO, so no database, network or async.
const CORE_EXTERNAL: &[&str] = &["thiserror", "chrono", "regex"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source text without `//` comments and without `#[cfg(test)]` modules (tests may use
/// temp dirs and floats for property generation).
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines().map(|line| line.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

pub fn tidy() -> Vec<String> {
    let root = root();
    let mut problems = Vec::new();
    let members: Vec<String> = {
        let text = std::fs::read_to_string(root.join("Cargo.toml")).expect("workspace manifest");
        let manifest: toml::Table = text.parse().expect("workspace manifest is TOML");
        manifest["workspace"]["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|m| m.as_str().map(str::to_owned))
            .collect()
    };
    for member in members.iter().filter(|m| m.starts_with("crates/")) {
        let Some((_, allowed)) = ALLOWED.iter().find(|(dir, _)| dir == member) else {
            problems.push(format!("{member}: a crate the tidy check does not know; add it to ALLOWED in xtask"));
            continue;
        };
        let text = std::fs::read_to_string(root.join(member).join("Cargo.toml")).expect("crate manifest");
        let manifest: toml::Table = text.parse().expect("crate manifest is TOML");
        let dependencies = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
        for name in dependencies.keys() {
            if name.starts_with("tieout") && !allowed.contains(&name.as_str()) {
                problems.push(format!("{member} depends on {name}, which the architecture does not allow"));
            }
            if *member == "crates/core" && !CORE_EXTERNAL.contains(&name.as_str()) {
                problems
                    .push(format!("crates/core depends on {name}: the core does no IO; allowed are {CORE_EXTERNAL:?}"));
            }
        }
        let mut files = Vec::new();
        rust_files(&root.join(member).join("src"), &mut files);
        for file in files {
            let code = production_code(&std::fs::read_to_string(&file).expect("readable source"));
            let shown = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
            if *member == "crates/core" {
                for float in ["f32", "f64"] {
                    if code.split(|c: char| !c.is_alphanumeric() && c != '_').any(|token| token == float) {
                        problems.push(format!("{shown}: uses {float}; money and the core are exact integers"));
                    }
                }
            }
            if *member != "crates/cli" {
                for forbidden in ["env::var", "Utc::now", "Local::now", "SystemTime::now"] {
                    if code.contains(forbidden) {
                        problems.push(format!(
                            "{shown}: uses {forbidden}; only the binary reads the environment and the clock"
                        ));
                    }
                }
            }
        }
    }
    problems
}

fn main() {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("tidy") => {
            let problems = tidy();
            for problem in &problems {
                eprintln!("tidy: {problem}");
            }
            std::process::exit(if problems.is_empty() { 0 } else { 1 });
        }
        _ => {
            eprintln!("usage: cargo run -p xtask -- tidy");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tidy_architecture_rules_hold() {
        let problems = super::tidy();
        assert!(problems.is_empty(), "tidy found:\n{}", problems.join("\n"));
    }

    #[test]
    fn tidy_sees_floats_and_clocks() {
        let code = super::production_code("let x: f64 = 1.0; // f32 in a comment\n#[cfg(test)] mod t { f32 }");
        assert!(code.contains("f64"));
        assert!(!code.contains("f32"));
    }
}
