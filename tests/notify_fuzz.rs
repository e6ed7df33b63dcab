//! Property tests: random bytes and JSON-ish token soup fed to the JSON reader, the notification
//! normaliser and the router. Nothing panics, nesting stays bounded, errors point inside the
//! input, and the reader agrees with a naive recursive reference on what is valid.
#![cfg(not(target_arch = "wasm32"))]

use edgesaga::json::{validate, JsonErrorKind, Reader};
use edgesaga::notify::notification::{Notification, SchemaErrorReason, SchemaOptions};
use edgesaga::notify::parser::Event;
use edgesaga::notify::pattern::Pattern;
use edgesaga::notify::router::{Accepted, Router};
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "\n",
    "\"",
    "\\",
    "\\u",
    "\\ud83d",
    "\\ude00",
    "\\n",
    "0",
    "1",
    "-",
    ".",
    "e",
    "+",
    "12.5",
    "true",
    "false",
    "null",
    "nul",
    "\"type\"",
    "\"eventType\"",
    "\"version\"",
    "\"data\"",
    "\"metadata\"",
    "\"entityId\"",
    "\"id\"",
    "\"tenantId\"",
    "\"timestamp\"",
    "\"order.paid\"",
    "\"a.b\"",
    "\"1.2\"",
    "\"2\"",
    "\"x\"",
    "é",
    "😀",
    "\u{1}",
    "*",
];

fn soup() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        8 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(token, 0..80).prop_map(|t| t.concat())
}

/// Structurally valid JSON, so the agreement test also sees many accepted documents.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i32>().prop_map(|n| n.to_string()),
        "[a-z.]{0,6}".prop_map(|s| format!("\"{s}\"")),
        Just("\"\\u00e9\\n\"".to_owned()),
    ];
    leaf.prop_recursive(6, 40, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            proptest::collection::vec(("type|eventType|version|data|metadata|entityId|id|tenantId|k", inner), 0..4)
                .prop_map(|v| {
                    let members: Vec<String> = v.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                }),
        ]
    })
}

/// A literal recursive reading of RFC 8259, used only as an oracle on small inputs.
fn reference(s: &[u8], max_depth: usize) -> bool {
    fn ws(s: &[u8], mut i: usize) -> usize {
        while i < s.len() && b" \t\n\r".contains(&s[i]) {
            i += 1;
        }
        i
    }
    fn value(s: &[u8], i: usize, depth: usize, max: usize) -> Option<usize> {
        let i = ws(s, i);
        match *s.get(i)? {
            b'{' | b'[' if depth == max => None,
            b'{' => {
                let mut i = ws(s, i + 1);
                if s.get(i) == Some(&b'}') {
                    return Some(i + 1);
                }
                loop {
                    i = string(s, ws(s, i))?;
                    i = ws(s, i);
                    if s.get(i) != Some(&b':') {
                        return None;
                    }
                    i = ws(s, value(s, i + 1, depth + 1, max)?);
                    match s.get(i)? {
                        b',' => i += 1,
                        b'}' => return Some(i + 1),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                let mut i = ws(s, i + 1);
                if s.get(i) == Some(&b']') {
                    return Some(i + 1);
                }
                loop {
                    i = ws(s, value(s, i, depth + 1, max)?);
                    match s.get(i)? {
                        b',' => i += 1,
                        b']' => return Some(i + 1),
                        _ => return None,
                    }
                }
            }
            b'"' => string(s, i),
            b't' => s[i..].starts_with(b"true").then_some(i + 4),
            b'f' => s[i..].starts_with(b"false").then_some(i + 5),
            b'n' => s[i..].starts_with(b"null").then_some(i + 4),
            _ => number(s, i),
        }
    }
    fn string(s: &[u8], i: usize) -> Option<usize> {
        if s.get(i) != Some(&b'"') {
            return None;
        }
        let mut i = i + 1;
        loop {
            match *s.get(i)? {
                b'"' => return Some(i + 1),
                b'\\' => match *s.get(i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' if s.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                    _ => return None,
                },
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
    }
    fn number(s: &[u8], mut i: usize) -> Option<usize> {
        let digits = |mut i: usize| {
            let start = i;
            while s.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            (i > start).then_some(i)
        };
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        i = if s.get(i) == Some(&b'0') { i + 1 } else { digits(i).filter(|_| s[i] != b'0')? };
        if s.get(i) == Some(&b'.') {
            i = digits(i + 1)?;
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            i = digits(i)?;
        }
        Some(i)
    }
    value(s, 0, 0, max_depth).is_some_and(|end| ws(s, end) == s.len())
}

/// Reads a whole document with the pull API, tracking the deepest point reached.
fn walk(text: &str, max_depth: u8) -> Result<u8, JsonErrorKind> {
    let mut r = Reader::with_max_depth(text, max_depth);
    let mut deepest = 0;
    r.value().map_err(|e| e.kind)?;
    while r.depth() > 0 {
        deepest = deepest.max(r.depth());
        assert!(r.depth() <= max_depth);
        // Which kind of container this is: a key read on an array is refused as out of place.
        let more = match r.clone().next_key() {
            Err(e) if e.kind == JsonErrorKind::OutOfPlace => r.next_element().map_err(|e| e.kind)?,
            _ => r.next_key().map_err(|e| e.kind)?.is_some(),
        };
        if more {
            r.value().map_err(|e| e.kind)?;
        }
    }
    r.end().map_err(|e| e.kind)?;
    Ok(deepest)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn reader_agrees_with_the_reference_on_soup(text in soup(), depth in 0u8..6) {
        let got = validate(&text, depth);
        prop_assert_eq!(got.is_ok(), reference(text.as_bytes(), depth.into()), "{:?}", text);
        if let Err(e) = got {
            prop_assert!(e.offset <= text.len());
            prop_assert!(e.kind != JsonErrorKind::OutOfPlace);
        }
        prop_assert_eq!(walk(&text, depth).is_ok(), got.is_ok());
    }

    #[test]
    fn reader_agrees_with_the_reference_on_valid_shapes(text in json_value(), depth in 1u8..8) {
        prop_assert_eq!(validate(&text, 64), Ok(()));
        let got = validate(&text, depth);
        prop_assert_eq!(got.is_ok(), reference(text.as_bytes(), depth.into()), "{:?}", text);
        if let Ok(deepest) = walk(&text, depth) {
            prop_assert!(deepest <= depth);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = validate(&text, 64);
        let options = SchemaOptions::default();
        if let Err(rejected) = Notification::parse(text.clone().into_owned(), &options) {
            prop_assert_eq!(&rejected.raw, &text);
            let _ = rejected.error.to_string();
        }
        let _ = Pattern::parse(&text);
    }

    #[test]
    fn the_normaliser_never_panics_and_is_consistent(text in prop_oneof![soup(), json_value()]) {
        let options = SchemaOptions { max_depth: 8, ..SchemaOptions::default() };
        match Notification::parse(text.clone(), &options) {
            Ok(n) => {
                prop_assert!(validate(&text, 8).is_ok());
                prop_assert_eq!(n.raw(), text.as_str());
                let whole = format!("{}.{}", n.resource(), n.action());
                prop_assert_eq!(n.notification_type(), whole.as_str());
                prop_assert!(Pattern::parse(n.notification_type()).unwrap().matches(&n));
            }
            Err(rejected) => {
                let malformed = rejected.error.reason == SchemaErrorReason::MalformedJson;
                prop_assert_eq!(malformed, validate(&text, 8).is_err());
                prop_assert!(!rejected.error.to_string().is_empty());
            }
        }
    }

    #[test]
    fn the_router_never_panics(datas in proptest::collection::vec(prop_oneof![soup(), json_value()], 0..20)) {
        let mut router = Router::default();
        router.subscribe(edgesaga::notify::pattern::Route::new("*").unwrap());
        for (i, data) in datas.into_iter().enumerate() {
            let id = std::sync::Arc::from((i % 7).to_string());
            let event = Event { event_type: "message".into(), data, last_event_id: id, own_id: i % 3 != 0 };
            if let Accepted::Deliver(d) = router.accept(event, i as f64) {
                for h in d.handlers {
                    let _ = router.handler_failed(d.id, h, "x");
                }
            }
        }
        prop_assert!(router.dead_letters().len() <= 100);
    }
}

#[test]
fn deep_hostile_input_costs_no_stack() {
    for open in ["[", "{\"a\":", "[{\"b\":"] {
        let text = open.repeat(200_000);
        assert_eq!(validate(&text, 64).unwrap_err().kind, JsonErrorKind::TooDeep);
        let err = Notification::parse(format!("{{\"type\":\"a.b\",\"x\":{text}"), &SchemaOptions::default());
        assert_eq!(err.unwrap_err().error.reason, SchemaErrorReason::MalformedJson);
    }
}
