//! Helpers shared by the declarative HTTP transaction tests: parse a definition, wrap a
//! request in a one-step definition, and parse JSON.

use edgesaga::json::Json;
use edgesaga::saga::http::{parse_definition, HttpTransaction};

pub fn parse(text: &str) -> HttpTransaction {
    parse_definition(text).unwrap_or_else(|e| panic!("rejected: {e}\n{text}"))
}

/// A one-step definition around `request`.
pub fn step(request: &str) -> String {
    format!(r#"{{"steps":[{{"name":"a","request":{request}}}]}}"#)
}

pub fn json(text: &str) -> Json {
    Json::parse(text, 64).unwrap_or_else(|e| panic!("{e}: {text}"))
}
