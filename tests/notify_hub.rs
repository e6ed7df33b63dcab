//! The notification hub's replay buffer (`edgesaga::notify::hub`), one test per rule: ids
//! increase, tenants are isolated, replay resumes after an id, eviction flags a gap, the byte
//! bound holds, invalid notifications are refused naming the field, and no frame can inject a
//! field. What each publish evicts and restoring from storage are in `notify_hub_storage.rs`.

#[path = "common/notify_hub.rs"]
mod notify_hub;

use edgesaga::notify::hub::{Hub, HubOptions, PublishError, Replay, EVENT_OVERHEAD, GAP_FRAME, HEARTBEAT_FRAME};
use edgesaga::notify::notification::{Notification, SchemaErrorReason, SchemaOptions};
use edgesaga::notify::parser::{Item, SseParser};
use edgesaga::notify::router::{Accepted, Router};
use notify_hub::{note, publish};
use proptest::prelude::*;

/// What a subscriber would parse out of frames: `(id, type, data)` per event.
fn parse(bytes: &[u8]) -> Vec<(String, String, String)> {
    let mut parser = SseParser::default();
    let mut items = Vec::new();
    parser.feed(bytes, &mut items);
    parser.end(&mut items);
    items
        .into_iter()
        .map(|item| match item {
            Item::Event(e) => (e.last_event_id.to_string(), e.event_type.into_owned(), e.data),
            Item::Error(e) => panic!("protocol error: {e}"),
        })
        .collect()
}

fn ids(replay: &Replay<'_>) -> Vec<u64> {
    parse(&replay.concat()).iter().map(|(id, _, _)| id.parse().unwrap()).collect()
}

fn entities(replay: &Replay<'_>) -> Vec<String> {
    parse(&replay.concat())
        .iter()
        .map(|(_, _, data)| {
            let n = Notification::parse(data.clone(), &SchemaOptions::default()).unwrap();
            n.entity_id().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn ids_strictly_increase_across_tenants_and_refusals_use_none() {
    let mut hub = Hub::default();
    assert_eq!(hub.last_id(), 0);
    let mut seen = Vec::new();
    for i in 0..50 {
        let tenant = ["acme", "globex", "initech"][i % 3];
        let published = hub.publish(tenant, note("order.paid", &format!("o-{i}"))).unwrap();
        assert_eq!(published.id_text(), published.id.to_string());
        assert!(published.frame.starts_with(format!("id: {}\n", published.id).as_bytes()));
        seen.push(published.id);
        if i % 7 == 0 {
            assert!(hub.publish(tenant, "{not json").is_err(), "refused");
        }
    }
    assert_eq!(seen, (1..=50).collect::<Vec<u64>>(), "1, 2, 3… with no id used up by a refusal");
    assert_eq!(hub.last_id(), 50);
}

#[test]
fn a_tenant_never_sees_another_tenants_notifications() {
    let mut hub = Hub::default();
    for i in 0..20 {
        publish(&mut hub, "acme", "order.paid", &format!("acme-{i}"));
        publish(&mut hub, "globex", "order.paid", &format!("globex-{i}"));
    }
    for (tenant, other) in [("acme", "globex"), ("globex", "acme")] {
        for last in [None, Some("0"), Some("7"), Some("garbage"), Some("99999")] {
            let replay = hub.replay(tenant, last);
            let seen = entities(&replay);
            assert!(!seen.is_empty());
            assert!(seen.iter().all(|e| e.starts_with(tenant)), "{tenant} after {last:?}: {seen:?}");
            assert!(!String::from_utf8(replay.concat()).unwrap().contains(other));
        }
    }
    assert!(hub.replay("initech", None).frames.is_empty(), "a tenant without notifications gets none");

    // The publisher's tenant is the event's: a body naming another tenant is refused…
    for (body, field) in [
        (r#"{"type":"order.paid","tenantId":"globex"}"#, "tenantId"),
        (r#"{"type":"order.paid","metadata":{"tenantId":"globex"}}"#, "metadata.tenantId"),
        (r#"{"type":"order.paid","tenantId":"globex","tenantId":"acme"}"#, "tenantId"),
        // A repeated key: `JSON.parse` keeps the last, but every one must name the publisher.
        (
            r#"{"type":"order.paid","metadata":{"tenantId":{"id":"x"}},"metadata":{"tenantId":"acme"}}"#,
            "metadata.tenantId",
        ),
    ] {
        let error = hub.publish("acme", body).unwrap_err();
        assert_eq!((error.code(), error.field()), ("tenant_mismatch", Some(field)), "{body}");
    }
    // …the same tenant is accepted as is, and a body naming none is stamped with the publisher's.
    let same = hub.publish("acme", r#"{"type":"order.paid","metadata":{"tenantId":"acme"}}"#).unwrap();
    assert!(same.frame.ends_with(b"data: {\"type\":\"order.paid\",\"metadata\":{\"tenantId\":\"acme\"}}\n\n"));
    for body in [r#"{"type":"order.paid"}"#, r#"{"type":"order.paid","tenantId":null,"metadata":{"tenantId":null}}"#] {
        let frame = hub.publish("a\"b", body).unwrap().frame.to_vec();
        let (_, _, data) = parse(&frame).remove(0);
        let n = Notification::parse(data, &SchemaOptions::default()).unwrap();
        assert_eq!(n.tenant_id(), Some("a\"b"), "stamped, escaped, and the stamp wins over nulls");
    }
    let stamped = hub.publish("acme", "{\"eventType\":\"order.paid\",\"data\":{}}").unwrap().frame.to_vec();
    assert!(stamped.ends_with(b"data: {\"eventType\":\"order.paid\",\"data\":{},\"tenantId\":\"acme\"}\n\n"));
}

#[test]
fn replay_returns_the_frames_after_the_id() {
    let mut hub = Hub::default();
    let a: Vec<u64> = (0..5).map(|i| publish(&mut hub, "acme", "order.paid", &format!("o-{i}"))).collect();
    publish(&mut hub, "globex", "order.paid", "g");
    let a2 = publish(&mut hub, "acme", "order.shipped", "o-9");

    let all = hub.replay("acme", None);
    assert_eq!((ids(&all), all.gap), ([a.clone(), vec![a2]].concat(), false));
    assert_eq!(hub.replay("acme", Some("")), all, "an empty id is no id");
    let after = hub.replay("acme", Some(&a[2].to_string()));
    assert_eq!((ids(&after), after.gap), (vec![a[3], a[4], a2], false));
    let after_other = hub.replay("acme", Some("6")); // globex's id: acme's events after it
    assert_eq!((ids(&after_other), after_other.gap), (vec![a2], false));
    let latest = hub.replay("acme", Some(&a2.to_string()));
    assert_eq!((latest.frames.len(), latest.gap), (0, false), "up to date");
    // Frames come back exactly as published, with their type.
    let parsed = parse(&after.concat());
    assert_eq!(parsed[2].1, "order.shipped");
    assert_eq!(parsed[2].0, a2.to_string());
    // The stream's own router accepts every frame (nothing the hub stores is dead-lettered).
    let mut router = Router::default();
    let mut parser = SseParser::default();
    let mut items = Vec::new();
    parser.feed(&all.concat(), &mut items);
    for item in items {
        let Item::Event(event) = item else { panic!("protocol error") };
        assert!(matches!(router.accept(event, 0.0), Accepted::Deliver(_)));
    }
}

#[test]
fn eviction_drops_the_oldest_and_flags_a_gap() {
    let mut hub = Hub::new(HubOptions { max_events: 4, ..HubOptions::default() });
    let first = publish(&mut hub, "acme", "order.paid", "a1"); // 1
    publish(&mut hub, "globex", "order.paid", "g1"); // 2
    for i in 2..=4 {
        publish(&mut hub, "acme", "order.paid", &format!("a{i}")); // 3, 4, 5: evicts 1
    }
    assert_eq!(hub.len(), 4);
    let from_start = hub.replay("acme", Some("0"));
    assert_eq!((ids(&from_start), from_start.gap), (vec![3, 4, 5], true), "acme's id 1 was evicted");
    let after_first = hub.replay("acme", Some(&first.to_string()));
    assert_eq!((ids(&after_first), after_first.gap), (vec![3, 4, 5], false), "nothing after 1 is missing");
    let globex = hub.replay("globex", Some("0"));
    assert_eq!((ids(&globex), globex.gap), (vec![2], false), "globex lost nothing");

    publish(&mut hub, "acme", "order.paid", "a5"); // 6: evicts globex's 2
    let globex = hub.replay("globex", Some("1"));
    assert_eq!((ids(&globex), globex.gap), (vec![], true));
    assert!(!hub.replay("globex", Some("2")).gap, "already had it");

    // Unknown and garbage ids: everything buffered for the tenant, flagged.
    for id in ["99", "18446744073709551616", "abc", "-1", "+3", " 3", "3 ", "3.0"] {
        let replay = hub.replay("acme", Some(id));
        assert_eq!((ids(&replay), replay.gap), (vec![3, 4, 5, 6], true), "{id:?}");
    }
    // A gap notice a client can parse: a valid notification without an id.
    let notice = parse(GAP_FRAME);
    assert_eq!(notice, [(String::new(), "hub.gap".to_owned(), r#"{"type":"hub.gap"}"#.to_owned())]);
    assert!(Notification::parse(notice[0].2.clone(), &SchemaOptions::default()).is_ok());
    assert_eq!(HEARTBEAT_FRAME, b": heartbeat\n\n");
    assert!(parse(HEARTBEAT_FRAME).is_empty(), "a heartbeat is a comment");

    // Thousands of tenants evicted from: marks are bounded, and a gap is never missed.
    let mut hub = Hub::new(HubOptions { max_events: 1, ..HubOptions::default() });
    for i in 0..3000 {
        publish(&mut hub, &format!("t{i}"), "order.paid", "x");
    }
    for i in [0, 1, 1500, 2998] {
        assert!(hub.replay(&format!("t{i}"), Some("0")).gap, "t{i}");
    }
    assert!(hub.meta().len() < 64 * 1024, "eviction marks stay bounded");
}

#[test]
fn the_byte_bound_holds() {
    let max_bytes = 1000;
    let mut hub = Hub::new(HubOptions { max_bytes, ..HubOptions::default() });
    let mut total = 0;
    for i in 0..100 {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        let p = hub.publish(tenant, format!(r#"{{"type":"order.paid","entityId":"o-{i}","pad":"{}"}}"#, "x".repeat(i)));
        let published = p.unwrap();
        total += published.frame.len() + tenant.len() + EVENT_OVERHEAD;
        assert!(hub.bytes() <= max_bytes, "{} > {max_bytes}", hub.bytes());
        // What is left is the newest events that fit.
        let kept: usize = hub.replay("acme", None).frames.iter().map(|f| f.len() + 4 + EVENT_OVERHEAD).sum::<usize>()
            + hub.replay("globex", None).frames.iter().map(|f| f.len() + 6 + EVENT_OVERHEAD).sum::<usize>();
        assert_eq!(kept, hub.bytes());
    }
    assert!(total > max_bytes * 3, "the test evicted plenty");
    assert!(hub.len() >= 2);

    let huge = format!(r#"{{"type":"order.paid","pad":"{}"}}"#, "x".repeat(max_bytes));
    let error = hub.publish("acme", huge).unwrap_err();
    assert!(matches!(error, PublishError::TooLarge { max_bytes: 1000, .. }), "{error:?}");
    assert_eq!((error.code(), error.field()), ("too_large", None));
    assert!(error.to_string().contains("maxBytes (1000)"), "{error}");
}

#[test]
fn invalid_notifications_are_refused_naming_the_field() {
    let mut hub = Hub::default();
    let cases: &[(&str, SchemaErrorReason, Option<&str>)] = &[
        ("{\"type\":\"order.paid\"", SchemaErrorReason::MalformedJson, None),
        ("not json", SchemaErrorReason::MalformedJson, None),
        ("[1,2]", SchemaErrorReason::NotAnObject, None),
        (r#"{"entityId":"o-1"}"#, SchemaErrorReason::MissingType, Some("type")),
        (r#"{"type":null}"#, SchemaErrorReason::MissingType, Some("type")),
        (r#"{"type":"orderpaid"}"#, SchemaErrorReason::InvalidType, Some("type")),
        (r#"{"type":"Order.Paid"}"#, SchemaErrorReason::InvalidType, Some("type")),
        (r#"{"type":"order.paid\nid: 9"}"#, SchemaErrorReason::InvalidType, Some("type")),
        (r#"{"eventType":"order","data":{}}"#, SchemaErrorReason::InvalidType, Some("eventType")),
        (r#"{"type":7}"#, SchemaErrorReason::InvalidType, Some("type")),
        (r#"{"eventType":"order.paid","version":"2.0"}"#, SchemaErrorReason::IncompatibleVersion, Some("version")),
        (r#"{"type":"order.paid","version":"v1"}"#, SchemaErrorReason::InvalidVersion, Some("version")),
        (r#"{"type":"order.paid","entityId":{"a":1}}"#, SchemaErrorReason::InvalidField, Some("entityId")),
        (r#"{"type":"order.paid","timestamp":[1]}"#, SchemaErrorReason::InvalidField, Some("timestamp")),
        (r#"{"type":"order.paid","metadata":"x"}"#, SchemaErrorReason::InvalidField, Some("metadata")),
        (r#"{"eventType":"order.paid","data":{"id":true}}"#, SchemaErrorReason::InvalidField, Some("data.id")),
    ];
    for &(body, reason, field) in cases {
        let error = hub.publish("acme", body).unwrap_err();
        let PublishError::Schema(schema) = error else { panic!("{body}: {error:?}") };
        assert_eq!((schema.reason, error.field(), error.code()), (reason, field, reason.code()), "{body}");
        assert_eq!(error.error_name(), "NotificationSchemaError");
        if let Some(field) = field {
            assert!(error.to_string().contains(field), "the message names `{field}`: {error}");
        }
    }
    assert!(hub.publish("acme", "{\"type\":\"order.paid\"").unwrap_err().to_string().contains("at byte"));
    assert!(hub.is_empty() && hub.last_id() == 0, "nothing stored, no id used");
}

#[test]
fn a_frame_can_never_inject_fields() {
    let mut hub = Hub::default();
    // Newlines (LF, CRLF, CR) between tokens, escaped newlines and SSE syntax inside strings.
    let body = "{\r\n  \"type\" :\t\"order.paid\",\n  \"entityId\": \"o-1\\n\\nid: 999\\r\\nevent: x\",\r  \"note\": \"data: evil\\u000a\"\n}\n";
    let published = hub.publish("acme", body).unwrap();
    let frame = published.frame.to_vec();
    assert_eq!(frame.iter().filter(|&&b| b == b'\n').count(), 4, "id, event, data lines and the blank line");
    assert!(!frame.contains(&b'\r'));
    let events = parse(&frame);
    assert_eq!(events.len(), 1);
    let (id, kind, data) = &events[0];
    assert_eq!((id.as_str(), kind.as_str()), ("1", "order.paid"));
    assert_eq!(
        data,
        r#"{"type":"order.paid","entityId":"o-1\n\nid: 999\r\nevent: x","note":"data: evil\u000a","tenantId":"acme"}"#
    );
    let n = Notification::parse(data.clone(), &SchemaOptions::default()).unwrap();
    assert_eq!(n.entity_id(), Some("o-1\n\nid: 999\r\nevent: x"), "string contents kept exactly");
}

/// A JSON string literal for any text (control characters escaped).
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any valid notification, whatever whitespace separates its tokens and whatever its strings
    /// hold, becomes exactly one event with the hub's id and type, and the same content.
    #[test]
    fn any_notification_is_exactly_one_event(
        entity in any::<String>(),
        note in any::<String>(),
        tenant in any::<String>(),
        ws in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("\n"), Just("\r\n"), Just("\r"), Just("\t")], 12),
    ) {
        let mut hub = Hub::default();
        hub.publish("x", r#"{"type":"a.b"}"#).unwrap();
        let body = format!(
            "{}{{{}\"type\"{}:{}\"order.paid\"{},{}\"entityId\":{}{},\"note\"{}:{}{}}}{}",
            ws[0], ws[1], ws[2], ws[3], ws[4], ws[5], json_string(&entity), ws[6], ws[7], json_string(&note), ws[8], ws[9]
        );
        let published = hub.publish(&tenant, body).unwrap();
        prop_assert_eq!(published.id, 2);
        let events = parse(published.frame);
        prop_assert_eq!(events.len(), 1);
        let (id, kind, data) = &events[0];
        prop_assert_eq!(id.as_str(), "2");
        prop_assert_eq!(kind.as_str(), "order.paid");
        prop_assert!(!data.contains('\n') && !data.contains('\r'));
        let n = Notification::parse(data.clone(), &SchemaOptions::default()).unwrap();
        prop_assert_eq!(n.entity_id(), Some(entity.as_str()));
        prop_assert_eq!(n.tenant_id(), Some(tenant.as_str()));
    }
}
