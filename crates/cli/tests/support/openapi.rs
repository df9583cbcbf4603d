//! The hub's OpenAPI 3.1 document (`crates/hub/src/openapi.json`, served as `/api/v1/openapi.json`)
//! as a response validator: live-hub tests check what the hub answered against what the document
//! says, so the two cannot drift apart unnoticed.
//!
//! Schemas are validated with the `jsonschema` crate (JSON Schema 2020-12, which OpenAPI 3.1 uses).
//! The whole document is one resource of a prepared registry under [`BASE`]; a response's schema
//! has its local `#/...` references rewritten to point into that resource, so every
//! `#/components/schemas/...` reference resolves wherever it sits.

use std::collections::BTreeSet;

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// The document's text, as the hub serves it.
pub const DOCUMENT: &str = include_str!("../../../hub/src/openapi.json");

/// The URI the document is registered under for reference resolution (never fetched).
pub const BASE: &str = "urn:seedbank:hub:openapi";

/// The HTTP methods an OpenAPI path item may hold, in the order [`Spec::operations`] lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub struct Spec {
    doc: Value,
    registry: Registry<'static>,
}

impl Spec {
    /// The document built into the tests. Panics if it does not parse (a test failure).
    pub fn load() -> Spec {
        Spec::parse(DOCUMENT).unwrap_or_else(|e| panic!("crates/hub/src/openapi.json: {e}"))
    }

    pub fn parse(text: &str) -> Result<Spec, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if !doc.is_object() {
            return Err("the document is not a JSON object".into());
        }
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .add(BASE, doc.clone())
            .and_then(|r| r.prepare())
            .map_err(|e| format!("cannot register the document: {e}"))?;
        Ok(Spec { doc, registry })
    }

    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Every operation as (upper-case method, path template), by path, then by [`METHODS`] order.
    pub fn operations(&self) -> Vec<(&str, &str)> {
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (template, item) in paths {
            for (lower, upper) in METHODS.iter().zip(UPPER) {
                if item.get(lower).is_some() {
                    out.push((upper, template.as_str()));
                }
            }
        }
        out
    }

    /// The operation object of `method` (any case) on `template`.
    pub fn operation(&self, method: &str, template: &str) -> Option<&Value> {
        self.doc
            .get("paths")?
            .get(template)?
            .get(method.to_ascii_lowercase())
    }

    /// The template a concrete path (no query) answers to: a literal template wins over one with
    /// `{parameters}` (as in the hub's router, `/api/v1/epochs/current` is not `{epoch}`).
    pub fn template_of(&self, path: &str) -> Option<&str> {
        let paths = self.doc.get("paths")?.as_object()?;
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &str)> = None;
        for template in paths.keys() {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut literal = 0;
            let fits = parts.iter().zip(&segments).all(|(t, s)| {
                if is_parameter(t) {
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.is_none_or(|(n, _)| literal > n) {
                best = Some((literal, template.as_str()));
            }
        }
        best.map(|(_, t)| t)
    }

    /// The value a local reference (`#/components/schemas/X`, any JSON pointer after `#`) names.
    pub fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// Checks `body` against `#/components/schemas/{name}`.
    pub fn check_schema(&self, name: &str, body: &Value) -> Result<(), String> {
        if self
            .resolve(&format!("#/components/schemas/{name}"))
            .is_none()
        {
            return Err(format!("no schema {name} in the document"));
        }
        let schema = serde_json::json!({ "$ref": format!("{BASE}#/components/schemas/{name}") });
        let validator = self
            .validator(&schema)
            .map_err(|e| format!("{name}: {e}"))?;
        report(&validator, body).map_err(|e| format!("{name}: {e}"))
    }

    /// Checks an answer of `method` on `template` with `status` against the document: the status
    /// must be documented (exactly, as `2XX`-style range, or `default`), and a JSON body must fit
    /// the response's `application/json` schema. A response documented without content must come
    /// with `Value::Null`; for other media types (a `.torrent`, plain text) only a string body is
    /// checked against the schema, and `Value::Null` stands for a body not read.
    pub fn check_response(
        &self,
        method: &str,
        template: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let what = format!("{} {template} -> {status}", method.to_ascii_uppercase());
        let operation = self
            .operation(method, template)
            .ok_or_else(|| format!("{what}: the document has no such operation"))?;
        let responses = operation
            .get("responses")
            .ok_or_else(|| format!("{what}: the operation lists no responses"))?;
        let range = format!("{}XX", status / 100);
        let response = [status.to_string().as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|key| responses.get(key))
            .ok_or_else(|| {
                let documented: Vec<&String> = responses
                    .as_object()
                    .map(|r| r.keys().collect())
                    .unwrap_or_default();
                format!("{what}: status not documented (documented: {documented:?}); body {body}")
            })?;
        let response = self.follow(response).map_err(|e| format!("{what}: {e}"))?;
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_null() {
                Ok(())
            } else {
                Err(format!("{what}: documented without a body, got {body}"))
            };
        };
        let json = content
            .iter()
            .find(|(media, _)| is_json(media))
            .map(|(_, m)| m);
        let (media, checked) = match json {
            Some(media) => (media, true),
            None => match content.values().next() {
                Some(media) => (media, body.is_string()),
                None => return Ok(()),
            },
        };
        if !checked {
            return Ok(());
        }
        let Some(schema) = media.get("schema") else {
            return Ok(());
        };
        let validator = self
            .validator(&absolute_refs(schema.clone()))
            .map_err(|e| format!("{what}: {e}"))?;
        report(&validator, body).map_err(|e| format!("{what}: {e}"))
    }

    /// A response object, through a `$ref` to `#/components/responses/...` if it is one.
    fn follow<'a>(&'a self, mut value: &'a Value) -> Result<&'a Value, String> {
        for _ in 0..8 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok(value);
            };
            value = self
                .resolve(reference)
                .ok_or_else(|| format!("unresolved reference {reference}"))?;
        }
        Err("a cycle of references".into())
    }

    fn validator(&self, schema: &Value) -> Result<Validator, String> {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .offline()
            .build(schema)
            .map_err(|e| format!("schema does not compile: {e}"))
    }
}

const UPPER: [&str; 8] = [
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
];

/// `{name}`, a path template's parameter.
pub fn is_parameter(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

/// The parameter names of a path template, in order.
pub fn template_parameters(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter(|s| is_parameter(s))
        .map(|s| &s[1..s.len() - 1])
        .collect()
}

/// `application/json` and `+json` media types (parameters after `;` ignored).
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Every `$ref` string in `value`, deduplicated.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_refs(value, &mut out);
    out
}

fn collect_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// A schema taken out of the document, with its local references made absolute (into [`BASE`]).
fn absolute_refs(mut schema: Value) -> Value {
    rewrite(&mut schema);
    schema
}

fn rewrite(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(r) if key == "$ref" && r.starts_with('#') => {
                        *r = format!("{BASE}{r}");
                    }
                    _ => rewrite(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

/// Every error of `body` against `validator`, one per line with its place in the body. The
/// evaluation's entries go below `oneOf` and `anyOf` (a `null`-or-object field), so a wrong field
/// deep inside is named, not only the alternative that holds it.
fn report(validator: &Validator, body: &Value) -> Result<(), String> {
    if validator.is_valid(body) {
        return Ok(());
    }
    let place = |at: String| if at.is_empty() { "/".to_owned() } else { at };
    let evaluation = validator.evaluate(body);
    let mut errors: Vec<String> = evaluation
        .iter_errors()
        .map(|e| format!("at {}: {}", place(e.instance_location.to_string()), e.error))
        .collect();
    if errors.is_empty() {
        errors = validator
            .iter_errors(body)
            .map(|e| format!("at {}: {e}", place(e.instance_path().to_string())))
            .collect();
    }
    errors.dedup();
    Err(format!("{}\n  body: {body}", errors.join("\n  ")))
}
