//! The notification hub's storage (`edgesaga::notify::hub`): each publish reports the ids it
//! evicted, the stored events plus the meta restore ids, buffer and gaps, and damaged storage
//! never hides a gap or reuses an id.

#[path = "common/notify_hub.rs"]
mod notify_hub;

use std::collections::BTreeMap;

use edgesaga::notify::hub::{Hub, HubOptions, StoredEvent};
use notify_hub::{note, publish};

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
