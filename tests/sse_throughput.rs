//! Throughput check, ignored by default. Run it in release mode:
//! `cargo test --release --test sse_throughput -- --ignored --nocapture`

#[path = "common/sse_stream.rs"]
mod sse_stream;

use std::time::Instant;

use edgesaga::notify::parser::{Item, SseParser};
use sse_stream::stream;

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
