//! The recorded requests, held compactly: per entry its file, offset and length (the
//! answer is read back from the file when it is served), method, host, path and the
//! fingerprints of query, body and matched headers.

use crate::matcher::{host_of_url, path_of, query_pairs, Rules};
use crate::Error;
use har::{EntryView, Json};
use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Rec {
    pub file: u16,
    /// The entry's index in its file.
    pub entry: u32,
    pub offset: u64,
    pub len: u32,
    pub method: Box<str>,
    pub host: Box<str>,
    pub path: Box<str>,
    /// The path templated (for `--loose`): as `hark surface` names the endpoint
    /// ([`surface::Report::template_for`]), else `diff::template_path`.
    pub template: Box<str>,
    pub query: u64,
    pub body: u64,
    pub headers: u64,
    /// The recorded time, ms.
    pub time: f32,
}

/// A file the index reads answers from.
#[derive(Debug)]
pub struct HarFile {
    pub name: String,
    pub path: PathBuf,
    pub file: File,
}

/// An entry that could not be loaded.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Skipped {
    pub file: String,
    pub entry: usize,
    pub line: u64,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Index {
    pub files: Vec<HarFile>,
    pub recs: Vec<Rec>,
    /// "METHOD path" → entries, in file order.
    pub by_path: HashMap<String, Vec<u32>>,
    /// "METHOD template" → entries (for `--loose`).
    pub by_template: HashMap<String, Vec<u32>>,
    pub skipped: Vec<Skipped>,
    /// `hark surface`'s report of each file (with `loose`): its endpoints' templates.
    pub reports: Vec<surface::Report>,
    /// The recorded hosts, sorted.
    pub hosts: Vec<Box<str>>,
}

pub fn path_key(method: &str, path: &str) -> String {
    format!("{} {path}", method.to_ascii_uppercase())
}

enum Item {
    Rec(Rec),
    Skipped(Skipped),
}

fn rec_of<J: Json>(e: EntryView<'_, J>, rules: &Rules) -> Option<Rec> {
    let req = e.request();
    let url = req.url()?;
    let method = req.method().unwrap_or("GET").to_ascii_uppercase();
    let path = path_of(url);
    let post = req.post_data();
    let body_hash = match post {
        Some(p) => {
            let mime = p.mime_type().unwrap_or("");
            match p.text() {
                Some(t) => rules.body_hash(mime, t.as_bytes()),
                None if !p.params().is_empty() => {
                    // Forms recorded as params only.
                    let text: Vec<String> =
                        p.params().iter().map(|(n, v)| format!("{n}={v}")).collect();
                    rules.body_hash(
                        "application/x-www-form-urlencoded",
                        text.join("&").as_bytes(),
                    )
                }
                None => 0,
            }
        }
        None => 0,
    };
    Some(Rec {
        file: 0,
        entry: 0,
        offset: 0,
        len: 0,
        host: host_of_url(url).into(),
        template: diff::template_path(path).into(),
        path: path.into(),
        query: rules.query_hash(&query_pairs(url)),
        body: body_hash,
        headers: rules.headers_hash(req.headers().iter()),
        time: e.time().unwrap_or(0.0) as f32,
        method: method.into(),
    })
}

impl Index {
    /// Index `paths` (plain HAR files: answers are read back at their offsets).
    pub fn load(
        paths: &[String],
        rules: &Rules,
        loose: bool,
        threads: usize,
    ) -> Result<Index, Error> {
        let mut idx = Index::default();
        for (fi, name) in paths.iter().enumerate() {
            if loose {
                let every_host = surface::Scope {
                    patterns: vec!["*".into()],
                };
                let reader = har::HarReader::new(har::Source::open(name)?)?;
                idx.reports.push(
                    surface::analyze(reader, threads, every_host, surface::Pins::default())
                        .map_err(|e| match e {
                            surface::Error::Read(r) => Error::Read(r),
                            other => Error::Rules {
                                file: name.clone(),
                                msg: other.to_string(),
                            },
                        })?,
                );
            }
            let source = har::Source::open(name)?;
            if source.gzip {
                return Err(Error::NotPlain(name.clone()));
            }
            let reader = har::HarReader::new(source)?;
            let rules = std::sync::Arc::new(rules.clone());
            let file_name = name.clone();
            let fname = name.clone();
            let recs = &mut idx.recs;
            let skipped = &mut idx.skipped;
            har::fold(
                reader,
                threads,
                move |raw| {
                    let item = match raw.parse_lite() {
                        Ok(tree) => match rec_of(EntryView(har::Obj::of(Some(&tree))), &rules) {
                            Some(mut r) => {
                                r.file = fi as u16;
                                r.entry = raw.index as u32;
                                r.offset = raw.pos.offset;
                                r.len = raw.bytes.len() as u32;
                                Item::Rec(r)
                            }
                            None => Item::Skipped(Skipped {
                                file: fname.clone(),
                                entry: raw.index,
                                line: raw.pos.line,
                                error: "no request URL".into(),
                            }),
                        },
                        Err(e) => Item::Skipped(Skipped {
                            file: fname.clone(),
                            entry: raw.index,
                            line: raw.pos.line,
                            error: e.to_string(),
                        }),
                    };
                    Ok(item)
                },
                |item| -> Result<(), Error> {
                    match item {
                        Item::Rec(r) => recs.push(r),
                        Item::Skipped(s) => skipped.push(s),
                    }
                    Ok(())
                },
            )?;
            let file = File::open(name).map_err(|e| Error::Io {
                file: file_name.clone(),
                error: e,
            })?;
            idx.files.push(HarFile {
                name: file_name,
                path: PathBuf::from(name),
                file,
            });
        }
        let mut hosts: Vec<Box<str>> = idx.recs.iter().map(|r| r.host.clone()).collect();
        hosts.sort_unstable();
        hosts.dedup();
        idx.hosts = hosts;
        if loose {
            for r in &mut idx.recs {
                let url = format!("http://{}{}", r.host, r.path);
                if let Some(t) = idx.reports[r.file as usize].template_for(&r.method, &url) {
                    r.template = t.into();
                }
            }
        }
        for (i, r) in idx.recs.iter().enumerate() {
            idx.by_path
                .entry(path_key(&r.method, &r.path))
                .or_default()
                .push(i as u32);
            idx.by_template
                .entry(path_key(&r.method, &r.template))
                .or_default()
                .push(i as u32);
        }
        Ok(idx)
    }

    /// The template of a request's path for `--loose`: the endpoint's as `hark surface`
    /// names it on `host` (or, for an origin-form request, on any recorded host), else
    /// `diff::template_path`.
    pub fn template_for(&self, method: &str, host: Option<&str>, path: &str) -> String {
        let try_host = |h: &str| {
            let url = format!("http://{h}{path}");
            self.reports
                .iter()
                .find_map(|r| r.template_for(method, &url))
        };
        let found = match host {
            Some(h) => try_host(h),
            None => self.hosts.iter().find_map(|h| try_host(h)),
        };
        found.unwrap_or_else(|| diff::template_path(path))
    }

    /// The JSON bytes of recorded entry `i`, read back from its file.
    pub fn entry_bytes(&self, i: usize) -> Result<Vec<u8>, Error> {
        let r = &self.recs[i];
        let f = &self.files[r.file as usize];
        let mut buf = vec![0u8; r.len as usize];
        har::read_exact_at(&f.file, &mut buf, r.offset).map_err(|e| Error::Io {
            file: f.name.clone(),
            error: e,
        })?;
        Ok(buf)
    }

    /// `GET http://host/path (entry 3 of a.har)`.
    pub fn describe(&self, i: usize) -> String {
        let r = &self.recs[i];
        format!(
            "{} {}{} (entry {} of {})",
            r.method,
            if r.host.is_empty() { "" } else { &r.host },
            r.path,
            r.entry,
            self.files[r.file as usize].name
        )
    }
}
