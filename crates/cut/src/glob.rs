//! Shell-style globs: `*` any run of characters, `?` one character, everything else
//! literal, case-insensitive (hosts, URLs, MIME types).

#[derive(Clone, Debug)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.to_lowercase().chars().collect())
    }

    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.to_lowercase().chars().collect();
        let p = &self.0;
        // Iterative matching with one backtrack point for the last `*`.
        let (mut i, mut j) = (0, 0);
        let (mut star, mut mark) = (None, 0);
        while i < t.len() {
            if j < p.len() && (p[j] == '?' || p[j] == t[i]) {
                i += 1;
                j += 1;
            } else if j < p.len() && p[j] == '*' {
                star = Some(j);
                mark = i;
                j += 1;
            } else if let Some(s) = star {
                j = s + 1;
                mark += 1;
                i = mark;
            } else {
                return false;
            }
        }
        while j < p.len() && p[j] == '*' {
            j += 1;
        }
        j == p.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;
    #[test]
    fn globs() {
        assert!(Glob::new("*.example.com").matches("api.Example.com"));
        assert!(!Glob::new("*.example.com").matches("example.com"));
        assert!(Glob::new("https://*/api/*?x=?").matches("https://a.b/api/v1/u?x=1"));
        assert!(Glob::new("*").matches(""));
        assert!(!Glob::new("a?c").matches("ac"));
        assert!(Glob::new("image/*").matches("image/png"));
    }
}
