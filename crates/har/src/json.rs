//! Read access to JSON that both trees give: serde_json's owned [`Value`] (the lossless,
//! editable model) and the borrowed [`crate::lite::Lite`] (fast, read-only). The typed
//! views, validation and the lint are written once against these traits.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

pub trait Json: Sized {
    type Object: JsonObject<Value = Self>;
    fn kind(&self) -> Kind;
    fn as_str(&self) -> Option<&str>;
    /// The number as a double; `None` also for a number out of a double's range (`1e999`),
    /// so no reader ever computes with an infinity.
    fn as_f64(&self) -> Option<f64>;
    /// The number if it is written as an integer that fits.
    fn as_i64(&self) -> Option<i64>;
    fn as_bool(&self) -> Option<bool>;
    fn as_array(&self) -> Option<&[Self]>;
    fn as_object(&self) -> Option<&Self::Object>;
    /// A number's text (as written for the borrowed tree).
    fn number_text(&self) -> Option<Cow<'_, str>>;
}

pub trait JsonObject {
    type Value: Json;
    fn get(&self, key: &str) -> Option<&Self::Value>;
    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    fn keys(&self) -> impl Iterator<Item = &str>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// An empty object, for views of missing parts.
    fn empty<'s>() -> &'s Self
    where
        Self: 's;
}

static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// Up to this many keys, [`JsonObject::get`] on serde_json's map compares keys in order
/// instead of hashing.
const SCAN_KEYS: usize = 12;

impl Json for Value {
    type Object = Map<String, Value>;
    fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Number(_) => Kind::Number,
            Value::String(_) => Kind::String,
            Value::Array(_) => Kind::Array,
            Value::Object(_) => Kind::Object,
        }
    }
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }
    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self).filter(|f| f.is_finite())
    }
    fn as_i64(&self) -> Option<i64> {
        Value::as_i64(self)
    }
    fn as_bool(&self) -> Option<bool> {
        Value::as_bool(self)
    }
    fn as_array(&self) -> Option<&[Value]> {
        Value::as_array(self).map(Vec::as_slice)
    }
    fn as_object(&self) -> Option<&Map<String, Value>> {
        Value::as_object(self)
    }
    fn number_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }
}

impl JsonObject for Map<String, Value> {
    type Value = Value;
    fn get(&self, key: &str) -> Option<&Value> {
        // HAR objects are small (a header has two keys, an entry about ten): comparing a
        // few short keys is several times cheaper than hashing the key with SipHash,
        // which serde_json's map uses (diagnose reads its pruned entries this way).
        if Map::len(self) <= SCAN_KEYS {
            return self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v);
        }
        Map::get(self, key)
    }
    fn keys(&self) -> impl Iterator<Item = &str> {
        Map::keys(self).map(String::as_str)
    }
    fn len(&self) -> usize {
        Map::len(self)
    }
    fn empty<'s>() -> &'s Self
    where
        Self: 's,
    {
        &EMPTY
    }
}
