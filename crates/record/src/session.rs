//! `hark record` from start to HAR: refuse to start over a journal left by a crash, run
//! the proxy on its own runtime until told to stop, then turn the journal into the HAR.

use crate::journal::{self, Scan};
use crate::{Config, RecordError, Recorder, RunStats};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One recording: where it listens and what it writes.
#[derive(Clone, Debug)]
pub struct Session {
    pub cfg: Config,
    /// The journal (see [`journal_for`]).
    pub journal: PathBuf,
    /// The HAR, written when recording stops.
    pub output: String,
    pub style: har::Style,
    /// Proxy authentication: clients give this as the password.
    pub token: Option<String>,
    /// Keep the journal after writing the HAR.
    pub keep_journal: bool,
    /// The first page marker, made when the proxy starts (`--page NAME`).
    pub page: Option<String>,
}

/// What a recording did.
#[derive(Debug)]
pub struct Recorded {
    pub stats: RunStats,
    /// What the HAR was written from.
    pub scan: Scan,
}

/// The journal of a recording into `output` when none is named: `OUTPUT.journal`.
pub fn journal_for(output: &str) -> PathBuf {
    PathBuf::from(format!("{output}.journal"))
}

/// A journal left by a crash is the only copy of that capture: it is never truncated.
pub fn check_journal_free(journal: &Path) -> Result<(), RecordError> {
    if std::fs::metadata(journal).is_ok_and(|m| m.len() > 0) {
        return Err(RecordError::JournalExists {
            path: journal.to_path_buf(),
        });
    }
    Ok(())
}

impl Session {
    /// Record until `stop` resolves, then write the HAR (and remove the journal unless
    /// it is kept). `started` is called once the proxy listens (it may set
    /// [`Recorder::on_exchange`]); what it returns is dropped when recording stops (a live
    /// display, say). Builds its own Tokio runtime.
    pub fn run<G>(
        self,
        started: impl FnOnce(&mut Recorder) -> G,
        stop: impl std::future::Future<Output = ()>,
    ) -> Result<Recorded, RecordError> {
        check_journal_free(&self.journal)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(RecordError::Runtime)?;
        let stats = rt.block_on(async {
            let mut rec = Recorder::bind(self.cfg, &self.journal)?;
            if let Some(t) = &self.token {
                rec = rec.with_token(t);
            }
            let shown = started(&mut rec);
            if let Some(title) = &self.page {
                rec.mark_page(title).map_err(|e| match e {
                    crate::marks::MarkError::Store(e) => e,
                    e => RecordError::Page(e.to_string()),
                })?;
            }
            let stats = rec.run(stop, Duration::from_secs(2)).await;
            drop(shown);
            stats
        })?;
        rt.shutdown_timeout(Duration::from_millis(200));
        let scan = journal::finish(&self.journal, &self.output, self.style)?;
        if !self.keep_journal {
            let _ = std::fs::remove_file(&self.journal);
            let _ = std::fs::remove_file(journal::pages_path(&self.journal));
        }
        Ok(Recorded { stats, scan })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_with_records_is_never_started_over() {
        let dir = tempfile::tempdir().unwrap();
        let j = journal_for(&dir.path().join("out.har").to_string_lossy());
        assert!(j.to_string_lossy().ends_with("out.har.journal"));
        check_journal_free(&j).unwrap();
        std::fs::write(&j, b"").unwrap();
        check_journal_free(&j).unwrap();
        std::fs::write(&j, b"x").unwrap();
        let e = check_journal_free(&j).unwrap_err().to_string();
        assert!(e.contains("exists (left by a crash?)"), "{e}");
    }
}
