//! Which hosts are in scope.

/// Which hosts are in scope (with no pattern: the hosts of the recorded documents, or
/// every host when no document was recorded).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Host names or globs (`*.example.com`); empty: the hosts of the recorded documents.
    pub patterns: Vec<String>,
}

fn glob(p: &str, s: &str) -> bool {
    let (p, s) = (p.to_ascii_lowercase(), s.to_ascii_lowercase());
    match p.split_once('*') {
        None => p == s,
        Some((a, b)) => s.len() >= a.len() + b.len() && s.starts_with(a) && s.ends_with(b),
    }
}

impl Scope {
    pub(crate) fn matches(&self, host: &str) -> bool {
        let bare = host.rsplit_once(':').map_or(host, |(h, p)| {
            if p.bytes().all(|c| c.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        self.patterns.iter().any(|p| glob(p, host) || glob(p, bare))
    }
}
