//! The notification hub's replay buffer (`edgesaga::notify::hub`), one test per rule: ids
//! increase, tenants are isolated, replay resumes after an id, eviction flags a gap, the byte
//! bound holds, invalid notifications are refused naming the field, no frame can inject a field,
//! each publish reports what it evicted, and the stored events plus the meta restore the whole
//! state.

use std::collections::BTreeMap;

use edgesaga::notify::hub::{
    Hub, HubOptions, PublishError, Replay, StoredEvent, EVENT_OVERHEAD, GAP_FRAME, HEARTBEAT_FRAME,
};
use edgesaga::notify::notification::{Notification, SchemaErrorReason, SchemaOptions};
use edgesaga::notify::parser::{Item, SseParser};
use edgesaga::notify::router::{Accepted, Router};
use proptest::prelude::*;

fn note(kind: &str, entity: &str) -> String {
    format!(r#"{{"type":"{kind}","entityId":"{entity}"}}"#)
}

/// Publishes and returns the id.
fn publish(hub: &mut Hub, tenant: &str, kind: &str, entity: &str) -> u64 {
    hub.publish(tenant, note(kind, entity)).unwrap().id
}

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

/// A host's storage: one value per event (keyed by id, so listed in id order) and the meta,
/// kept the way `worker/hub.js` keeps it: put the new event and the meta, delete the evicted.
#[derive(Clone, Default)]
struct Store {
    events: BTreeMap<u64, (String, Vec<u8>)>,
    meta: Option<Vec<u8>>,
}

impl Store {
    fn publish(&mut self, hub: &mut Hub, tenant: &str, body: String) -> u64 {
        let published = hub.publish(tenant, body).unwrap();
        let (id, frame, evicted) = (published.id, published.frame.to_vec(), published.evicted.to_vec());
        self.events.insert(id, (tenant.to_owned(), frame));
        for id in evicted {
            assert!(self.events.remove(&id).is_some(), "evicted {id}, which was stored");
        }
        self.meta = Some(hub.meta());
        id
    }

    /// A hub restarted from this storage, and the storage as the host leaves it (dropped deleted).
    fn restart(&self, options: HubOptions) -> (Hub, Store) {
        let mut hub = Hub::new(options);
        let keys: Vec<u64> = self.events.keys().copied().collect();
        let items = self.events.values().map(|(tenant, frame)| Some((tenant.as_str(), &frame[..])));
        let dropped = hub.restore(self.meta.as_deref(), items).unwrap();
        let mut after = self.clone();
        for at in dropped {
            after.events.remove(&keys[at]);
        }
        after.meta = Some(hub.meta());
        (hub, after)
    }
}

fn stored(hub: &Hub) -> Vec<(u64, String, Vec<u8>)> {
    hub.events().map(|e: StoredEvent<'_>| (e.id, e.tenant.to_owned(), e.frame.to_vec())).collect()
}

fn same_replays(a: &Hub, b: &Hub, tenants: &[&str]) {
    for tenant in tenants {
        for last in
            [None, Some("0"), Some("1"), Some("2"), Some("5"), Some("17"), Some("40"), Some("junk"), Some("99999")]
        {
            assert_eq!(a.replay(tenant, last), b.replay(tenant, last), "{tenant} after {last:?}");
        }
        let last = a.last_id().to_string();
        assert_eq!(a.replay(tenant, Some(&last)), b.replay(tenant, Some(&last)));
    }
}

#[test]
fn each_publish_reports_the_ids_it_evicted() {
    let mut hub = Hub::new(HubOptions { max_events: 3, ..HubOptions::default() });
    for expected in [1, 2, 3] {
        let published = hub.publish("acme", note("order.paid", "x")).unwrap();
        assert_eq!((published.id, published.evicted), (expected, &[][..]), "nothing evicted below the bound");
    }
    for id in 4..10 {
        let published = hub.publish(if id % 2 == 0 { "acme" } else { "globex" }, note("order.paid", "x")).unwrap();
        assert_eq!((published.id, published.evicted), (id, &[id - 3][..]), "the oldest, one at a time");
    }
    // A refusal evicts nothing and reports nothing.
    assert!(hub.publish("acme", "{not json").is_err());
    assert_eq!(hub.events().map(|e| e.id).collect::<Vec<_>>(), [7, 8, 9]);

    // The byte bound: a large event evicts as many as it takes, oldest first, never itself.
    let mut hub = Hub::new(HubOptions { max_bytes: 2000, ..HubOptions::default() });
    for _ in 0..10 {
        assert!(hub.publish("acme", note("order.paid", "small")).unwrap().evicted.is_empty());
    }
    let big = format!(r#"{{"type":"order.paid","pad":"{}"}}"#, "x".repeat(1200));
    let published = hub.publish("acme", big).unwrap();
    assert_eq!(published.id, 11);
    let evicted = published.evicted.to_vec();
    assert!(evicted.len() > 1 && evicted.windows(2).all(|w| w[1] == w[0] + 1) && evicted[0] == 1, "{evicted:?}");
    assert_eq!(hub.events().next().unwrap().id, evicted.last().unwrap() + 1);
    assert_eq!(hub.events().last().unwrap().id, 11);
    assert!(hub.bytes() <= 2000);
}

#[test]
fn the_stored_events_and_meta_restore_ids_buffer_and_gaps() {
    let tenants = ["acme", "globex", "initech"];
    let options = HubOptions { max_events: 12, max_bytes: 4000, ..HubOptions::default() };
    let mut hub = Hub::new(options);
    let mut store = Store::default();
    for i in 0..60 {
        let tenant = tenants[i % 7 % 3];
        let body = format!(r#"{{"type":"order.paid","entityId":"o-{i}","pad":"{}"}}"#, "x".repeat(i * 37 % 300));
        store.publish(&mut hub, tenant, body);
        // The storage always holds exactly the buffer…
        let in_store: Vec<_> = store.events.iter().map(|(id, (t, f))| (*id, t.clone(), f.clone())).collect();
        assert_eq!(in_store, stored(&hub), "after publish {i}");
        // …and a restart from it, at any point, is the same hub.
        if i % 9 == 4 || i == 59 {
            let (restarted, after) = store.restart(options);
            assert_eq!(after.events, store.events, "nothing to delete with the same bounds");
            assert_eq!(
                (restarted.last_id(), restarted.len(), restarted.bytes()),
                (hub.last_id(), hub.len(), hub.bytes())
            );
            assert_eq!(restarted.meta(), hub.meta(), "a round trip changes nothing");
            same_replays(&restarted, &hub, &tenants);
        }
    }
    assert!(hub.replay("acme", Some("0")).gap, "the test evicted");
    assert!(store.meta.as_ref().unwrap().len() < 100, "the meta is small: {}", store.meta.as_ref().unwrap().len());

    // Ids go on increasing after a restart, and the restarted hub keeps its storage in step.
    let (mut restarted, mut after) = store.restart(options);
    assert_eq!(after.publish(&mut restarted, "acme", note("order.paid", "next")), 61);
    assert_eq!(after.events.len(), restarted.len());

    // Smaller bounds on restart evict the oldest: their positions come back for deletion.
    let small = HubOptions { max_events: 4, ..options };
    let (small_hub, trimmed) = store.restart(small);
    assert_eq!((small_hub.len(), small_hub.last_id()), (4, 60));
    assert_eq!(trimmed.events.keys().copied().collect::<Vec<_>>(), [57, 58, 59, 60]);
    assert_eq!(stored(&small_hub).iter().map(|e| e.0).collect::<Vec<_>>(), [57, 58, 59, 60]);
    // Each event evicted on restart is a gap for its tenant; nothing after them is missing.
    let evicted: Vec<(u64, String)> = store
        .events
        .iter()
        .filter(|(id, _)| !trimmed.events.contains_key(id))
        .map(|(id, (t, _))| (*id, t.clone()))
        .collect();
    assert_eq!(evicted.len(), store.events.len() - 4);
    for (id, tenant) in &evicted {
        assert!(small_hub.replay(tenant, Some(&(id - 1).to_string())).gap, "{tenant} lost {id} on restart");
    }
    for tenant in tenants {
        let replay = small_hub.replay(tenant, Some("56"));
        assert!(!replay.gap, "{tenant}");
        assert_eq!(replay, hub.replay(tenant, Some("56")));
    }
    // Restarting again from the trimmed storage: the same small hub, nothing more to delete.
    let (again, unchanged) = trimmed.restart(small);
    assert_eq!(unchanged.events, trimmed.events);
    same_replays(&again, &small_hub, &tenants);

    // The counter never goes down: restoring a hub already ahead keeps its counter, and the ids
    // between are flagged as lost.
    let mut ahead = Hub::new(options);
    ahead.restore_counter(100);
    let items = store.events.values().map(|(tenant, frame)| Some((tenant.as_str(), &frame[..])));
    ahead.restore(store.meta.as_deref(), items).unwrap();
    assert_eq!(publish(&mut ahead, "acme", "order.paid", "x"), 101);
    assert!(ahead.replay("acme", Some("60")).gap);

    // Only the counter (events lost): ids never reused, and a replay after an older id is a gap.
    let mut counter_only = Hub::default();
    counter_only.restore_counter(hub.last_id());
    assert_eq!(publish(&mut counter_only, "acme", "order.paid", "x"), 61);
    let replay = counter_only.replay("acme", Some("3"));
    assert_eq!((replay.frames.len(), replay.gap), (1, true));
    assert!(!counter_only.replay("acme", Some("60")).gap);
    assert!(!counter_only.replay("acme", None).gap);
}

#[test]
fn damaged_storage_never_hides_a_gap_or_reuses_an_id() {
    let options = HubOptions { max_events: 6, ..HubOptions::default() };
    let mut hub = Hub::new(options);
    let mut store = Store::default();
    for i in 0..9 {
        store.publish(&mut hub, if i % 3 == 0 { "globex" } else { "acme" }, note("order.paid", &format!("o-{i}")));
    }
    let keys: Vec<u64> = store.events.keys().copied().collect();
    assert_eq!(keys, [4, 5, 6, 7, 8, 9]);
    let values: Vec<(String, Vec<u8>)> = store.events.values().cloned().collect();
    let items = |values: &[(String, Vec<u8>)], damaged: &[usize]| -> Vec<Option<(String, Vec<u8>)>> {
        values.iter().enumerate().map(|(at, v)| (!damaged.contains(&at)).then(|| v.clone())).collect()
    };
    let restore = |meta: Option<&[u8]>, items: &[Option<(String, Vec<u8>)>]| {
        let mut restarted = Hub::new(options);
        let dropped = restarted.restore(meta, items.iter().map(|e| e.as_ref().map(|(t, f)| (t.as_str(), &f[..]))));
        (restarted, dropped)
    };
    let meta = store.meta.clone().unwrap();

    // An unreadable value (7, acme's) is dropped: a replay that needed it is flagged.
    let (restarted, dropped) = restore(Some(&meta), &items(&values, &[3]));
    assert_eq!(dropped.unwrap(), [3]);
    assert_eq!(restarted.events().map(|e| e.id).collect::<Vec<_>>(), [4, 5, 6, 8, 9]);
    assert!(restarted.replay("acme", Some("5")).gap);
    assert!(!restarted.replay("acme", Some("7")).gap);
    assert_eq!(restarted.last_id(), 9);
    // So is a frame that is not a hub frame, or whose id is out of order; the newest lost: the
    // counter still comes from the meta.
    let mut tampered = values.clone();
    let at = tampered[1].1.windows(5).position(|w| w == b"data:").unwrap();
    tampered[1].1[at + 8] = b'\n'; // a newline inside the data
    tampered[2].1 = values[0].1.clone(); // id 4 again, after 4
    let mut with_newest_lost = items(&tampered, &[5]);
    with_newest_lost[4] = Some(values[4].clone());
    let (restarted, dropped) = restore(Some(&meta), &with_newest_lost);
    assert_eq!(dropped.unwrap(), [1, 2, 5]);
    assert_eq!(restarted.events().map(|e| e.id).collect::<Vec<_>>(), [4, 7, 8]);
    assert_eq!(restarted.last_id(), 9);
    assert!(restarted.replay("acme", Some("8")).gap, "9 was lost");
    assert!(restarted.replay("acme", Some("4")).gap, "5 was lost");
    let mut restarted = restarted;
    assert_eq!(publish(&mut restarted, "acme", "order.paid", "next"), 10);

    // No meta (lost): ids go on from the highest stored, and anything before the oldest stored
    // is assumed gone.
    let all = items(&values, &[]);
    let (restarted, dropped) = restore(None, &all);
    assert_eq!(dropped.unwrap(), Vec::<usize>::new());
    assert_eq!(restarted.last_id(), 9);
    assert!(restarted.replay("acme", Some("2")).gap);
    assert!(!restarted.replay("acme", Some("3")).gap);
    assert_eq!(restarted.replay("acme", Some("3")), hub.replay("acme", Some("3")));

    // A damaged meta is refused and leaves the hub as it was.
    let mut target = Hub::default();
    publish(&mut target, "acme", "order.paid", "kept");
    let before = (target.meta(), stored(&target));
    let mut bad_magic = meta.clone();
    bad_magic[0] = b'X';
    for damaged in [&meta[..meta.len() - 1], &bad_magic[..], &[][..], &[meta.clone(), vec![0]].concat()[..]] {
        let error = target.restore(Some(damaged), all.iter().map(|e| e.as_ref().map(|(t, f)| (t.as_str(), &f[..]))));
        assert!(error.unwrap_err().to_string().starts_with("invalid hub meta: "));
        assert_eq!((target.meta(), stored(&target)), before);
    }
}
