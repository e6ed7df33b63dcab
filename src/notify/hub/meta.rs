//! Persistence: the [`Hub::meta`] format, and [`Hub::restore`] from it and the stored events.
//!
//! The meta holds only what the events cannot tell: the id counter (so ids keep increasing even
//! when the newest events are gone) and the eviction marks (so a replay after an evicted id is
//! still flagged as a gap). It is versioned by its magic, little-endian, and read defensively:
//! storage is outside the hub's control, so an unreadable meta is an error that changes nothing,
//! and a stored event that is not a frame the hub could have written is dropped, never replayed.
//!
//! ```
//! use edgesaga::notify::hub::{Hub, HubOptions};
//!
//! let mut hub = Hub::new(HubOptions::default());
//! hub.publish("acme", r#"{"type":"order.paid"}"#).unwrap();
//! let mut meta = hub.meta();
//! meta.push(0); // trailing garbage: the whole meta is refused
//! let error = hub.restore(Some(&meta), std::iter::empty::<Option<(&str, &[u8])>>()).unwrap_err();
//! assert_eq!(error.what, "trailing bytes");
//! assert_eq!(hub.len(), 1); // unchanged
//!
//! // A stored value that is not a frame is reported for deletion, and flags a gap.
//! let frame = |id: u64| format!("id: {id}\nevent: order.paid\ndata: {{}}\n\n").into_bytes();
//! let stored = [Some(("acme", frame(1))), Some(("acme", b"junk".to_vec())), Some(("acme", frame(3)))];
//! let mut restarted = Hub::default();
//! assert_eq!(restarted.restore(None, stored).unwrap(), [1]);
//! let replay = restarted.replay("acme", Some("1"));
//! assert!(replay.gap);
//! assert_eq!(replay.frames, [&frame(3)[..]]);
//! ```

use std::collections::VecDeque;
use std::fmt;

use super::frame::{frame_is_sound, id_text, parse_id};
use super::{Hub, Marks, Stored, MAX_EVICTED_TENANTS};

const META_MAGIC: &[u8; 4] = b"EHM1";

/// A [`Hub::meta`](super::Hub::meta) that [`Hub::restore`](super::Hub::restore) cannot read; the
/// hub is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetaError {
    /// What is wrong with it.
    pub what: &'static str,
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid hub meta: {}", self.what)
    }
}

impl std::error::Error for MetaError {}

impl Hub {
    /// Raises the id counter to at least `last_id`, for a host that kept the counter but lost
    /// the events: whatever came up to it is gone, so a replay after an older id is flagged as a
    /// gap.
    pub fn restore_counter(&mut self, last_id: u64) {
        self.last_id = self.last_id.max(last_id);
        self.forgotten = self.forgotten.max(last_id);
    }

    /// What a host persists besides the events themselves: the id counter and the eviction
    /// marks (per tenant, the last id evicted), a few dozen bytes for one tenant and bounded for
    /// many. It changes with every publish; [`restore`](Self::restore) reads it back.
    pub fn meta(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28 + self.evicted.iter().map(|(t, _)| t.len() + 12).sum::<usize>());
        out.extend_from_slice(META_MAGIC);
        out.extend_from_slice(&self.last_id.to_le_bytes());
        out.extend_from_slice(&self.forgotten.to_le_bytes());
        push_len(&mut out, self.evicted.len());
        for (tenant, id) in &self.evicted {
            push_bytes(&mut out, tenant.as_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        out
    }

    /// Replaces the state with a persisted one: the [`meta`](Self::meta) (or `None` when there
    /// is none) and the stored events as `(tenant, frame)` in storage order, oldest first (`None`
    /// for a value the host could not read). Keeps this hub's options.
    ///
    /// Returns the positions in `events` (ascending) of the events not kept, for the host to
    /// delete: those beyond this hub's bounds (the oldest), and unreadable or out-of-order ones —
    /// each of those raises the shared gap watermark to just below the next event kept, so a
    /// replay that may have needed it is flagged as a gap, never silently short.
    ///
    /// The id counter never goes down: it ends at the highest of its current value, the meta's
    /// and the ids stored. Without a meta, the eviction history is unknown: a replay after an id
    /// older than the oldest event stored is flagged as a gap. An unreadable meta is an error
    /// and changes nothing (the host may restore again without it).
    pub fn restore<I, T, F>(&mut self, meta: Option<&[u8]>, events: I) -> Result<Vec<usize>, MetaError>
    where
        I: IntoIterator<Item = Option<(T, F)>>,
        T: AsRef<str>,
        F: AsRef<[u8]>,
    {
        let (mut last_id, mut forgotten, evicted) = match meta {
            Some(meta) => read_meta(meta)?,
            None => (0, 0, Vec::new()),
        };
        forgotten = forgotten.max(self.forgotten);
        let mut kept = VecDeque::new();
        let mut positions = Vec::new(); // where each kept event came from
        let mut dropped = Vec::new();
        let mut bytes = 0usize;
        let mut lost = false; // an event was dropped since the last one kept
        let mut total = 0;
        for (at, item) in events.into_iter().enumerate() {
            total = at + 1;
            let previous = kept.back().map_or(0, |e: &Stored| e.id);
            let sound = item.and_then(|(tenant, frame)| {
                let frame = frame.as_ref();
                let id = parse_id(id_text(frame)).filter(|&id| id > previous && frame_is_sound(id, frame))?;
                Some(Stored { id, tenant: tenant.as_ref().into(), frame: frame.into() })
            });
            let Some(stored) = sound else {
                dropped.push(at);
                lost = true;
                continue;
            };
            if lost || (meta.is_none() && kept.is_empty()) {
                // Whatever was lost (or, without a meta, evicted) lies below this event.
                forgotten = forgotten.max(stored.id - 1);
                lost = false;
            }
            last_id = last_id.max(stored.id);
            bytes = bytes.saturating_add(stored.cost());
            positions.push(at);
            kept.push_back(stored);
        }
        if lost {
            forgotten = forgotten.max(last_id);
        }
        self.last_id = self.last_id.max(last_id);
        self.forgotten = forgotten;
        self.evicted = evicted;
        self.events = kept;
        self.bytes = bytes;
        self.evicted_now.clear();
        self.evict_to_bounds();
        // Eviction takes the oldest first: everything before the first event left is dropped.
        let first_left = positions.get(self.evicted_now.len()).copied().unwrap_or(total);
        self.evicted_now.clear();
        let mut out = Vec::with_capacity(first_left + dropped.len());
        out.extend(0..first_left);
        out.extend(dropped.into_iter().filter(|&at| at > first_left));
        Ok(out)
    }
}

fn push_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    push_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// `(last_id, forgotten, eviction marks)` out of a [`Hub::meta`].
fn read_meta(meta: &[u8]) -> Result<(u64, u64, Marks), MetaError> {
    let mut r = MetaReader { bytes: meta };
    if r.take(4)? != META_MAGIC {
        return Err(MetaError { what: "not a hub meta (bad magic)" });
    }
    let last_id = r.u64()?;
    let forgotten = r.u64()?;
    let count = r.u32()? as usize;
    if count > MAX_EVICTED_TENANTS {
        return Err(MetaError { what: "too many eviction marks" });
    }
    let mut evicted = Vec::with_capacity(count);
    for _ in 0..count {
        let tenant: Box<str> = r.str()?.into();
        let id = r.u64()?;
        if id > last_id {
            return Err(MetaError { what: "an eviction mark above the last id" });
        }
        evicted.push((tenant, id));
    }
    if !r.bytes.is_empty() {
        return Err(MetaError { what: "trailing bytes" });
    }
    Ok((last_id, forgotten.min(last_id), evicted))
}

struct MetaReader<'a> {
    bytes: &'a [u8],
}

impl<'a> MetaReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MetaError> {
        if self.bytes.len() < n {
            return Err(MetaError { what: "truncated" });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, MetaError> {
        let mut word = [0; 4];
        word.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(word))
    }

    fn u64(&mut self) -> Result<u64, MetaError> {
        let mut word = [0; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }

    fn bytes(&mut self) -> Result<&'a [u8], MetaError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Result<&'a str, MetaError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| MetaError { what: "a tenant is not UTF-8" })
    }
}
