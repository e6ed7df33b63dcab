//! A typed lifecycle event bus with the familiar emitter API (`on`, `off`, `once`, `emit`,
//! `listener_count`, `event_names`, `remove_all_listeners`) and a separate internal channel.
//!
//! Public listeners subscribe by event name (or `*` for every public event). Internal records
//! (journal checkpoints) never travel through the emitter: they go to [`Bus::internal`], a
//! list of sinks with no names at all, so no public subscription — not even `*` — and no
//! public `emit` can reach them or be reached by them.
//!
//! ```
//! use std::{cell::RefCell, rc::Rc};
//! use edgesaga::bus::{Bus, Listener};
//!
//! let seen = Rc::new(RefCell::new(Vec::new()));
//! let bus: Bus<Listener<str>, ()> = Bus::default();
//! let log = seen.clone();
//! bus.public.on("step.started", Listener::new(move |e: &str| log.borrow_mut().push(e.to_owned())));
//! bus.public.emit("step.started", |l| l.call("reserve"));
//! bus.public.emit("step.failed", |l| l.call("ignored"));
//! assert_eq!(*seen.borrow(), ["reserve"]);
//! ```

use std::cell::RefCell;
use std::rc::Rc;

mod listener;

pub use listener::Listener;

/// The name that subscribes to every public event.
pub const WILDCARD: &str = "*";

struct Entry<L> {
    name: Box<str>,
    listener: L,
    once: bool,
}

/// Name-keyed listeners. `L` is whatever the host calls: a Rust closure or a JS function.
/// Identity (`PartialEq`) is what `off` removes by, as in Node's `EventEmitter`.
pub struct Emitter<L> {
    entries: RefCell<Vec<Entry<L>>>,
}

impl<L> Default for Emitter<L> {
    fn default() -> Self {
        Emitter { entries: RefCell::new(Vec::new()) }
    }
}

impl<L: Clone + PartialEq> Emitter<L> {
    /// Calls `listener` on every `name` event (`*`: every event) until removed.
    pub fn on(&self, name: &str, listener: L) {
        self.add(name, listener, false);
    }

    /// Calls `listener` on the next `name` event only.
    pub fn once(&self, name: &str, listener: L) {
        self.add(name, listener, true);
    }

    fn add(&self, name: &str, listener: L, once: bool) {
        self.entries.borrow_mut().push(Entry { name: name.into(), listener, once });
    }

    /// Removes the most recently added registration of `listener` for `name`.
    /// Returns whether one was found.
    pub fn off(&self, name: &str, listener: &L) -> bool {
        let mut entries = self.entries.borrow_mut();
        match entries.iter().rposition(|e| &*e.name == name && &e.listener == listener) {
            Some(i) => {
                entries.remove(i);
                true
            }
            None => false,
        }
    }

    /// Removes every listener of `name`, or every listener when `name` is `None`.
    pub fn remove_all_listeners(&self, name: Option<&str>) {
        self.entries.borrow_mut().retain(|e| name.is_some_and(|n| &*e.name != n));
    }

    /// How many listeners are registered under exactly `name`.
    pub fn listener_count(&self, name: &str) -> usize {
        self.entries.borrow().iter().filter(|e| &*e.name == name).count()
    }

    /// The names that have listeners, in order of first registration.
    pub fn event_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for e in self.entries.borrow().iter() {
            if !names.iter().any(|n| **n == *e.name) {
                names.push(e.name.to_string());
            }
        }
        names
    }

    /// Whether an `emit(name, …)` would call anyone; lets callers skip building an event.
    pub fn has_listeners(&self, name: &str) -> bool {
        self.entries.borrow().iter().any(|e| &*e.name == name || &*e.name == WILDCARD)
    }

    /// Calls `call` with each listener of `name` and of `*`, in registration order, and returns
    /// how many were called. `once` listeners are removed before they run, and listeners may
    /// subscribe or unsubscribe from inside `call`: the emit works on a snapshot.
    pub fn emit(&self, name: &str, mut call: impl FnMut(&L)) -> usize {
        let snapshot: Vec<L> = {
            let mut entries = self.entries.borrow_mut();
            let mut picked = Vec::new();
            entries.retain(|e| {
                let hit = &*e.name == name || &*e.name == WILDCARD;
                if hit {
                    picked.push(e.listener.clone());
                }
                !(hit && e.once)
            });
            picked
        };
        snapshot.iter().for_each(&mut call);
        snapshot.len()
    }
}

/// The public emitter plus the internal sinks.
pub struct Bus<L, S> {
    /// What users subscribe to.
    pub public: Emitter<L>,
    /// Where internal records go (journal writers); unreachable by name.
    pub internal: Vec<Rc<S>>,
}

impl<L, S> Default for Bus<L, S> {
    fn default() -> Self {
        Bus { public: Emitter::default(), internal: Vec::new() }
    }
}
