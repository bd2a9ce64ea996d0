//! Rough throughput of the library's stages on a file: `speed FILE scan|parse|validate|write [threads]`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;
fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let mode = std::env::args().nth(2).unwrap_or_default();
    let threads: usize = std::env::args()
        .nth(3)
        .map_or(har::default_threads(), |t| t.parse().unwrap());
    let t = Instant::now();
    let r = har::HarReader::new(har::Source::open(&path).unwrap()).unwrap();
    let counter = r.progress_counter();
    let v = har::Validator::new();
    let m = mode.clone();
    let it = har::par_entries(r, threads, move |raw| {
        if m == "scan" {
            return 0;
        }
        let e = raw.parse().unwrap();
        let mut problems = Vec::new();
        if m == "validate" {
            v.entry(e.index, &e.value, raw.bytes, raw.pos, &mut problems);
        }
        if m == "write" {
            return serde_json::to_vec(&e.value).unwrap().len();
        }
        problems.len()
    });
    let mut n = 0usize;
    for x in it {
        x.unwrap();
        n += 1;
    }
    let b = counter.load(std::sync::atomic::Ordering::Relaxed);
    let s = t.elapsed().as_secs_f64();
    println!(
        "{mode} ({threads} threads): {n} entries, {:.0} MB/s",
        b as f64 / s / 1e6
    );
}
