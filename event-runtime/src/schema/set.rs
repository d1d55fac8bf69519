//! The events of a crate, exported to a folder and checked against it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::compat::{check_compatible, violations, Violation};
use super::read::{compile_tree, compiler_for, tree_message, ParsedSchema, SchemaParseError};
use crate::Event;

/// The events whose schemas a crate publishes; list each one with [`SchemaSet::event`],
/// or with [`SchemaSet::new_event`] until its first snapshot is committed.
#[derive(Clone, Debug, Default)]
pub struct SchemaSet {
    /// Every event's file as its event renders it, before the file options.
    rendered: Vec<(String, String)>,
    /// The same with the file options: what is exported and checked.
    files: Vec<(String, String)>,
    options: FileOptions,
    /// Files of events added as new: they pass the check without a snapshot.
    new_files: Vec<String>,
}

/// The file options export writes for consumers' code generators.
#[derive(Clone, Debug, Default)]
struct FileOptions {
    java_package: Option<String>,
    java_multiple_files: bool,
    go_package: Option<String>,
}

/// `value` as a protobuf string literal.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl FileOptions {
    /// `text` with the option lines after its `package` line.
    fn apply(&self, text: &str) -> String {
        let mut lines = String::new();
        if let Some(package) = &self.java_package {
            lines.push_str(&format!("option java_package = {};\n", quoted(package)));
        }
        if self.java_multiple_files {
            lines.push_str("option java_multiple_files = true;\n");
        }
        if let Some(package) = &self.go_package {
            lines.push_str(&format!("option go_package = {};\n", quoted(package)));
        }
        if lines.is_empty() {
            return text.to_owned();
        }
        match text.find("\npackage ").and_then(|at| {
            let end = at + 1 + text[at + 1..].find('\n')?;
            Some(end + 1)
        }) {
            Some(after_package) => format!(
                "{}\n{lines}{}",
                &text[..after_package],
                &text[after_package..]
            ),
            None => text.to_owned(),
        }
    }
}

/// Why the current schemas are not compatible with the snapshot.
#[derive(Debug)]
pub enum SchemaCheckError {
    /// A snapshot file could not be read.
    Io(PathBuf, io::Error),
    /// The snapshot directory does not exist (a mistyped path would otherwise check nothing).
    MissingDirectory(PathBuf),
    /// An event has no snapshot file in the directory.
    MissingSnapshot(PathBuf),
    /// A snapshot file is not in this crate's layout.
    Parse(PathBuf, SchemaParseError),
    /// Breaking changes, per file.
    Breaking(Vec<(PathBuf, Vec<Violation>)>),
    /// An event's message is in no file of the tree checked against.
    NotInTree {
        /// The message's full name.
        message: String,
        /// The tree.
        dir: PathBuf,
    },
}

impl fmt::Display for SchemaCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaCheckError::Io(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            SchemaCheckError::MissingDirectory(path) => write!(
                f,
                "no snapshot directory at {}: check the path, or export the schemas there first",
                path.display()
            ),
            SchemaCheckError::MissingSnapshot(path) => write!(
                f,
                "no snapshot at {}: export the schemas and commit the file, or add the event \
                 with `SchemaSet::new_event` until its first snapshot is committed",
                path.display()
            ),
            SchemaCheckError::Parse(path, e) => write!(f, "{}: {e}", path.display()),
            SchemaCheckError::NotInTree { message, dir } => write!(
                f,
                "no file under {} declares message `{message}`: add it to the shared \
                 repository, or check its package and name",
                dir.display()
            ),
            SchemaCheckError::Breaking(files) => {
                writeln!(
                    f,
                    "breaking schema changes (consumers of these topics would misread records):"
                )?;
                for (path, violations) in files {
                    for v in violations {
                        writeln!(f, "  {}: {v}", path.display())?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for SchemaCheckError {}

impl SchemaSet {
    /// An empty set.
    pub fn new() -> Self {
        SchemaSet::default()
    }

    /// Adds an event; its file is `<snake_case message name>.proto`, and the check fails
    /// when the snapshot directory lacks it.
    pub fn event<E: Event>(mut self) -> Self {
        let file = (file_name::<E>(), E::proto_schema());
        self.files
            .push((file.0.clone(), self.options.apply(&file.1)));
        self.rendered.push(file);
        self
    }

    /// Sets `option java_package` in every exported file, so Java consumers generate
    /// their classes there (`com.acme.events`).
    pub fn java_package(self, package: impl Into<String>) -> Self {
        self.with_options(|o| o.java_package = Some(package.into()))
    }

    /// Sets `option java_multiple_files = true` in every exported file: one Java class
    /// per message instead of one wrapper class per file.
    pub fn java_multiple_files(self, yes: bool) -> Self {
        self.with_options(|o| o.java_multiple_files = yes)
    }

    /// Sets `option go_package` in every exported file: the Go import path, optionally
    /// with `;name` (`github.com/acme/events/gen/go;eventspb`).
    pub fn go_package(self, package: impl Into<String>) -> Self {
        self.with_options(|o| o.go_package = Some(package.into()))
    }

    fn with_options(mut self, change: impl FnOnce(&mut FileOptions)) -> Self {
        change(&mut self.options);
        self.files = self
            .rendered
            .iter()
            .map(|(name, text)| (name.clone(), self.options.apply(text)))
            .collect();
        self
    }

    /// Adds an event that has no snapshot yet: the check passes without its file, and
    /// checks it once the file is there. Switch to [`SchemaSet::event`] once the first
    /// snapshot is committed.
    pub fn new_event<E: Event>(mut self) -> Self {
        self.new_files.push(file_name::<E>());
        self.event::<E>()
    }

    /// The `(file name, .proto text)` of every event.
    pub fn files(&self) -> &[(String, String)] {
        &self.files
    }

    /// Writes every event's `.proto` into `dir` (created if needed) and returns the paths.
    pub fn export(&self, dir: impl AsRef<Path>) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir.as_ref())?;
        self.files
            .iter()
            .map(|(name, text)| {
                let path = dir.as_ref().join(name);
                std::fs::write(&path, text)?;
                Ok(path)
            })
            .collect()
    }

    /// Compares every event with its snapshot in `dir`. A missing directory is an error,
    /// and so is an event without a snapshot file, unless it was added with
    /// [`SchemaSet::new_event`].
    pub fn check_against(&self, dir: impl AsRef<Path>) -> Result<(), SchemaCheckError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(SchemaCheckError::MissingDirectory(dir.to_path_buf()));
        }
        let mut breaking = Vec::new();
        for (name, text) in &self.files {
            let path = dir.join(name);
            let snapshot = match std::fs::read_to_string(&path) {
                Ok(snapshot) => snapshot,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if self.new_files.contains(name) {
                        continue;
                    }
                    return Err(SchemaCheckError::MissingSnapshot(path));
                }
                Err(e) => return Err(SchemaCheckError::Io(path, e)),
            };
            let violations = check_compatible(&snapshot, text)
                .map_err(|e| SchemaCheckError::Parse(path.clone(), e))?;
            if !violations.is_empty() {
                breaking.push((path, violations));
            }
        }
        if breaking.is_empty() {
            Ok(())
        } else {
            Err(SchemaCheckError::Breaking(breaking))
        }
    }
}

impl SchemaSet {
    /// A `FileDescriptorSet` (protobuf-encoded `google.protobuf.FileDescriptorSet`) of
    /// every event's file, named as [`SchemaSet::export`] names it, and of the well-known
    /// files they import: what `protoc --descriptor_set_in`, prost-reflect, stream
    /// processors and schema registries load instead of `.proto` text.
    pub fn file_descriptor_set(&self) -> Result<Vec<u8>, SchemaParseError> {
        let mut compiler = compiler_for(&self.files);
        compiler.include_imports(true);
        for (name, text) in &self.files {
            compiler
                .open_file(name)
                .map_err(|e| super::read::compile_error(&e, Some(text)))?;
        }
        Ok(compiler.encode_file_descriptor_set())
    }

    /// Compares every event with its message in a `.proto` tree written elsewhere, such
    /// as a company's central schema repository: every file under `dir` is compiled (its
    /// imports resolved from `dir` and the well-known types), each event's message is
    /// found by its full name wherever it is declared, and the same rules apply. A tree
    /// file that does not compile is an error, and so is an event whose message is not in
    /// the tree.
    pub fn check_against_tree(&self, dir: impl AsRef<Path>) -> Result<(), SchemaCheckError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(SchemaCheckError::MissingDirectory(dir.to_path_buf()));
        }
        let pool = compile_tree(dir)
            .map_err(|(file, e)| SchemaCheckError::Parse(PathBuf::from(file), e))?;
        let mut breaking = Vec::new();
        for (name, text) in &self.files {
            let new = ParsedSchema::parse(text)
                .map_err(|e| SchemaCheckError::Parse(PathBuf::from(name), e))?;
            let Some((old, path)) = tree_message(&pool, dir, &new) else {
                if self.new_files.contains(name) {
                    continue;
                }
                return Err(SchemaCheckError::NotInTree {
                    message: new.full_name(),
                    dir: dir.to_path_buf(),
                });
            };
            let found = violations(&old, &new);
            if !found.is_empty() {
                breaking.push((path, found));
            }
        }
        if breaking.is_empty() {
            Ok(())
        } else {
            Err(SchemaCheckError::Breaking(breaking))
        }
    }
}

/// An event's snapshot file name: `<snake_case message name>.proto`.
fn file_name<E: Event>() -> String {
    let message = E::MESSAGE_NAME
        .rsplit('.')
        .next()
        .unwrap_or(E::MESSAGE_NAME);
    format!("{}.proto", event_names::snake_case(message))
}
