//! Entries processed on several threads, handed back in file order.
//!
//! One thread cuts entries out of the input (the [`HarReader`]); a pool of workers runs
//! `f` on batches of them (parse, validate, serialise …); the caller gets the results in
//! order. Channels are bounded and the reader may run at most [`window`] batches ahead of
//! the caller (a slow batch does not let the others pile up behind it), so memory stays at
//! a few batches (≈ 256 KiB each, or one entry if it is larger) and their results, whatever
//! the file size. Dropping the iterator early stops the threads.

use crate::error::{Pos, ReadError};
use crate::reader::{HarReader, RawEntry};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

const BATCH_BYTES: usize = 256 << 10;
const BATCH_ENTRIES: usize = 2048;

struct Batch {
    bytes: Vec<u8>,
    items: Vec<(usize, Pos, Range<usize>)>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            bytes: Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 4),
            items: Vec::new(),
        }
    }
}

// One per iterator; boxing the reader would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Mode<T> {
    Threads {
        results: Receiver<(u64, Vec<T>)>,
        scanner: Option<JoinHandle<(HarReader, Option<ReadError>)>>,
        workers: Vec<JoinHandle<()>>,
        pending: BTreeMap<u64, Vec<T>>,
        next: u64,
        /// One token per batch the reader may start; given back when a batch's results
        /// are taken in order.
        tokens: SyncSender<()>,
    },
    Inline {
        reader: Option<HarReader>,
        f: Box<dyn Fn(RawEntry<'_>) -> T + Send + Sync>,
    },
}

/// An ordered iterator over `f(entry)`; see the module docs.
pub struct ParEntries<T> {
    mode: Mode<T>,
    current: std::vec::IntoIter<T>,
    error: Option<ReadError>,
    reader: Option<HarReader>,
}

/// The number of threads to use by default: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `f` over every entry of `reader` on `threads` workers (inline when `threads` ≤ 1).
pub fn par_entries<T, F>(reader: HarReader, threads: usize, f: F) -> ParEntries<T>
where
    T: Send + 'static,
    F: Fn(RawEntry<'_>) -> T + Send + Sync + 'static,
{
    if threads <= 1 {
        return ParEntries {
            mode: Mode::Inline {
                reader: Some(reader),
                f: Box::new(f),
            },
            current: Vec::new().into_iter(),
            error: None,
            reader: None,
        };
    }
    let f = Arc::new(f);
    let (tokens, tokens_rx) = mpsc::sync_channel::<()>(window(threads));
    for _ in 0..window(threads) {
        tokens
            .send(())
            .expect("the channel has room for the window");
    }
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Batch)>(threads);
    let (res_tx, res_rx) = mpsc::sync_channel::<(u64, Vec<T>)>(threads);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let name = reader.name().clone();
    let mut workers = Vec::new();
    for _ in 0..threads {
        let work_rx = work_rx.clone();
        let res_tx = res_tx.clone();
        let f = f.clone();
        let name = name.clone();
        workers.push(std::thread::spawn(move || loop {
            let job = work_rx.lock().map(|rx| rx.recv());
            let Ok(Ok((no, batch))) = job else { return };
            let out: Vec<T> = batch
                .items
                .iter()
                .map(|(index, pos, range)| {
                    f(RawEntry {
                        index: *index,
                        pos: *pos,
                        bytes: &batch.bytes[range.clone()],
                        file: &name,
                    })
                })
                .collect();
            if res_tx.send((no, out)).is_err() {
                return;
            }
        }));
    }
    drop(res_tx);
    let scanner = std::thread::spawn(move || scan(reader, work_tx, tokens_rx));
    ParEntries {
        mode: Mode::Threads {
            results: res_rx,
            scanner: Some(scanner),
            workers,
            pending: BTreeMap::new(),
            next: 0,
            tokens,
        },
        current: Vec::new().into_iter(),
        error: None,
        reader: None,
    }
}

/// How many batches may be between the reader and the caller at once: enough to keep
/// every worker busy while the caller waits for the oldest.
pub fn window(threads: usize) -> usize {
    2 * threads + 2
}

fn scan(
    mut reader: HarReader,
    work: SyncSender<(u64, Batch)>,
    tokens: Receiver<()>,
) -> (HarReader, Option<ReadError>) {
    let mut batch = Batch::new();
    let mut no = 0u64;
    // A token for the batch being filled.
    if tokens.recv().is_err() {
        return (reader, None);
    }
    loop {
        let start = batch.bytes.len();
        match reader.next_raw_append(&mut batch.bytes) {
            Ok(Some((index, pos))) => {
                batch.items.push((index, pos, start..batch.bytes.len()));
                if batch.bytes.len() >= BATCH_BYTES || batch.items.len() >= BATCH_ENTRIES {
                    if work
                        .send((no, std::mem::replace(&mut batch, Batch::new())))
                        .is_err()
                    {
                        return (reader, None);
                    }
                    no += 1;
                    // Wait until the caller has taken an older batch's results.
                    if tokens.recv().is_err() {
                        return (reader, None);
                    }
                }
            }
            Ok(None) => {
                if !batch.items.is_empty() {
                    let _ = work.send((no, batch));
                }
                return (reader, None);
            }
            Err(e) => {
                if !batch.items.is_empty() {
                    let _ = work.send((no, batch));
                }
                return (reader, Some(e));
            }
        }
    }
}

impl<T> ParEntries<T> {
    /// After the iterator is exhausted: the reader, whose header now includes the fields
    /// that followed the entries.
    pub fn into_reader(mut self) -> Option<HarReader> {
        match &mut self.mode {
            Mode::Inline { reader, .. } => reader.take(),
            Mode::Threads { .. } => self.reader.take(),
        }
    }
}

impl<T> Iterator for ParEntries<T> {
    type Item = Result<T, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(t) = self.current.next() {
            return Some(Ok(t));
        }
        match &mut self.mode {
            Mode::Inline { reader, f } => {
                let r = reader.as_mut()?;
                match r.next_raw() {
                    Ok(Some(raw)) => Some(Ok(f(raw))),
                    Ok(None) => None,
                    Err(e) => {
                        // Stop here: nothing after a syntax error can be trusted.
                        let reader_taken = reader.take();
                        drop(reader_taken);
                        Some(Err(e))
                    }
                }
            }
            Mode::Threads {
                results,
                scanner,
                workers,
                pending,
                next,
                tokens,
            } => loop {
                if let Some(v) = pending.remove(next) {
                    *next += 1;
                    // Never blocks: there are only `window` tokens and room for all.
                    let _ = tokens.try_send(());
                    self.current = v.into_iter();
                    if let Some(t) = self.current.next() {
                        return Some(Ok(t));
                    }
                    continue;
                }
                match results.recv() {
                    Ok((no, v)) => {
                        pending.insert(no, v);
                    }
                    Err(_) => {
                        for w in workers.drain(..) {
                            let _ = w.join();
                        }
                        if let Some(h) = scanner.take() {
                            match h.join() {
                                Ok((reader, err)) => {
                                    self.reader = Some(reader);
                                    self.error = err;
                                }
                                Err(_) => {
                                    self.error = Some(ReadError::Io {
                                        file: Arc::from("<reader>"),
                                        source: std::io::Error::other("the reader thread panicked"),
                                    })
                                }
                            }
                            if let Some(e) = self.error.take() {
                                self.reader = None;
                                return Some(Err(e));
                            }
                        }
                        return None;
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Source;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    fn har(entries: usize) -> Vec<u8> {
        let mut s = String::from(
            r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":["#,
        );
        for i in 0..entries {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(r#"{{"n":{i}}}"#));
        }
        s.push_str("]}}");
        s.into_bytes()
    }

    /// While the caller waits for a slow first batch, the other workers must not run
    /// through the whole file and pile their results up: the reader stays within the
    /// window. (Before the window, all 200 000 entries were processed here.)
    #[test]
    fn a_slow_batch_does_not_let_the_rest_pile_up() {
        let n = 200_000;
        let reader = HarReader::new(Source::from_bytes("t.har", har(n))).unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(AtomicBool::new(false));
        let (s, r) = (started.clone(), release.clone());
        let mut it = par_entries(reader, 2, move |raw| {
            s.fetch_add(1, Ordering::SeqCst);
            if raw.index == 0 {
                let t = Instant::now();
                while !r.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(20) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            raw.index
        });
        let (s, r) = (started.clone(), release.clone());
        let watcher = std::thread::spawn(move || {
            // Wait until the workers stop making progress, then let entry 0 finish.
            let mut last = s.load(Ordering::SeqCst);
            let mut still = Instant::now();
            let t = Instant::now();
            while still.elapsed() < Duration::from_millis(300)
                && t.elapsed() < Duration::from_secs(15)
            {
                std::thread::sleep(Duration::from_millis(10));
                let now = s.load(Ordering::SeqCst);
                if now != last {
                    last = now;
                    still = Instant::now();
                }
            }
            r.store(true, Ordering::SeqCst);
            last
        });
        let first = it.next().unwrap().unwrap();
        assert_eq!(first, 0);
        let seen_while_waiting = watcher.join().unwrap();
        let bound = 8 * BATCH_ENTRIES; // the window for 2 threads (6) and two batches in hand
        assert!(
            seen_while_waiting <= bound,
            "{seen_while_waiting} entries were processed while the first batch was pending (bound {bound})"
        );
        // And everything still comes, in order.
        let rest: Vec<usize> = it.map(|r| r.unwrap()).collect();
        assert_eq!(rest.len(), n - 1);
        assert!(rest.iter().enumerate().all(|(i, &x)| x == i + 1));
    }
}

/// Fold every entry of `reader`: `map` runs on `threads` workers (parse, validate,
/// extract what the fold needs — the parsed entry stays on the worker), and `add` takes
/// the results in file order on the calling thread. This is the one driver of hark's
/// one-pass commands (check, summary, diagnose, surface, sanitize, fmt, the viewer's
/// index).
///
/// Returns the reader after the last entry: its header then holds the fields that
/// followed `entries` (`pages` written last, …). The first error — reading, from `map`
/// or from `add` — stops the fold and is returned; what `add` took before it stays
/// taken, so a caller can still report on the complete entries of a truncated file.
pub fn fold<T, E, M, A>(
    reader: HarReader,
    threads: usize,
    map: M,
    mut add: A,
) -> Result<HarReader, E>
where
    T: Send + 'static,
    E: From<ReadError>,
    M: Fn(RawEntry<'_>) -> Result<T, ReadError> + Send + Sync + 'static,
    A: FnMut(T) -> Result<(), E>,
{
    let mut it = par_entries(reader, threads, map);
    for item in it.by_ref() {
        add(item??)?;
    }
    Ok(it
        .into_reader()
        .expect("the reader is handed back after the last entry"))
}

/// Why [`reformat`] stopped: the input, or the output.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(std::io::Error),
}

/// Copy `reader` to `w` in `style`, entry by entry on `threads` workers. Entries are
/// re-serialised token by token (no model is built): strings and numbers come out
/// exactly as written, and syntax is checked as strictly as when parsing. The writer
/// is begun with the header read so far and ended with the complete one.
pub fn reformat<W: std::io::Write>(
    reader: HarReader,
    threads: usize,
    style: crate::Style,
    w: &mut crate::HarWriter<W>,
) -> Result<(), CopyError> {
    w.begin(reader.header()).map_err(CopyError::Write)?;
    let reader = fold(
        reader,
        threads,
        move |raw| raw.transcode(style),
        |bytes: Vec<u8>| w.serialized_entry(&bytes).map_err(CopyError::Write),
    )?;
    w.end(reader.header()).map_err(CopyError::Write)
}
