//! Where a problem is: a path of keys and indexes, kept as a chain of borrowed links
//! while the walk descends (no allocation until a problem is reported).

use crate::locate::Seg;

#[derive(Clone, Copy)]
pub(super) enum PathSeg<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Clone, Copy)]
pub(super) struct Path<'a> {
    pub(super) parent: Option<&'a Path<'a>>,
    pub(super) seg: Option<PathSeg<'a>>,
}

pub(super) const ROOT: Path<'static> = Path {
    parent: None,
    seg: None,
};

impl<'a> Path<'a> {
    pub(super) fn k(&'a self, key: &'a str) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Some(PathSeg::Key(key)),
        }
    }
    pub(super) fn i(&'a self, i: usize) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Some(PathSeg::Index(i)),
        }
    }
    pub(super) fn segs(&self) -> Vec<Seg> {
        let mut v = Vec::new();
        let mut p = Some(self);
        while let Some(node) = p {
            match node.seg {
                Some(PathSeg::Key(k)) => v.push(Seg::Key(k.to_string())),
                Some(PathSeg::Index(i)) => v.push(Seg::Index(i)),
                None => {}
            }
            p = node.parent;
        }
        v.reverse();
        v
    }
}

pub fn path_string(base: &str, segs: &[Seg]) -> String {
    let mut s = base.to_string();
    for seg in segs {
        match seg {
            Seg::Key(k)
                if !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') =>
            {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Key(k) => {
                s.push('[');
                s.push_str(&serde_json::to_string(k).unwrap_or_default());
                s.push(']');
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}
