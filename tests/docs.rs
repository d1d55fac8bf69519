//! The documents say what is true: every crate feature is in the README's install table,
//! BENCHMARKS.md reads as a reference (no diary of sessions), and no file cites a document
//! that does not exist.

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The feature names a crate's Cargo.toml declares under `[features]`.
fn features(manifest: &str) -> Vec<String> {
    let text = read(manifest);
    let section = text
        .split("\n[features]\n")
        .nth(1)
        .unwrap_or_else(|| panic!("{manifest} has no [features]"));
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains('='))
        .map(|line| line.split('=').next().unwrap().trim().to_owned())
        .filter(|name| name != "default")
        .collect()
}

#[test]
fn every_feature_of_the_published_crates_is_in_the_readme_install_table() {
    let readme = read("README.md");
    let install = readme
        .split("## Install\n")
        .nth(1)
        .expect("the README has an Install section")
        .split("\n## ")
        .next()
        .unwrap();
    for (krate, manifest) in [
        ("event-runtime", "event-runtime/Cargo.toml"),
        ("event-warehouse", "event-warehouse/Cargo.toml"),
    ] {
        for feature in features(manifest) {
            let listed = install.lines().any(|row| {
                row.starts_with(&format!("| `{krate}` |")) && row.contains(&format!("`{feature}`"))
            });
            assert!(
                listed,
                "feature `{feature}` of {krate} is not in the README's install table"
            );
        }
    }
}

#[test]
fn benchmarks_md_is_a_reference_not_a_diary() {
    let text = read("BENCHMARKS.md").to_lowercase();
    for diary in [
        "session",
        "earlier run",
        "at the start of",
        "yesterday",
        "this time",
    ] {
        assert!(!text.contains(diary), "BENCHMARKS.md says {diary:?}");
    }
    assert!(text.contains("## results") && text.contains("## how to reproduce"));
}

/// Every `NAME.md` a source file or document mentions is a file of the repository.
#[test]
fn no_file_cites_a_document_that_does_not_exist() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        "",
        "src",
        "tests",
        "tests/common",
        "benches",
        "examples",
        "event-runtime/src",
        "event-warehouse/src",
        "event-derive/src",
        "event-derive/tests/ui/pass",
        "scripts",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let is_text = path.extension().is_some_and(|e| e == "rs" || e == "md");
            // This file names documents in its own text.
            if path.is_file() && is_text && !path.ends_with("tests/docs.rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 50, "{} files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices(".md") {
            let name_start = text[..i]
                .rfind(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                .map_or(0, |p| p + 1);
            let name = &text[name_start..i];
            if name.len() >= 3 {
                assert!(
                    root().join(format!("{name}.md")).exists(),
                    "{} cites {name}.md, which does not exist",
                    file.display()
                );
            }
        }
    }
}
