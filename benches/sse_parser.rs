//! Native throughput of the SSE parser: a stream of ~1 KiB events (an `id` on each, an `event`
//! on every fourth, one JSON `data` line) fed in 64 KiB chunks that cut lines and events
//! anywhere. Criterion reports bytes/s (goal: at least 1 GB/s).
//!
//! `cargo bench --bench sse_parser`

#[path = "../tests/common/sse_stream.rs"]
mod sse_stream;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use edgesaga::notify::parser::{EventRef, ProtocolError, Sink, SseParser};
use sse_stream::stream;

/// What a consumer does at the least: looks at each event, then drops it.
#[derive(Default)]
struct Consume {
    events: usize,
    bytes: usize,
}

impl Sink for Consume {
    fn event(&mut self, event: EventRef<'_>) {
        self.events += 1;
        self.bytes += event.data.len() + event.event_type.len() + event.last_event_id.len();
    }

    fn error(&mut self, error: ProtocolError) {
        panic!("unexpected protocol error: {error}");
    }
}

fn parse(bytes: &[u8]) -> Consume {
    let mut parser = SseParser::default();
    let mut sink = Consume::default();
    for chunk in bytes.chunks(64 << 10) {
        parser.feed(chunk, &mut sink);
    }
    parser.end(&mut sink);
    sink
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("sse_parser/64KiB chunks of ~1KiB events");
    // Typical notification payloads, then the worst case for UTF-8 validation.
    for (name, filler) in [("ascii_json", "Lorem ipsum dolor sit amet, café 42; "), ("dense_non_ascii", "é-x")] {
        let bytes = stream(16 << 20, filler);
        let events = parse(&bytes).events;
        assert!(events > 15_000, "{name}: {events} events");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| b.iter(|| parse(black_box(&bytes))));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // 16 MiB per iteration: 10 samples and a few seconds per case keep the run well under 30 s.
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = throughput
}
criterion_main!(benches);
