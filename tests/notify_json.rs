//! The JSON reader accepts exactly RFC 8259 (what `JSON.parse` accepts) and reports the first
//! error with its byte offset.

use edgesaga::json::{validate, JsonErrorKind as K, Reader, Value, DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT};

fn check(text: &str) -> Result<(), (K, usize)> {
    validate(text, DEFAULT_MAX_DEPTH).map_err(|e| (e.kind, e.offset))
}

#[test]
fn accepts_every_value_kind() {
    for text in [
        "null",
        " true ",
        "false",
        "0",
        "-0",
        "12",
        "-12.5e+3",
        "1E-2",
        "0.5",
        "\"\"",
        "\"a\\u00e9\\ud83d\\ude00\"",
        "\"\\ud800\"",
        "\"é 😀 \\\\ \\/\"",
        "[]",
        "{}",
        "[1,[2,[3]],{\"a\":{}}]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":\"d\"}",
        " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
    ] {
        assert_eq!(check(text), Ok(()), "{text:?}");
    }
}

#[test]
fn rejects_with_kind_and_offset() {
    let cases: &[(&str, K, usize)] = &[
        ("", K::UnexpectedEnd, 0),
        ("   ", K::UnexpectedEnd, 3),
        ("nul", K::UnexpectedEnd, 3),
        ("nulL", K::ExpectedValue, 3),
        ("True", K::ExpectedValue, 0),
        ("'a'", K::ExpectedValue, 0),
        ("01", K::InvalidNumber, 1),
        ("-", K::InvalidNumber, 1),
        ("+1", K::ExpectedValue, 0),
        ("1.", K::InvalidNumber, 2),
        (".5", K::ExpectedValue, 0),
        ("1e", K::InvalidNumber, 2),
        ("1e+", K::InvalidNumber, 3),
        ("NaN", K::ExpectedValue, 0),
        ("\"abc", K::UnexpectedEnd, 4),
        ("\"a\\", K::UnexpectedEnd, 3),
        ("\"\\x\"", K::InvalidEscape, 1),
        ("\"\\u12G4\"", K::InvalidEscape, 1),
        ("\"\\u12\"", K::InvalidEscape, 1),
        ("\"a\tb\"", K::ControlCharacter, 2),
        ("\"\u{0}\"", K::ControlCharacter, 1),
        ("[1,]", K::ExpectedValue, 3),
        ("[,1]", K::ExpectedValue, 1),
        ("[1 2]", K::ExpectedCommaOrClose, 3),
        ("[1", K::UnexpectedEnd, 2),
        ("[", K::UnexpectedEnd, 1),
        ("{", K::UnexpectedEnd, 1),
        ("{,}", K::ExpectedKey, 1),
        ("{\"a\":1,}", K::ExpectedKey, 7),
        ("{\"a\" 1}", K::ExpectedColon, 5),
        ("{\"a\":}", K::ExpectedValue, 5),
        ("{a:1}", K::ExpectedKey, 1),
        ("{\"a\":1 \"b\":2}", K::ExpectedCommaOrClose, 7),
        ("{\"a\":1]", K::ExpectedCommaOrClose, 6),
        ("[1}", K::ExpectedCommaOrClose, 2),
        ("{} {}", K::TrailingCharacters, 3),
        ("1 2", K::TrailingCharacters, 2),
        ("\u{feff}{}", K::ExpectedValue, 0),
    ];
    for &(text, kind, offset) in cases {
        assert_eq!(check(text), Err((kind, offset)), "{text:?}");
    }
}

#[test]
fn nesting_is_bounded_by_the_configured_depth() {
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_eq!(validate(&nested(64), 64), Ok(()));
    assert_eq!(validate(&nested(65), 64).map_err(|e| (e.kind, e.offset)), Err((K::TooDeep, 64)));
    assert_eq!(validate(&nested(3), 2).map_err(|e| e.kind), Err(K::TooDeep));
    assert_eq!(validate("1", 0), Ok(()));
    assert_eq!(validate("[]", 0).map_err(|e| e.kind), Err(K::TooDeep));
    // The limit is clamped to what the reader can track.
    assert_eq!(validate(&nested(128), u8::MAX), Ok(()));
    assert_eq!(validate(&nested(129), u8::MAX).map_err(|e| e.kind), Err(K::TooDeep));
    assert_eq!(MAX_DEPTH_LIMIT, 128);
    // Mixed objects and arrays, closing in the right order.
    let mixed = format!("{}1{}", "{\"a\":[".repeat(30), "]}".repeat(30));
    assert_eq!(validate(&mixed, 60), Ok(()));
    assert_eq!(validate(&mixed, 59).map_err(|e| e.kind), Err(K::TooDeep));
    let crossed = format!("{}1{}", "{\"a\":[".repeat(2), "}]".repeat(2));
    assert_eq!(validate(&crossed, 64).map_err(|e| e.kind), Err(K::ExpectedCommaOrClose));
}

#[test]
fn the_pull_api_reads_nested_members_and_decodes_keys() {
    let text = r#"{"d\u0061ta":{"id":42,"list":[1,{"x":null}]},"n":-1.5e3,"b":true}"#;
    let mut r = Reader::new(text);
    assert_eq!(r.value(), Ok(Value::Object));
    let mut seen = Vec::new();
    while let Some(key) = r.next_key().unwrap() {
        let key = key.decode().into_owned();
        match key.as_str() {
            "data" => {
                assert_eq!(r.value(), Ok(Value::Object));
                assert_eq!(r.depth(), 2);
                let id = r.next_key().unwrap().unwrap();
                assert_eq!(id.raw(), "id");
                assert_eq!(r.value(), Ok(Value::Number("42")));
                r.skip_rest().unwrap();
                assert_eq!(r.depth(), 1);
            }
            "n" => assert_eq!(r.value(), Ok(Value::Number("-1.5e3"))),
            "b" => assert_eq!(r.value(), Ok(Value::Bool(true))),
            other => panic!("unexpected key {other}"),
        }
        seen.push(key);
    }
    assert_eq!(seen, ["data", "n", "b"]);
    assert_eq!(r.offset(), text.len());
    r.end().unwrap();
}

#[test]
fn arrays_are_read_element_by_element() {
    let mut r = Reader::new("[\"a\", [], 3]");
    assert_eq!(r.value(), Ok(Value::Array));
    let mut kinds = Vec::new();
    while r.next_element().unwrap() {
        let v = r.value().unwrap();
        if v == Value::Array {
            r.skip_rest().unwrap();
        }
        kinds.push(v);
    }
    assert_eq!(kinds.len(), 3);
    assert!(matches!(kinds[0], Value::String(s) if s.decode() == "a"));
    assert_eq!(kinds[2], Value::Number("3"));
    r.end().unwrap();
}

#[test]
fn out_of_order_calls_are_errors() {
    let mut r = Reader::new("{\"a\":1}");
    assert_eq!(r.next_element().unwrap_err().kind, K::OutOfPlace);
    assert_eq!(r.clone().end().unwrap_err().kind, K::OutOfPlace);
    assert_eq!(r.value(), Ok(Value::Object));
    assert_eq!(r.value().unwrap_err().kind, K::OutOfPlace);
    assert!(r.next_key().unwrap().is_some());
    assert_eq!(r.next_key().unwrap_err().kind, K::OutOfPlace);
    r.skip().unwrap();
    assert_eq!(r.next_key(), Ok(None));
    assert_eq!(r.value().unwrap_err().kind, K::OutOfPlace);
    r.end().unwrap();
}

#[test]
fn errors_display_with_their_offset() {
    let err = validate("[1,]", 64).unwrap_err();
    assert_eq!(err.to_string(), "expected a JSON value at byte 3");
}
