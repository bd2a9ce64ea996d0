//! A JSON value written as block-style YAML (1.2): mappings and sequences indented,
//! every string and key double-quoted with JSON's escapes (valid YAML escapes), so no
//! value can be read back as another type. Small enough not to need a YAML crate.

use serde_json::Value;

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).expect("a string serialises"),
        other => other.to_string(),
    }
}

fn write(v: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                out.push_str(&pad);
                out.push_str(&scalar(&Value::String(k.clone())));
                out.push(':');
                block(x, indent, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for x in a {
                out.push_str(&pad);
                out.push('-');
                block(x, indent, out);
            }
        }
        Value::Object(_) => out.push_str(&format!("{pad}{{}}\n")),
        Value::Array(_) => out.push_str(&format!("{pad}[]\n")),
        s => out.push_str(&format!("{pad}{}\n", scalar(s))),
    }
}

/// After `key:` or `-`: a scalar or empty collection on the same line, else the
/// collection below, one level in.
fn block(x: &Value, indent: usize, out: &mut String) {
    match x {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write(x, indent + 1, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write(x, indent + 1, out);
        }
        Value::Object(_) => out.push_str(" {}\n"),
        Value::Array(_) => out.push_str(" []\n"),
        s => {
            out.push(' ');
            out.push_str(&scalar(s));
            out.push('\n');
        }
    }
}

/// `v` as a YAML document.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_quoted() {
        let v = json!({"a": {"b": [1, "x: y", {"c": null}], "e": {}}, "f": [], "g": "yes\n"});
        assert_eq!(
            to_string(&v),
            "\"a\":\n  \"b\":\n    - 1\n    - \"x: y\"\n    -\n      \"c\": null\n  \"e\": {}\n\"f\": []\n\"g\": \"yes\\n\"\n"
        );
    }
}
