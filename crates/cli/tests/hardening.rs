//! Outputs under hostile conditions, driving the real binary: the umask is respected, a
//! device or a FIFO given to `-o` is written in place, a full or closed standard output
//! is an error (exit 2) and not a panic, and a signal leaves no temporary file behind.

mod common;
use common::*;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `hark ARGS` run by a shell with `umask MASK`.
fn with_umask(mask: &str, args: &str, dir: &Path) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {mask} && exec \"$0\" {args}"))
        .arg(HARK)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn a_new_output_gets_the_umask_and_never_more_than_a_private_input() {
    let dir = tempfile::tempdir().unwrap();
    for (mask, name, want) in [
        ("077", "a.har", 0o600),
        ("022", "b.har", 0o644),
        ("027", "c.har", 0o640),
    ] {
        let o = with_umask(mask, &format!("fmt @example -o {name}"), dir.path());
        assert!(o.status.success(), "{o:?}");
        assert_eq!(mode(&dir.path().join(name)), want, "umask {mask}");
    }
    for cmd in ["sanitize", "fmt"] {
        let o = with_umask("077", &format!("{cmd} @example -o s-{cmd}.har"), dir.path());
        assert!(o.status.success(), "{o:?}");
        assert_eq!(
            mode(&dir.path().join(format!("s-{cmd}.har"))),
            0o600,
            "{cmd}"
        );
    }
    // A private (0600) input gives a private output whatever the umask.
    std::fs::set_permissions(
        dir.path().join("b.har"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let o = with_umask("022", "fmt b.har -o d.har", dir.path());
    assert!(o.status.success(), "{o:?}");
    assert_eq!(mode(&dir.path().join("d.har")), 0o600);
    // An existing file keeps its mode.
    std::fs::write(dir.path().join("e.har"), "old").unwrap();
    std::fs::set_permissions(
        dir.path().join("e.har"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let o = with_umask("077", "fmt @example -o e.har", dir.path());
    assert!(o.status.success(), "{o:?}");
    assert_eq!(mode(&dir.path().join("e.har")), 0o640);
    assert!(std::fs::read(dir.path().join("e.har")).unwrap().len() > 1000);
}

#[test]
fn a_fifo_as_output_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.har");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    hark(["sanitize", "@example", "-o"])
        .arg(&fifo)
        .run()
        .assert_success();
    let got = reader.join().unwrap();
    let har = json(&got);
    assert!(!entries(&har).is_empty());
    assert!(
        std::fs::metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "a temporary file was left: {left:?}");
}

#[test]
fn dev_null_as_output_stays_a_device() {
    for cmd in ["fmt", "sanitize", "example"] {
        let mut c = hark([cmd]);
        if cmd != "example" {
            c = c.arg("@example");
        }
        c.args(["-o", "/dev/null"]).run().assert_success();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(m.file_type().is_char_device(), "{cmd} replaced /dev/null");
    }
}

#[test]
fn a_full_standard_output_is_exit_2_with_one_line() {
    let runs: &[&[&str]] = &[
        &["check", "@example"],
        &["check", "--json", "@example"],
        &["summary", "@example"],
        &["summary", "--json", "@example"],
        &["diagnose", "@example"],
        &["surface", "@example"],
        &["fmt", "@example"],
        &["sanitize", "@example"],
        &["sanitize", "--check", "@example"],
        &["example"],
        &["completions", "bash"],
    ];
    for args in runs {
        let o = Command::new(HARK)
            .args(*args)
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("No space left on device"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_2() {
    // 180 KB of output, more than a pipe holds, into a pipe closed at once.
    for args in [
        &["fmt", "@example"][..],
        &["check", "--json", "@example"][..],
    ] {
        let mut child = Command::new(HARK)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let st = child.wait().unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        if args[0] != "check" {
            assert_eq!(st.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err, "", "{args:?}");
        }
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(sig: &str, pid: u32) {
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success());
}

/// testdata/har/example-login.chromium.har as text.
fn example_login() -> String {
    String::from_utf8(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/har/example-login.chromium.har"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// The first part of a HAR (the log header and some entries), the rest never sent.
fn partial_har() -> Vec<u8> {
    let example = example_login();
    example.as_bytes()[..example.len() / 2].to_vec()
}

#[test]
fn a_signal_during_sanitize_stdin_leaves_no_spool() {
    for (sig, num) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut child = Command::new(HARK)
            .args(["sanitize", "-", "-o"])
            .arg(out.path().join("safe.har"))
            .env("TMPDIR", tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&partial_har()).unwrap();
        stdin.flush().unwrap();
        wait_for("the spool", || !files_in(tmp.path()).is_empty());
        send(sig, child.id());
        let st = child.wait().unwrap();
        drop(stdin);
        assert_eq!(st.signal(), Some(num), "SIG{sig}: {st:?}");
        assert_eq!(
            files_in(tmp.path()),
            Vec::<String>::new(),
            "SIG{sig}: spool left"
        );
        assert_eq!(files_in(out.path()), Vec::<String>::new(), "SIG{sig}");
    }
}

#[test]
fn a_signal_during_fmt_leaves_no_temporary_output() {
    for (sig, num) in [("TERM", 15), ("INT", 2), ("HUP", 1)] {
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("out.har");
        std::fs::write(&dest, "the old file").unwrap();
        let mut child = Command::new(HARK)
            .args(["fmt", "-", "-o"])
            .arg(&dest)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&partial_har()).unwrap();
        stdin.flush().unwrap();
        wait_for("the temporary output", || files_in(out.path()).len() == 2);
        send(sig, child.id());
        let st = child.wait().unwrap();
        drop(stdin);
        assert_eq!(st.signal(), Some(num), "SIG{sig}: {st:?}");
        assert_eq!(
            files_in(out.path()),
            vec!["out.har".to_string()],
            "SIG{sig}"
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "the old file");
    }
}

/// The built-in example with `from` (its first occurrence) replaced by `to`.
fn example_with(dir: &Path, name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let text = example_login();
    assert!(text.contains(from), "{from}");
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path
}

#[test]
fn a_number_beyond_a_double_is_not_usable_and_never_printed_as_inf() {
    let dir = tempfile::tempdir().unwrap();
    let f = example_with(dir.path(), "inf.har", r#""time":53.112"#, r#""time":1e999"#);
    let o = hark(["check", "--color", "never"]).arg(&f).run();
    o.assert_code(1);
    let out = o.stdout();
    assert!(out.contains("log.entries[0].time [not-finite]"), "{out}");
    assert!(out.contains("1e999 is not a finite number"), "{out}");
    let j = hark(["check", "--json"]).arg(&f).run().json();
    assert_eq!(j["exit"], 1, "{j}");
    for cmd in ["summary", "diagnose"] {
        let o = hark([cmd, "--color", "never"]).arg(&f).run();
        assert!(o.code() < 2, "{cmd}: {o}");
        let text = o.stdout().to_lowercase();
        for bad in ["inf ", "nan", "infinity"] {
            assert!(!text.contains(bad), "{cmd} printed {bad:?}: {text}");
        }
    }
    // Copied as written.
    let o = hark(["fmt", "--compact"]).arg(&f).run();
    assert!(o.stdout().contains(r#""time":1e999"#));
}

#[test]
fn big_integers_are_quoted_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let f = example_with(
        dir.path(),
        "big.har",
        r#""bodySize":-339"#,
        r#""bodySize":-99999999999999999999"#,
    );
    let out = hark(["check", "--color", "never", "--verbose"])
        .arg(&f)
        .run()
        .stdout();
    assert!(out.contains("-99999999999999999999 is below -1"), "{out}");
    assert!(!out.contains("100000000000000000000"), "{out}");
    let o = hark(["fmt", "--compact"]).arg(&f).run();
    assert!(o.stdout().contains(r#""bodySize":-99999999999999999999"#));
}

#[test]
fn lone_surrogate_escapes_are_read_and_written_back() {
    let dir = tempfile::tempdir().unwrap();
    let f = example_with(
        dir.path(),
        "sur.har",
        r#""httpVersion":"HTTP/1.1","#,
        r#""httpVersion":"HTTP/1.1","_x":"a\ud800b\udc00","#,
    );
    hark(["check"]).arg(&f).run().assert_code(0);
    for args in [&["fmt", "--compact"][..], &["fmt"][..]] {
        let o = hark(args).arg(&f).run();
        o.assert_success();
        assert!(
            o.stdout().contains(r#""_x": "a\ud800b\udc00""#)
                || o.stdout().contains(r#""_x":"a\ud800b\udc00""#),
            "{args:?}"
        );
    }
    // Turned into text (sanitize builds the model): U+FFFD, valid JSON for everyone.
    let out = dir.path().join("safe.har");
    hark(["sanitize"])
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .run()
        .assert_success();
    let har = read_json(&out);
    assert_eq!(entries(&har)[0]["request"]["_x"], "a\u{fffd}b\u{fffd}");
    for cmd in ["summary", "diagnose", "surface"] {
        let o = hark([cmd]).arg(&f).run();
        assert!(o.code() < 2, "{cmd}: {o}");
    }
}

#[test]
fn record_refuses_a_journal_that_is_the_output() {
    let dir = tempfile::tempdir().unwrap();
    for journal in ["out.har", "./out.har"] {
        let o = hark([
            "record",
            "-o",
            "out.har",
            "--journal",
            journal,
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .run();
        o.assert_code(2);
        assert!(o.stderr().contains("name the same file"), "{o}");
    }
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

/// A `.har.gz` of about 2 MB holding one entry with a 2 GiB string: gzip members
/// (one MiB of `a` each, compressed once) concatenated, which gzip reads as one stream.
fn gzip_bomb(path: &Path) {
    use flate2::{write::GzEncoder, Compression};
    let member = |bytes: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&member(
        br#"{"log":{"version":"1.2","creator":{"name":"bomb","version":"1"},"entries":[{"startedDateTime":"2024-01-01T00:00:00Z","time":1,"request":{},"response":{},"_big":""#,
    ))
    .unwrap();
    let mib = member(&vec![b'a'; 1 << 20]);
    for _ in 0..2048 {
        f.write_all(&mib).unwrap();
    }
    f.write_all(&member(br#""}]}}"#)).unwrap();
    f.flush().unwrap();
}

/// Run `hark ARGS` with standard input from `stdin`; its exit code, standard error and
/// peak RSS in bytes (the kernel's own count for the child, from wait4).
#[allow(clippy::zombie_processes)] // reaped by wait4
fn run_measured(args: &[&str], stdin: Option<&Path>) -> (i32, String, u64) {
    let mut cmd = Command::new(HARK);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let mut status = 0;
    // SAFETY: plain out-parameters for wait4 on our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status), "{args:?}: killed: {err}");
    (
        libc::WEXITSTATUS(status),
        err,
        usage.ru_maxrss as u64 * 1024,
    )
}

#[test]
fn a_gzip_bomb_stops_at_the_entry_limit_with_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.har.gz");
    gzip_bomb(&bomb);
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 8 << 20, "{size}");
    let b = bomb.to_str().unwrap();
    let out = dir.path().join("out.har");
    let o = out.to_str().unwrap();
    for (args, stdin) in [
        (vec!["check", b], None),
        (vec!["fmt", b, "-o", o], None),
        (vec!["sanitize", b, "-o", o], None),
        (vec!["sanitize", "-", "-o", o], Some(bomb.as_path())),
        (vec!["summary", b], None),
        (vec!["check", "--max-entry", "16M", b], None),
    ] {
        let (code, err, rss) = run_measured(&args, stdin);
        // check reports an unreadable file on stdout (exit 2 all the same).
        assert_eq!(code, 2, "{args:?}: {err}");
        if args[0] != "check" {
            assert!(
                err.contains("log.entries[0]: this value is larger than 64 MiB"),
                "{args:?}: {err}"
            );
            assert!(err.contains("--max-entry"), "{args:?}: {err}");
        }
        assert!(rss < 256 << 20, "{args:?}: peak RSS {} MB", rss >> 20);
        eprintln!("{args:?}: exit {code}, peak RSS {} MB", rss >> 20);
        assert!(!out.exists(), "{args:?}");
    }
    // The message, from check too.
    let o = hark(["check", "--color", "never"]).arg(&bomb).run();
    o.assert_code(2);
    assert!(o.stdout().contains("larger than 64 MiB"), "{o}");
    // With the limit lifted the entry would be read: the limit, not something else, stops it.
    let small = dir.path().join("small.har.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&small).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(format!(r#"{{"log":{{"version":"1.2","creator":{{"name":"x","version":"1"}},"entries":[{{"_big":"{}"}}]}}}}"#, "a".repeat(2 << 20)).as_bytes()).unwrap();
    e.finish().unwrap();
    let o = hark(["check", "--color", "never", "--max-entry", "1M"])
        .arg(&small)
        .run();
    assert!(o.stdout().contains("larger than 1 MiB"), "{o}");
    let o = hark(["fmt", "--max-entry", "3M"]).arg(&small).run();
    o.assert_success();
}

/// testdata/hostile/upstream.mjs on a free port (killed on drop), and that port.
fn hostile_upstream() -> (Running, u16) {
    let (p, v) = node_server("hostile/upstream.mjs", std::iter::empty::<&str>());
    (p, v["port"].as_u64().unwrap() as u16)
}

/// The peak resident set of a running process, from `VmHWM` in /proc/PID/status.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kb * 1024
}

/// Fetch the upstream's gzip and brotli bombs through `proxy` (curl leaves the body
/// compressed: it is what went over the wire).
fn fetch_bombs(proxy: &str, upstream: u16) {
    for path in ["/gzip", "/br"] {
        let r = curl(format!("http://127.0.0.1:{upstream}{path}"))
            .proxy(proxy)
            .max_time(60)
            .send();
        assert_eq!(r.status, 200, "{path}: {}", r.error());
    }
}

/// Both bombs in `har`: cut at 1 MiB of decoded text and marked.
fn assert_bombs_cut(har: &serde_json::Value, upstream: u16) {
    for path in ["/gzip", "/br"] {
        let e = one(har, "GET", &format!("127.0.0.1:{upstream}{path}"));
        let c = &e["response"]["content"];
        assert_eq!(c["_truncated"], true, "{path}: {c}");
        assert_eq!(c["size"], 1 << 20, "{path}");
        assert_eq!(c["text"].as_str().unwrap().len(), 1 << 20, "{path}");
        let comment = c["comment"].as_str().unwrap();
        assert!(
            comment.contains("decoded") && comment.contains("--max-body"),
            "{path}: {comment}"
        );
        assert!(
            e["response"]["bodySize"].as_u64().unwrap() < 1 << 20,
            "{path}"
        );
    }
}

#[test]
fn decompression_bombs_through_record_are_cut_at_max_body_with_little_memory() {
    let (_up, port) = hostile_upstream();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bombs.har");
    let mut rec = hark([
        "record",
        "--listen",
        "127.0.0.1:0",
        "--max-body",
        "1M",
        "-o",
    ])
    .arg(&out)
    .named("hark record")
    .spawn();
    let proxy = format!("http://127.0.0.1:{}", loopback_port(&rec.stderr_line()));
    fetch_bombs(&proxy, port);
    // Each exchange is in the journal before its last byte reaches the client.
    let rss = peak_rss(rec.id());
    eprintln!("hark record: peak RSS {} MB after both bombs", rss >> 20);
    assert!(rss < 256 << 20, "peak RSS {} MB", rss >> 20);
    rec.stop().assert_success();
    assert_bombs_cut(&read_json(&out), port);
}

#[test]
fn decompression_bombs_through_a_serve_job_are_cut_at_max_body_with_little_memory() {
    let (_up, port) = hostile_upstream();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = hark([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--max-body",
        "1M",
        "--data",
    ])
    .arg(&data)
    .arg("--ca-dir")
    .arg(data.join("ca"))
    .named("hark serve")
    .spawn();
    let api = format!("http://127.0.0.1:{}", loopback_port(&s.stderr_line()));
    let job = curl(format!("{api}/v1/jobs"))
        .method("POST")
        .header("Content-Type: application/json")
        .data(r#"{"name":"bombs"}"#)
        .send();
    assert_eq!(job.status, 201, "{}", job.text());
    let job = job.json();
    fetch_bombs(job["proxy"].as_str().unwrap(), port);
    let rss = peak_rss(s.id());
    eprintln!("hark serve: peak RSS {} MB after both bombs", rss >> 20);
    assert!(rss < 256 << 20, "peak RSS {} MB", rss >> 20);
    let id = job["id"].as_str().unwrap();
    let har = curl(format!("{api}/v1/jobs/{id}/network.har")).send();
    assert_eq!(har.status, 200);
    assert_bombs_cut(&har.json(), port);
    drop(s.stop());
}

#[test]
fn a_viewer_upload_is_capped_at_its_inflated_size() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.har.gz");
    gzip_bomb(&bomb);
    let small = dir.path().join("small.har.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&small).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(br#"{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}"#)
        .unwrap();
    e.finish().unwrap();
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut view = hark([
        "view",
        "--no-open",
        "--port",
        "0",
        "--quiet",
        "--max-upload",
        "10M",
    ])
    .arg(&small)
    .env("TMPDIR", &tmp)
    .spawn();
    let url = view.stdout_line().trim().to_string();
    // The compressed file (about 2 MB) is under the cap; what it inflates to is not.
    let r = curl(format!("{url}api/upload?name=bomb.har.gz"))
        .header("X-Hark-Upload: 1")
        .data(format!("@{}", bomb.display()))
        .max_time(60)
        .send();
    assert!(
        r.status == 413 && r.text().contains("inflates to more than"),
        "{} {}",
        r.status,
        r.text()
    );
    let rss = peak_rss(view.id());
    eprintln!("hark view: peak RSS {} MB after the upload", rss >> 20);
    assert!(rss < 256 << 20, "peak RSS {} MB", rss >> 20);
    // Nothing inflated was left behind (the upload and its spool are removed).
    let left: u64 = walk(&tmp)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(left < 1 << 20, "{left} bytes left in {}", tmp.display());
    // A file under the cap, compressed, still goes in.
    let r = curl(format!("{url}api/upload?name=small.har.gz"))
        .header("X-Hark-Upload: 1")
        .data(format!("@{}", small.display()))
        .send();
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A client that sends its request headers a line at a time, every 200 ms, never
/// ending them: how long until `port` drops it (read gives end of file or an error).
fn slow_headers_dropped_after(port: u16) -> Duration {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    s.write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    let mut w = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for i in 0..100 {
            std::thread::sleep(Duration::from_millis(200));
            if w.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .is_err()
            {
                break;
            }
        }
    });
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            // A 408 or 400 before closing is fine; the close is what counts.
            Ok(_) => continue,
        }
    }
    let took = start.elapsed();
    drop(s);
    trickle.join().unwrap();
    took
}

#[track_caller]
fn assert_dropped_in_time(what: &str, took: Duration) {
    eprintln!("{what}: a slow-headers client dropped after {took:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(8),
        "{what}: {took:?}"
    );
}

#[test]
fn slow_header_clients_are_dropped_on_every_listener() {
    let (_up, up) = hostile_upstream();
    let dir = tempfile::tempdir().unwrap();
    // hark record's proxy.
    let mut rec = hark([
        "record",
        "--listen",
        "127.0.0.1:0",
        "--header-timeout",
        "1",
        "-o",
    ])
    .arg(dir.path().join("r.har"))
    .arg("--ca-dir")
    .arg(dir.path().join("ca"))
    .named("hark record")
    .spawn();
    let port = loopback_port(&rec.stderr_line());
    assert_dropped_in_time("hark record", slow_headers_dropped_after(port));
    let r = curl(format!("http://127.0.0.1:{up}/ok"))
        .proxy(format!("http://127.0.0.1:{port}"))
        .send();
    assert_eq!(r.status, 200, "{}", r.error());
    // A CONNECT tunnel whose client never starts TLS.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    s.write_all(b"CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "{got:?}"
    );
    assert_dropped_in_time("hark record, a silent tunnel", start.elapsed());
    drop(rec.stop());

    // hark serve: its API and a job's proxy.
    let data = dir.path().join("data");
    let mut s = hark([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--header-timeout",
        "1",
        "--data",
    ])
    .arg(&data)
    .arg("--ca-dir")
    .arg(data.join("ca"))
    .named("hark serve")
    .spawn();
    let api = loopback_port(&s.stderr_line());
    assert_dropped_in_time("hark serve API", slow_headers_dropped_after(api));
    let job = curl(format!("http://127.0.0.1:{api}/v1/jobs"))
        .arg("--json")
        .arg("{}")
        .send();
    assert_eq!(job.status, 201, "{}", job.text());
    let proxy = job.json()["proxy"].as_str().unwrap().to_string();
    let pport: u16 = proxy.rsplit(':').next().unwrap().parse().unwrap();
    assert_dropped_in_time("hark serve job proxy", slow_headers_dropped_after(pport));
    let r = curl(format!("http://127.0.0.1:{up}/ok"))
        .proxy(&proxy)
        .send();
    assert_eq!(r.status, 200, "{}", r.error());
    drop(s.stop());

    // hark view.
    let har = dir.path().join("v.har");
    std::fs::write(
        &har,
        r#"{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}"#,
    )
    .unwrap();
    let mut view = hark([
        "view",
        "--no-open",
        "--port",
        "0",
        "--quiet",
        "--header-timeout",
        "1",
    ])
    .arg(&har)
    .spawn();
    let url = view.stdout_line().trim().to_string();
    let vport = loopback_port(&url);
    assert_dropped_in_time("hark view", slow_headers_dropped_after(vport));
    let r = curl(format!("{url}api/files")).send();
    assert_eq!(r.status, 200, "{}", r.error());
}

#[test]
fn a_flipped_byte_mid_journal_loses_only_that_record() {
    let (_up, up) = hostile_upstream();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("run.journal");
    let mut rec = hark(["record", "--listen", "127.0.0.1:0", "--keep-journal", "-o"])
        .arg(dir.path().join("run.har"))
        .arg("--journal")
        .arg(&journal)
        .arg("--ca-dir")
        .arg(dir.path().join("ca"))
        .named("hark record")
        .spawn();
    let port = loopback_port(&rec.stderr_line());
    // One client, one request after the other: the journal holds them in order.
    let urls: Vec<String> = (0..30)
        .map(|i| format!("http://127.0.0.1:{up}/ok?i={i}"))
        .collect();
    let done = curl(&urls[0])
        .proxy(format!("http://127.0.0.1:{port}"))
        .args(&urls[1..])
        .run();
    done.assert_success();
    assert_eq!(done.stdout().matches("ok").count(), 30, "{done}");
    rec.stop().assert_success();
    // Walk the records ([len u32][crc u32][start u64][JSON]) to the 15th and flip a
    // byte inside its JSON.
    let mut bytes = std::fs::read(&journal).unwrap();
    let mut pos = 16;
    let mut at = Vec::new();
    while pos + 8 <= bytes.len() {
        at.push(pos);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    assert_eq!(at.len(), 30, "one record per request");
    let victim = at[15];
    let json: serde_json::Value = serde_json::from_slice(&bytes[victim + 16..at[16]]).unwrap();
    let lost_url = json["request"]["url"].as_str().unwrap().to_string();
    bytes[victim + 40] ^= 0x20;
    std::fs::write(&journal, &bytes).unwrap();
    let out = dir.path().join("recovered.har");
    let o = hark(["record", "--recover"])
        .arg(&journal)
        .arg("-o")
        .arg(&out)
        .run();
    o.assert_success();
    let want = format!(
        "1 damaged record skipped, {} bytes; the entries after it are kept",
        at[16] - at[15]
    );
    assert!(o.stderr().contains("29 entries recovered"), "{o}");
    assert!(o.stderr().contains(&want), "{want:?}: {o}");
    let har = read_json(&out);
    let got = urls_of(&har);
    assert_eq!(got.len(), 29);
    assert!(!got.contains(&lost_url), "{lost_url}");
    assert!(har["log"]["comment"]
        .as_str()
        .unwrap()
        .contains("1 damaged record(s)"));
    assert_valid_har(&out);
}

fn urls_of(har: &serde_json::Value) -> Vec<String> {
    entries(har)
        .iter()
        .map(|e| e["request"]["url"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_absolute_form_request_goes_upstream_with_the_targets_host() {
    let (_up, up) = hostile_upstream();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("host.har");
    let mut rec = hark(["record", "--listen", "127.0.0.1:0", "-o"])
        .arg(&out)
        .arg("--ca-dir")
        .arg(dir.path().join("ca"))
        .named("hark record")
        .spawn();
    let port = loopback_port(&rec.stderr_line());
    let ask = |host_line: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "GET http://127.0.0.1:{up}/host HTTP/1.1\r\n{host_line}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut got = String::new();
        s.read_to_string(&mut got).unwrap();
        let body = got.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        serde_json::from_str::<serde_json::Value>(&body).unwrap_or_else(|e| panic!("{e}: {got}"))
            ["host"]
            .clone()
    };
    let target = format!("127.0.0.1:{up}");
    // A Host that differs from the target, and none at all: the target's goes upstream.
    assert_eq!(ask("Host: evil.example\r\n"), target.as_str());
    assert_eq!(ask(""), target.as_str());
    assert_eq!(ask(&format!("Host: {target}\r\n")), target.as_str());
    rec.stop().assert_success();
    // The entries record the Host as sent.
    let har = read_json(&out);
    let es = entries(&har);
    assert_eq!(es.len(), 3);
    for e in es {
        let hosts: Vec<&str> = e["request"]["headers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case("host"))
            .map(|h| h["value"].as_str().unwrap())
            .collect();
        assert_eq!(hosts, vec![target.as_str()], "{e}");
    }
}
