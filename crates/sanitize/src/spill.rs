//! Fixed-size records kept within a memory budget: a [`Sorter`] sorts any number of
//! them (sorted runs spilled to anonymous temporary files, merged when read back), and a
//! [`Table`] of records sorted by key answers lookups — a plain vector while it is
//! small, else the records on disk behind a sparse index (the first key of each block)
//! and a small cache of blocks. The files are unlinked when made (`tempfile::tempfile`),
//! so nothing is left behind, whatever ends the process.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A record of a fixed size on disk.
pub(crate) trait Record: Copy {
    /// Bytes on disk (at most 64).
    const SIZE: usize;
    /// What a [`Table`] looks records up by (records are sorted by it).
    type Key: Ord + Copy;
    fn key(&self) -> Self::Key;
    fn put(&self, out: &mut [u8]);
    fn get(b: &[u8]) -> Self;
}

/// A record's fields read one after another (little-endian).
pub(crate) struct Fields<'a>(pub(crate) &'a [u8]);

/// A record's fields written one after another (little-endian).
pub(crate) struct FieldsMut<'a>(pub(crate) &'a mut [u8]);

macro_rules! fields {
    ($($t:ident),*) => {
        impl Fields<'_> {
            $(pub(crate) fn $t(&mut self) -> $t {
                let (h, t) = self.0.split_at(std::mem::size_of::<$t>());
                self.0 = t;
                $t::from_le_bytes(h.try_into().expect("the field's size"))
            })*
            /// Two `u64`s: a 128-bit digest.
            pub(crate) fn digest(&mut self) -> [u64; 2] {
                [self.u64(), self.u64()]
            }
        }
        impl FieldsMut<'_> {
            $(pub(crate) fn $t(&mut self, v: $t) -> &mut Self {
                let (h, t) = std::mem::take(&mut self.0).split_at_mut(std::mem::size_of::<$t>());
                h.copy_from_slice(&v.to_le_bytes());
                self.0 = t;
                self
            })*
            pub(crate) fn digest(&mut self, d: [u64; 2]) -> &mut Self {
                self.u64(d[0]).u64(d[1])
            }
        }
    };
}
fields!(u16, u32, u64);

/// Runs merged at once at most: more are first merged into one (so the read buffers
/// stay few).
const FAN_IN: usize = 32;
/// Bytes of read buffer per run being merged.
const READ_BUF: usize = 64 << 10;

/// Records sorted by their `Ord`, at most `cap` of them in memory: when the buffer is
/// full it is sorted and written out as a run; [`Sorter::finish`] merges the runs.
pub(crate) struct Sorter<R> {
    buf: Vec<R>,
    cap: usize,
    runs: Vec<File>,
}

impl<R: Record + Ord> Sorter<R> {
    pub(crate) fn new(cap: usize) -> Sorter<R> {
        Sorter {
            buf: Vec::new(),
            cap: cap.max(1),
            runs: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, r: R) -> io::Result<()> {
        self.buf.push(r);
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buf.sort_unstable();
        let run = write_run(self.buf.drain(..).map(Ok))?;
        self.runs.push(run);
        if self.runs.len() >= FAN_IN {
            self.merge_runs()?;
        }
        Ok(())
    }

    /// The runs merged into one.
    fn merge_runs(&mut self) -> io::Result<()> {
        let runs = std::mem::take(&mut self.runs);
        let run = write_run(Merge::<R>::of(runs.into_iter().map(run_source).collect())?)?;
        self.runs.push(run);
        Ok(())
    }

    /// Every record pushed, in order.
    pub(crate) fn finish(mut self) -> io::Result<Merge<R>> {
        self.buf.sort_unstable();
        let mut sources = vec![Source::Mem(std::mem::take(&mut self.buf).into_iter())];
        sources.extend(self.runs.into_iter().map(run_source));
        Merge::of(sources)
    }
}

/// `records` written to a temporary file, read back from its start.
fn write_run<R: Record>(records: impl Iterator<Item = io::Result<R>>) -> io::Result<File> {
    let mut f = tempfile::tempfile()?;
    {
        let mut w = BufWriter::with_capacity(READ_BUF, &mut f);
        let mut b = [0u8; 64];
        for r in records {
            r?.put(&mut b[..R::SIZE]);
            w.write_all(&b[..R::SIZE])?;
        }
        w.flush()?;
    }
    f.seek(SeekFrom::Start(0))?;
    Ok(f)
}

fn run_source<R>(f: File) -> Source<R> {
    Source::Run(BufReader::with_capacity(READ_BUF, f))
}

enum Source<R> {
    Mem(std::vec::IntoIter<R>),
    Run(BufReader<File>),
}

impl<R: Record> Source<R> {
    fn next(&mut self) -> io::Result<Option<R>> {
        match self {
            Source::Mem(it) => Ok(it.next()),
            Source::Run(r) => {
                let mut b = [0u8; 64];
                let b = &mut b[..R::SIZE];
                match r.read_exact(b) {
                    Ok(()) => Ok(Some(R::get(b))),
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The runs of a [`Sorter`] merged: every record, smallest first.
pub(crate) struct Merge<R> {
    /// The next record of each source and the source: equal records in source order.
    heap: BinaryHeap<Reverse<(R, usize)>>,
    sources: Vec<Source<R>>,
}

impl<R: Record + Ord> Merge<R> {
    fn of(sources: Vec<Source<R>>) -> io::Result<Merge<R>> {
        let mut m = Merge {
            heap: BinaryHeap::with_capacity(sources.len()),
            sources,
        };
        for i in 0..m.sources.len() {
            if let Some(r) = m.sources[i].next()? {
                m.heap.push(Reverse((r, i)));
            }
        }
        Ok(m)
    }
}

impl<R: Record + Ord> Iterator for Merge<R> {
    type Item = io::Result<R>;
    fn next(&mut self) -> Option<io::Result<R>> {
        let Reverse((r, i)) = self.heap.pop()?;
        match self.sources[i].next() {
            Ok(Some(n)) => self.heap.push(Reverse((n, i))),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        Some(Ok(r))
    }
}

/// How much of the values found is kept in memory; the rest is on disk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    /// Records sorted in memory at a time (a [`Sorter`]'s run).
    pub(crate) run: usize,
    /// Digests remembered to skip repeats (per set: 16 bytes each, 256 KiB).
    pub(crate) recent: usize,
    /// Patterns of values kept in a table in memory (40 bytes each).
    pub(crate) patterns: usize,
    /// Numbers of values kept in a table in memory (20 bytes each).
    pub(crate) numbers: usize,
    /// Bytes per block of a table on disk.
    pub(crate) block: usize,
    /// Blocks cached per table on disk.
    pub(crate) cached: usize,
}

impl Default for Budget {
    /// About 26 MiB at most: in the first pass, runs of 3 MiB (patterns), 2 MiB (values
    /// met) and 1 MiB (digests), and 256 KiB per set of digests remembered; for the
    /// second, tables up to 20 MiB (patterns) and 5 MiB (numbers), or on disk behind a
    /// filter of 2.5 bytes per pattern and 1 MiB of cached blocks per table.
    fn default() -> Budget {
        Budget {
            run: 1 << 16,
            recent: 1 << 14,
            patterns: 1 << 19,
            numbers: 1 << 18,
            block: 4096,
            cached: 256,
        }
    }
}

#[cfg(test)]
impl Budget {
    /// A few records at a time: every table on disk, every sort in many runs.
    pub(crate) fn tiny() -> Budget {
        Budget {
            run: 7,
            recent: 5,
            patterns: 5,
            numbers: 3,
            block: 100,
            cached: 2,
        }
    }
}

/// Records sorted by [`Record::key`], looked up by key.
pub(crate) struct Table<R: Record> {
    inner: Inner<R>,
    len: usize,
}

enum Inner<R: Record> {
    Mem(Vec<R>),
    Disk(Disk<R>),
}

struct Disk<R: Record> {
    /// The first key of each block.
    index: Vec<R::Key>,
    per_block: usize,
    file: File,
    /// One cache per thread (by [`thread_slot`]), so threads do not wait for each other.
    caches: Vec<Mutex<Cache<R>>>,
    /// Blocks per cache.
    cached: usize,
    /// The first read that failed (a lookup then finds nothing, and the caller must
    /// fail: see [`Table::failed`]).
    error: Mutex<Option<String>>,
    failed: AtomicBool,
}

/// Caches per table on disk: one per thread, threads numbered in the order they first
/// look something up (modulo this).
const CACHES: usize = 8;

fn thread_slot() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % CACHES;
    }
    SLOT.with(|s| *s)
}

struct Cache<R> {
    /// (block number + 1, its records); 0: empty. Made when first used.
    slots: Vec<(usize, Vec<R>)>,
    /// The bytes of the block being read.
    buf: Vec<u8>,
}

impl<R: Record> Table<R> {
    pub(crate) fn empty() -> Table<R> {
        Table {
            inner: Inner::Mem(Vec::new()),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the records are on disk.
    pub(crate) fn on_disk(&self) -> bool {
        matches!(self.inner, Inner::Disk(_))
    }

    /// Calls `f` on each record whose key is `key`, in table order.
    pub(crate) fn with_key(&self, key: R::Key, mut f: impl FnMut(&R)) {
        match &self.inner {
            Inner::Mem(v) => {
                let lo = v.partition_point(|r| r.key() < key);
                for r in v[lo..].iter().take_while(|r| r.key() == key) {
                    f(r);
                }
            }
            Inner::Disk(d) => {
                // The last block starting before `key` may hold its first records.
                let mut b = d.index.partition_point(|k| *k < key).saturating_sub(1);
                let Ok(mut cache) = d.caches[thread_slot()].lock() else {
                    return;
                };
                'blocks: while b < d.index.len() && d.index[b] <= key {
                    let Some(recs) = cache.block(d, b, self.len) else {
                        return;
                    };
                    let lo = recs.partition_point(|r| r.key() < key);
                    for r in &recs[lo..] {
                        if r.key() != key {
                            break 'blocks;
                        }
                        f(r);
                    }
                    b += 1;
                }
            }
        }
    }

    /// The error of a read that failed, if one did: lookups found nothing since, so
    /// what was made with them is not to be trusted.
    pub(crate) fn failed(&self) -> Option<String> {
        match &self.inner {
            Inner::Mem(_) => None,
            Inner::Disk(d) if d.failed.load(Ordering::Relaxed) => {
                Some(d.error.lock().ok()?.clone().unwrap_or_default())
            }
            Inner::Disk(_) => None,
        }
    }
}

impl<R: Record> Disk<R> {
    fn fail(&self, e: io::Error) {
        if let Ok(mut err) = self.error.lock() {
            err.get_or_insert_with(|| e.to_string());
        }
        self.failed.store(true, Ordering::Relaxed);
    }
}

impl<R: Record> Cache<R> {
    /// Block `b` of `d` (a table of `len` records), read unless cached.
    fn block(&mut self, d: &Disk<R>, b: usize, len: usize) -> Option<&[R]> {
        if d.failed.load(Ordering::Relaxed) {
            return None;
        }
        if self.slots.is_empty() {
            self.slots = (0..d.cached).map(|_| (0, Vec::new())).collect();
        }
        let slot = b % self.slots.len();
        if self.slots[slot].0 != b + 1 {
            let first = b * d.per_block;
            // The last block may be short.
            self.buf.resize(d.per_block.min(len - first) * R::SIZE, 0);
            if let Err(e) = har::read_exact_at(&d.file, &mut self.buf, (first * R::SIZE) as u64) {
                d.fail(e);
                return None;
            }
            let recs = &mut self.slots[slot].1;
            recs.clear();
            recs.extend(self.buf.chunks_exact(R::SIZE).map(R::get));
            self.slots[slot].0 = b + 1;
        }
        Some(&self.slots[slot].1)
    }
}

/// A [`Table`] written in key order: kept in memory up to `mem_cap` records, else
/// moved to a temporary file.
pub(crate) struct TableWriter<R: Record> {
    mem: Vec<R>,
    mem_cap: usize,
    /// The file, the first key of each block, the records written.
    disk: Option<(BufWriter<File>, Vec<R::Key>, usize)>,
    len: usize,
    per_block: usize,
    cached: usize,
}

impl<R: Record> TableWriter<R> {
    /// In memory up to `mem_cap` records, else on disk in blocks as `budget` says.
    /// `expected`: how many records will be pushed, if known (at most).
    pub(crate) fn new(mem_cap: usize, budget: Budget, expected: Option<usize>) -> TableWriter<R> {
        // Straight to disk when they will not fit; else room for all of them at once
        // (a vector grown by doubling would hold twice as much for a moment).
        let (mem_cap, mem) = match expected {
            Some(n) if n > mem_cap => (0, Vec::new()),
            Some(n) => (mem_cap, Vec::with_capacity(n)),
            None => (mem_cap, Vec::new()),
        };
        TableWriter {
            mem,
            mem_cap,
            disk: None,
            len: 0,
            per_block: (budget.block / R::SIZE).max(1),
            cached: budget.cached.max(1),
        }
    }

    pub(crate) fn push(&mut self, r: R) -> io::Result<()> {
        if self.disk.is_none() && self.mem.len() >= self.mem_cap {
            let f = tempfile::tempfile()?;
            self.disk = Some((BufWriter::with_capacity(1 << 16, f), Vec::new(), 0));
            for r in std::mem::take(&mut self.mem) {
                self.write(r)?;
            }
        }
        match self.disk {
            Some(_) => self.write(r)?,
            None => self.mem.push(r),
        }
        self.len += 1;
        Ok(())
    }

    fn write(&mut self, r: R) -> io::Result<()> {
        let (w, index, written) = self.disk.as_mut().expect("on disk");
        if *written % self.per_block == 0 {
            index.push(r.key());
        }
        let mut b = [0u8; 64];
        r.put(&mut b[..R::SIZE]);
        w.write_all(&b[..R::SIZE])?;
        *written += 1;
        Ok(())
    }

    pub(crate) fn finish(self) -> io::Result<Table<R>> {
        let TableWriter {
            mem,
            disk,
            len,
            per_block,
            cached,
            ..
        } = self;
        let Some((w, index, _)) = disk else {
            return Ok(Table {
                inner: Inner::Mem(mem),
                len,
            });
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        let cached = cached.min(index.len()).max(1);
        Ok(Table {
            inner: Inner::Disk(Disk {
                index,
                per_block,
                file,
                caches: (0..CACHES)
                    .map(|_| {
                        Mutex::new(Cache {
                            slots: Vec::new(),
                            buf: Vec::new(),
                        })
                    })
                    .collect(),
                cached,
                error: Mutex::new(None),
                failed: AtomicBool::new(false),
            }),
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct R(u64, u64);

    impl Record for R {
        const SIZE: usize = 16;
        type Key = u64;
        fn key(&self) -> u64 {
            self.0
        }
        fn put(&self, o: &mut [u8]) {
            FieldsMut(o).u64(self.0).u64(self.1);
        }
        fn get(b: &[u8]) -> R {
            let mut f = Fields(b);
            R(f.u64(), f.u64())
        }
    }

    /// Sorted in runs of 5 (more than 32 of them: merged into one on the way) and merged; looked up in blocks of 3 records with two cached:
    /// every answer is the one of a sorted vector, also for keys whose records span
    /// several blocks, keys before the first and after the last.
    #[test]
    fn runs_merge_and_blocks_answer_like_a_vector() {
        // Keys 0..200 with 0..=6 records each (some spanning blocks), pushed shuffled.
        let mut all: Vec<R> = (0..200u64)
            .flat_map(|k| (0..(k * 7 % 9) % 7).map(move |i| R(k * 2 + 1, i)))
            .collect();
        let mut shuffled = all.clone();
        let mut x = 12345u64;
        for i in (1..shuffled.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut s = Sorter::new(5);
        for r in &shuffled {
            s.push(*r).unwrap();
        }
        // Past 32 runs, they were merged into one.
        assert!(
            all.len() / 5 > FAN_IN && s.runs.len() < FAN_IN,
            "{}",
            s.runs.len()
        );
        let merged: Vec<R> = s.finish().unwrap().map(|r| r.unwrap()).collect();
        all.sort();
        assert_eq!(merged, all);
        let budget = Budget {
            block: 3 * R::SIZE,
            cached: 2,
            ..Budget::default()
        };
        for cap in [usize::MAX, 0, 4] {
            let mut w = TableWriter::new(cap, budget, None);
            for r in &merged {
                w.push(*r).unwrap();
            }
            let t = w.finish().unwrap();
            assert_eq!(t.on_disk(), cap != usize::MAX);
            assert_eq!(t.len(), all.len());
            // Twice over, in two orders, so cached and evicted blocks are both read.
            for key in (0..410).chain((0..410).rev()) {
                let mut got = Vec::new();
                t.with_key(key, |r| got.push(*r));
                let want: Vec<R> = all.iter().filter(|r| r.0 == key).copied().collect();
                assert_eq!(got, want, "key {key}, cap {cap}");
            }
            assert!(t.failed().is_none());
        }
    }
}
