//! Property tests: random bytes biased towards SSE syntax, random chunking. The parser must not
//! panic, must not depend on chunking, must keep its buffers within the limits, and (with
//! limits out of reach) must agree with a literal, whole-stream reading of the spec.

use edgesaga::notify::parser::{Item, Limits, SseParser};
use proptest::prelude::*;

const TOKENS: &[&[u8]] = &[
    b":",
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"data",
    b"data:",
    b"data: ",
    b"id",
    b"id:",
    b"retry",
    b"retry:",
    b"event:",
    b"event",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xEF",
    b"\xE2\x82\xAC",
    b"\xF0\x9F\x98\x80",
    b"\xC3\xA9",
    b"\xE2\x82",
    b"7",
    b"123",
    b"x",
    b"message",
    b"id: \xFF\xFE\xFD\xFC",
];

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        8 => proptest::sample::select(TOKENS).prop_map(<[u8]>::to_vec),
        2 => any::<u8>().prop_map(|b| vec![b]),
        1 => (1usize..90).prop_map(|n| vec![b'a'; n]),
    ];
    proptest::collection::vec(token, 0..120).prop_map(|t| t.concat())
}

#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    last_event_id: String,
    retry: Option<u64>,
}

fn run(limits: Limits, chunks: &[&[u8]]) -> Outcome {
    let mut parser = SseParser::new(limits);
    let bound = limits.max_event_bytes + 8 * limits.max_line_bytes;
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut items);
        assert!(parser.buffered_bytes() <= bound, "{} > {bound}", parser.buffered_bytes());
    }
    parser.end(&mut items);
    Outcome { items, last_event_id: parser.last_event_id().to_owned(), retry: parser.retry() }
}

fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts {
        chunks.push(&bytes[from..cut]);
        from = cut;
    }
    chunks.push(&bytes[from..]);
    chunks
}

/// The spec read literally: decode the whole stream, split it into lines, interpret them.
fn reference(bytes: &[u8]) -> (Vec<(String, String, String)>, String, Option<u64>) {
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).into_owned();
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            _ => line.push(c),
        }
    }
    let (mut events, mut data, mut event_type, mut id_buf, mut last_id, mut retry) =
        (Vec::new(), String::new(), String::new(), String::new(), String::new(), None);
    for line in lines {
        if line.is_empty() {
            last_id = id_buf.clone();
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            let ty = if event_type.is_empty() { "message".to_owned() } else { std::mem::take(&mut event_type) };
            events.push((ty, std::mem::take(&mut data), last_id.clone()));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_str(), ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_owned(),
            "id" if !value.contains('\0') => id_buf = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                retry = Some(value.parse().unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }
    (events, last_id, retry)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn chunking_never_matters_and_buffers_stay_bounded(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        for limits in [Limits { max_line_bytes: 64, max_event_bytes: 256 }, Limits::default()] {
            let whole = run(limits, &[&bytes]);
            prop_assert_eq!(&run(limits, &split(&bytes, &cuts)), &whole);
            let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(&run(limits, &bytewise), &whole);
        }
    }

    #[test]
    fn agrees_with_a_literal_reading_of_the_spec(
        bytes in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let got = run(Limits::default(), &split(&bytes, &cuts));
        let events: Vec<(String, String, String)> = got
            .items
            .into_iter()
            .map(|i| match i {
                Item::Event(e) => (e.event_type.into_owned(), e.data, e.last_event_id.to_string()),
                Item::Error(err) => panic!("unexpected {err}"),
            })
            .collect();
        prop_assert_eq!((events, got.last_event_id, got.retry), reference(&bytes));
    }
}
