//! Routing patterns and filters, as tables.

use edgesaga::notify::notification::{Notification, SchemaOptions};
use edgesaga::notify::pattern::{Filter, Pattern, PatternErrorKind as K, Route};

fn notification(kind: &str, entity: Option<&str>, tenant: Option<&str>) -> Notification {
    let mut raw = format!(r#"{{"type":"{kind}""#);
    if let Some(e) = entity {
        raw += &format!(r#","entityId":"{e}""#);
    }
    if let Some(t) = tenant {
        raw += &format!(r#","metadata":{{"tenantId":"{t}"}}"#);
    }
    raw.push('}');
    Notification::parse(raw, &SchemaOptions::default()).unwrap()
}

#[test]
fn match_table() {
    let types = ["order.status_changed", "order.created", "payment.created", "payment.processed", "order-v2.created"];
    let table: &[(&str, [bool; 5])] = &[
        ("*", [true, true, true, true, true]),
        ("*.*", [true, true, true, true, true]),
        ("order.*", [true, true, false, false, false]),
        ("order.status_changed", [true, false, false, false, false]),
        ("order.created", [false, true, false, false, false]),
        ("*.created", [false, true, true, false, true]),
        ("payment.*", [false, false, true, true, false]),
        ("order-v2.*", [false, false, false, false, true]),
        ("order.status", [false, false, false, false, false]),
        ("orde.*", [false, false, false, false, false]),
    ];
    for (pattern, expected) in table {
        let p = Pattern::parse(pattern).unwrap();
        for (kind, &want) in types.iter().zip(expected) {
            let n = notification(kind, None, None);
            assert_eq!(p.matches(&n), want, "{pattern} vs {kind}");
            assert_eq!(p.matches_type(n.resource(), n.action()), want, "{pattern} vs {kind} (split)");
        }
    }
}

#[test]
fn exact_type_match_needs_the_dot_in_the_right_place() {
    let p = Pattern::parse("ab.c").unwrap();
    assert!(p.matches_type("ab", "c"));
    assert!(!p.matches_type("a", "b.c"));
    assert!(!p.matches_type("ab", "cd"));
}

#[test]
fn parsed_forms_and_display() {
    assert_eq!(Pattern::parse("*"), Ok(Pattern::All));
    assert_eq!(Pattern::parse("*.*"), Ok(Pattern::All));
    assert_eq!(Pattern::parse("order.*"), Ok(Pattern::Resource("order".into())));
    assert_eq!(Pattern::parse("*.created"), Ok(Pattern::Action("created".into())));
    assert_eq!(Pattern::parse("a_1.b-2"), Ok(Pattern::Exact("a_1.b-2".into())));
    for p in ["*", "order.*", "*.created", "a.b"] {
        assert_eq!(Pattern::parse(p).unwrap().to_string(), p);
    }
}

#[test]
fn invalid_patterns() {
    let table: &[(&str, K, usize)] = &[
        ("", K::Empty, 0),
        ("order", K::MissingDot, 5),
        ("order.paid.now", K::TooManyDots, 10),
        ("..", K::TooManyDots, 1),
        (".paid", K::EmptySegment, 0),
        ("order.", K::EmptySegment, 6),
        (".", K::EmptySegment, 0),
        ("Order.paid", K::InvalidCharacter, 0),
        ("order.pa id", K::InvalidCharacter, 8),
        ("order.päid", K::InvalidCharacter, 7),
        ("order/paid", K::InvalidCharacter, 5),
        ("ord*.paid", K::PartialWildcard, 3),
        ("order.*d", K::PartialWildcard, 6),
        ("**", K::MissingDot, 2),
        ("**.a", K::PartialWildcard, 0),
        ("*.", K::EmptySegment, 2),
    ];
    for &(pattern, kind, offset) in table {
        let err = Pattern::parse(pattern).expect_err(pattern);
        assert_eq!((err.kind, err.offset), (kind, offset), "{pattern:?}");
    }
    assert_eq!(
        Pattern::parse("order").unwrap_err().to_string(),
        "invalid notification pattern: expected `resource.action`, `resource.*`, `*.action` or `*` at byte 5"
    );
    assert!(Route::new("bad").is_err());
}

#[test]
fn filters_match_exactly_and_need_the_field() {
    let full = notification("order.paid", Some("o-1"), Some("acme"));
    let bare = notification("order.paid", None, None);
    let table: &[(Route, bool, bool)] = &[
        (Route::new("*").unwrap(), true, true),
        (Route::new("*").unwrap().tenant("acme"), true, false),
        (Route::new("*").unwrap().tenant("other"), false, false),
        (Route::new("*").unwrap().entity("o-1"), true, false),
        (Route::new("*").unwrap().entity("o-"), false, false),
        (Route::new("order.*").unwrap().tenant("acme").entity("o-1"), true, false),
        (Route::new("order.*").unwrap().tenant("acme").entity("o-2"), false, false),
        (Route::new("payment.*").unwrap().tenant("acme"), false, false),
    ];
    for (route, on_full, on_bare) in table {
        assert_eq!((route.matches(&full), route.matches(&bare)), (*on_full, *on_bare), "{route:?}");
    }
    assert!(Filter::default().matches(&bare));
    assert_eq!(Route::from(Pattern::All), Route::new("*").unwrap());
}
