//! The synthetic event stream the SSE parser's throughput is measured on, shared by the
//! `sse_throughput` test and the `sse_parser` bench so their numbers stay comparable.

/// `total` bytes (at least) of roughly 1 KiB events: an `id` on each, an `event` on every
/// fourth, one JSON `data` line of ~1000 bytes around `filler`. Meant to be cut into 64 KiB
/// chunks, which split lines and events anywhere.
pub fn stream(total: usize, filler: &str) -> Vec<u8> {
    let mut payload = String::from("{\"orderId\":\"ord_123\",\"status\":\"paid\",\"note\":\"");
    while payload.len() < 950 {
        payload.push_str(filler);
    }
    payload.push_str("\"}");
    let mut out = Vec::with_capacity(total + 2048);
    let mut n = 0u64;
    while out.len() < total {
        out.extend_from_slice(format!("id: {n}\n").as_bytes());
        if n % 4 == 0 {
            out.extend_from_slice(b"event: order.paid\n");
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(payload.as_bytes());
        out.extend_from_slice(b"\n\n");
        n += 1;
    }
    out
}
