pub mod ca;
pub mod capture;
pub mod check;
pub mod completions;
pub mod diagnose;
pub mod diff;
pub mod example;
pub mod export;
pub mod filter;
pub mod fmt;
pub mod merge;
pub mod mock;
pub mod record;
pub mod replay;
pub mod sanitize;
pub mod serve;
pub mod split;
pub mod summary;
pub mod surface;
pub mod view;

/// The HAR layout for a `--compact` flag: compact when set, pretty (2-space indent) otherwise.
pub fn style(compact: bool) -> har::Style {
    if compact {
        har::Style::Compact
    } else {
        har::Style::Pretty
    }
}

/// A byte count with an optional K/M/G suffix (powers of 1024), for clap.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n = num
        .parse::<u64>()
        .map_err(|e| format!("{t}: {e} (a byte count, e.g. 512K, 16M or 2G)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("{t}: too large"))
}

/// A positive number of seconds (fractions allowed), for clap.
pub fn parse_secs(s: &str) -> Result<std::time::Duration, String> {
    let n: f64 = s
        .trim()
        .parse()
        .map_err(|e| format!("{s}: {e} (seconds, e.g. 30 or 0.5)"))?;
    if !n.is_finite() || n <= 0.0 || n > 1e9 {
        return Err(format!("{s}: expected a positive number of seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(n))
}

/// Resolves on Ctrl-C or SIGTERM (what stops `hark record`, `serve` and `view`).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_with_suffixes() {
        assert_eq!(super::parse_size("16M"), Ok(16 << 20));
        assert_eq!(super::parse_size(" 2g "), Ok(2 << 30));
        assert_eq!(super::parse_size("512"), Ok(512));
        assert!(super::parse_size("x").is_err());
        assert!(super::parse_size("99999999999999999G").is_err());
    }
}
