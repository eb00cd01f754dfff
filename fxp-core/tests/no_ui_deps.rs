//! The habit "libraries never print or draw", enforced on the manifests: no library crate of
//! the workspace (every member but the binaries' side, `fxp-core/cli` and `xtask`) lists clap
//! or indicatif in any dependency table, and one that has a binary gets them only through an
//! optional `fxp-cli` (its `cli` feature), so the library itself builds without them; a library
//! that uses another one turns that one's default features (its `cli`) off.
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item, TableLike};

/// Crates that may list clap and indicatif: the binaries' helper package and xtask.
const UI_SIDE: [&str; 2] = ["fxp-core/cli", "xtask"];
/// The packages that are UI and may not be a library's (non-optional) dependency.
const UI_PACKAGES: [&str; 2] = ["clap", "indicatif"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn manifest(path: &Path) -> DocumentMut {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.parse()
        .unwrap_or_else(|e| panic!("{path:?} is not TOML: {e}"))
}

/// Every dependency table of a manifest, with its name (`dependencies`, `dev-dependencies`,
/// `build-dependencies`, and the same under each `target.<cfg>`).
fn dependency_tables(doc: &DocumentMut) -> Vec<(String, &dyn TableLike)> {
    const KINDS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut out: Vec<(String, &dyn TableLike)> = Vec::new();
    for kind in KINDS {
        if let Some(t) = doc.get(kind).and_then(Item::as_table_like) {
            out.push((kind.to_string(), t));
        }
    }
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        for (cfg, target) in targets.iter() {
            for kind in KINDS {
                if let Some(t) = target.get(kind).and_then(Item::as_table_like) {
                    out.push((format!("target.{cfg}.{kind}"), t));
                }
            }
        }
    }
    out
}

/// The problems of one library manifest: UI packages listed (also under another name with
/// `package = …`), fxp-cli as a dependency that is not optional, or one of the `libraries`
/// (package names of the libraries with default features) as a dependency with its default
/// features (its binary's `cli`) on.
fn ui_problems(doc: &DocumentMut, libraries: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, deps) in dependency_tables(doc) {
        for (name, spec) in deps.iter() {
            let package = spec
                .as_table_like()
                .and_then(|t| t.get("package"))
                .and_then(Item::as_str)
                .unwrap_or(name);
            if UI_PACKAGES.contains(&package) {
                problems.push(format!("[{table}] lists {package}"));
            }
            let optional = spec
                .as_table_like()
                .and_then(|t| t.get("optional"))
                .and_then(Item::as_bool)
                .unwrap_or(false);
            // Only normal dependencies reach the library (a dev-dependency does not).
            let normal = table == "dependencies" || table.ends_with(".dependencies");
            if package == "fxp-cli" && normal && !optional {
                problems.push(format!(
                    "[{table}] lists fxp-cli without `optional = true` (the library would pull clap)"
                ));
            }
            let defaults = spec
                .as_table_like()
                .and_then(|t| t.get("default-features"))
                .and_then(Item::as_bool)
                .unwrap_or(true);
            if normal && defaults && libraries.iter().any(|l| l == package) {
                problems.push(format!(
                    "[{table}] lists {package} with its default features (its `cli`: clap)"
                ));
            }
        }
    }
    problems
}

/// The library crates: the workspace members but the UI side.
fn library_crates() -> Vec<String> {
    let doc = manifest(&root().join("Cargo.toml"));
    let members = doc["workspace"]["members"]
        .as_array()
        .expect("workspace.members is an array");
    members
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|m| !UI_SIDE.contains(m))
        .map(str::to_string)
        .collect()
}

#[test]
fn library_crates_list_neither_clap_nor_indicatif() {
    let crates = library_crates();
    for expected in ["fxp-core", "nn-cost", "cifar-infer", "nonlinear-sgd", "lms"] {
        assert!(
            crates.iter().any(|c| c == expected),
            "{expected} is not a workspace member: {crates:?}"
        );
    }
    let manifests: Vec<DocumentMut> = crates
        .iter()
        .map(|c| manifest(&root().join(c).join("Cargo.toml")))
        .collect();
    // The libraries with default features (a binary's `cli`).
    let names: Vec<String> = manifests
        .iter()
        .filter(|m| {
            m.get("features")
                .and_then(|f| f.get("default"))
                .and_then(Item::as_array)
                .is_some_and(|d| !d.is_empty())
        })
        .map(|m| m["package"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "nn-cost"), "{names:?}");
    let mut problems = Vec::new();
    for (c, doc) in crates.iter().zip(&manifests) {
        for p in ui_problems(doc, &names) {
            problems.push(format!("{c}/Cargo.toml: {p}"));
        }
    }
    assert!(
        problems.is_empty(),
        "libraries must not depend on UI crates (use fxp_core::progress::Progress; put clap and \
         bars in fxp-cli):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_ui_dependencies_wherever_they_are_listed() {
    let bad = r#"
        [dependencies]
        cli-parser = { package = "clap", version = "4" }
        fxp-cli = { path = "../fxp-core/cli" }
        [target.'cfg(unix)'.dependencies]
        indicatif = "0.17"
        [dev-dependencies.clap]
        version = "4"
        [target.'cfg(unix)'.dependencies.nn-cost]
        path = "../nn-cost"
    "#;
    let libraries = ["nn-cost".to_string()];
    let problems = ui_problems(&bad.parse().unwrap(), &libraries);
    assert_eq!(problems.len(), 5, "{problems:#?}");
    let good = r#"
        [dependencies]
        serde = "1"
        fxp-cli = { path = "../fxp-core/cli", optional = true }
        nn-cost = { path = "../nn-cost", default-features = false }
        [dev-dependencies]
        fxp-cli = { path = "../fxp-core/cli" }
        nn-cost = { path = "../nn-cost" }
    "#;
    assert!(ui_problems(&good.parse().unwrap(), &libraries).is_empty());
}
