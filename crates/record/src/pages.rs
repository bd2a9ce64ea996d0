//! Pages for a recording made without page markers (`hark record`): one per top-level
//! document navigation the proxy can tell apart, the entries attached to them.
//!
//! A navigation is a request with `Sec-Fetch-Dest: document` (any method: a form posted
//! is one; `Sec-Fetch-Mode: navigate` alone also counts, an iframe's `Sec-Fetch-Dest:
//! iframe` does not), or, from a client that sends no `Sec-Fetch-*` headers, a `GET`
//! that accepts `text/html` and is no XHR or WebSocket. A navigation answered with a
//! redirect continues into the navigation to its `Location`: one page, as a browser
//! counts it. Every other entry goes to the page whose document its `Referer` names (the
//! latest such page), else to the latest page started before it; entries before the
//! first navigation belong to no page. Titles are the documents' `<title>` when the
//! body was kept, else their URLs.
//!
//! Entries are fed in start order ([`Pager::push`]); memory is one page reference per
//! entry plus the pages.

use har::{EntryView, Json};
use serde_json::{json, Value};

#[derive(Default)]
pub struct Pager {
    pages: Vec<Page>,
    /// Per entry, in the order pushed: its page.
    refs: Vec<Option<u32>>,
    /// A navigation answered with a redirect: its page and where it goes.
    redirect: Option<(u32, String)>,
}

struct Page {
    started: String,
    title: String,
    /// The documents' URLs (a redirect chain has several).
    urls: Vec<String>,
}

fn no_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

/// Whether `entry` is a top-level document navigation.
pub fn is_navigation<J: Json>(entry: EntryView<'_, J>) -> bool {
    let req = entry.request();
    let headers = req.headers();
    let h = |n| headers.get(n).map(str::to_ascii_lowercase);
    if let Some(dest) = h("sec-fetch-dest") {
        return dest == "document";
    }
    if h("sec-fetch-mode").as_deref() == Some("navigate") {
        return true;
    }
    let get = req.method() == Some("GET");
    let html = h("accept").is_some_and(|a| a.contains("text/html"));
    let xhr = headers.contains("x-requested-with") || headers.contains("upgrade");
    get && html && !xhr && !entry.fields().has("_resourceType")
}

/// The `<title>` of an HTML body (its first 64 KiB), trimmed; `None` without one.
fn html_title<J: Json>(entry: EntryView<'_, J>) -> Option<String> {
    let c = entry.response().content();
    if c.encoding().is_some() || !c.mime_type()?.contains("html") {
        return None;
    }
    let text = c.text()?;
    let mut cut = text.len().min(64 * 1024);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    let lower = head.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let t = head[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!t.is_empty()).then_some(t)
}

/// `location` resolved against `base`.
fn resolve(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| no_fragment(u.as_str()).to_string())
        .unwrap_or_else(|_| location.to_string())
}

impl Pager {
    /// The next entry (in start order).
    pub fn push<J: Json>(&mut self, entry: EntryView<'_, J>) {
        let page = if is_navigation(entry) {
            Some(self.navigation(entry))
        } else {
            self.owner(entry)
        };
        self.refs.push(page);
    }

    fn navigation<J: Json>(&mut self, entry: EntryView<'_, J>) -> u32 {
        let url = no_fragment(entry.request().url().unwrap_or("")).to_string();
        let title = html_title(entry);
        let p = match self.redirect.take() {
            Some((p, to)) if to == url => {
                let page = &mut self.pages[p as usize];
                page.urls.push(url.clone());
                page.title = title.unwrap_or_else(|| url.clone());
                p
            }
            _ => {
                self.pages.push(Page {
                    started: entry.started_date_time().unwrap_or("").to_string(),
                    title: title.unwrap_or_else(|| url.clone()),
                    urls: vec![url.clone()],
                });
                (self.pages.len() - 1) as u32
            }
        };
        let resp = entry.response();
        let status = resp.status().unwrap_or(0);
        let location = resp.redirect_url().unwrap_or("");
        if (300..400).contains(&status) && !location.is_empty() {
            self.redirect = Some((p, resolve(&url, location)));
        }
        p
    }

    fn owner<J: Json>(&self, entry: EntryView<'_, J>) -> Option<u32> {
        let by_referer = entry.request().headers().get("referer").and_then(|r| {
            let r = no_fragment(r);
            self.pages
                .iter()
                .rposition(|p| p.urls.iter().any(|u| u == r))
        });
        by_referer
            .or_else(|| self.pages.len().checked_sub(1))
            .map(|p| p as u32)
    }

    /// The page id of the `i`-th entry pushed.
    pub fn page_of(&self, i: usize) -> Option<String> {
        self.refs.get(i).copied().flatten().map(page_id)
    }

    /// The HAR `page` objects.
    pub fn pages(&self) -> Vec<Value> {
        self.pages
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "startedDateTime": p.started,
                    "id": page_id(i as u32),
                    "title": p.title,
                    "pageTimings": {},
                })
            })
            .collect()
    }
}

fn page_id(i: u32) -> String {
    format!("page_{}", i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(p: &mut Pager, v: &Value) {
        p.push(EntryView(har::Obj::of(Some(v))));
    }

    fn entry(method: &str, url: &str, headers: &[(&str, &str)], status: u16, loc: &str) -> Value {
        let hs: Vec<Value> = headers
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect();
        json!({
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "request": {"method": method, "url": url, "headers": hs},
            "response": {"status": status, "redirectURL": loc,
                         "content": {"mimeType": "text/html", "text": "<html><head><TITLE>\n Shop  home</TITLE>"}}
        })
    }

    #[test]
    fn navigations_redirects_and_referers() {
        let nav = [
            ("Sec-Fetch-Dest", "document"),
            ("Sec-Fetch-Mode", "navigate"),
        ];
        let mut p = Pager::default();
        push(&mut p, &entry("GET", "http://a.test/early", &[], 200, ""));
        push(&mut p, &entry("GET", "http://a.test/", &nav, 200, ""));
        push(
            &mut p,
            &entry(
                "GET",
                "http://a.test/app.css",
                &[("Referer", "http://a.test/")],
                200,
                "",
            ),
        );
        // A form posted: 302 to /welcome, which is the same page.
        push(
            &mut p,
            &entry("POST", "http://a.test/login", &nav, 302, "/welcome"),
        );
        push(
            &mut p,
            &entry("GET", "http://a.test/welcome", &nav, 200, ""),
        );
        // A late image of the first page (its Referer), and an iframe of the second.
        push(
            &mut p,
            &entry(
                "GET",
                "http://a.test/late.png",
                &[("Referer", "http://a.test/#top")],
                200,
                "",
            ),
        );
        push(
            &mut p,
            &entry(
                "GET",
                "http://a.test/frame",
                &[("Sec-Fetch-Dest", "iframe"), ("Sec-Fetch-Mode", "navigate")],
                200,
                "",
            ),
        );
        // A client without Sec-Fetch-*: Accept text/html on a GET.
        push(
            &mut p,
            &entry(
                "GET",
                "http://a.test/plain",
                &[("Accept", "text/html,*/*")],
                200,
                "",
            ),
        );
        let refs: Vec<_> = (0..8).map(|i| p.page_of(i)).collect();
        let s = |x: &str| Some(x.to_string());
        assert_eq!(
            refs,
            [
                None,
                s("page_1"),
                s("page_1"),
                s("page_2"),
                s("page_2"),
                s("page_1"),
                s("page_2"),
                s("page_3")
            ]
        );
        let pages = p.pages();
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[0]["title"], "Shop home");
        assert_eq!(pages[1]["id"], "page_2");
    }
}
