//! Runs every vector of `tests/fixtures/sse-vectors.json`, as chunked in the file, then again
//! split at every byte offset and byte by byte: the output must never depend on chunking.

#[path = "common/sse_json.rs"]
mod json;

use edgesaga::notify::parser::{Item, SseParser};
use json::Json;

struct Vector {
    name: String,
    chunks: Vec<Vec<u8>>,
    events: Vec<(String, String, String)>,
    last_event_id: Option<String>,
    retry: Option<Option<u64>>,
}

fn vectors() -> Vec<Vector> {
    let root = Json::parse(include_str!("fixtures/sse-vectors.json"));
    let list = root.get("vectors").expect("vectors").array();
    assert!(!list.is_empty());
    list.iter()
        .map(|v| Vector {
            name: v.get("name").unwrap().str().to_owned(),
            chunks: v
                .get("chunks")
                .unwrap()
                .array()
                .iter()
                .map(|c| match c {
                    Json::String(s) => s.as_bytes().to_vec(),
                    Json::Object(_) => json::hex(c.get("hex").expect("hex chunk").str()),
                    other => panic!("unknown chunk {other:?}"),
                })
                .collect(),
            events: v
                .get("events")
                .unwrap()
                .array()
                .iter()
                .map(|e| {
                    let field = |k: &str| e.get(k).unwrap_or_else(|| panic!("event.{k}")).str().to_owned();
                    (field("type"), field("data"), field("lastEventId"))
                })
                .collect(),
            last_event_id: v.get("lastEventId").map(|s| s.str().to_owned()),
            retry: v.get("retry").map(|r| match r {
                Json::Null => None,
                Json::Number(n) => Some(*n as u64),
                other => panic!("bad retry {other:?}"),
            }),
        })
        .collect()
}

#[derive(Debug, PartialEq)]
struct Outcome {
    items: Vec<Item>,
    last_event_id: String,
    retry: Option<u64>,
}

fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = SseParser::default();
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut items);
    }
    parser.end(&mut items);
    Outcome { items, last_event_id: parser.last_event_id().to_owned(), retry: parser.retry() }
}

fn check(v: &Vector, got: &Outcome) {
    let events: Vec<(String, String, String)> = got
        .items
        .iter()
        .map(|item| match item {
            Item::Event(e) => (e.event_type.to_string(), e.data.clone(), e.last_event_id.to_string()),
            Item::Error(err) => panic!("{}: unexpected error {err}", v.name),
        })
        .collect();
    assert_eq!(events, v.events, "{}: events", v.name);
    if let Some(id) = &v.last_event_id {
        assert_eq!(&got.last_event_id, id, "{}: lastEventId", v.name);
    }
    if let Some(retry) = v.retry {
        assert_eq!(got.retry, retry, "{}: retry", v.name);
    }
}

#[test]
fn every_vector_as_chunked_in_the_fixture() {
    for v in vectors() {
        check(&v, &run(v.chunks.iter().map(Vec::as_slice)));
    }
}

#[test]
fn every_vector_split_at_every_offset() {
    for v in vectors() {
        let bytes = v.chunks.concat();
        let whole = run([bytes.as_slice()]);
        check(&v, &whole);
        for at in 0..=bytes.len() {
            let (a, b) = bytes.split_at(at);
            assert_eq!(run([a, b]), whole, "{}: split at {at}", v.name);
        }
    }
}

#[test]
fn every_vector_byte_by_byte() {
    for v in vectors() {
        let bytes = v.chunks.concat();
        let got = run(bytes.chunks(1));
        check(&v, &got);
        assert_eq!(got, run([bytes.as_slice()]), "{}", v.name);
    }
}

#[test]
fn fixture_covers_the_vectors_we_rely_on() {
    let names: Vec<String> = vectors().into_iter().map(|v| v.name).collect();
    for must in ["bom-split-across-chunks", "id-only-block-sets-last-event-id", "mixed-newlines", "retry-digits-only"] {
        assert!(names.iter().any(|n| n == must), "missing vector {must}");
    }
}
