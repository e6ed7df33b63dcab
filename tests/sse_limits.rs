//! Memory stays bounded whatever a hostile server sends, and parsing recovers afterwards.

use edgesaga::notify::parser::{Item, Limits, ProtocolErrorKind, SseParser};

const CHUNK: usize = 64 << 10;

fn data_and_errors(items: &[Item]) -> Vec<Result<&str, ProtocolErrorKind>> {
    items
        .iter()
        .map(|i| match i {
            Item::Event(e) => Ok(e.data.as_str()),
            Item::Error(err) => Err(err.kind),
        })
        .collect()
}

#[test]
fn a_64_mib_line_in_64_kib_chunks_never_buffers_more_than_the_line_limit() {
    let limits = Limits::default();
    let mut parser = SseParser::new(limits);
    let mut items = Vec::new();
    parser.feed(b"data: first\n\ndata: ", &mut items);
    let filler = vec![b'x'; CHUNK];
    let mut peak = 0;
    for _ in 0..(64 << 20) / CHUNK {
        parser.feed(&filler, &mut items);
        peak = peak.max(parser.buffered_bytes());
        assert!(parser.buffered_bytes() <= limits.max_line_bytes + CHUNK, "{}", parser.buffered_bytes());
    }
    // Once over the limit nothing is buffered at all.
    assert_eq!(parser.buffered_bytes(), 0);
    // The line limit, plus the few bytes of "first"'s buffers, kept for reuse.
    assert!(peak <= limits.max_line_bytes + 64, "peak {peak}");
    parser.feed(b"\ndata: still skipped\n\ndata: next\n\n", &mut items);
    assert_eq!(data_and_errors(&items), [Ok("first"), Err(ProtocolErrorKind::LineTooLong), Ok("next")]);
}

#[test]
fn an_endless_event_of_short_lines_is_capped_by_the_event_limit() {
    let limits = Limits { max_line_bytes: 4 << 10, max_event_bytes: 256 << 10 };
    let mut parser = SseParser::new(limits);
    let mut items = Vec::new();
    let mut chunk = Vec::new();
    while chunk.len() < CHUNK {
        chunk.extend_from_slice(b"data: ");
        chunk.extend(std::iter::repeat_n(b'y', 1000));
        chunk.push(b'\n');
    }
    for _ in 0..64 {
        parser.feed(&chunk, &mut items);
        assert!(parser.buffered_bytes() <= limits.max_line_bytes + limits.max_event_bytes);
    }
    parser.feed(b"\ndata: next\n\n", &mut items);
    assert_eq!(data_and_errors(&items), [Err(ProtocolErrorKind::EventTooLarge), Ok("next")]);
}

#[test]
fn an_endless_comment_is_skipped_without_buffering_or_error() {
    let mut parser = SseParser::new(Limits { max_line_bytes: 1024, max_event_bytes: 4096 });
    let mut items = Vec::new();
    parser.feed(b"data: a\n:", &mut items);
    let filler = vec![b'z'; CHUNK];
    for _ in 0..64 {
        parser.feed(&filler, &mut items);
        assert!(parser.buffered_bytes() <= 8, "only \"a\\n\" is held: {}", parser.buffered_bytes());
    }
    parser.feed(b"\r\n\r\n", &mut items);
    assert_eq!(data_and_errors(&items), [Ok("a")]);
}

#[test]
fn many_blank_lines_and_tiny_events_keep_buffers_small() {
    let mut parser = SseParser::default();
    let mut items = Vec::new();
    let chunk = b"\n\n\r\r\r\n: keep-alive\n".repeat(CHUNK / 20);
    for _ in 0..16 {
        parser.feed(&chunk, &mut items);
    }
    assert!(items.is_empty());
    assert_eq!(parser.buffered_bytes(), 0);
}

#[test]
fn ids_of_invalid_bytes_stay_within_the_documented_bound() {
    let limits = Limits { max_line_bytes: 1024, max_event_bytes: 4096 };
    let mut parser = SseParser::new(limits);
    let mut line = b"id:".to_vec();
    line.extend(std::iter::repeat_n(0xFF, 1021));
    line.push(b'\n');
    let mut items = Vec::new();
    parser.feed(&line, &mut items);
    parser.feed(b"\n", &mut items);
    parser.feed(&line[..600], &mut items);
    assert!(parser.buffered_bytes() <= limits.max_event_bytes + 8 * limits.max_line_bytes);
    assert_eq!(parser.last_event_id().chars().count(), 1021);
}

#[test]
fn ids_growing_a_byte_at_a_time_do_not_double_their_buffers() {
    // Each id a little longer than the last, every byte invalid (3 bytes of U+FFFD each): reused
    // buffers that grew by doubling would hold about twice the longest id, past the bound.
    let limits = Limits { max_line_bytes: 1024, max_event_bytes: 4096 };
    let mut parser = SseParser::new(limits);
    let mut items = Vec::new();
    for n in 1000..=1021 {
        let mut block = b"id:".to_vec();
        block.extend(std::iter::repeat_n(0xFF, n));
        block.extend_from_slice(b"\n\n");
        parser.feed(&block, &mut items);
    }
    // A next id in progress, and an event as large as allowed, mid-block.
    let mut pending = b"id:".to_vec();
    pending.extend(std::iter::repeat_n(0xFF, 1021));
    pending.push(b'\n');
    parser.feed(&pending, &mut items);
    for _ in 0..3 {
        parser.feed(format!("data: {}\n", "x".repeat(1000)).as_bytes(), &mut items);
    }
    parser.feed(b"data: x", &mut items);
    let bound = limits.max_event_bytes + 8 * limits.max_line_bytes;
    assert!(parser.buffered_bytes() <= bound, "{} > {bound}", parser.buffered_bytes());
    assert!(items.is_empty());
}

#[test]
fn a_line_in_progress_is_never_scanned_again_a_4_mib_line_byte_by_byte() {
    // Linear time: each byte is searched for CR/LF once, when it arrives. A parser that rescanned
    // the held line on every chunk would make ~8 * 10^12 byte visits here and never finish; this
    // one makes 4 Mi feeds of one byte (well under a second, debug build included).
    let line_bytes = 4 << 20;
    let mut parser = SseParser::new(Limits { max_line_bytes: 8 << 20, max_event_bytes: 16 << 20 });
    let mut items = Vec::new();
    parser.feed(b"data: ", &mut items);
    for _ in 0..line_bytes {
        parser.feed(b"y", &mut items);
    }
    assert!(items.is_empty());
    parser.feed(b"\r", &mut items); // a CR at a chunk's end ends the line at once...
    parser.feed(b"\n", &mut items); // ...and the LF after it, in the next chunk, is its pair
    parser.feed(b"\n", &mut items);
    let [Item::Event(event)] = &items[..] else { panic!("one event expected, got {}", items.len()) };
    assert_eq!(event.data.len(), line_bytes);
    assert!(event.data.bytes().all(|b| b == b'y'));
}
