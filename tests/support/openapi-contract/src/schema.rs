//! OpenAPI 3.0 schema words in JSON Schema draft 4 terms, and text given the type its schema
//! declares (parameters, form fields).
//!
//! - `nullable: true` becomes `anyOf: [<schema>, {"type": "null"}]`; `discriminator` is dropped
//!   (every `oneOf` in the subsets also pins the discriminating property with an `enum`).
//! - `$ref`s between schemas stay as they are: the components travel with the compiled document,
//!   so the validator resolves them. References to parameters, request bodies, responses and
//!   headers are OpenAPI's own and are followed by [`resolve`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Rewrite OpenAPI 3.0 schema words into draft 4, walking schema positions only: the values of
/// `enum`, `default`, `example(s)` and `x-*` are data, and `properties` maps names to schemas.
pub fn adapt(v: &mut Value) {
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(adapt);
        }
        return;
    };
    map.remove("discriminator");
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "enum" | "default" | "example" | "examples" | "const" => {}
            k if k.starts_with("x-") => {}
            "properties" | "patternProperties" | "definitions" => {
                for schema in child.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
                    adapt(schema);
                }
            }
            _ => adapt(child),
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        map.remove("nullable");
        let inner = std::mem::take(map);
        *v = json!({"anyOf": [Value::Object(inner), {"type": "null"}]});
    }
}

/// Follow a `$ref` (`#/…`) within the document, as often as it takes.
pub fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).map_or(&Value::Null, |target| resolve(doc, target)),
        None => v,
    }
}

/// The JSON type a schema declares, looking through `$ref`, `allOf` and the `anyOf` that
/// [`adapt`] makes of `nullable`; and whether `null` is allowed.
pub fn declared_type(doc: &Value, schema: &Value) -> (Option<String>, bool) {
    let schema = resolve(doc, schema);
    if let Some(kind) = schema["type"].as_str() {
        return (Some(kind.to_owned()), false);
    }
    if let Some(any) = schema["anyOf"].as_array()
        && let [inner, null] = any.as_slice()
        && null == &json!({"type": "null"})
    {
        return (declared_type(doc, inner).0, true);
    }
    let all = schema["allOf"].as_array().into_iter().flatten();
    (all.filter_map(|member| declared_type(doc, member).0).next(), false)
}

/// The properties an object schema names, through `$ref` and `allOf`, with their types.
pub fn properties(doc: &Value, schema: &Value) -> BTreeMap<String, (Option<String>, bool)> {
    let schema = resolve(doc, schema);
    let mut out = BTreeMap::new();
    for member in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(properties(doc, member));
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        out.insert(name.clone(), declared_type(doc, property));
    }
    out
}

/// Text (a path or query parameter, a form field) given the JSON type its schema declares.
/// Text that does not parse stays text, so the schema reports it.
pub fn coerce(raw: &str, kind: Option<&str>, nullable: bool) -> Value {
    if raw.is_empty() && nullable && kind != Some("string") {
        return Value::Null;
    }
    match kind {
        Some("number" | "integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| raw.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(raw)),
        // Forms write booleans as 1/0 (Fastly's clients send both forms).
        Some("boolean") => match raw {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::from(raw),
        },
        _ => Value::from(raw),
    }
}

/// A form body as the JSON object its schema describes: each field given its declared type.
/// Returns the object and what is wrong with the form itself: a field the schema does not name
/// (a real API ignores it silently, which is how a typo goes unnoticed) or one given twice.
pub fn form_to_json(fields: &BTreeMap<String, (Option<String>, bool)>, body: &[u8]) -> (Value, Vec<String>) {
    let mut object = Map::new();
    let mut problems = Vec::new();
    for (name, raw) in form_urlencoded::parse(body) {
        let Some((kind, nullable)) = fields.get(name.as_ref()) else {
            problems.push(format!("unknown form field {name:?}"));
            continue;
        };
        if object.insert(name.to_string(), coerce(&raw, kind.as_deref(), *nullable)).is_some() {
            problems.push(format!("form field {name} given twice"));
        }
    }
    (Value::Object(object), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_any_of_null() {
        let mut s = json!({"type": "string", "nullable": true, "properties": {"nullable": {"type": "object", "nullable": true}}});
        adapt(&mut s);
        assert_eq!(s["anyOf"][1], json!({"type": "null"}));
        assert_eq!(s["anyOf"][0]["properties"]["nullable"]["anyOf"][1], json!({"type": "null"}));
    }

    #[test]
    fn properties_follow_refs_and_all_of() {
        let mut doc = json!({"components": {"schemas": {
            "base": {"properties": {"name": {"type": "string"}, "ttl": {"type": "integer", "nullable": true}}},
            "id": {"type": "integer"},
            "full": {"allOf": [{"$ref": "#/components/schemas/base"},
                {"properties": {"version": {"readOnly": true, "allOf": [{"$ref": "#/components/schemas/id"}]}}}]}
        }}});
        adapt(&mut doc);
        let props = properties(&doc, &json!({"$ref": "#/components/schemas/full"}));
        assert_eq!(props["name"], (Some("string".to_owned()), false));
        assert_eq!(props["ttl"], (Some("integer".to_owned()), true));
        assert_eq!(props["version"], (Some("integer".to_owned()), false));
    }

    #[test]
    fn text_takes_its_declared_type() {
        assert_eq!(coerce("443", Some("integer"), false), json!(443));
        assert_eq!(coerce("1", Some("boolean"), false), json!(true));
        assert_eq!(coerce("false", Some("boolean"), true), json!(false));
        assert_eq!(coerce("", Some("integer"), true), Value::Null);
        assert_eq!(coerce("", Some("string"), true), json!(""));
        assert_eq!(coerce("x", Some("integer"), false), json!("x"));
    }
}
