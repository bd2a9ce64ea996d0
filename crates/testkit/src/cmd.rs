//! Processes: run one to completion ([`Done`]) or keep one running ([`Running`]).

use serde_json::Value;
use std::ffi::OsStr;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a server may take to print its first line (it has been built already).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A program to run, with its arguments, environment and standard input: a builder, by
/// value (`Cmd::new("node").arg(script).run()`).
pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    name: String,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        let program = program.as_ref();
        let name = Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned();
        Cmd {
            cmd: Command::new(program),
            stdin: None,
            name,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    /// Feed these bytes to standard input (then close it). Without it the program's
    /// standard input is empty.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// The name its output is shown under: `[name] line` (default: the program's file name).
    pub fn named(mut self, name: &str) -> Cmd {
        self.name = name.to_string();
        self
    }

    /// The command line, for messages.
    fn shown(&self) -> String {
        let mut s = self.cmd.get_program().to_string_lossy().into_owned();
        for a in self.cmd.get_args() {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Start it with all three streams piped: the child and its command line.
    #[track_caller]
    fn start(&mut self) -> (Child, String) {
        let what = self.shown();
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not start `{what}`: {e}"));
        (child, what)
    }

    /// Run to completion. A non-zero exit is not a panic: assert on [`Done`].
    #[track_caller]
    pub fn run(mut self) -> Done {
        let (mut child, what) = self.start();
        let feeder = feed(&mut child, self.stdin.take());
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("waiting for `{what}`: {e}"));
        if let Some(f) = feeder {
            let _ = f.join();
        }
        Done {
            what,
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }

    /// Start it and keep it running (a server): stdout and stderr are read as they come,
    /// kept, and echoed as `[name] line` into the test's captured output.
    #[track_caller]
    pub fn spawn(mut self) -> Running {
        let (mut child, what) = self.start();
        // With bytes to feed, a feeder writes them and closes; without, standard input
        // stays open for `Running::write_stdin`.
        let stdin = match self.stdin.take() {
            Some(bytes) => {
                let _ = feed(&mut child, Some(bytes));
                None
            }
            None => child.stdin.take(),
        };
        let out = Lines::drain(child.stdout.take().unwrap(), format!("{} out", self.name));
        let err = Lines::drain(child.stderr.take().unwrap(), self.name.clone());
        Running {
            child,
            what,
            stdin,
            out,
            err,
            exited: None,
        }
    }
}

/// Write `bytes` to the child's stdin on a thread of its own (a child may write before it
/// reads all of its input), then close it; with `None`, close it at once.
fn feed(child: &mut Child, bytes: Option<Vec<u8>>) -> Option<JoinHandle<()>> {
    let mut stdin = child.stdin.take()?;
    let bytes = bytes?;
    Some(std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    }))
}

/// A finished process: its exit status and everything it wrote. `Display` shows it all,
/// for assertion messages: `assert!(d.stdout().contains(..), "{d}")`.
pub struct Done {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Done {
    /// The exit code; panics (showing the output) when it was killed by a signal.
    #[track_caller]
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("exited by a signal, not normally: {self}"))
    }

    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Standard output as JSON (a BOM ignored); panics with the whole output otherwise.
    #[track_caller]
    pub fn json(&self) -> Value {
        let b = self
            .stdout
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.stdout);
        serde_json::from_slice(b).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// Assert the exit code, showing the output when it is another.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Done {
        assert_eq!(self.status.code(), Some(code), "{self}");
        self
    }

    /// Assert exit code 0, showing the output when not.
    #[track_caller]
    pub fn assert_success(&self) -> &Done {
        assert!(self.status.success(), "{self}");
        self
    }
}

/// At most this many bytes of each stream in messages: the start and the end.
const SHOWN: usize = 8000;

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= SHOWN {
        return text.into_owned();
    }
    let mut head = SHOWN / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - SHOWN / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[… {} bytes …]\n{}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

impl fmt::Display for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "`{}` ended with {}", self.what, self.status)?;
        writeln!(f, "--- stdout ---\n{}", excerpt(&self.stdout))?;
        write!(f, "--- stderr ---\n{}", excerpt(&self.stderr))
    }
}

impl fmt::Debug for Done {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One output stream of a running child: read line by line on a thread, each line kept,
/// echoed and handed over.
struct Lines {
    rx: Receiver<String>,
    log: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Lines {
    fn drain(stream: impl Read + Send + 'static, name: String) -> Lines {
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = log.clone();
        // Threads spawned by a test share its captured output: the echo is shown when
        // the test fails (or with --nocapture), and nowhere else.
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stream);
            let mut line = Vec::new();
            while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                keep.lock().unwrap().extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                eprintln!("[{name}] {text}");
                let _ = tx.send(text.to_string());
                line.clear();
            }
        });
        Lines {
            rx,
            log,
            reader: Some(reader),
        }
    }

    fn text(&self) -> Vec<u8> {
        self.log.lock().unwrap().clone()
    }

    /// Wait (a bounded time) for the reader to see the end of the stream.
    fn finish(&mut self) {
        if let Some(r) = self.reader.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !r.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if r.is_finished() {
                let _ = r.join();
            }
        }
    }
}

/// A child that keeps running (a server, a proxy): killed when dropped, so that a failed
/// assertion never leaves one behind. Its output is drained as it comes (a full pipe
/// never blocks it), echoed into the test's captured output under its name, and kept:
/// [`Running::stderr`] gives all of it so far, for messages.
pub struct Running {
    child: Child,
    what: String,
    stdin: Option<ChildStdin>,
    out: Lines,
    err: Lines,
    exited: Option<ExitStatus>,
}

impl Running {
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The next line it writes on standard output (without the newline): servers print
    /// where they listen. Panics, showing what it wrote, when it exits or says nothing
    /// for a minute.
    #[track_caller]
    pub fn stdout_line(&mut self) -> String {
        match self.next_stdout_line(START_TIMEOUT) {
            Some(line) => line,
            None => self.closed("stdout"),
        }
    }

    /// The next line it writes on standard error (without the newline); as
    /// [`Running::stdout_line`].
    #[track_caller]
    pub fn stderr_line(&mut self) -> String {
        match Self::next(&self.err.rx, &self.what, &self.err, "stderr", START_TIMEOUT) {
            Some(line) => line,
            None => self.closed("stderr"),
        }
    }

    /// The next line on standard output, or `None` once it has closed it (it exited);
    /// panics when nothing comes `within` this time.
    #[track_caller]
    pub fn next_stdout_line(&mut self, within: Duration) -> Option<String> {
        Self::next(&self.out.rx, &self.what, &self.err, "stdout", within)
    }

    #[track_caller]
    fn next(
        rx: &Receiver<String>,
        what: &str,
        err: &Lines,
        stream: &str,
        within: Duration,
    ) -> Option<String> {
        match rx.recv_timeout(within) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => panic!(
                "`{what}` wrote no line on {stream} in {within:?}; stderr so far:\n{}",
                String::from_utf8_lossy(&err.text())
            ),
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    #[track_caller]
    fn closed(&mut self, stream: &str) -> ! {
        let status = self.child.wait();
        self.exited = status.as_ref().ok().copied();
        let status = status.map(|s| s.to_string()).unwrap_or_default();
        self.err.finish();
        panic!(
            "`{}` closed its {stream} ({status}) before writing the line; stderr:\n{}",
            self.what,
            String::from_utf8_lossy(&self.err.text())
        )
    }

    /// Write to its standard input (kept open when [`Cmd::stdin`] gave it nothing).
    #[track_caller]
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let stdin = self
            .stdin
            .as_mut()
            .expect("standard input was given by Cmd::stdin");
        stdin
            .write_all(bytes)
            .expect("writing to the child's stdin");
        stdin.flush().unwrap();
    }

    /// Everything it has written on standard error so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.text()).into_owned()
    }

    /// Everything it has written on standard output so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.text()).into_owned()
    }

    /// `kill -9` it and wait for it to be gone (a crash, as the tests stage it).
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.exited = Some(self.child.wait().expect("wait"));
    }

    /// SIGTERM, then wait for it to exit and for its output to end: how a user stops a
    /// server with Ctrl-C. Everything it wrote is in the [`Done`].
    #[track_caller]
    pub fn stop(mut self) -> Done {
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for.
        let r = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(r, 0, "SIGTERM to `{}`", self.what);
        self.wait_done()
    }

    /// Wait for it to exit by itself.
    pub fn wait(mut self) -> Done {
        self.wait_done()
    }

    fn wait_done(&mut self) -> Done {
        let status = self.child.wait().expect("wait");
        self.exited = Some(status);
        self.out.finish();
        self.err.finish();
        Done {
            what: self.what.clone(),
            status,
            stdout: self.out.text(),
            stderr: self.err.text(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
