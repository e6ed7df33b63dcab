//! Throughput check, ignored by default. Run it in release mode:
//! `cargo test --release --test sse_throughput -- --ignored --nocapture`

use std::time::Instant;

use edgesaga::notify::parser::{Item, SseParser};

/// Roughly 1 KiB events (`id`, `event` on every fourth, ~1000 bytes of data around `filler`),
/// to be cut into 64 KiB chunks that split lines and events anywhere.
fn stream(total: usize, filler: &str) -> Vec<u8> {
    let mut payload = "{\"orderId\":\"ord_123\",\"status\":\"paid\",\"note\":\"".to_owned();
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

fn measure(label: &str, bytes: &[u8]) -> f64 {
    let mut best = f64::MAX;
    let mut events = 0;
    let mut out: Vec<Item> = Vec::with_capacity(1024);
    for _ in 0..5 {
        let mut parser = SseParser::default();
        events = 0;
        let start = Instant::now();
        for chunk in bytes.chunks(64 << 10) {
            parser.feed(chunk, &mut out);
            events += out.len();
            // Dropping the events is part of the cost a consumer pays.
            out.clear();
        }
        parser.end(&mut out);
        best = best.min(start.elapsed().as_secs_f64());
    }
    assert!(events > 0);
    let mb_s = bytes.len() as f64 / best / 1e6;
    println!(
        "SSE parser, {label}: {mb_s:.0} MB/s ({} MiB, {events} events of ~{} B, 64 KiB chunks, best of 5)",
        bytes.len() >> 20,
        bytes.len() / events
    );
    mb_s
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn throughput_64_kib_chunks_of_1_kib_events() {
    // Typical notification payloads: ASCII JSON with the odd accented character.
    measure("ASCII JSON", &stream(256 << 20, "Lorem ipsum dolor sit amet, café 42; "));
    // Worst case for UTF-8 validation: every other character is multibyte.
    measure("dense non-ASCII", &stream(256 << 20, "é-x"));
}
