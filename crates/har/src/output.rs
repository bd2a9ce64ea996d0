//! Output that is all or nothing: a file is written beside its destination under a
//! temporary name and renamed over it only when complete, so an error or a crash never
//! leaves a half-written file where a good one was. `-` is standard output.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: refusing to write over an input file (write elsewhere, then move it)")]
    WouldOverwriteInput { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    File {
        tmp: BufWriter<tempfile::NamedTempFile>,
        dest: PathBuf,
    },
}

/// Whether two paths name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
        false
    }
    #[cfg(not(unix))]
    {
        match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

impl Output {
    /// Open `dest` (`-` for standard output), refusing any path that is one of `inputs`.
    pub fn create(dest: &str, inputs: &[&str]) -> Result<Output, OutputError> {
        if dest == "-" {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                256 * 1024,
                io::stdout(),
            )));
        }
        let path = PathBuf::from(dest);
        if inputs
            .iter()
            .any(|i| *i != "-" && same_file(Path::new(i), &path))
        {
            return Err(OutputError::WouldOverwriteInput { path });
        }
        let err = |source| OutputError::Io {
            path: path.clone(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(err)?;
        Ok(Output::File {
            tmp: BufWriter::with_capacity(256 * 1024, tmp),
            dest: path,
        })
    }

    /// Finish: flush, sync and move the file into place. Without this, dropping the
    /// output removes the temporary file and leaves any existing destination untouched.
    pub fn commit(self) -> Result<(), OutputError> {
        match self {
            Output::Stdout(mut w) => w.flush().map_err(|source| OutputError::Io {
                path: PathBuf::from("<stdout>"),
                source,
            }),
            Output::File { tmp, dest } => {
                let err = |source| OutputError::Io {
                    path: dest.clone(),
                    source,
                };
                let tmp = tmp.into_inner().map_err(|e| err(e.into_error()))?;
                tmp.as_file().sync_all().map_err(err)?;
                let perms = match fs::metadata(&dest) {
                    Ok(m) => m.permissions(),
                    Err(_) => default_permissions(),
                };
                let _ = fs::set_permissions(tmp.path(), perms);
                tmp.persist(&dest).map_err(|e| err(e.error))?;
                Ok(())
            }
        }
    }
}

#[cfg(unix)]
fn default_permissions() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o644)
}

#[cfg(not(unix))]
fn default_permissions() -> fs::Permissions {
    fs::metadata(".").map(|m| m.permissions()).unwrap()
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File { tmp, .. } => tmp.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File { tmp, .. } => tmp.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File { tmp, .. } => tmp.flush(),
        }
    }
}
