//! Finding an installed Chromium-family browser and starting it for a capture: a fresh
//! temporary profile (deleted afterwards), DevTools on a free loopback port, nothing of
//! its own on the network (no sync, no updates, no first-run pages).

use crate::CaptureError;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Program names looked up on `PATH`, and usual install locations, per kind.
fn candidates(kind: &str) -> (Vec<&'static str>, Vec<String>) {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let win = |rel: &str| -> Vec<String> {
        ["ProgramFiles", "ProgramFiles(x86)", "LocalAppData"]
            .iter()
            .map(|k| env(k))
            .filter(|b| !b.is_empty())
            .map(|b| format!("{b}\\{rel}"))
            .collect()
    };
    let (names, mut paths): (Vec<&str>, Vec<String>) = match kind {
        "chrome" => (
            vec!["google-chrome", "google-chrome-stable", "chrome"],
            vec![
                "/opt/google/chrome/chrome".into(),
                "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome".into(),
            ],
        ),
        "chromium" => (
            vec!["chromium", "chromium-browser"],
            vec![
                "/usr/bin/chromium".into(),
                "/usr/bin/chromium-browser".into(),
                "/snap/bin/chromium".into(),
                "/Applications/Chromium.app/Contents/MacOS/Chromium".into(),
            ],
        ),
        "edge" => (
            vec!["microsoft-edge", "microsoft-edge-stable", "msedge"],
            vec![
                "/opt/microsoft/msedge/msedge".into(),
                "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge".into(),
            ],
        ),
        "brave" => (
            vec!["brave-browser", "brave"],
            vec![
                "/opt/brave.com/brave/brave".into(),
                "/Applications/Brave Browser.app/Contents/MacOS/Brave Browser".into(),
            ],
        ),
        _ => (vec![], vec![]),
    };
    if cfg!(windows) {
        paths.extend(match kind {
            "chrome" => win("Google\\Chrome\\Application\\chrome.exe"),
            "chromium" => win("Chromium\\Application\\chrome.exe"),
            "edge" => win("Microsoft\\Edge\\Application\\msedge.exe"),
            "brave" => win("BraveSoftware\\Brave-Browser\\Application\\brave.exe"),
            _ => vec![],
        });
    }
    (names, paths)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        let p = dir.join(name);
        let exe = p.with_extension("exe");
        [p, exe].into_iter().find(|p| p.is_file())
    })
}

/// The browser to start: `spec` is a path, or `chrome`, `chromium`, `edge` or `brave`;
/// `None` tries those four in that order. The error names every place looked at.
pub fn find(spec: Option<&str>) -> Result<PathBuf, CaptureError> {
    let kinds: Vec<&str> = match spec {
        Some(s @ ("chrome" | "chromium" | "edge" | "brave")) => vec![s],
        Some(path) => {
            let p = PathBuf::from(path);
            if p.is_file() {
                return Ok(p);
            }
            if let Some(p) = (!path.contains(['/', '\\']))
                .then(|| on_path(path))
                .flatten()
            {
                return Ok(p);
            }
            return Err(CaptureError::NoBrowser {
                looked: vec![path.to_string()],
            });
        }
        None => vec!["chrome", "chromium", "edge", "brave"],
    };
    let mut looked = Vec::new();
    for kind in kinds {
        let (names, paths) = candidates(kind);
        for n in names {
            if let Some(p) = on_path(n) {
                return Ok(p);
            }
            looked.push(format!("{n} on PATH"));
        }
        for p in paths {
            if Path::new(&p).is_file() {
                return Ok(p.into());
            }
            looked.push(p);
        }
    }
    Err(CaptureError::NoBrowser { looked })
}

/// How to start the browser.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub path: PathBuf,
    pub headless: bool,
    /// More command-line flags (after hark's own).
    pub args: Vec<String>,
}

/// A browser hark started: killed (if still running) and its profile deleted on drop.
pub struct Browser {
    pub child: tokio::process::Child,
    pub ws_url: String,
    profile: Option<tempfile::TempDir>,
}

impl Browser {
    /// Wait up to `grace` for the browser to exit, then kill it; delete the profile.
    pub async fn close(mut self, grace: Duration) {
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        if let Some(p) = self.profile.take() {
            // A browser that just exited may still be releasing files.
            for _ in 0..10 {
                if std::fs::remove_dir_all(p.path()).is_ok() || !p.path().exists() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The flags of every launch: DevTools on a free loopback port, a fresh profile, and
/// nothing the browser would fetch by itself.
pub fn flags(profile: &Path, headless: bool) -> Vec<String> {
    let mut f = vec![
        "--remote-debugging-port=0".to_string(),
        "--remote-debugging-address=127.0.0.1".into(),
        format!("--user-data-dir={}", profile.display()),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-default-apps".into(),
        "--disable-extensions".into(),
    ];
    if headless {
        f.push("--headless".into());
    }
    // Chromium refuses to run as root with its sandbox (containers, CI).
    #[cfg(unix)]
    if unsafe { libc::geteuid() } == 0 {
        f.push("--no-sandbox".into());
    }
    f
}

const PROFILE_PREFIX: &str = "hark-capture-profile-";

/// Remove the temporary profiles in `dir` that a hark killed with `kill -9` left (a
/// profile holds the session's cookies): their names carry the pid of the hark that made
/// them (`hark-capture-profile-PID-…`), and a profile whose hark is gone is removed. Ones
/// without a pid, and ones whose pid is alive (in use, or taken by another process since),
/// are left. Returns how many were removed.
pub fn sweep_profiles(dir: &Path) -> usize {
    let Ok(list) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in list.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PROFILE_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || alive(pid) || !e.path().is_dir() {
            continue;
        }
        if std::fs::remove_dir_all(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether process `pid` exists.
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // Signal 0 checks existence; EPERM means it exists but is not ours.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Start the browser on `about:blank` and read where its DevTools endpoint is.
pub async fn launch(o: &LaunchOptions) -> Result<Browser, CaptureError> {
    sweep_profiles(&std::env::temp_dir());
    let profile = tempfile::Builder::new()
        .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|source| CaptureError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    let mut cmd = tokio::process::Command::new(&o.path);
    cmd.args(flags(profile.path(), o.headless))
        .args(&o.args)
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    unsafe {
        // The browser goes when hark goes, even on `kill -9` of hark.
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| CaptureError::Launch {
        path: o.path.clone(),
        source,
    })?;
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let mut last = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(ws) = l.strip_prefix("DevTools listening on ") {
                return Some(ws.trim().to_string());
            }
            last.push(l);
            if last.len() > 5 {
                last.remove(0);
            }
        }
        None
    })
    .await;
    let ws_url = match found {
        Ok(Some(ws)) => ws,
        Ok(None) => {
            return Err(CaptureError::NoEndpoint {
                path: o.path.clone(),
                detail: format!("it exited; it said: {}", last.join(" | ")),
            })
        }
        Err(_) => {
            return Err(CaptureError::NoEndpoint {
                path: o.path.clone(),
                detail: "nothing within 30 s".into(),
            })
        }
    };
    // The rest of what it says is drained (a full pipe would stall it).
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Browser {
        child,
        ws_url,
        profile: Some(profile),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn profiles_of_a_hark_that_is_gone_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        gone.wait().unwrap();
        let mk = |name: String| {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.join("Default")).unwrap();
            std::fs::write(p.join("Default/Cookies"), b"sid=secret").unwrap();
            p
        };
        let dead = mk(format!("{PROFILE_PREFIX}{gone_pid}-a1b2"));
        let ours = mk(format!("{PROFILE_PREFIX}{}-c3d4", std::process::id()));
        let init = mk(format!("{PROFILE_PREFIX}1-e5f6"));
        let old = mk(format!("{PROFILE_PREFIX}x7y8z9"));
        assert_eq!(sweep_profiles(dir.path()), 1);
        assert!(
            !dead.exists(),
            "the profile of a hark that is gone is removed"
        );
        for kept in [ours, init, old] {
            assert!(kept.exists(), "{} kept", kept.display());
        }
    }

    use super::*;

    #[test]
    fn a_missing_browser_names_where_it_looked() {
        let e = find(Some("/nonexistent/chrome")).unwrap_err().to_string();
        assert!(
            e.contains("/nonexistent/chrome") && e.contains("--browser"),
            "{e}"
        );
        let (names, paths) = candidates("edge");
        assert!(names.contains(&"microsoft-edge"));
        assert!(paths.iter().any(|p| p.contains("Microsoft Edge")));
    }
}
