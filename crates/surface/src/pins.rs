//! Decisions a user pins in a small TOML file: paths whose words stay literal and
//! templates to apply as they are.
//!
//! ```toml
//! keep = ["/api/config", "/api/v2/audit-log"]   # these segments stay literal
//! template = ["/u/{handle}", "/wiki/{page}/history"]   # these positions are parameters
//! ```

use crate::shape::Seg;

/// One pinned path: `None` where it has a `{parameter}`.
pub type Pattern = Vec<Option<String>>;

/// The pinned decisions.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    /// Paths (and their prefixes' segments) that stay literal.
    pub keep: Vec<Pattern>,
    /// Paths whose `{…}` positions are parameters whatever their values.
    pub template: Vec<Pattern>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    keep: Vec<String>,
    #[serde(default)]
    template: Vec<String>,
}

fn pattern(p: &str) -> Pattern {
    p.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                None
            } else {
                Some(s.to_string())
            }
        })
        .collect()
}

impl Pins {
    /// Parse the TOML text of a pins file.
    pub fn parse(text: &str) -> Result<Pins, crate::Error> {
        let f: File = toml::from_str(text).map_err(|e| crate::Error::Pins(e.to_string()))?;
        Ok(Pins {
            keep: f.keep.iter().map(|p| pattern(p)).collect(),
            template: f.template.iter().map(|p| pattern(p)).collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.template.is_empty()
    }

    /// Apply to the segments of one request (`raw`: as sent): `template` positions
    /// become word parameters (unless already an id shape), `keep` positions literal.
    pub(crate) fn apply(&self, raw: &[String], segs: &mut [Seg]) {
        for p in &self.template {
            if p.len() == raw.len() && matches(p, raw) {
                for (i, x) in p.iter().enumerate() {
                    if x.is_none() && matches!(segs[i], Seg::Lit(_)) {
                        segs[i] = Seg::Param(crate::shape::Shape::Word);
                    }
                }
            }
        }
        for p in &self.keep {
            if p.len() <= raw.len() && matches(p, raw) {
                for (i, x) in p.iter().enumerate() {
                    if x.is_some() {
                        segs[i] = Seg::Lit(raw[i].clone());
                    }
                }
            }
        }
    }

    /// Which positions of `segs` a `keep` pattern pins (empty: none).
    pub(crate) fn kept(&self, segs: &[Seg]) -> Vec<bool> {
        let mut out = Vec::new();
        for p in &self.keep {
            if p.len() > segs.len() {
                continue;
            }
            let hit = p.iter().zip(segs).all(|(x, s)| match (x, s) {
                (None, _) => true,
                (Some(w), Seg::Lit(l)) => w == l,
                (Some(_), Seg::Param(_)) => false,
            });
            if hit {
                out.resize(segs.len(), false);
                for (i, x) in p.iter().enumerate() {
                    out[i] |= x.is_some();
                }
            }
        }
        out
    }
}

fn matches(p: &Pattern, raw: &[String]) -> bool {
    p.iter()
        .zip(raw)
        .all(|(x, r)| x.as_ref().is_none_or(|w| w == r))
}
