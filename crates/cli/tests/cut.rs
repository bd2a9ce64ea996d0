//! `hark filter`, `merge` and `split` on the real corpus: every entry comes out intact
//! (the same JSON document), pages stay consistent, bad input is skipped or refused with a
//! clear message and a non-zero exit, and outputs are atomic.

mod common;
use common::*;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// `../shared/corpus/public`.
fn public_corpus() -> Vec<PathBuf> {
    let files: Vec<PathBuf> = whole_corpus()
        .into_iter()
        .filter(|f| f.parent().is_some_and(|d| d.ends_with("public")))
        .collect();
    assert!(
        files.len() >= 20,
        "expected the public corpus, found {}",
        files.len()
    );
    files
}

fn texts(har: &Value) -> Vec<String> {
    entries(har).iter().map(canonical).collect()
}

fn page_ids(har: &Value) -> Vec<String> {
    har["log"]["pages"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|p| p["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The pages of `out` are exactly the pages of `src` its entries refer to, in order.
fn assert_pages_consistent(src: &Value, out: &Value, ctx: &str) {
    let used: HashSet<&str> = entries(out)
        .iter()
        .filter_map(|e| e["pageref"].as_str())
        .collect();
    let want: Vec<String> = page_ids(src)
        .into_iter()
        .filter(|id| used.contains(id.as_str()))
        .collect();
    assert_eq!(page_ids(out), want, "{ctx}: pages");
}

/// Every field but `entries` and `pages` is the input's.
fn assert_same_header(src: &Value, out: &Value, ctx: &str) {
    let strip = |v: &Value| {
        let mut l = v["log"].as_object().unwrap().clone();
        l.remove("entries");
        l.remove("pages");
        let mut keys: Vec<(String, String)> =
            l.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
        keys.sort();
        keys
    };
    assert_eq!(strip(src), strip(out), "{ctx}: header");
}

#[test]
fn filter_and_its_exclusion_partition_every_real_har() {
    let dir = tempfile::tempdir().unwrap();
    for file in public_corpus() {
        let src = read_json(&file);
        let ctx = file.display().to_string();
        let run = |extra: &[&str], name: &str| -> Value {
            let out = dir.path().join(name);
            hark(["filter"])
                .arg(&file)
                .args(["--type", "document", "--type", "script", "--status", "2xx"])
                .args(extra)
                .arg("-o")
                .arg(&out)
                .run()
                .assert_success();
            read_json(&out)
        };
        let (kept, rest) = (run(&[], "kept.har"), run(&["--exclude"], "rest.har"));
        // Together, in order, they are the input's entries exactly.
        let (k, r, all) = (texts(&kept), texts(&rest), texts(&src));
        assert_eq!(k.len() + r.len(), all.len(), "{ctx}");
        let (mut i, mut j) = (0, 0);
        for e in &all {
            if i < k.len() && &k[i] == e {
                i += 1;
            } else {
                assert_eq!(r.get(j), Some(e), "{ctx}: an entry changed or moved");
                j += 1;
            }
        }
        for out in [&kept, &rest] {
            assert_pages_consistent(&src, out, &ctx);
            assert_same_header(&src, out, &ctx);
        }
    }
}

#[test]
fn filter_conditions_and_or_and_time_window() {
    let all = json(&hark(["fmt", "@example"]).run().stdout().into_bytes());
    let got = |args: &[&str]| -> Vec<Value> {
        let o = hark(["filter", "@example"]).args(args).run();
        o.assert_success();
        entries(&json(o.stdout().as_bytes())).clone()
    };
    let want = |f: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        entries(&all).iter().filter(|e| f(e)).cloned().collect()
    };
    let status = |e: &Value| e["response"]["status"].as_i64().unwrap();
    assert_eq!(
        got(&["--status", "3xx"]),
        want(&|e| (300..400).contains(&status(e)))
    );
    assert_eq!(
        got(&["--status", "3xx", "--status", "401", "--method", "get"]),
        want(&|e| ((300..400).contains(&status(e)) || status(e) == 401)
            && e["request"]["method"] == "GET")
    );
    assert_eq!(
        got(&["--url", "*/api/*"]),
        want(&|e| e["request"]["url"].as_str().unwrap().contains("/api/"))
    );
    assert_eq!(
        got(&["--regex", r"\.(css|js)$"]),
        want(&|e| {
            let u = e["request"]["url"].as_str().unwrap();
            u.ends_with(".css") || u.ends_with(".js")
        })
    );
    let t = "2026-11-23T01:15:00Z";
    assert_eq!(
        got(&["--since", t]),
        want(&|e| e["startedDateTime"].as_str().unwrap() >= "2026-11-23T01:15:00")
    );
    assert_eq!(
        got(&["--min-time", "50"]),
        want(&|e| e["time"].as_f64().unwrap() >= 50.0)
    );
    assert!(!got(&["--since", t]).is_empty() && got(&["--since", t]).len() < entries(&all).len());
    let bad = hark(["filter", "@example", "--status", "4x"]).run();
    bad.assert_code(2);
    assert!(bad.stderr().contains("--status 4x"), "{bad}");
}

#[test]
fn split_parts_put_back_together_are_the_input() {
    let base = tempfile::tempdir().unwrap();
    // Every fourth file of the public corpus, by each of the four ways (time: debug builds).
    for file in public_corpus().iter().step_by(4) {
        let src = read_json(file);
        let all = texts(&src);
        for by in ["page", "host", "count:7", "size:20K"] {
            let dir = base.path().join(by.replace(':', "-"));
            let _ = std::fs::remove_dir_all(&dir);
            hark(["split"])
                .arg(file)
                .args(["--by", by, "-o"])
                .arg(&dir)
                .run()
                .assert_success();
            let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            let ctx = format!("{} --by {by}", file.display());
            let mut got = Vec::new();
            for part in &names {
                let p = read_json(part);
                assert!(!entries(&p).is_empty(), "{ctx}: empty part");
                assert_pages_consistent(&src, &p, &ctx);
                assert_same_header(&src, &p, &ctx);
                got.push(texts(&p));
            }
            if by.starts_with("count") || by.starts_with("size") {
                assert_eq!(got.concat(), all, "{ctx}");
                if by == "count:7" {
                    assert!(got.iter().rev().skip(1).all(|p| p.len() == 7), "{ctx}");
                }
            } else {
                // Each part keeps the input's order; together they are all the entries.
                let mut flat = got.concat();
                let mut want = all.clone();
                flat.sort();
                want.sort();
                assert_eq!(flat, want, "{ctx}");
                for p in &got {
                    let pos: Vec<usize> = p
                        .iter()
                        .map(|e| all.iter().position(|a| a == e).unwrap())
                        .collect();
                    assert!(pos.windows(2).all(|w| w[0] <= w[1]), "{ctx}: order");
                }
            }
        }
    }
}

#[test]
fn merge_keeps_every_entry_marks_its_source_and_orders_by_start_time() {
    let files: Vec<PathBuf> = public_corpus();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("all.har");
    let done = hark(["merge"]).args(&files).arg("-o").arg(&out).run();
    assert!(done.code() == 0, "{done}");
    let merged = read_json(&out);
    let sources = merged["log"]["_hark"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), files.len());
    assert!(merged["log"]["creator"]["comment"]
        .as_str()
        .unwrap()
        .starts_with("merged from "));
    let mut total = 0;
    let mut all_pages: Vec<String> = Vec::new();
    for (k, file) in files.iter().enumerate() {
        let src = read_json(file);
        let name = file.to_string_lossy().to_string();
        assert_eq!(sources[k]["file"], name.as_str());
        assert_eq!(sources[k]["creator"], src["log"]["creator"]);
        // This file's entries, in their order, are the input's with `_hark.source` added
        // and page ids renamed where they collide.
        let mine: Vec<Value> = entries(&merged)
            .iter()
            .filter(|e| e["_hark"]["source"] == name.as_str())
            .cloned()
            .collect();
        assert_eq!(mine.len(), entries(&src).len(), "{name}");
        assert_eq!(sources[k]["entries"], mine.len());
        for (a, b) in mine.iter().zip(entries(&src)) {
            let mut a = a.clone();
            let o = a.as_object_mut().unwrap();
            let h = o.get_mut("_hark").unwrap().as_object_mut().unwrap();
            h.remove("source");
            if h.is_empty() {
                o.remove("_hark");
            }
            if let (Some(Value::String(p)), Some(orig)) =
                (o.get_mut("pageref"), b["pageref"].as_str())
            {
                assert!(
                    p == orig || p.starts_with(&format!("{orig}~")),
                    "{name}: pageref {p}"
                );
                *p = orig.to_string();
            }
            assert_eq!(canonical(&a), canonical(b), "{name}: an entry changed");
        }
        total += mine.len();
        all_pages.extend(page_ids(&src));
    }
    assert_eq!(entries(&merged).len(), total);
    // Page ids are unique, and there is one page for each input page.
    let ids = page_ids(&merged);
    assert_eq!(ids.len(), all_pages.len());
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "page ids not unique"
    );
    let _ = done;
}

#[test]
fn merge_of_sorted_inputs_is_sorted_and_unsorted_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.har"), dir.path().join("b.har"));
    // The example's even entries in a, its odd ones in b: two sorted, interleaved inputs.
    let all = json(hark(["fmt", "@example"]).run().stdout().as_bytes());
    let times = |h: &Value| -> Vec<String> {
        entries(h)
            .iter()
            .map(|e| e["startedDateTime"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        times(&all).windows(2).all(|w| w[0] <= w[1]),
        "the example is sorted"
    );
    let half = |odd: usize| {
        let mut v = all.clone();
        let kept: Vec<Value> = entries(&all).iter().skip(odd).step_by(2).cloned().collect();
        v["log"]["entries"] = Value::Array(kept);
        v
    };
    std::fs::write(&a, serde_json::to_vec(&half(0)).unwrap()).unwrap();
    let mut bv = half(1);
    std::fs::write(&b, serde_json::to_vec(&bv).unwrap()).unwrap();
    let out = dir.path().join("m.har");
    let done = hark(["merge"]).arg(&a).arg(&b).arg("-o").arg(&out).run();
    done.assert_success();
    let m = read_json(&out);
    assert_valid_har(&out);
    assert_eq!(times(&m), times(&all));
    assert_eq!(page_ids(&m).len(), 2, "the shared page id is made unique");
    assert!(!done.stderr().contains("not sorted"), "{done}");
    // b reversed: a warning naming it; b's own order is kept.
    bv["log"]["entries"].as_array_mut().unwrap().reverse();
    std::fs::write(&b, serde_json::to_vec(&bv).unwrap()).unwrap();
    let done = hark(["merge"]).arg(&a).arg(&b).run();
    done.assert_success();
    assert!(
        done.stderr().contains("b.har is not sorted by start time"),
        "{done}"
    );
}

#[test]
fn bad_inputs_are_named_and_outputs_stay_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, b"[1, 2]").unwrap();
    let out = dir.path().join("m.har");
    // merge: the bad input is skipped, the rest merged, exit 2.
    let done = hark(["merge", "@example"])
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .run();
    done.assert_code(2);
    assert!(done.stderr().contains("bad.har"), "{done}");
    assert_eq!(entries(&read_json(&out)).len(), 37);
    // A truncated HAR: filter and split fail, naming it, and write nothing.
    let cut = dir.path().join("cut.har");
    let full = hark(["fmt", "@example"]).run().stdout();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let f = dir.path().join("f.har");
    std::fs::write(&f, b"old").unwrap();
    let done = hark(["filter"]).arg(&cut).arg("-o").arg(&f).run();
    done.assert_code(2);
    assert!(done.stderr().contains("cut.har"), "{done}");
    assert_eq!(std::fs::read(&f).unwrap(), b"old");
    let parts = dir.path().join("parts");
    let done = hark(["split"])
        .arg(&cut)
        .args(["--by", "count:5", "-o"])
        .arg(&parts)
        .run();
    done.assert_code(2);
    assert_eq!(
        std::fs::read_dir(&parts).unwrap().count(),
        0,
        "half-written parts left"
    );
    let _ = Path::new("");
}
