//! Where HAR bytes come from: a file, standard input (`-`), or bytes in memory; gzip is
//! recognised by its magic number, whatever the file is called.

use crate::error::ReadError;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// An opened input. `progress` counts bytes taken from the underlying file (compressed
/// bytes for `.gz`), so it can be compared with `len` for a progress bar.
pub struct Source {
    pub name: Arc<str>,
    pub len: Option<u64>,
    pub gzip: bool,
    pub progress: Arc<AtomicU64>,
    /// The largest entry (or header field) read, in bytes of JSON (uncompressed);
    /// larger is an error naming where. Unbounded unless set ([`Source::max_entry`]).
    pub max_entry: Option<u64>,
    pub(crate) reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("len", &self.len)
            .field("gzip", &self.gzip)
            .finish()
    }
}

struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Source {
    /// Refuse entries (and header fields) larger than `bytes` of JSON, as read after
    /// decompression; `None` for no limit. Memory is bounded by it (a few times it with
    /// several worker threads), also for a small `.gz` that inflates to gigabytes.
    pub fn max_entry(mut self, bytes: Option<u64>) -> Source {
        self.max_entry = bytes;
        self
    }

    /// Open `path`; `-` is standard input.
    pub fn open(path: &str) -> Result<Source, ReadError> {
        if path == "-" {
            return Source::from_reader("<stdin>", None, io::stdin());
        }
        let name: Arc<str> = Arc::from(path);
        let io_err = |source| ReadError::Io {
            file: name.clone(),
            source,
        };
        let file = File::open(Path::new(path)).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(io_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a directory, not a HAR file",
            )));
        }
        Source::from_reader(path, Some(meta.len()), file)
    }

    /// Bytes held in memory (the built-in example, tests).
    pub fn from_bytes(name: &str, bytes: impl AsRef<[u8]> + Send + 'static) -> Source {
        let len = bytes.as_ref().len() as u64;
        Source::from_reader(name, Some(len), io::Cursor::new(bytes))
            .expect("reading from memory cannot fail")
    }

    pub fn from_reader(
        name: &str,
        len: Option<u64>,
        reader: impl Read + Send + 'static,
    ) -> Result<Source, ReadError> {
        let name: Arc<str> = Arc::from(name);
        let progress = Arc::new(AtomicU64::new(0));
        let mut buffered = BufReader::with_capacity(
            64 * 1024,
            Counting {
                inner: reader,
                count: progress.clone(),
            },
        );
        let head = buffered.fill_buf().map_err(|source| ReadError::Io {
            file: name.clone(),
            source,
        })?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        Ok(Source {
            name,
            len,
            gzip,
            progress,
            max_entry: None,
            reader,
        })
    }
}

/// Fills `buf` from `file` at `offset` without moving a cursor others share, so threads
/// can read one file at once (`pread` on Unix).
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Seek, SeekFrom};
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}
