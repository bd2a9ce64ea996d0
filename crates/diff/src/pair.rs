//! Which entry of one file is which entry of the other: a key per entry (method +
//! templated path), and entries of the same key paired in their order of occurrence.
//! This is what `hark diff` and the viewer's compare mode share.

use har::{EntryView, Json};
use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use surface::shape::{self, Seg};

/// The path of `url` (no scheme, authority, query or fragment) with id-shaped segments
/// (integers, UUIDs, hex, dates, e-mails, opaque tokens) templated, as `hark surface`
/// names them: `/api/projects/123/items` → `/api/projects/{projectId}/items`.
pub fn template_path(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => {
            let after = &url[i + 3..];
            match after.find('/') {
                Some(j) => &after[j..],
                None => "/",
            }
        }
        None => url,
    };
    let path = rest.split(['?', '#']).next().unwrap_or("/");
    let segs: Vec<Seg> = path
        .split('/')
        .skip(1)
        .map(|s| match shape::shape(s) {
            Some(sh) => Seg::Param(sh),
            None => Seg::Lit(s.to_string()),
        })
        .collect();
    shape::template(&segs)
}

/// The host (with port) of `url`, or "".
pub fn host_of(url: &str) -> &str {
    let Some(i) = url.find("://") else { return "" };
    let after = &url[i + 3..];
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let auth = &after[..end];
    auth.rsplit_once('@').map_or(auth, |(_, h)| h)
}

/// How entries are keyed: with the host or without (the default: a staging and a
/// production recording, or two runs of a site on different ports, still pair).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyOptions {
    pub with_host: bool,
}

/// The pairing key of one request: `GET /api/projects/{projectId}` (or with the host,
/// `GET example.com/api/…`).
pub fn key(method: &str, url: &str, opts: KeyOptions) -> String {
    let host = if opts.with_host { host_of(url) } else { "" };
    format!(
        "{} {host}{}",
        method.to_ascii_uppercase(),
        template_path(url)
    )
}

/// The pairing key of an entry.
pub fn key_of<J: Json>(e: EntryView<'_, J>, opts: KeyOptions) -> String {
    let req = e.request();
    key(req.method().unwrap_or("GET"), req.url().unwrap_or(""), opts)
}

/// Pairs entries as they come: the first file's keys up front, then each key of the
/// second file takes the earliest unpaired entry of the first with the same key. Keys
/// are [`key`]s, or ids the caller gave them (interned once, compared as numbers).
#[derive(Debug)]
pub struct Pairer<K = String> {
    queues: HashMap<K, VecDeque<usize>>,
}

impl<K: Hash + Eq> Pairer<K> {
    /// The first file's keys, in file order (index = position).
    pub fn new(a: impl IntoIterator<Item = K>) -> Pairer<K> {
        let mut queues: HashMap<K, VecDeque<usize>> = HashMap::new();
        for (i, k) in a.into_iter().enumerate() {
            queues.entry(k).or_default().push_back(i);
        }
        Pairer { queues }
    }

    /// The entry of the first file paired with the next entry of the second whose key
    /// is `key`, or `None` (it appeared).
    pub fn take<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
    {
        self.queues.get_mut(key)?.pop_front()
    }

    /// The first file's entries never taken (they disappeared), in file order.
    pub fn unpaired(self) -> Vec<usize> {
        let mut out: Vec<usize> = self.queues.into_values().flatten().collect();
        out.sort_unstable();
        out
    }
}

/// One pair: the entry of the first file, of the second, or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Pair {
    pub a: Option<usize>,
    pub b: Option<usize>,
}

/// Pair two lists of keys (entry order): matched pairs in the second file's order, then
/// what only the first file has.
pub fn pair<K: Hash + Eq>(a: &[K], b: &[K]) -> Vec<Pair> {
    let mut p = Pairer::new(a.iter());
    let mut out: Vec<Pair> = b
        .iter()
        .enumerate()
        .map(|(j, k)| Pair {
            a: p.take(k),
            b: Some(j),
        })
        .collect();
    out.extend(p.unpaired().into_iter().map(|i| Pair {
        a: Some(i),
        b: None,
    }));
    out
}

/// Glob match with `*` (any run) and `?` (one character), ASCII case-insensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            template_path("http://127.0.0.1:5/api/projects/123/items?page=2"),
            "/api/projects/{projectId}/items"
        );
        assert_eq!(template_path("https://x.org"), "/");
        assert_eq!(template_path("https://x.org/"), "/");
        assert_eq!(host_of("https://u:p@x.org:8/a"), "x.org:8");
        let o = KeyOptions { with_host: true };
        assert_eq!(key("get", "http://a:1/u/42", o), "GET a:1/u/{uId}");
        assert_eq!(
            key("get", "http://a:1/u/42", KeyOptions::default()),
            "GET /u/{uId}"
        );
    }

    #[test]
    fn pairs_by_key_in_order() {
        let a = ["GET /x", "GET /y", "GET /x", "POST /z"];
        let b = ["GET /x", "GET /x", "GET /x", "GET /y"];
        let p = pair(&a, &b);
        let got: Vec<(Option<usize>, Option<usize>)> = p.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(
            got,
            vec![
                (Some(0), Some(0)),
                (Some(2), Some(1)),
                (None, Some(2)),
                (Some(1), Some(3)),
                (Some(3), None)
            ]
        );
    }

    #[test]
    fn globs() {
        assert!(glob("x-b3-*", "X-B3-TraceId"));
        assert!(glob("*id", "request-id"));
        assert!(glob("_*", "_"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("*a*b*", "xxaxxbxx"));
    }
}
