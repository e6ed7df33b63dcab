//! Declarative HTTP transactions, natively: requests render as sent (templates, encoding,
//! idempotency keys, awaits), answers classify as the retry policy expects, and the JSON tree
//! writes back what `JSON.stringify` would.

#[path = "common/saga_http.rs"]
mod saga_http;

use edgesaga::json::{Json, JsonErrorKind};
use edgesaga::platform::SeededRng;
use edgesaga::saga::http::{
    version_of, HttpResponse, HttpTransaction, Method, RenderedRequest, Scope, HTTP_ERROR, TEMPLATE_ERROR,
};
use edgesaga::saga::{FailureKind, RetryPolicy, StepError, Version};
use saga_http::{json, parse, step};

fn render(
    tx: &HttpTransaction,
    index: usize,
    compensating: bool,
    context: &Json,
    results: &[Option<Json>],
) -> RenderedRequest {
    let scope = Scope { transaction_id: "tx-1", context, results };
    tx.render_request::<()>(index, compensating, &scope).unwrap_or_else(|e| panic!("{e}"))
}

fn answer(status: u16, body: &str) -> HttpResponse<'_> {
    HttpResponse { status, content_type: Some("application/json"), retry_after: None, body, now_ms: 0.0 }
}

fn post(url: &str) -> RenderedRequest {
    let tx = parse(&step(&format!(r#"{{"method":"POST","url":"{url}"}}"#)));
    render(&tx, 0, false, &Json::Null, &[None])
}

// ---- rendering -----------------------------------------------------------------------------

#[test]
fn a_whole_string_template_keeps_the_value_type() {
    let tx = parse(&step(
        r#"{"method":"POST","url":"https://a.example","body":{"items":"{{context.items}}","qty":"{{ context.qty }}",
        "gift":"{{context.gift}}","none":"{{context.none}}","note":"qty={{context.qty}}, gift={{context.gift}}",
        "fixed":[1,"two",null],"tx":"{{transactionId}}"}}"#,
    ));
    let context = json(r#"{"items":[{"sku":"A","n":2}],"qty":2.5,"gift":false,"none":null}"#);
    let req = render(&tx, 0, false, &context, &[None]);
    assert_eq!(
        req.body.as_deref(),
        Some(
            r#"{"items":[{"sku":"A","n":2}],"qty":2.5,"gift":false,"none":null,"note":"qty=2.5, gift=false","fixed":[1,"two",null],"tx":"tx-1"}"#
        )
    );
}

#[test]
fn interpolation_writes_text_and_refuses_objects_and_line_breaks() {
    let tx = parse(&step(
        r#"{"method":"POST","url":"https://a.example","headers":{"X-Trace":"t-{{transactionId}}-{{context.n}}",
        "Content-Type":"application/vnd.api+json"},"body":"id {{context.n}}"}"#,
    ));
    let req = render(&tx, 0, false, &json(r#"{"n":12}"#), &[None]);
    assert_eq!(req.body.as_deref(), Some(r#""id 12""#));
    assert_eq!(
        req.headers,
        [
            ("X-Trace".to_owned(), "t-tx-1-12".to_owned()),
            ("Content-Type".to_owned(), "application/vnd.api+json".to_owned()),
            ("Idempotency-Key".to_owned(), "tx-1:a".to_owned()),
        ]
    );
    let latin1 = render(&tx, 0, false, &json(r#"{"n":"café"}"#), &[None]);
    assert_eq!(latin1.headers[0].1, "t-tx-1-café");
    for (context, mention) in [
        (r#"{"n":"a\r\nX-Evil: 1"}"#, "line break"),
        (r#"{"n":"5 €"}"#, "U+00FF"),
        (r#"{"n":[1]}"#, "an array"),
        ("{}", "undefined"),
    ] {
        let context = json(context);
        let err =
            tx.render_request::<()>(0, false, &Scope { transaction_id: "tx-1", context: &context, results: &[None] });
        let err = err.unwrap_err();
        assert_eq!((err.name.as_deref(), err.retryable), (Some(TEMPLATE_ERROR), Some(false)), "{err}");
        assert!(err.message.contains("{{context.n}}") && err.message.contains(mention), "{err}");
    }
}

#[test]
fn url_values_are_encoded_as_encode_uri_component_does() {
    let tx = parse(&step(r#"{"url":"https://a.example/o/{{context.id}}?q={{context.q}}&n={{context.n}}"}"#));
    let context = json(r#"{"id":"a b/ç?&=#-_.!~*'()😀%+","q":"x y","n":1e21}"#);
    let req = render(&tx, 0, false, &context, &[None]);
    // Numbers go in as written: a context from JSON.stringify is canonical already.
    assert_eq!(req.url, "https://a.example/o/a%20b%2F%C3%A7%3F%26%3D%23-_.!~*'()%F0%9F%98%80%25%2B?q=x%20y&n=1e21");
    assert_eq!((req.method, req.body.as_deref()), (Method::Get, None));
}

#[test]
fn idempotency_keys_differ_for_the_compensation() {
    let tx = parse(
        r#"{"steps":[{"name":"reserve_inventory","request":{"method":"POST","url":"https://a.example/r","body":{}},
        "compensate":{"method":"DELETE","url":"https://a.example/r/{{results.reserve_inventory.id}}"}}]}"#,
    );
    let results = [Some(json(r#"{"id":"r 1"}"#))];
    let forward = render(&tx, 0, false, &Json::Null, &results);
    let undo = render(&tx, 0, true, &Json::Null, &results);
    assert_eq!(forward.idempotency_key, "tx-1:reserve_inventory");
    assert_eq!(undo.idempotency_key, "tx-1:reserve_inventory:compensate");
    assert_eq!(forward.headers.last(), Some(&("Idempotency-Key".to_owned(), "tx-1:reserve_inventory".to_owned())));
    assert!(forward.headers.contains(&("Content-Type".to_owned(), "application/json".to_owned())));
    assert_eq!(
        (undo.method, undo.url.as_str(), undo.body.as_deref()),
        (Method::Delete, "https://a.example/r/r%201", None)
    );
    assert_eq!(undo.headers, [("Idempotency-Key".to_owned(), "tx-1:reserve_inventory:compensate".to_owned())]);
    // A compensation of a step that failed (compensateOnFailure) has no result to read.
    let err = tx.render_request::<()>(0, true, &Scope { transaction_id: "t", context: &Json::Null, results: &[None] });
    assert!(err
        .unwrap_err()
        .message
        .contains("{{results.reserve_inventory.id}} in steps[0].compensate.url is undefined"));
}

#[test]
fn an_await_step_renders_its_matches_and_matches_notifications_as_text() {
    let tx = parse(
        r#"{"steps":[{"name":"charge_payment","request":{"method":"POST","url":"https://a.example/c"}},
        {"name":"paid","await":{"type":"payment.processed","match":{"entityId":"{{results.charge_payment.id}}",
        "data.amount":12},"timeoutMs":5000}}]}"#,
    );
    let results = [Some(json(r#"{"id":42}"#)), None];
    let scope = Scope { transaction_id: "t", context: &Json::Null, results: &results };
    let wait = tx.render_await::<()>(1, &scope).unwrap();
    assert_eq!((wait.pattern.as_str(), wait.timeout_ms), ("payment.processed", 5000));
    assert_eq!(wait.matches, [("entityId".to_owned(), "42".to_owned()), ("data.amount".to_owned(), "12".to_owned())]);
    assert!(wait.matches(&json(r#"{"type":"payment.processed","entityId":"42","data":{"amount":12}}"#)));
    assert!(!wait.matches(&json(r#"{"type":"payment.processed","entityId":"43","data":{"amount":12}}"#)));
    assert!(!wait.matches(&json(r#"{"type":"payment.processed","entityId":"42"}"#)));
    assert!(tx.render_await::<()>(0, &scope).is_err() && tx.render_request::<()>(1, false, &scope).is_err());
}

// ---- classification ------------------------------------------------------------------------

#[test]
fn a_2xx_answer_is_the_step_result() {
    let req = post("https://a.example/charge");
    assert_eq!(
        req.classify::<()>(&answer(201, r#"{"id":"c-1","version":7}"#)),
        Ok(json(r#"{"id":"c-1","version":7}"#))
    );
    assert_eq!(req.classify::<()>(&answer(204, "")), Ok(Json::Null));
    let result = req.classify::<()>(&answer(200, r#"{"version":"v2"}"#)).unwrap();
    assert_eq!(version_of(&result), Some(Version::Text("v2".into())));
    assert_eq!(version_of(&json(r#"{"version":3}"#)), Some(Version::Number(3.0)));
    assert_eq!(version_of(&json(r#"{"version":null}"#)), None);
    let json_suffix =
        HttpResponse { content_type: Some("application/problem+json; charset=utf-8"), ..answer(200, "[1]") };
    assert_eq!(req.classify::<()>(&json_suffix), Ok(json("[1]")));
}

#[test]
fn a_custom_success_list_decides_what_succeeded() {
    let tx = parse(&step(r#"{"method":"PUT","url":"https://a.example/x","success":[200,"409","3xx","420-421"]}"#));
    let req = render(&tx, 0, false, &Json::Null, &[None]);
    for ok in [200, 409, 302, 420, 421] {
        assert!(req.classify::<()>(&answer(ok, "{}")).is_ok(), "{ok}");
    }
    for failed in [201, 204, 410, 500] {
        assert!(req.classify::<()>(&answer(failed, "{}")).is_err(), "{failed}");
    }
}

#[test]
fn a_402_is_final() {
    let req = post("https://pay.example/charge");
    let err = req.classify::<()>(&answer(402, "{\"error\":\"card declined\"}\n")).unwrap_err();
    assert_eq!(err.message, "POST https://pay.example/charge answered 402: {\"error\":\"card declined\"}");
    assert_eq!((err.kind, err.name.as_deref(), err.retryable), (FailureKind::Thrown, Some(HTTP_ERROR), Some(false)));
    let with_header = HttpResponse { retry_after: Some("5"), ..answer(404, "") };
    let err = req.classify::<()>(&with_header).unwrap_err();
    assert_eq!((err.retry_after_ms, err.message.as_str()), (None, "POST https://pay.example/charge answered 404"));
    let policy = RetryPolicy { max_attempts: 5, ..RetryPolicy::default() };
    assert_eq!(policy.next_delay(1, &err, &SeededRng::new(1)), None, "the retry policy does not retry it");
}

#[test]
fn a_503_is_retried_after_its_retry_after_seconds() {
    let req = post("https://pay.example/charge");
    let long = "x".repeat(500);
    let err = req.classify::<()>(&HttpResponse { retry_after: Some("2"), ..answer(503, &long) }).unwrap_err();
    assert_eq!((err.retryable, err.retry_after_ms), (Some(true), Some(2000)));
    assert!(err.message.ends_with('…') && err.message.chars().count() < 300, "{}", err.message);
    let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
    assert_eq!(policy.next_delay(1, &err, &SeededRng::new(1)), Some(2000));
    let plain: StepError<()> = req.classify(&answer(500, "")).unwrap_err();
    assert_eq!(policy.next_delay(1, &plain, &SeededRng::new(1)), Some(100), "no header: the policy's backoff");
    assert_eq!(req.classify::<()>(&answer(408, "")).unwrap_err().retryable, Some(true));
    let network: StepError<()> = req.network_error("connection reset");
    assert_eq!(
        (network.retryable, network.message.as_str()),
        (Some(true), "POST https://pay.example/charge failed: connection reset")
    );
}

#[test]
fn a_429_honours_an_http_date() {
    let req = post("https://pay.example/charge");
    let at = 1_445_412_480_000.0; // Wed, 21 Oct 2015 07:28:00 GMT
    let response =
        HttpResponse { retry_after: Some("Wed, 21 Oct 2015 07:28:00 GMT"), now_ms: at - 5_000.0, ..answer(429, "") };
    let err = req.classify::<()>(&response).unwrap_err();
    assert_eq!((err.retryable, err.retry_after_ms), (Some(true), Some(5_000)));
    let past = HttpResponse { now_ms: at + 1.0, ..response };
    assert_eq!(req.classify::<()>(&past).unwrap_err().retry_after_ms, Some(0));
    let garbage = HttpResponse { retry_after: Some("soon"), ..response };
    assert_eq!(req.classify::<()>(&garbage).unwrap_err().retry_after_ms, None);
}

#[test]
fn a_non_json_body_is_kept_as_text() {
    let req = post("https://a.example/x");
    let text = HttpResponse { content_type: Some("text/plain"), ..answer(200, "{\"looks\":\"like json\"}") };
    assert_eq!(req.classify::<()>(&text), Ok(Json::String("{\"looks\":\"like json\"}".into())));
    assert_eq!(req.classify::<()>(&answer(200, "not json")), Ok(Json::String("not json".into())));
    let unknown = HttpResponse { content_type: None, ..answer(200, " [true] ") };
    assert_eq!(req.classify::<()>(&unknown), Ok(json("[true]")));
    assert_eq!(req.classify::<()>(&answer(200, " \n")), Ok(Json::Null));
}

// ---- the JSON tree -------------------------------------------------------------------------

#[test]
fn json_round_trips_as_json_stringify_writes() {
    // Expected texts are what Node's JSON.stringify(JSON.parse(input)) prints, except that
    // numbers keep the text they were written with (a 30-digit id must not be rounded).
    let cases = [
        (
            r#""\u0000\u001f\u007f\"\\\/\b\f\n\r\t é😀\u2028""#,
            "\"\\u0000\\u001f\u{7f}\\\"\\\\/\\b\\f\\n\\r\\t é😀\u{2028}\"",
        ),
        (r#""\ud83d\ude00 \ud800""#, "\"😀 \u{FFFD}\""),
        (
            "[0.1, 1e-7, 123456789012345678901234567890, 5e-324, 1.0, 1E400, -0]",
            "[0.1,1e-7,123456789012345678901234567890,5e-324,1.0,1E400,-0]",
        ),
        (r#" { "b" : 1 , "a" : [ ] , "b" : { } , "" : "" } "#, r#"{"b":{},"a":[],"":""}"#),
        ("true", "true"),
        ("null", "null"),
    ];
    for (input, expected) in cases {
        let value = json(input);
        let text = value.to_text();
        assert_eq!(text, expected, "{input}");
        let again = json(&text);
        assert_eq!(again.to_text(), text, "stable: {input}");
    }
    // Numbers made from floats are written as Number.prototype.toString writes them.
    for (value, expected) in [
        (0.1, "0.1"),
        (1e-7, "1e-7"),
        (1.2345678901234568e29, "1.2345678901234568e+29"),
        (1e21, "1e+21"),
        (0.000001, "0.000001"),
        (2.5e20, "250000000000000000000"),
        (9007199254740992.0, "9007199254740992"),
        (0.30000000000000004, "0.30000000000000004"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (-0.0, "0"),
        (f64::INFINITY, "null"),
    ] {
        assert_eq!(Json::number(value).to_text(), expected, "{value:e}");
    }
    assert_eq!(json("[1E400, 1.0]").as_array().map(|a| a[0].as_f64()), Some(Some(f64::INFINITY)));
    assert_eq!(json("1.0"), Json::number(1.0), "numbers compare by value");
    assert_eq!(Json::parse("[[1]]", 1).unwrap_err().kind, JsonErrorKind::TooDeep);
    assert_eq!(Json::parse("{\"a\":1,}", 8).unwrap_err().kind, JsonErrorKind::ExpectedKey);
    assert_eq!(Json::parse("1 2", 8).unwrap_err().kind, JsonErrorKind::TrailingCharacters);
    let doc = json(r#"{"a":[{"b":null}]}"#);
    assert_eq!(doc.get_path(&["a", "0", "b"]), Some(&Json::Null));
    assert_eq!(doc.get_path(&["a", "0", "c"]), None);
    assert_eq!(doc.get_path(&[]), Some(&doc));
}
