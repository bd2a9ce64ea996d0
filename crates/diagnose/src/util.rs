//! Small readings of an entry shared by the folds.

use har::{EntryView, Json};
use std::hash::{Hash, Hasher};

/// A stable 64-bit hash (for sets of URLs, tokens, codes: never the values themselves).
pub fn hash<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.ends_with(".localhost") || h.starts_with("127.") || h == "::1"
}

/// The text of a response body, decoding base64 if need be, when not too big.
pub fn body_text<J: Json>(e: EntryView<'_, J>, max: usize) -> Option<String> {
    let c = e.response().content();
    let t = c.text()?;
    if t.is_empty() {
        return None;
    }
    if c.is_base64() {
        if t.len() > max * 4 / 3 + 4 {
            return None;
        }
        return String::from_utf8(c.bytes()?.into_owned()).ok();
    }
    if t.len() > max {
        let mut cut = max;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        return Some(t[..cut].to_string());
    }
    Some(t.to_string())
}

/// The request's form fields (params, or an urlencoded body).
pub fn form<J: Json>(e: EntryView<'_, J>) -> Vec<(String, String)> {
    let Some(pd) = e.request().post_data() else {
        return Vec::new();
    };
    let params: Vec<(String, String)> = pd
        .params()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if !params.is_empty() {
        // Some producers leave params' values URL-encoded.
        return params
            .into_iter()
            .map(|(n, v)| {
                let dec = |s: &str| {
                    url::form_urlencoded::parse(format!("x={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_else(|| s.to_string())
                };
                (dec(&n), dec(&v))
            })
            .collect();
    }
    let urlencoded = pd
        .mime_type()
        .is_some_and(|m| m.contains("x-www-form-urlencoded"));
    match pd.text() {
        Some(t)
            if urlencoded || (!t.starts_with('{') && !t.starts_with('<') && t.contains('=')) =>
        {
            url::form_urlencoded::parse(t.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        }
        _ => Vec::new(),
    }
}

pub fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The URL's scheme, host and port and path, without query or fragment.
pub fn base(u: &url::Url) -> String {
    let mut b = format!("{}://{}", u.scheme(), u.host_str().unwrap_or(""));
    if let Some(p) = u.port() {
        b.push_str(&format!(":{p}"));
    }
    b.push_str(u.path());
    b
}

/// `/api/projects/123/items` → `/api/projects/{id}/items`: numbers, UUIDs, long hex
/// and long random-looking segments become `{id}`.
pub fn template_path(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let digits = seg.bytes().filter(u8::is_ascii_digit).count();
            let idish = (!seg.is_empty() && digits == seg.len())
                || (seg.len() == 36 && seg.bytes().filter(|b| *b == b'-').count() == 4)
                || (seg.len() >= 16 && seg.bytes().all(|b| b.is_ascii_hexdigit()))
                || (seg.len() >= 20
                    && digits > 0
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if idish {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `METHOD host/templated/path`, the key errors are grouped by.
pub fn endpoint(method: &str, u: Option<&url::Url>, raw: &str) -> String {
    match u {
        Some(u) => format!(
            "{method} {}{}{}",
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            template_path(u.path())
        ),
        None => format!("{method} {}", raw.split('?').next().unwrap_or(raw)),
    }
}

/// Milliseconds since the epoch as `2024-01-15T09:30:00Z`.
pub fn iso(ms: f64) -> String {
    har::time::format_s(ms)
}

/// A duration in words: `850 ms`, `3.2 s`, `4 min`, `2.5 h`, `3 days`.
pub fn human_ms(ms: f64) -> String {
    let a = ms.abs();
    if a < 1000.0 {
        format!("{ms:.0} ms")
    } else if a < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if a < 3_600_000.0 {
        format!("{:.0} min", ms / 60_000.0)
    } else if a < 86_400_000.0 {
        format!("{:.1} h", ms / 3_600_000.0)
    } else {
        format!("{:.0} days", ms / 86_400_000.0)
    }
}

pub fn human_bytes(b: i64) -> String {
    let f = b as f64;
    if b.abs() < 1024 {
        format!("{b} B")
    } else if f.abs() < 1024.0 * 1024.0 {
        format!("{:.1} KiB", f / 1024.0)
    } else if f.abs() < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", f / 1048576.0)
    } else {
        format!("{:.2} GiB", f / 1073741824.0)
    }
}

/// The first `n` characters of `s`, with `…` if cut.
pub fn clip(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// A short, non-reversible view of a value (`O7yLZL…`, 22 chars).
pub fn fingerprint(v: &str) -> String {
    let shown: String = v.chars().take(6).collect();
    if v.chars().count() > 6 {
        format!("`{shown}…` ({} chars)", v.chars().count())
    } else {
        format!("`{shown}`")
    }
}

/// Keep the `n` largest items by key; memory is `n` items.
#[derive(Clone, Debug)]
pub struct TopN<T> {
    n: usize,
    items: Vec<(f64, T)>,
}

impl<T> TopN<T> {
    pub fn new(n: usize) -> TopN<T> {
        TopN {
            n,
            items: Vec::with_capacity(n + 1),
        }
    }
    /// Whether an item with this key would be kept (to avoid building it otherwise).
    pub fn wants(&self, key: f64) -> bool {
        self.items.len() < self.n || self.items.last().is_some_and(|(k, _)| key > *k)
    }
    pub fn push(&mut self, key: f64, item: T) {
        if !self.wants(key) {
            return;
        }
        let at = self.items.partition_point(|(k, _)| *k >= key);
        self.items.insert(at, (key, item));
        self.items.truncate(self.n);
    }
    pub fn into_sorted(self) -> Vec<T> {
        self.items.into_iter().map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_paths() {
        assert_eq!(iso(784111777000.0), "1994-11-06T08:49:37Z");
        assert_eq!(
            template_path("/api/projects/123/items"),
            "/api/projects/{id}/items"
        );
        assert_eq!(
            template_path("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
            "/u/{id}"
        );
        assert_eq!(template_path("/login"), "/login");
        assert_eq!(human_ms(1500.0), "1.5 s");
        let mut t = TopN::new(2);
        for (k, v) in [(1.0, 'a'), (5.0, 'b'), (3.0, 'c')] {
            t.push(k, v);
        }
        assert_eq!(t.into_sorted(), vec!['b', 'c']);
    }
}
