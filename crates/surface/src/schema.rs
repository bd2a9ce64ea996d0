//! JSON schemas inferred from sample values and merged across samples: a property is
//! required when every sample of its object had it; types seen are unioned.

use har::{Json, JsonObject, Kind};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The most properties kept per object, and the deepest level described.
const MAX_PROPS: usize = 64;
const MAX_DEPTH: usize = 8;

#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// Samples merged into this schema.
    pub seen: u32,
    /// JSON types seen (`integer` is folded into `number` when both occur).
    pub types: Vec<&'static str>,
    /// Object properties: schema (its `seen` is how many objects had it).
    pub props: BTreeMap<String, Schema>,
    /// How many of the samples were objects.
    pub objects: u32,
    pub items: Option<Box<Schema>>,
    pub format: Option<&'static str>,
    /// A (sanitized) example of a scalar.
    pub example: Option<String>,
    /// The distinct short word values of a string seen so far (`None`: too many, or
    /// some not a word): an `enum` when the set is small and closed.
    pub values: Option<std::collections::BTreeSet<String>>,
}

/// The most distinct values an `enum` has.
const MAX_ENUM: usize = 5;

/// A value that can be one of a closed set: a short word (`open`, `dark`, `in_stock`),
/// not an id, a number or anything redacted.
fn enum_word(v: &str) -> bool {
    (1..=24).contains(&v.len())
        && v.bytes()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'-'))
        && crate::shape::shape(v).is_none()
}

fn add_type(types: &mut Vec<&'static str>, t: &'static str) {
    if !types.contains(&t) {
        types.push(t);
    }
}

impl Schema {
    /// The schema of one value.
    pub fn of<J: Json>(v: &J, depth: usize, clean: &dyn Fn(&str, &str) -> String) -> Schema {
        Schema::of_named(v, depth, "", clean)
    }

    fn of_named<J: Json>(
        v: &J,
        depth: usize,
        name: &str,
        clean: &dyn Fn(&str, &str) -> String,
    ) -> Schema {
        let mut s = Schema {
            seen: 1,
            ..Schema::default()
        };
        match v.kind() {
            Kind::Null => add_type(&mut s.types, "null"),
            Kind::Bool => add_type(&mut s.types, "boolean"),
            Kind::Number => {
                add_type(
                    &mut s.types,
                    if v.as_i64().is_some() {
                        "integer"
                    } else {
                        "number"
                    },
                );
                s.example = v.number_text().map(|t| t.to_string());
            }
            Kind::String => {
                add_type(&mut s.types, "string");
                let t = v.as_str().unwrap_or("");
                s.format = crate::shape::shape(t).and_then(|sh| sh.openapi().1);
                let c = clean(name, t);
                if c == t && enum_word(t) {
                    s.values = Some([t.to_string()].into());
                }
                s.example = Some(c);
            }
            Kind::Array => {
                add_type(&mut s.types, "array");
                if depth < MAX_DEPTH {
                    let mut items: Option<Schema> = None;
                    for x in v.as_array().unwrap_or(&[]).iter().take(16) {
                        let one = Schema::of_named(x, depth + 1, name, clean);
                        match &mut items {
                            Some(i) => i.merge(one),
                            None => items = Some(one),
                        }
                    }
                    s.items = items.map(Box::new);
                }
            }
            Kind::Object => {
                add_type(&mut s.types, "object");
                s.objects = 1;
                if depth < MAX_DEPTH {
                    if let Some(o) = v.as_object() {
                        for k in o.keys().take(MAX_PROPS) {
                            if let Some(x) = o.get(k) {
                                s.props.insert(
                                    k.to_string(),
                                    Schema::of_named(x, depth + 1, k, clean),
                                );
                            }
                        }
                    }
                }
            }
        }
        s
    }

    /// Merge another sample's schema into this one.
    pub fn merge(&mut self, other: Schema) {
        self.seen += other.seen;
        self.objects += other.objects;
        for t in other.types {
            add_type(&mut self.types, t);
        }
        if self.format != other.format {
            self.format = if self.seen == other.seen {
                other.format
            } else {
                None
            };
        }
        if self.example.is_none() {
            self.example = other.example;
        }
        self.values = match (self.values.take(), other.values) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                (a.len() <= MAX_ENUM).then_some(a)
            }
            _ => None,
        };
        for (k, v) in other.props {
            let full = self.props.len() >= MAX_PROPS;
            match self.props.get_mut(&k) {
                Some(mine) => mine.merge(v),
                None if !full => {
                    self.props.insert(k, v);
                }
                None => {}
            }
        }
        match (&mut self.items, other.items) {
            (Some(a), Some(b)) => a.merge(*b),
            (a @ None, Some(b)) => *a = Some(b),
            _ => {}
        }
    }

    /// Flattened fields: (`a.b[].c`, schema), depth first.
    pub fn fields<'s>(&'s self, prefix: &str, out: &mut Vec<(String, &'s Schema, bool)>) {
        for (k, v) in &self.props {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push((name.clone(), v, v.seen >= self.objects));
            v.fields(&name, out);
            if let Some(i) = &v.items {
                let n = format!("{name}[]");
                i.fields(&n, out);
            }
        }
    }

    fn types_sorted(&self) -> Vec<&'static str> {
        let mut t = self.types.clone();
        if t.contains(&"number") {
            t.retain(|x| *x != "integer");
        }
        t.sort();
        t
    }

    /// Feed the structure (types, property names, items; not values) to `h`, down
    /// to `depth` levels: two responses of one resource hash alike.
    pub fn hash_shape(&self, h: &mut impl std::hash::Hasher, depth: usize) {
        use std::hash::Hash;
        self.types_sorted().hash(h);
        if depth == 0 {
            return;
        }
        for (k, v) in &self.props {
            k.hash(h);
            v.hash_shape(h, depth - 1);
        }
        if let Some(i) = &self.items {
            0xa77a_u16.hash(h);
            i.hash_shape(h, depth - 1);
        }
    }

    /// The type as text: `string`, `integer|null`.
    pub fn type_text(&self) -> String {
        self.types_sorted().join("|")
    }

    /// A JSON Schema (2020-12, as OpenAPI 3.1 takes it).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        let t = self.types_sorted();
        match t.len() {
            0 => {}
            1 => {
                m.insert("type".into(), json!(t[0]));
            }
            _ => {
                m.insert("type".into(), json!(t));
            }
        }
        if let Some(f) = self.format {
            if t == ["string"] {
                m.insert("format".into(), json!(f));
            }
        }
        if t.contains(&"object") {
            let mut props = Map::new();
            let mut req = Vec::new();
            for (k, v) in &self.props {
                props.insert(k.clone(), v.to_json());
                if v.seen >= self.objects {
                    req.push(json!(k));
                }
            }
            m.insert("properties".into(), Value::Object(props));
            if !req.is_empty() {
                m.insert("required".into(), Value::Array(req));
            }
        }
        if t.contains(&"array") {
            m.insert(
                "items".into(),
                self.items.as_ref().map_or(json!({}), |i| i.to_json()),
            );
        }
        // A small closed set: few distinct words, each seen more than once on average.
        if let (Some(vs), true) = (&self.values, t == ["string"]) {
            if vs.len() >= 2 && self.seen as usize >= 2 * vs.len() {
                m.insert("enum".into(), json!(vs));
            }
        }
        if let (Some(e), true) = (&self.example, t.len() == 1) {
            let ex = match t[0] {
                "integer" | "number" => e.parse::<serde_json::Number>().ok().map(Value::Number),
                "string" => Some(json!(e)),
                _ => None,
            };
            if let Some(ex) = ex {
                m.insert("examples".into(), json!([ex]));
            }
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(v: Value) -> Schema {
        Schema::of(&v, 0, &|_, v| v.to_string())
    }

    #[test]
    fn enums_for_small_closed_sets_only() {
        let mut s = of(json!({"state": "open", "id": "a1b2c3d4e5", "text": "x y"}));
        for (st, id) in [
            ("closed", "f9e8d7c6b5"),
            ("open", "0a9b8c7d6e"),
            ("closed", "1f2e3d4c5b"),
        ] {
            s.merge(of(json!({"state": st, "id": id, "text": "x y"})));
        }
        let j = s.to_json();
        assert_eq!(j["properties"]["state"]["enum"], json!(["closed", "open"]));
        assert!(j["properties"]["id"].get("enum").is_none());
        assert!(j["properties"]["text"].get("enum").is_none());
        // Seen once each: not known to be closed.
        let mut s = of(json!("red"));
        s.merge(of(json!("blue")));
        assert!(s.to_json().get("enum").is_none());
    }

    #[test]
    fn merges_required_and_types() {
        let mut s = of(json!({"a": 1, "b": {"c": "x"}, "l": [{"q": 1}]}));
        s.merge(of(json!({"a": 2.5, "l": [{"q": 2, "r": null}]})));
        let j = s.to_json();
        assert_eq!(j["required"], json!(["a", "l"]));
        assert_eq!(j["properties"]["a"]["type"], json!("number"));
        assert_eq!(j["properties"]["l"]["items"]["required"], json!(["q"]));
        let mut f = Vec::new();
        s.fields("", &mut f);
        let names: Vec<_> = f.iter().map(|(n, _, r)| format!("{n}:{r}")).collect();
        assert_eq!(
            names,
            [
                "a:true",
                "b:false",
                "b.c:true",
                "l:true",
                "l[].q:true",
                "l[].r:false"
            ]
        );
    }
}
