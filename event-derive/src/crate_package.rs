//! The crate-wide default package: `[package.metadata.events] package = "..."` in the
//! Cargo.toml of the crate that defines the events, read when the derive expands. One place
//! sets it for every event of the crate; `#[event(package = "...")]` still wins.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// What the crate's manifest says, read once per crate.
#[derive(Clone)]
pub struct CratePackage {
    /// The manifest, so the derived code can make rustc watch it.
    pub manifest: Option<PathBuf>,
    /// The package it sets, if any, or why its setting is unusable.
    pub package: Result<Option<String>, String>,
}

static READ: Mutex<Option<HashMap<PathBuf, CratePackage>>> = Mutex::new(None);

/// The default of the crate being compiled (Cargo says where its manifest is).
pub fn crate_package() -> CratePackage {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return CratePackage {
            manifest: None,
            package: Ok(None),
        };
    };
    let manifest = PathBuf::from(dir).join("Cargo.toml");
    let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
    read.get_or_insert_with(HashMap::new)
        .entry(manifest.clone())
        .or_insert_with(|| CratePackage {
            package: package_in(&manifest),
            manifest: manifest.is_file().then_some(manifest),
        })
        .clone()
}

fn package_in(manifest: &std::path::Path) -> Result<Option<String>, String> {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return Ok(None);
    };
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{} does not parse: {e}", manifest.display()))?;
    let setting = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("events"))
        .and_then(|e| e.get("package"));
    match setting {
        None => Ok(None),
        Some(toml::Value::String(package)) => Ok(Some(package.clone())),
        Some(other) => Err(format!(
            "`[package.metadata.events] package` in {} is {}, not a string like \"acme.payments.v1\"",
            manifest.display(),
            other.type_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::package_in;

    fn read(manifest: &str) -> Result<Option<String>, String> {
        let dir = std::env::temp_dir().join(format!(
            "crate-package-{}-{}",
            std::process::id(),
            manifest.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("Cargo.toml");
        std::fs::write(&path, manifest).unwrap();
        let read = package_in(&path);
        std::fs::remove_dir_all(&dir).ok();
        read
    }

    #[test]
    fn the_setting_is_read_and_a_wrong_one_is_explained() {
        let head = "[package]\nname = \"shop\"\nversion = \"0.1.0\"\n";
        assert_eq!(read(head), Ok(None));
        assert_eq!(
            read(&format!(
                "{head}\n[package.metadata.events]\npackage = \"acme.shop.v1\"\n"
            )),
            Ok(Some("acme.shop.v1".into()))
        );
        let wrong = read(&format!("{head}\n[package.metadata.events]\npackage = 3\n")).unwrap_err();
        assert!(wrong.contains("is integer, not a string"), "{wrong}");
    }
}
