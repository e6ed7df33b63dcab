//! One test per rule of WHATWG HTML § 9.2.5–9.2.6 (and per limit this crate adds), named after
//! the rule, in the style of eventsource-parser's suite.

use edgesaga::notify::parser::{Item, Limits, ProtocolError, ProtocolErrorKind, SseParser};

fn feed_all(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<Item> {
    let mut items = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut items);
    }
    items
}

/// `(type, data, lastEventId)` of each event; panics on an error item.
fn events(chunks: &[&[u8]]) -> Vec<(String, String, String)> {
    let mut parser = SseParser::default();
    let mut items = feed_all(&mut parser, chunks);
    parser.end(&mut items);
    items.into_iter().map(triple).collect()
}

fn triple(item: Item) -> (String, String, String) {
    match item {
        Item::Event(e) => (e.event_type.into_owned(), e.data, e.last_event_id.to_string()),
        Item::Error(err) => panic!("unexpected error: {err}"),
    }
}

fn msg(data: &str) -> (String, String, String) {
    ("message".into(), data.into(), String::new())
}

fn data_of(chunks: &[&[u8]]) -> Vec<String> {
    events(chunks).into_iter().map(|e| e.1).collect()
}

#[test]
fn lines_end_at_crlf_lf_or_cr() {
    assert_eq!(data_of(&[b"data: a\r\ndata: b\ndata: c\rdata: d\r\n\r\n"]), ["a\nb\nc\nd"]);
}

#[test]
fn cr_at_chunk_end_ends_the_line_without_waiting() {
    let mut parser = SseParser::default();
    let items = feed_all(&mut parser, &[b"data: x\r\r"]);
    assert_eq!(items.into_iter().map(triple).collect::<Vec<_>>(), [msg("x")]);
}

#[test]
fn lf_after_a_cr_that_ended_the_previous_chunk_is_skipped() {
    assert_eq!(data_of(&[b"data: a\r", b"\ndata: b\r", b"\n", b"\r", b"\n"]), ["a\nb"]);
    // An LF after a CR pair that was already consumed is a new (blank) line.
    assert_eq!(data_of(&[b"data: a\r", b"\n", b"\n"]), ["a"]);
}

#[test]
fn empty_chunks_do_not_forget_a_pending_cr() {
    assert_eq!(data_of(&[b"data: a\r", b"", b"\n", b"", b"\n"]), ["a"]);
}

#[test]
fn blank_line_dispatches_the_event() {
    assert_eq!(data_of(&[b"data: 1\n\ndata: 2\n\n"]), ["1", "2"]);
}

#[test]
fn line_starting_with_colon_is_a_comment() {
    assert_eq!(data_of(&[b": hi\ndata: 1\n:data: 2\n\n"]), ["1"]);
}

#[test]
fn field_name_ends_at_first_colon_and_value_may_contain_colons() {
    assert_eq!(data_of(&[b"data:a:b: c\n\n"]), ["a:b: c"]);
}

#[test]
fn exactly_one_leading_space_is_removed_from_the_value() {
    assert_eq!(data_of(&[b"data: a\ndata:  b\ndata:c\ndata:\t d\n\n"]), ["a\n b\nc\n\t d"]);
}

#[test]
fn line_without_colon_is_a_field_with_empty_value() {
    assert_eq!(data_of(&[b"data\ndata\n\n"]), ["\n"]);
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"id: 5\ndata: x\n\nid\ndata: y\n\n"]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn data_appends_value_and_lf_and_dispatch_removes_the_last_lf() {
    assert_eq!(data_of(&[b"data: a\ndata:\ndata: b\ndata:\n\n"]), ["a\n\nb\n"]);
}

#[test]
fn empty_data_buffer_does_not_dispatch_but_resets_event_type() {
    assert_eq!(events(&[b"event: add\n\ndata: x\n\n"]), [msg("x")]);
    assert_eq!(events(&[b"event: add\nid\n: c\n\n"]), []);
}

#[test]
fn event_field_sets_the_type_and_empty_means_message() {
    let got = events(&[b"event: add\ndata: 1\n\nevent\ndata: 2\n\nevent: message\ndata: 3\n\n"]);
    let types: Vec<_> = got.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(types, ["add", "message", "message"]);
}

#[test]
fn event_type_does_not_leak_into_the_next_event() {
    let types: Vec<_> = events(&[b"event: a\ndata: 1\n\ndata: 2\n\n"]).into_iter().map(|e| e.0).collect();
    assert_eq!(types, ["a", "message"]);
}

#[test]
fn id_sets_the_buffer_which_persists_until_the_next_id() {
    let ids: Vec<_> = events(&[b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n"]).into_iter().map(|e| e.2).collect();
    assert_eq!(ids, ["1", "1", "2"]);
}

#[test]
fn empty_id_resets_the_last_event_id() {
    let mut parser = SseParser::default();
    let items = feed_all(&mut parser, &[b"id: 1\ndata: a\n\nid:\ndata: b\n\n"]);
    let ids: Vec<_> = items.into_iter().map(|i| triple(i).2).collect();
    assert_eq!(ids, ["1", ""]);
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn id_containing_nul_is_ignored_entirely() {
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"id: 1\n\nid: 2\x003\ndata: x\n\n"]);
    assert_eq!(parser.last_event_id(), "1");
}

#[test]
fn id_only_block_commits_the_last_event_id() {
    let mut parser = SseParser::default();
    assert!(feed_all(&mut parser, &[b"id: 42\n\n"]).is_empty());
    assert_eq!(parser.last_event_id(), "42");
}

#[test]
fn last_event_id_is_committed_only_at_a_blank_line() {
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"id: 1\ndata: x\n"]);
    assert_eq!(parser.last_event_id(), "");
    parser.end(&mut Vec::new());
    assert_eq!(parser.last_event_id(), "");
}

#[test]
fn retry_accepts_ascii_digits_only() {
    for bad in
        [&b"retry\n"[..], b"retry:\n", b"retry: +5\n", b"retry: 5x\n", b"retry:  5\n", b"retry: 5 \n", b"retry: -1\n"]
    {
        let mut parser = SseParser::default();
        feed_all(&mut parser, &[b"retry: 7\n", bad]);
        assert_eq!(parser.retry(), Some(7), "{:?}", String::from_utf8_lossy(bad));
    }
    let mut parser = SseParser::default();
    assert_eq!(parser.retry(), None);
    feed_all(&mut parser, &[b"retry:0042\n"]);
    assert_eq!(parser.retry(), Some(42));
}

#[test]
fn retry_too_large_for_u64_saturates() {
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"retry: 99999999999999999999999999999999\n"]);
    assert_eq!(parser.retry(), Some(u64::MAX));
}

#[test]
fn retry_applies_at_the_field_even_if_the_event_never_completes() {
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"retry: 1500\ndata: x"]);
    parser.end(&mut Vec::new());
    assert_eq!(parser.retry(), Some(1500));
}

#[test]
fn unknown_and_differently_cased_fields_are_ignored() {
    assert_eq!(data_of(&[b"Data: no\nfoo: bar\n data: no\ndata : no\ndata: yes\n\n"]), ["yes"]);
}

#[test]
fn incomplete_event_at_end_of_stream_is_discarded() {
    assert_eq!(events(&[b"data: 1\n\ndata: 2\n"]), [msg("1")]);
    assert_eq!(events(&[b"data: 1\n\ndata: 2"]), [msg("1")]);
}

#[test]
fn end_has_nothing_left_after_a_blank_line_ended_by_a_final_cr() {
    let mut parser = SseParser::default();
    let fed = feed_all(&mut parser, &[b"data: x\n\r"]);
    assert_eq!(fed.into_iter().map(triple).collect::<Vec<_>>(), [msg("x")]);
    let mut ended = Vec::new();
    parser.end(&mut ended);
    assert!(ended.is_empty());
}

#[test]
fn end_prepares_for_a_new_stream_and_keeps_last_event_id_and_retry() {
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"retry: 10\nid: 9\ndata: a\n\ndata: partial"]);
    parser.end(&mut Vec::new());
    let items = feed_all(&mut parser, &[b"\xEF\xBB\xBFdata: b\n\n"]);
    assert_eq!(items.into_iter().map(triple).collect::<Vec<_>>(), [("message".into(), "b".into(), "9".into())]);
    assert_eq!((parser.last_event_id(), parser.retry()), ("9", Some(10)));
}

#[test]
fn set_last_event_id_carries_over_to_events_without_id() {
    let mut parser = SseParser::default();
    parser.set_last_event_id("77");
    let items = feed_all(&mut parser, &[b"data: a\n\n"]);
    assert_eq!(triple(items.into_iter().next().unwrap()).2, "77");
}

#[test]
fn bom_is_stripped_once_and_only_at_stream_start() {
    assert_eq!(data_of(&[b"\xEF\xBB\xBFdata: 1\n\n\xEF\xBB\xBFdata: 2\n\n"]), ["1"]);
    assert_eq!(data_of(&[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: 1\n\ndata: 2\n\n"]), ["2"]);
}

#[test]
fn bom_split_across_chunks_is_stripped() {
    assert_eq!(data_of(&[b"\xEF", b"\xBB\xBFdata: d\n\n"]), ["d"]);
    assert_eq!(data_of(&[b"\xEF", b"", b"\xBB", b"\xBF", b"data: d\n\n"]), ["d"]);
}

#[test]
fn partial_bom_is_ordinary_text() {
    // The held-back bytes become part of the first line's field name, which is then unknown.
    assert_eq!(data_of(&[b"\xEF\xBB", b"data: 1\n\ndata: 2\n\n"]), ["2"]);
    assert_eq!(data_of(&[b"\xEF", b"\n\xBB\ndata: 3\n\n"]), ["3"]);
}

#[test]
fn invalid_utf8_is_replaced_with_u_fffd() {
    assert_eq!(data_of(&[b"data: a\xFFb\xE2\x82\n\n"]), ["a\u{FFFD}b\u{FFFD}"]);
    assert_eq!(events(&[b"event: \xC3\ndata: x\n\n"])[0].0, "\u{FFFD}");
    let mut parser = SseParser::default();
    feed_all(&mut parser, &[b"id: \xF0\x9F\n\n"]);
    assert_eq!(parser.last_event_id(), "\u{FFFD}");
}

#[test]
fn multibyte_characters_split_across_chunks_decode_correctly() {
    assert_eq!(data_of(&[b"data: \xE2", b"\x82", b"\xAC \xF0\x9F\x98", b"\x80\n\n"]), ["€ 😀"]);
}

#[test]
fn nul_in_data_is_kept() {
    assert_eq!(data_of(&[b"data: \x00\n\n"]), ["\0"]);
}

fn small() -> SseParser {
    SseParser::new(Limits { max_line_bytes: 16, max_event_bytes: 40 })
}

fn outcome(items: Vec<Item>) -> Vec<Result<String, ProtocolErrorKind>> {
    items
        .into_iter()
        .map(|i| match i {
            Item::Event(e) => Ok(e.data),
            Item::Error(ProtocolError { kind, .. }) => Err(kind),
        })
        .collect()
}

#[test]
fn line_too_long_drops_the_event_and_resumes_after_the_next_blank_line() {
    use ProtocolErrorKind::LineTooLong;
    let input: &[u8] = b"data: a\ndata: 0123456789abcdef\ndata: lost\n\ndata: b\n\n";
    let expected = [Err(LineTooLong), Ok("b".to_owned())];
    assert_eq!(outcome(feed_all(&mut small(), &[input])), expected);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(outcome(feed_all(&mut small(), &bytes)), expected);
}

#[test]
fn line_of_exactly_max_line_bytes_is_accepted() {
    let items = feed_all(&mut small(), &[b"data: 0123456789\n\n"]);
    assert_eq!(outcome(items), [Ok("0123456789".to_owned())]);
}

#[test]
fn event_too_large_drops_the_event_and_resumes_after_the_next_blank_line() {
    use ProtocolErrorKind::EventTooLarge;
    let mut parser = small();
    let items = feed_all(
        &mut parser,
        &[b"data: 1\n\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n", b"data: x\n\ndata: 2\n\n"],
    );
    assert_eq!(outcome(items), [Ok("1".to_owned()), Err(EventTooLarge), Ok("2".to_owned())]);
    let err = ProtocolError { kind: EventTooLarge, limit: 40 };
    assert_eq!(err.error_name(), "SseProtocolError");
    assert!(err.to_string().contains("maxEventBytes (40 bytes)"));
}

#[test]
fn dropped_event_does_not_commit_its_id() {
    let mut parser = small();
    feed_all(&mut parser, &[b"id: 1\n\nid: 2\ndata: 0123456789abcdef\n\ndata: x\n\n"]);
    assert_eq!(parser.last_event_id(), "1");
}

#[test]
fn long_comments_are_not_limited() {
    let mut comment = b":".to_vec();
    comment.extend(std::iter::repeat_n(b'x', 1000));
    comment.push(b'\n');
    let chunks: Vec<&[u8]> = vec![b"data: a\n", &comment[..300], &comment[300..], b"data: b\n\n"];
    assert_eq!(outcome(feed_all(&mut small(), &chunks)), [Ok("a\nb".to_owned())]);
    assert_eq!(outcome(feed_all(&mut small(), &[&chunks.concat()])), [Ok("a\nb".to_owned())]);
}

#[test]
fn limits_default_to_1_mib_lines_and_4_mib_events_and_read_js_options() {
    use serde::de::value::{Error, MapDeserializer};
    use serde::Deserialize;
    let d = Limits::default();
    assert_eq!((d.max_line_bytes, d.max_event_bytes), (1 << 20, 4 << 20));
    let js = MapDeserializer::<_, Error>::new([("maxLineBytes", 64usize)].into_iter());
    assert_eq!(Limits::deserialize(js).unwrap(), Limits { max_line_bytes: 64, ..Limits::default() });
}

#[test]
fn an_event_has_its_own_id_only_when_its_block_had_an_id_field() {
    // The router dedupes only own ids: an inherited one is no duplicate of the event that set it.
    let mut parser = SseParser::default();
    let stream: &[u8] = b"id: 1\ndata: a\n\ndata: b\n\nid: 1\ndata: a\n\nid: 2\n\ndata: c\n\nid: x\0y\ndata: d\n\n";
    let items = feed_all(&mut parser, &[stream]);
    let own: Vec<(String, String, bool)> = items
        .into_iter()
        .map(|item| match item {
            Item::Event(e) => (e.data, e.last_event_id.to_string(), e.own_id),
            Item::Error(err) => panic!("unexpected error: {err}"),
        })
        .collect();
    let expected = [("a", "1", true), ("b", "1", false), ("a", "1", true), ("c", "2", false), ("d", "2", false)];
    assert_eq!(own, expected.map(|(d, id, own)| (d.to_owned(), id.to_owned(), own)));
}
