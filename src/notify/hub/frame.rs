//! SSE frame encoding, the only place that spells the wire bytes of a frame.
//!
//! A frame's `data` line must never hold a CR or LF, or a publisher could end it early and
//! inject fields: the helpers here write JSON without the whitespace between tokens and escape
//! every control character, and [`frame_is_sound`] re-checks a frame read back from storage,
//! which the hub cannot trust to be its own writing. Ids are written and read by hand because
//! `u64` formatting and `str::parse` cost the wasm more.
//!
//! ```
//! use edgesaga::notify::hub::{id_string, parse_id, GAP_FRAME};
//! use edgesaga::notify::parser::{Item, SseParser};
//!
//! assert_eq!(id_string(u64::MAX), u64::MAX.to_string());
//! assert_eq!(parse_id("18446744073709551615"), Some(u64::MAX));
//! assert_eq!(parse_id("18446744073709551616"), None); // does not fit: unknown, so a gap
//! assert_eq!(parse_id("+1"), None);
//!
//! // The gap frame carries no `id`, so the client's last event ID stays put.
//! let mut items = Vec::new();
//! SseParser::default().feed(GAP_FRAME, &mut items);
//! let [Item::Event(gap)] = &items[..] else { panic!("one event expected") };
//! assert_eq!((&*gap.event_type, &*gap.last_event_id), ("hub.gap", ""));
//! ```

/// An SSE comment: keeps proxies and the client's heartbeat watchdog from closing an idle stream.
pub const HEARTBEAT_FRAME: &[u8] = b": heartbeat\n\n";

/// Sent before a replay with [`Replay::gap`](super::Replay::gap) set: a valid notification
/// (`hub.gap`) without an `id`, so clients learn that some notifications were lost and their last
/// event ID stays put.
pub const GAP_FRAME: &[u8] = b"event: hub.gap\ndata: {\"type\":\"hub.gap\"}\n\n";

/// Copies valid JSON without the whitespace between tokens (string contents untouched).
pub(super) fn compact_json(raw: &str, out: &mut Vec<u8>) {
    let (mut in_string, mut escaped) = (false, false);
    for &b in raw.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            continue;
        } else if b == b'"' {
            in_string = true;
        }
        out.push(b);
    }
}

/// `s` as a JSON string: quotes, backslashes and control characters escaped.
pub(super) fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0..=0x1f => {
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

pub(super) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `1*DIGIT` that fits a `u64` (by hand: `str::parse` costs the wasm more).
pub fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() {
        return None;
    }
    id.bytes().try_fold(0u64, |n, b| match b {
        b'0'..=b'9' => n.checked_mul(10)?.checked_add(u64::from(b - b'0')),
        _ => None,
    })
}

/// The decimal text of an id.
pub fn id_string(id: u64) -> String {
    let mut out = Vec::with_capacity(20);
    push_decimal(&mut out, id);
    String::from_utf8(out).unwrap_or_default()
}

/// The id of a frame (`id: N\n…`).
pub(super) fn id_text(frame: &[u8]) -> &str {
    let line = frame.get(4..).unwrap_or_default();
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(0);
    std::str::from_utf8(line.get(..end).unwrap_or_default()).unwrap_or_default()
}

/// The shape [`Hub::publish`](super::Hub::publish) writes:
/// `id: <id>\nevent: <type>\ndata: <one line>\n\n`.
pub(super) fn frame_is_sound(id: u64, frame: &[u8]) -> bool {
    let mut head = Vec::with_capacity(32);
    head.extend_from_slice(b"id: ");
    push_decimal(&mut head, id);
    head.extend_from_slice(b"\nevent: ");
    let Some(rest) = frame.strip_prefix(&head[..]).and_then(|rest| rest.strip_suffix(b"\n\n")) else {
        return false;
    };
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else { return false };
    let (kind, data) = rest.split_at(nl);
    let kind_ok = std::str::from_utf8(kind).ok().and_then(crate::notify::schema::type_dot).is_some();
    let data = data.strip_prefix(b"\ndata: ").unwrap_or_default();
    kind_ok && !data.is_empty() && memchr::memchr2(b'\r', b'\n', data).is_none() && std::str::from_utf8(data).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        for n in [0, 7, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn json_strings_escape() {
        let mut out = Vec::new();
        push_json_string(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\u000ad\u0001é""#);
    }
}
