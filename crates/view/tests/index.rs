//! The viewer's index and API on the real HAR corpus, without a browser: offsets read
//! back the right entry, filters and sorts agree with an independent reading of the
//! file, bad input is reported with its place, curl commands survive a real shell.

use serde_json::Value;
use std::io::Write;
use testkit::{corpus, corpus_file, fixture, read_json, Cmd};
use view::{Index, Item, Query};

/// The path of one of our recordings (testdata/har/NAME), as `Index::open` takes it.
fn har(name: &str) -> String {
    fixture(name).to_string_lossy().into_owned()
}

/// The entries as serde_json reads the whole file (an independent reading).
fn entries(path: &str) -> Vec<Value> {
    testkit::entries(&read_json(path)).clone()
}

fn rows(idx: &std::sync::Arc<Index>, q: &Query) -> Vec<u32> {
    idx.query(q)
        .unwrap()
        .items
        .iter()
        .filter_map(|it| match it {
            Item::Row(i) => Some(*i),
            Item::Page(_) => None,
        })
        .collect()
}

#[test]
fn offsets_read_back_every_entry_of_the_corpus() {
    for f in corpus() {
        let path = f.to_string_lossy();
        let idx = Index::open_blocking(&path).unwrap();
        let expected = entries(&path);
        assert_eq!(idx.len(), expected.len(), "{path}");
        for (i, e) in expected.iter().enumerate() {
            let bytes = idx.entry_bytes(i).unwrap();
            let got: Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("{path} entry {i}: {err}"));
            assert_eq!(&got, e, "{path} entry {i}");
        }
        // And the details of each parse.
        for i in 0..idx.len() {
            view::details::details(i, &idx.entry_bytes(i).unwrap()).unwrap();
        }
    }
}

#[test]
fn gzip_and_stdin_like_input_is_spooled_and_seekable() {
    let src = har("failures.chromium.har");
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("f.har.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&src).unwrap()).unwrap();
    enc.finish().unwrap();
    let idx = Index::open_blocking(&gz.to_string_lossy()).unwrap();
    let expected = entries(&src);
    assert_eq!(idx.len(), expected.len());
    let last = expected.len() - 1;
    let got: Value = serde_json::from_slice(&idx.entry_bytes(last).unwrap()).unwrap();
    assert_eq!(got, expected[last]);
    assert_ne!(idx.path(), gz.as_path(), "read from a spooled copy");
}

#[test]
fn filters_agree_with_an_independent_reading() {
    let path = har("failures.chromium.har");
    let idx = Index::open_blocking(&path).unwrap();
    let es = entries(&path);
    let status = |e: &Value| e["response"]["status"].as_i64().unwrap_or(0);
    let failed = |e: &Value| {
        status(e) <= 0
            || e["response"]["_error"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
            || e["response"]["_failureText"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
    };
    let url = |e: &Value| e["request"]["url"].as_str().unwrap().to_string();

    // The rows a query selects, in file order: exactly the entries `pred` picks out of
    // the independent reading, and some.
    let selects = |q: Query, pred: &dyn Fn(&Value) -> bool| {
        let want: Vec<u32> = (0..es.len() as u32)
            .filter(|&i| pred(&es[i as usize]))
            .collect();
        let mut got = rows(&idx, &q);
        got.sort();
        assert!(!want.is_empty(), "{q:?} selects nothing in the file");
        assert_eq!(got, want, "{q:?}");
        want.len()
    };

    // Only errors: 4xx/5xx and failed.
    selects(
        Query {
            errors: true,
            ..Default::default()
        },
        &|e| status(e) >= 400 || failed(e),
    );
    // Status classes.
    selects(
        Query {
            status: "4xx".into(),
            ..Default::default()
        },
        &|e| !failed(e) && (400..500).contains(&status(e)),
    );
    // Text (case-insensitive) and regex on the URL.
    let n = selects(
        Query {
            q: "/API/".into(),
            ..Default::default()
        },
        &|e| url(e).to_lowercase().contains("/api/"),
    );
    assert!(n < es.len());
    let re = regex::Regex::new(r"\.(png|css)$").unwrap();
    selects(
        Query {
            q: r"\.(png|css)$".into(),
            regex: true,
            ..Default::default()
        },
        &|e| re.is_match(&url(e)),
    );
    // Method, minimum time and size, type: combined.
    selects(
        Query {
            method: "get".into(),
            min_time: Some(20.0),
            ..Default::default()
        },
        &|e| e["request"]["method"] == "GET" && e["time"].as_f64().unwrap() >= 20.0,
    );
    let scripts = rows(
        &idx,
        &Query {
            types: "script".into(),
            ..Default::default()
        },
    );
    assert!(!scripts.is_empty());
    for i in &scripts {
        assert_eq!(es[*i as usize]["_resourceType"], "script");
    }
    let big = rows(
        &idx,
        &Query {
            min_size: Some(2000),
            ..Default::default()
        },
    );
    for i in &big {
        let e = &es[*i as usize];
        let size = e["response"]["content"]["size"]
            .as_i64()
            .unwrap_or(0)
            .max(e["response"]["_transferSize"].as_i64().unwrap_or(0));
        assert!(size >= 2000, "entry {i}");
    }
    assert!(!big.is_empty() && big.len() < es.len());

    // A bad regex is a clear error, not an empty table.
    let err = idx
        .query(&Query {
            q: "([".into(),
            regex: true,
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("bad regex"), "{err}");
    assert!(idx
        .query(&Query {
            status: "6xx".into(),
            ..Default::default()
        })
        .is_err());
}

#[test]
fn sorts_on_every_column_and_groups_by_page() {
    let path = corpus_file("perfcascade-www.bbc.co.uk.160529_8V_7R3.har")
        .to_string_lossy()
        .into_owned();
    let idx = Index::open_blocking(&path).unwrap();
    let es = entries(&path);
    let time = |i: u32| es[i as usize]["time"].as_f64().unwrap();
    let by_time = rows(
        &idx,
        &Query {
            sort: "time".into(),
            desc: true,
            ..Default::default()
        },
    );
    assert_eq!(by_time.len(), es.len());
    for w in by_time.windows(2) {
        assert!(time(w[0]) >= time(w[1]) - 0.001, "{w:?}");
    }
    let by_status = rows(
        &idx,
        &Query {
            sort: "status".into(),
            ..Default::default()
        },
    );
    let status = |i: u32| es[i as usize]["response"]["status"].as_i64().unwrap();
    for w in by_status.windows(2) {
        assert!(status(w[0]) <= status(w[1]));
    }
    for key in [
        "start", "status", "method", "domain", "path", "url", "type", "size", "decoded", "time",
    ] {
        let r = rows(
            &idx,
            &Query {
                sort: key.into(),
                ..Default::default()
            },
        );
        assert_eq!(r.len(), es.len(), "{key}");
    }
    assert!(idx
        .query(&Query {
            sort: "nonsense".into(),
            ..Default::default()
        })
        .is_err());

    // Grouped: a header per page, then its requests.
    let ex = Index::open_blocking(&har("failures.chromium.har")).unwrap();
    let m = ex
        .query(&Query {
            group: true,
            ..Default::default()
        })
        .unwrap();
    let headers = m
        .items
        .iter()
        .filter(|i| matches!(i, Item::Page(_)))
        .count();
    let pages = entries(&har("failures.chromium.har"))
        .iter()
        .filter_map(|e| e["pageref"].as_str().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(pages >= 1);
    assert_eq!(headers, pages);
    assert!(matches!(m.items[0], Item::Page(_)));
    assert_eq!(m.rows, ex.len());
}

#[test]
fn bad_input_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let not_har = dir.path().join("x.har");
    std::fs::write(&not_har, "[1, 2]").unwrap();
    let err = Index::open(&not_har.to_string_lossy(), 1).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("x.har:1:1"), "{msg}");

    // Truncated in the middle of entry 2 (the page has a startedDateTime too): the
    // first entries are kept, the error says
    // where.
    let src = std::fs::read_to_string(har("example-login.chromium.har")).unwrap();
    let cut = src.match_indices("\"startedDateTime\"").nth(3).unwrap().0 + 40;
    let trunc = dir.path().join("cut.har");
    std::fs::write(&trunc, &src[..cut]).unwrap();
    let idx = Index::open(&trunc.to_string_lossy(), 1).unwrap();
    idx.wait();
    let st = idx.state.read().unwrap();
    let e = st.error.clone().expect("an error");
    assert!(
        e.contains("cut.har:") && e.contains("log.entries[2]"),
        "{e}"
    );
    assert_eq!(st.rows.len(), 2);
    drop(st);
    assert!(matches!(
        idx.entry_bytes(5),
        Err(view::ViewError::NoEntry(5))
    ));
}

#[test]
fn details_show_jwts_cookies_params_and_timings() {
    let path = har("example-login.chromium.har");
    let idx = Index::open_blocking(&path).unwrap();
    let es = entries(&path);
    let token = es
        .iter()
        .position(|e| {
            e["request"]["url"]
                .as_str()
                .unwrap()
                .ends_with("/oauth/token")
        })
        .expect("a token request");
    let d = view::details::details(token, &idx.entry_bytes(token).unwrap()).unwrap();
    let jwts = d["jwts"].as_array().unwrap();
    assert!(!jwts.is_empty(), "the token response holds JWTs");
    assert!(jwts.iter().any(|j| j["claims"]["sub"].is_string()));
    assert_eq!(d["request"]["method"], "POST");
    assert!(d["request"]["postData"]["params"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "grant_type"));
    assert!(d["timings"]["wait"].as_f64().unwrap() >= 0.0);
    assert_eq!(d["response"]["body"]["kind"], "json");

    // Cookies set by the login.
    let login = es
        .iter()
        .position(|e| {
            e["request"]["method"] == "POST"
                && e["request"]["url"].as_str().unwrap().ends_with("/login")
        })
        .unwrap();
    let d = view::details::details(login, &idx.entry_bytes(login).unwrap()).unwrap();
    let set = d["response"]["cookies"].as_array().unwrap();
    assert!(set.iter().any(|c| c["name"] == "sid"), "{set:?}");

    // An image: its bytes through the image route, with its type; SVG never.
    let img = es
        .iter()
        .position(|e| e["response"]["content"]["mimeType"] == "image/png")
        .unwrap();
    let (mime, data) = view::details::image(&idx.entry_bytes(img).unwrap()).unwrap();
    assert_eq!(mime, "image/png");
    assert!(data.starts_with(b"\x89PNG"));
    assert_eq!(view::details::image_mime("image/svg+xml"), None);
}

#[test]
fn curl_commands_survive_a_posix_shell() {
    for s in [
        "plain",
        "it's",
        "a b",
        "'$(touch /tmp/pwned)'",
        "`id` $HOME \\ \" ' ''",
        "new\nline",
        "",
        "é ü 中",
    ] {
        let q = view::details::sh_quote(s);
        let out = Cmd::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {q}"))
            .run();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "{q}");
    }
}

#[test]
fn copy_as_curl_cannot_be_given_options_by_the_url() {
    // Without `--url`, curl would read `-V…` as --version: print it and exit 0.
    for url in [
        "-Vhttp://127.0.0.1:9/",
        "--version",
        "-o/tmp/hark-curl-pwned",
    ] {
        let entry = serde_json::json!({
            "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "X-A", "value": "-v"}]}
        });
        let cmd = view::details::curl(har::EntryView(har::Obj::of(Some(&entry))));
        assert!(cmd.starts_with("curl --url "), "{cmd}");
        let out = Cmd::new("sh")
            .arg("-c")
            .arg(format!("{cmd} --max-time 2 --proto =http"))
            .run();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.success(),
            "{cmd}: curl took the URL as options: {stdout}"
        );
        assert!(!stdout.contains("Protocols:"), "{cmd}: {stdout}");
    }
    assert!(!std::path::Path::new("/tmp/hark-curl-pwned").exists());
}

#[test]
fn host_check_refuses_other_names() {
    let h = view::HostCheck::Loopback(7172);
    assert!(h.allows(Some("127.0.0.1:7172")));
    assert!(h.allows(Some("localhost:7172")));
    assert!(h.allows(Some("[::1]:7172")));
    assert!(!h.allows(Some("evil.example:7172")));
    assert!(!h.allows(Some("127.0.0.1:80")));
    assert!(!h.allows(Some("127.0.0.1.nip.io:7172")));
    assert!(!h.allows(None));
    assert!(view::HostCheck::Any.allows(Some("anything")));
}

/// Wait for a search to finish; its entries.
fn search(idx: &std::sync::Arc<Index>, text: &str, regex: bool) -> Vec<u32> {
    let s = idx
        .search(&view::search::Needle {
            text: text.into(),
            regex,
        })
        .unwrap();
    let t0 = std::time::Instant::now();
    while !s.is_done() {
        assert!(
            t0.elapsed().as_secs() < 20,
            "search {text:?} did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(s.progress().error, None);
    s.entries()
}

#[test]
fn search_finds_text_in_every_field_decoded_and_nowhere_else() {
    let idx = Index::open_blocking(&har("search.har")).unwrap();
    assert_eq!(search(&idx, "zebra-body-token", false), vec![1]);
    assert_eq!(search(&idx, "HEADER-ONLY-token-42", false), vec![2]);
    assert_eq!(
        search(&idx, "gz-body-token", false),
        vec![3],
        "gzip in base64"
    );
    assert_eq!(search(&idx, "zebra", false), vec![1, 5]);
    assert_eq!(
        search(&idx, "shop\\.example/api/(orders|blob)$", true),
        vec![1, 3]
    );
    assert_eq!(search(&idx, "no-such-text", false), Vec::<u32>::new());
    // Text written with JSON escapes (a quote, a slash) is found as the reader sees it.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("escaped.har");
    std::fs::write(
        &p,
        r#"{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
{"startedDateTime":"2026-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"http://a.example/","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":9,"mimeType":"text/plain","text":"say \"hi\" \/ \u00e9t\u00e9"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}]}}"#,
    )
    .unwrap();
    let idx = Index::open_blocking(&p.to_string_lossy()).unwrap();
    assert_eq!(search(&idx, "say \"hi\" / été", false), vec![0]);
    assert_eq!(
        search(&idx, "ÉTÉ", false),
        vec![0],
        "case-insensitive beyond ASCII"
    );
    // The rows of a query with `search` are the search's.
    let q = Query {
        search: "ÉTÉ".into(),
        ..Default::default()
    };
    assert_eq!(rows(&idx, &q), vec![0]);
}

/// Compare mode pairs as `hark diff` does: two recordings of the flow site with one
/// changed response (a header and a JSON field) give exactly that pair changed; two
/// different recordings give `diff`'s pairs, appeared and disappeared counts.
#[test]
fn compare_pairs_as_diff_and_marks_the_changed_response() {
    use view::compare::{compare, pair_changes, PairState};
    let a = Index::open_blocking(&har("flow.hark-record.har")).unwrap();
    let b = Index::open_blocking(&har("flow-changed.hark-record.har")).unwrap();
    let c = compare(a, b);
    // From the indexes alone: the pairs, and nothing changed yet (same statuses).
    assert!(!c.done());
    assert_eq!(c.counts(), [8, 0, 0, 0]);
    c.finish(2);
    assert!(c.done());
    let pairs = c.pairs.read().unwrap().clone();
    assert_eq!(pairs.len(), 8);
    let changed: Vec<_> = pairs
        .iter()
        .filter(|p| p.state == PairState::Changed)
        .collect();
    assert_eq!(changed.len(), 1, "{:?}", c.pairs);
    assert_eq!(c.keys[changed[0].key as usize], "GET /api/me");
    assert_eq!(c.counts(), [7, 1, 0, 0]);
    let ch = pair_changes(&c, changed[0]).unwrap();
    let names = |l: &[diff::Change]| -> Vec<(String, Option<String>, Option<String>)> {
        l.iter()
            .map(|x| (x.name.clone(), x.a.clone(), x.b.clone()))
            .collect()
    };
    assert_eq!(
        names(&ch.headers),
        vec![(
            "cache-control".into(),
            Some("no-store".into()),
            Some("private, max-age=60".into())
        )]
    );
    assert_eq!(
        names(&ch.body),
        vec![(
            "$.plan".into(),
            Some("\"free\"".into()),
            Some("\"pro\"".into())
        )]
    );
    assert!(ch.varies.iter().any(|v| v == "$.lastLogin"), "{ch:?}");

    // Against `hark diff`'s own reading of two different recordings.
    let (pa, pb) = (
        har("example-login.chromium.har"),
        har("flow.hark-record.har"),
    );
    let c = compare(
        Index::open_blocking(&pa).unwrap(),
        Index::open_blocking(&pb).unwrap(),
    );
    c.finish(2);
    let open = |p: &str| har::HarReader::new(har::Source::open(p)?);
    let report = diff::diff(&|| open(&pa), open(&pb).unwrap(), &diff::Options::default()).unwrap();
    let [_, _, only_a, only_b] = c.counts();
    let sum = |f: fn(&diff::Endpoint) -> u32| report.endpoints.iter().map(f).sum::<u32>() as usize;
    assert_eq!(
        c.pairs.read().unwrap().len() - only_a - only_b,
        report.paired
    );
    assert_eq!(only_a, sum(|e| e.disappeared));
    assert_eq!(only_b, sum(|e| e.appeared));
    assert!(only_a > 0 && only_b > 0);
}
