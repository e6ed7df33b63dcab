//! The delivery core: arrival order, dedupe, dead letters, handler retries, and the rule that
//! the persisted `Last-Event-ID` only moves over notifications whose handlers all settled.

use std::rc::Rc;
use std::sync::Arc;

use edgesaga::notify::dead_letter::{DeadLetterReason, DeadLetters};
use edgesaga::notify::dedupe::DedupeWindow;
use edgesaga::notify::notification::SchemaErrorReason;
use edgesaga::notify::parser::{Event, Item, SseParser};
use edgesaga::notify::pattern::Route;
use edgesaga::notify::router::{Accepted, Delivery, HandlerVerdict as V, Router, RouterConfig};

/// Parses a whole SSE text with one parser (so ids are shared as on the wire).
fn events(parser: &mut SseParser, sse: &str) -> Vec<Event> {
    let mut items = Vec::new();
    parser.feed(sse.as_bytes(), &mut items);
    items
        .into_iter()
        .map(|i| match i {
            Item::Event(e) => e,
            Item::Error(e) => panic!("{e}"),
        })
        .collect()
}

fn block(id: Option<&str>, kind: &str, entity: &str) -> String {
    let id = id.map(|i| format!("id: {i}\n")).unwrap_or_default();
    format!("{id}data: {{\"type\":\"{kind}\",\"entityId\":\"{entity}\"}}\n\n")
}

fn deliver(router: &mut Router, event: Event) -> Delivery {
    match router.accept(event, 0.0) {
        Accepted::Deliver(d) => d,
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn plans_list_matching_handlers_in_subscription_order() {
    let mut router = Router::default();
    let payments = router.subscribe(Route::new("payment.*").unwrap());
    let all = router.subscribe(Route::new("*").unwrap());
    let o1 = router.subscribe(Route::new("order.*").unwrap().entity("o-1"));
    let created = router.subscribe(Route::new("*.created").unwrap());
    let mut parser = SseParser::default();
    let sse = [block(Some("1"), "order.created", "o-1"), block(Some("2"), "payment.created", "p-1")].concat();
    let mut evs = events(&mut parser, &sse).into_iter();
    let d1 = deliver(&mut router, evs.next().unwrap());
    assert_eq!(d1.handlers, [all, o1, created]);
    let d2 = deliver(&mut router, evs.next().unwrap());
    assert_eq!(d2.handlers, [payments, all, created]);
    assert_eq!(d2.id.0, d1.id.0 + 1);
    assert_eq!((d2.notification.id(), d2.notification.last_event_id()), (Some("2"), "2"));
}

#[test]
fn duplicates_by_id_are_dropped_even_after_a_reconnect() {
    let mut router = Router::default();
    let h = router.subscribe(Route::new("*").unwrap());
    let mut parser = SseParser::default();
    let first = [block(Some("1"), "a.b", "x"), block(Some("2"), "a.b", "y")].concat();
    for e in events(&mut parser, &first) {
        let d = deliver(&mut router, e);
        router.handler_succeeded(d.id, h);
    }
    // The connection drops; the server replays from before `Last-Event-ID`.
    parser.end(&mut Vec::new());
    let replay = [block(Some("1"), "a.b", "x"), block(Some("2"), "a.b", "y"), block(Some("3"), "a.b", "z")].concat();
    let outcomes: Vec<Accepted> = events(&mut parser, &replay).into_iter().map(|e| router.accept(e, 0.0)).collect();
    assert_eq!(outcomes[..2], [Accepted::Duplicate, Accepted::Duplicate]);
    assert!(matches!(&outcomes[2], Accepted::Deliver(d) if d.notification.entity_id() == Some("z")));
}

#[test]
fn events_without_an_id_of_their_own_are_always_delivered() {
    let mut router = Router::default();
    let mut parser = SseParser::default();
    // The second and third events inherit "1" as their last event ID but have no `id` field.
    let sse = [block(Some("1"), "a.b", "x"), block(None, "a.b", "y"), block(None, "a.b", "y")].concat();
    let ds: Vec<Delivery> = events(&mut parser, &sse).into_iter().map(|e| deliver(&mut router, e)).collect();
    let ids: Vec<_> = ds.iter().map(|d| (d.notification.id(), d.notification.last_event_id())).collect();
    assert_eq!(ids, [(Some("1"), "1"), (None, "1"), (None, "1")]);
    // An empty id resets: never deduplicated either.
    let sse = ["id\n".to_owned(), block(None, "a.b", "x"), "id:\n".to_owned(), block(None, "a.b", "x")].concat();
    for e in events(&mut parser, &sse) {
        let d = deliver(&mut router, e);
        assert_eq!((d.notification.id(), d.notification.last_event_id()), (None, ""));
    }
    // But a repeated explicit id is a duplicate, even right after itself.
    let sse = [block(Some("9"), "a.b", "x"), block(Some("9"), "a.b", "x")].concat();
    let outcomes: Vec<Accepted> = events(&mut parser, &sse).into_iter().map(|e| router.accept(e, 0.0)).collect();
    assert_eq!(outcomes[1], Accepted::Duplicate);
}

#[test]
fn schema_errors_become_dead_letters_once_and_settle_immediately() {
    let mut router = Router::default();
    router.subscribe(Route::new("*").unwrap());
    let mut parser = SseParser::default();
    let sse = "id: 5\ndata: {\"type\":\"oops\"}\n\nid: 5\ndata: {\"type\":\"oops\"}\n\nid: 6\ndata: not json\n\n";
    let outcomes: Vec<Accepted> = events(&mut parser, sse).into_iter().map(|e| router.accept(e, 0.0)).collect();
    assert_eq!(outcomes, [Accepted::DeadLettered, Accepted::Duplicate, Accepted::DeadLettered]);
    let letters: Vec<_> = router.dead_letters().iter().collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(
        (letters[0].reason(), letters[0].id(), letters[0].raw()),
        (DeadLetterReason::Schema, Some("5"), "{\"type\":\"oops\"}")
    );
    assert_eq!(letters[0].schema_error().unwrap().reason, SchemaErrorReason::InvalidType);
    assert_eq!(letters[1].schema_error().unwrap().reason, SchemaErrorReason::MalformedJson);
    assert!(letters[1].notification().is_none());
    assert_eq!(router.last_event_id_to_persist(), Some("6"));
    assert_eq!(router.in_flight(), 0);
}

#[test]
fn a_failing_handler_blocks_persistence_until_it_succeeds_or_is_dead_lettered() {
    let mut router = Router::new(RouterConfig { max_handler_attempts: 3, ..RouterConfig::default() });
    let good = router.subscribe(Route::new("*").unwrap());
    let flaky = router.subscribe(Route::new("order.*").unwrap());
    let mut parser = SseParser::default();
    let sse = [
        block(Some("1"), "order.created", "o-1"),
        block(Some("2"), "payment.created", "p-1"),
        block(Some("3"), "order.paid", "o-1"),
    ]
    .concat();
    let ds: Vec<Delivery> = events(&mut parser, &sse).into_iter().map(|e| deliver(&mut router, e)).collect();
    assert_eq!(router.take_persist_update(), None);

    // Every `good` call succeeds, whatever `flaky` does: one failing handler stops no other.
    for d in &ds {
        assert_eq!(router.handler_succeeded(d.id, good), V::Done);
    }
    assert_eq!(router.last_event_id_to_persist(), None);
    assert_eq!(router.handler_failed(ds[0].id, flaky, "e1"), V::Retry { attempt: 2 });
    // Notification 3 settling first does not move the id past the unsettled 1.
    assert_eq!(router.handler_succeeded(ds[2].id, flaky), V::Done);
    assert_eq!(router.last_event_id_to_persist(), None);
    assert_eq!(router.in_flight(), 3);
    assert_eq!(router.handler_failed(ds[0].id, flaky, "e2"), V::Retry { attempt: 3 });
    assert_eq!(router.handler_succeeded(ds[0].id, flaky), V::Done);
    // 1 settles, 2 had only `good`, 3 was already settled: the id jumps to 3.
    assert_eq!(router.last_event_id_to_persist(), Some("3"));
    assert_eq!(router.take_persist_update().as_deref(), Some("3"));
    assert_eq!(router.take_persist_update(), None);
    assert_eq!(router.in_flight(), 0);
    assert!(router.dead_letters().is_empty());
    // Settled handlers cannot be reported again.
    assert_eq!(router.handler_succeeded(ds[0].id, flaky), V::Unknown);
    assert_eq!(router.handler_failed(ds[1].id, flaky, "never planned"), V::Unknown);
}

#[test]
fn an_id_without_an_event_is_the_resume_point_once_nothing_is_in_flight() {
    let mut router = Router::default();
    let handler = router.subscribe(Route::new("*").unwrap());
    // Where a fresh connection starts (`id: 7` alone): a resume point before any notification.
    router.id_without_event("7");
    assert_eq!(router.take_persist_update().as_deref(), Some("7"));
    router.id_without_event("7");
    assert_eq!(router.take_persist_update(), None, "the same id is not written twice");

    let mut parser = SseParser::default();
    let [event] = <[Event; 1]>::try_from(events(&mut parser, &block(Some("8"), "order.paid", "o-1"))).unwrap();
    let d = deliver(&mut router, event);
    // While 8 is in flight an id-only block cannot move the resume point past it.
    router.id_without_event("9");
    assert_eq!(router.take_persist_update(), None);
    router.handler_succeeded(d.id, handler);
    assert_eq!(router.take_persist_update().as_deref(), Some("8"));
    router.id_without_event("9");
    assert_eq!(router.take_persist_update().as_deref(), Some("9"));
}

#[test]
fn out_of_attempts_a_handler_is_dead_lettered_with_its_error() {
    let mut router = Router::new(RouterConfig { max_handler_attempts: 2, ..RouterConfig::default() });
    let h = router.subscribe(Route::new("*").unwrap());
    let mut parser = SseParser::default();
    let sse = [block(Some("1"), "a.b", "x"), block(Some("2"), "a.b", "y")].concat();
    let ds: Vec<Delivery> = events(&mut parser, &sse).into_iter().map(|e| deliver(&mut router, e)).collect();
    router.handler_succeeded(ds[1].id, h);
    assert_eq!(router.handler_failed(ds[0].id, h, "first"), V::Retry { attempt: 2 });
    assert_eq!(router.last_event_id_to_persist(), None);
    assert_eq!(router.handler_failed(ds[0].id, h, "TypeError: boom"), V::DeadLettered);
    assert_eq!(router.last_event_id_to_persist(), Some("2"));
    let letter = router.dead_letters().latest().unwrap();
    assert_eq!(
        (letter.reason(), letter.message().as_ref(), letter.id()),
        (DeadLetterReason::Handler, "TypeError: boom", Some("1"))
    );
    assert!(Rc::ptr_eq(letter.notification().unwrap(), &ds[0].notification));
    assert_eq!(letter.raw(), ds[0].notification.raw());

    // With one attempt allowed, the first failure is final.
    let mut once = Router::new(RouterConfig { max_handler_attempts: 1, ..RouterConfig::default() });
    let h = once.subscribe(Route::new("*").unwrap());
    let d = deliver(&mut once, events(&mut SseParser::default(), &block(Some("1"), "a.b", "x")).remove(0));
    assert_eq!(once.handler_failed(d.id, h, "x"), V::DeadLettered);
}

#[test]
fn unmatched_notifications_settle_at_once_but_wait_their_turn() {
    let mut router = Router::default();
    let orders = router.subscribe(Route::new("order.*").unwrap());
    let mut parser = SseParser::default();
    let sse = [block(Some("1"), "order.a", "o"), block(Some("2"), "user.b", "u")].concat();
    let ds: Vec<Delivery> = events(&mut parser, &sse).into_iter().map(|e| deliver(&mut router, e)).collect();
    assert!(ds[1].handlers.is_empty());
    assert_eq!(router.last_event_id_to_persist(), None);
    router.handler_succeeded(ds[0].id, orders);
    assert_eq!(router.last_event_id_to_persist(), Some("2"));
    let d = deliver(&mut router, events(&mut parser, &block(Some("3"), "user.c", "u")).remove(0));
    assert!(d.handlers.is_empty());
    assert_eq!(router.last_event_id_to_persist(), Some("3"));
}

#[test]
fn unsubscribing_releases_pending_work() {
    let mut router = Router::default();
    let stuck = router.subscribe(Route::new("*").unwrap());
    let other = router.subscribe(Route::new("*").unwrap());
    let mut parser = SseParser::default();
    let d = deliver(&mut router, events(&mut parser, &block(Some("1"), "a.b", "x")).remove(0));
    router.handler_succeeded(d.id, other);
    assert_eq!(router.last_event_id_to_persist(), None);
    assert!(router.unsubscribe(stuck));
    assert!(!router.unsubscribe(stuck));
    assert_eq!(router.last_event_id_to_persist(), Some("1"));
    assert_eq!(router.handler_succeeded(d.id, stuck), V::Unknown);
    let d = deliver(&mut router, events(&mut parser, &block(Some("2"), "a.b", "x")).remove(0));
    assert_eq!(d.handlers, [other]);
}

#[test]
fn accepted_notifications_are_kept_for_wait_for() {
    let mut router = Router::default();
    let mut parser = SseParser::default();
    let sse = [block(Some("1"), "payment.processed", "o-1"), block(Some("2"), "payment.processed", "o-2")].concat();
    for (i, e) in events(&mut parser, &sse).into_iter().enumerate() {
        router.accept(e, 1_000.0 * i as f64);
    }
    let route = Route::new("payment.processed").unwrap();
    let found = router.recent().find(4_500.0, &route, |_| true).unwrap();
    assert_eq!(found.entity_id(), Some("o-1")); // the oldest match in the window
    let found = router.recent().find(4_500.0, &route, |n| n.entity_id() == Some("o-2")).unwrap();
    assert_eq!(found.id(), Some("2"));
    assert_eq!(router.recent().find(5_500.0, &route, |_| true).unwrap().entity_id(), Some("o-2"));
    assert!(router.recent().find(6_500.0, &route, |_| true).is_none());
}

#[test]
fn dedupe_window_evicts_oldest_first() {
    let mut w = DedupeWindow::new(3);
    let ids: Vec<Arc<str>> = (0..5).map(|i| Arc::from(i.to_string())).collect();
    for id in &ids[..3] {
        assert!(w.insert(id));
    }
    assert!(!w.insert(&ids[0]) && !w.insert(&ids[2]));
    assert!(w.insert(&ids[3])); // evicts "0"
    assert!(!w.contains("0") && w.contains("1") && w.contains("3"));
    assert!(w.insert(&ids[0])); // "0" is new again and evicts "1"
    assert!(!w.contains("1"));
    assert_eq!((w.len(), w.capacity()), (3, 3));
    w.clear();
    assert!(w.is_empty() && w.insert(&ids[1]));
    // Capacity 0: nothing is remembered, so nothing is a duplicate.
    let mut off = DedupeWindow::new(0);
    assert!(off.insert(&ids[0]) && off.insert(&ids[0]));
}

#[test]
fn router_dedupe_window_is_bounded() {
    let mut router = Router::new(RouterConfig { dedupe_window: 2, ..RouterConfig::default() });
    let mut parser = SseParser::default();
    let sse: String = ["1", "2", "3", "1"].iter().map(|id| block(Some(id), "a.b", "x")).collect();
    let outcomes: Vec<bool> =
        events(&mut parser, &sse).into_iter().map(|e| matches!(router.accept(e, 0.0), Accepted::Deliver(_))).collect();
    assert_eq!(outcomes, [true, true, true, true]); // "1" fell out of the window
    assert_eq!(router.dedupe().len(), 2);
}

#[test]
fn dead_letters_are_bounded_and_count_what_they_drop() {
    let mut router = Router::new(RouterConfig { dead_letters: 2, ..RouterConfig::default() });
    let mut parser = SseParser::default();
    let sse: String = (0..5).map(|i| format!("id: {i}\ndata: bad {i}\n\n")).collect();
    for e in events(&mut parser, &sse) {
        assert_eq!(router.accept(e, 0.0), Accepted::DeadLettered);
    }
    let kept: Vec<&str> = router.dead_letters().iter().map(|l| l.raw()).collect();
    assert_eq!(kept, ["bad 3", "bad 4"]);
    assert_eq!(router.dead_letters().dropped(), 3);
    let drained: Vec<_> = router.dead_letters_mut().drain().collect();
    assert_eq!((drained.len(), router.dead_letters().len(), router.dead_letters().dropped()), (2, 0, 3));
    let mut none = DeadLetters::new(0);
    none.push(drained[0].clone());
    assert_eq!((none.len(), none.dropped()), (0, 1));
}

#[test]
fn the_sse_event_name_does_not_decide_the_type() {
    let mut router = Router::default();
    let h = router.subscribe(Route::new("order.paid").unwrap());
    let mut parser = SseParser::default();
    let e = events(&mut parser, "event: something.else\ndata: {\"type\":\"order.paid\"}\n\n").remove(0);
    assert_eq!(deliver(&mut router, e).handlers, [h]);
    let e = events(&mut parser, "event: order.paid\ndata: {}\n\n").remove(0);
    assert_eq!(router.accept(e, 0.0), Accepted::DeadLettered);
}

#[test]
fn dead_letters_and_recent_notifications_are_bounded_in_bytes_too() {
    use edgesaga::notify::dead_letter::DeadLetter;
    use edgesaga::notify::notification::{Notification, SchemaOptions};
    use edgesaga::notify::recent::RecentBuffer;

    let reject = |raw: &str| Notification::parse(raw.to_owned(), &SchemaOptions::default()).unwrap_err();
    let mut letters = DeadLetters::with_max_bytes(100, 10);
    for raw in ["aaaa", "bbbb", "cccc"] {
        let r = reject(raw);
        letters.push(DeadLetter::Schema { error: r.error, raw: r.raw, id: None });
    }
    let kept: Vec<&str> = letters.iter().map(|l| l.raw()).collect();
    assert_eq!((kept, letters.bytes(), letters.dropped()), (vec!["bbbb", "cccc"], 8, 1));
    // One entry larger than the whole budget is still kept, alone.
    let r = reject(&"x".repeat(50));
    letters.push(DeadLetter::Schema { error: r.error, raw: r.raw, id: None });
    assert_eq!((letters.len(), letters.bytes(), letters.dropped()), (1, 50, 3));

    let parse = |raw: &str| Rc::new(Notification::parse(raw.to_owned(), &SchemaOptions::default()).unwrap());
    let mut recent = RecentBuffer::with_max_bytes(5_000, 100, 30);
    for _ in 0..3 {
        recent.push(0.0, parse(r#"{"type":"a.b"}"#)); // 14 bytes each
    }
    assert_eq!(recent.len(), 2);
    let big = format!(r#"{{"type":"a.b","pad":"{}"}}"#, "p".repeat(100));
    recent.push(0.0, parse(&big));
    assert_eq!(recent.len(), 1);
    assert_eq!(recent.iter(0.0).next().unwrap().raw(), big);
    recent.clear();
    assert!(recent.is_empty());
    let mut off = RecentBuffer::new(0, 10);
    off.push(0.0, parse(r#"{"type":"a.b"}"#));
    assert!(off.is_empty());
}

#[test]
fn recent_notifications_survive_as_text_within_the_window_and_the_save_bounds() {
    use edgesaga::notify::notification::{Notification, SchemaOptions};
    use edgesaga::notify::recent::{RecentBuffer, SAVED_MAX};
    let schema = SchemaOptions::default();
    let note = |entity: &str, id: Option<&str>| {
        let raw =
            format!("{{\"type\":\"payment.processed\",\"entityId\":\"{entity}\",\"note\":\"a \\\"q\\\" \\n é\"}}");
        let n = Notification::parse(raw, &schema).unwrap();
        Rc::new(n.with_sse_ids(id.map(Arc::from), Arc::from(id.unwrap_or("7"))))
    };
    let mut recent = RecentBuffer::new(5_000, 256);
    recent.push(1_000.0, note("o-old", Some("1")));
    recent.push(4_000.0, note("o-1", Some("8")));
    recent.push(4_500.0, note("o-2", None)); // inherited id 7... as its lastEventId
    let text = recent.to_text(6_500.0); // o-old is out of the window by now
    let mut restored = RecentBuffer::new(5_000, 256);
    assert_eq!(restored.restore(&text, 7_000.0, &schema), 2);
    let back: Vec<(Option<&str>, &str, Option<&str>, &str)> =
        restored.iter(7_000.0).map(|n| (n.id(), n.last_event_id(), n.entity_id(), n.raw())).collect();
    let expected: Vec<_> = recent.iter(6_500.0).map(|n| (n.id(), n.last_event_id(), n.entity_id(), n.raw())).collect();
    assert_eq!(back, expected);
    let route = Route::new("payment.processed").unwrap().entity("o-1");
    assert!(restored.find(8_999.0, &route, |_| true).is_some(), "kept its arrival time: 4 000");
    assert!(restored.find(9_001.0, &route, |_| true).is_none());
    // Too old by the time it is read back, or not that text at all: nothing restored.
    assert_eq!(RecentBuffer::new(5_000, 256).restore(&text, 10_000.0, &schema), 0);
    for junk in ["", "{}", "[1,2]", "[[\"x\",null,\"1\",\"{}\"]]", "[[1,null,\"1\",\"not json\"]]"] {
        assert_eq!(RecentBuffer::new(5_000, 256).restore(junk, 1.0, &schema), 0, "{junk}");
    }
    // The newest SAVED_MAX only.
    let mut many = RecentBuffer::new(5_000, 256);
    for i in 0..SAVED_MAX + 10 {
        many.push(i as f64, note(&format!("o-{i}"), Some(&i.to_string())));
    }
    let mut back = RecentBuffer::new(5_000, 256);
    assert_eq!(back.restore(&many.to_text(100.0), 100.0, &schema), SAVED_MAX);
    assert_eq!(back.iter(100.0).next().unwrap().id(), Some("10"));
}
