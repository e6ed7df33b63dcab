//! Declarative HTTP transactions, natively: every definition rule names its field, requests
//! render as sent, answers classify as the retry policy expects, and the JSON tree writes back
//! what `JSON.stringify` would.

use edgesaga::json::{Json, JsonErrorKind};
use edgesaga::platform::SeededRng;
use edgesaga::saga::definition::DefinitionError;
use edgesaga::saga::http::{
    parse_definition, version_of, HttpResponse, HttpTransaction, Method, RenderedRequest, Scope, StepAction,
    HTTP_ERROR, TEMPLATE_ERROR,
};
use edgesaga::saga::{FailureKind, RetryPolicy, StepError, Version};

fn parse(text: &str) -> HttpTransaction {
    parse_definition(text).unwrap_or_else(|e| panic!("rejected: {e}\n{text}"))
}

/// The error for `text`, checked to name `field` and to mention each of `mentions`.
fn rejects(text: &str, field: &str, mentions: &[&str]) -> DefinitionError {
    let err = match parse_definition(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    };
    assert_eq!(err.field, field, "{err}");
    for m in mentions {
        assert!(err.reason.contains(m), "{err:?} should mention {m:?}");
    }
    err
}

/// A one-step definition around `request`.
fn step(request: &str) -> String {
    format!(r#"{{"steps":[{{"name":"a","request":{request}}}]}}"#)
}

fn json(text: &str) -> Json {
    Json::parse(text, 64).unwrap_or_else(|e| panic!("{e}: {text}"))
}

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

// ---- definition rules ----------------------------------------------------------------------

#[test]
fn an_unknown_template_variable_names_its_field_and_variable() {
    let text = step(r#"{"method":"POST","url":"https://a.example/x","body":{"order":{"id":"{{ctx.orderId}}"}}}"#);
    rejects(&text, "steps[0].request.body.order.id", &["{{ctx.orderId}}", "unknown template variable"]);
    rejects(&step(r#"{"url":"https://a.example/{{transactionId.x}}"}"#), "steps[0].request.url", &["transactionId"]);
    rejects(&step(r#"{"url":"https://a.example/{{results}}"}"#), "steps[0].request.url", &["results.<step>"]);
    rejects(&step(r#"{"url":"https://a.example/{{ }}"}"#), "steps[0].request.url", &["not a variable"]);
    rejects(&step(r#"{"url":"https://a.example/{{context.id"}"#), "steps[0].request.url", &["unclosed"]);
    let unknown_step = step(r#"{"url":"https://a.example/{{results.nope.id}}"}"#);
    rejects(&unknown_step, "steps[0].request.url", &["unknown step \"nope\""]);
}

#[test]
fn results_must_come_from_an_earlier_step() {
    let later = r#"{"steps":[
        {"name":"reserve","request":{"url":"https://a.example/r?c={{results.charge.id}}"}},
        {"name":"charge","request":{"url":"https://a.example/c"}}]}"#;
    rejects(later, "steps[0].request.url", &["{{results.charge.id}}", "later step", "steps[1]"]);
    let own = step(r#"{"url":"https://a.example/{{results.a.id}}"}"#);
    rejects(&own, "steps[0].request.url", &["this step"]);
    // A compensation may read its own step's result, and earlier ones.
    parse(
        r#"{"steps":[{"name":"a","request":{"url":"https://a.example/a"}},
        {"name":"b","request":{"url":"https://a.example/b/{{results.a.id}}"},
         "compensate":{"method":"DELETE","url":"https://a.example/b/{{results.b.id}}?a={{results.a.id}}"}}]}"#,
    );
}

#[test]
fn a_bad_url_is_rejected_before_anything_is_sent() {
    for (url, mention) in [
        ("/orders", "absolute"),
        ("ftp://a.example/x", "absolute"),
        ("https:///x", "no host"),
        ("https://a.example/with space", "spaces"),
        ("https://user:pw@a.example/", "credentials"),
        ("https://a.example:99999/", "port"),
        ("https://a exa/", "spaces"),
        ("https://[zz]/", "IPv6"),
    ] {
        rejects(&step(&format!(r#"{{"url":"{url}"}}"#)), "steps[0].request.url", &[mention]);
    }
    for ok in ["http://localhost:8787/x", "https://[::1]:443/a?b=c#d", "https://bücher.example", "HTTPS://A.EXAMPLE"] {
        parse(&step(&format!(r#"{{"url":"{ok}"}}"#)));
    }
}

#[test]
fn templates_may_not_choose_the_scheme_or_host() {
    for url in [
        "{{context.base}}/charge",
        "https://{{context.host}}/charge",
        "https://api.{{context.tld}}/x",
        "https://a.example{{context.path}}",
        "https://a.example:{{context.port}}/",
    ] {
        rejects(&step(&format!(r#"{{"url":"{url}"}}"#)), "steps[0].request.url", &["scheme or host"]);
    }
    parse(&step(r#"{"url":"https://a.example/{{context.path}}?q={{context.q}}#{{context.f}}"}"#));
}

#[test]
fn a_missing_url_is_named() {
    let text =
        r#"{"steps":[{"name":"a","request":{"url":"https://a.example"}},{"name":"b","request":{"method":"POST"}}]}"#;
    rejects(text, "steps[1].request.url", &["required"]);
    rejects(&step(r#"{"url":42}"#), "steps[0].request.url", &["a string"]);
    rejects(r#"{"steps":[{"name":"a","kind":"http"}]}"#, "steps[0].request", &["required"]);
}

#[test]
fn an_unknown_step_kind_is_named() {
    rejects(
        r#"{"steps":[{"name":"a","kind":"grpc","request":{"url":"https://a.example"}}]}"#,
        "steps[0].kind",
        &["grpc"],
    );
    rejects(
        r#"{"steps":[{"name":"a","kind":"await","request":{"url":"https://a.example"}}]}"#,
        "steps[0].await",
        &["required"],
    );
    let explicit = parse(r#"{"steps":[{"name":"a","kind":"await","await":{"type":"payment.processed"}}]}"#);
    assert!(matches!(&explicit.actions[0], StepAction::Await(a) if a.timeout_ms == 30_000));
}

#[test]
fn a_step_is_a_request_or_an_await_never_both_or_neither() {
    let both = r#"{"steps":[{"name":"a","request":{"url":"https://a.example"},"await":{"type":"a.b"}}]}"#;
    rejects(both, "steps[0]", &["both"]);
    rejects(r#"{"steps":[{"name":"a"},{"name":"b"}]}"#, "steps[0]", &["needs a request"]);
}

#[test]
fn unknown_keys_are_typos_and_are_named() {
    rejects(r#"{"stepz":[]}"#, "stepz", &["unknown field", "steps"]);
    rejects(
        r#"{"steps":[{"name":"a","timeout":5,"request":{"url":"https://a.example"}}]}"#,
        "steps[0].timeout",
        &["timeoutMs"],
    );
    rejects(&step(r#"{"url":"https://a.example","header":{}}"#), "steps[0].request.header", &["headers"]);
    let retry = r#"{"steps":[{"name":"a","retry":{"maxAttempt":3},"request":{"url":"https://a.example"}}]}"#;
    rejects(retry, "steps[0].retry.maxAttempt", &["maxAttempts"]);
    let wait = r#"{"steps":[{"name":"a","await":{"type":"a.b","timeout":5}}]}"#;
    rejects(wait, "steps[0].await.timeout", &["timeoutMs"]);
}

#[test]
fn a_bad_success_entry_is_named_by_index() {
    for bad in ["99", "600", "200.5", "\"6xx\"", "\"2x\"", "\"300-200\"", "\"abc\"", "true", "\"20-299\""] {
        let text = step(&format!(r#"{{"url":"https://a.example","success":[200,{bad}]}}"#));
        rejects(&text, "steps[0].request.success[1]", &["status"]);
    }
    rejects(&step(r#"{"url":"https://a.example","success":[]}"#), "steps[0].request.success", &["at least one"]);
    rejects(&step(r#"{"url":"https://a.example","success":"2xx"}"#), "steps[0].request.success", &["an array"]);
}

#[test]
fn a_bad_method_is_named_and_case_is_normalised() {
    rejects(&step(r#"{"method":"FETCH","url":"https://a.example"}"#), "steps[0].request.method", &["FETCH"]);
    rejects(&step(r#"{"method":"get","url":"https://a.example","body":{}}"#), "steps[0].request.body", &["GET"]);
    let tx = parse(&step(r#"{"method":"pAtCh","url":"https://a.example"}"#));
    assert!(matches!(&tx.actions[0], StepAction::Http { request, .. } if request.method == Method::Patch));
    let default = parse(&step(r#"{"url":"https://a.example"}"#));
    assert!(matches!(&default.actions[0], StepAction::Http { request, .. } if request.method == Method::Get));
}

#[test]
fn an_await_step_cannot_have_a_compensation() {
    let text = r#"{"steps":[{"name":"charge","request":{"method":"POST","url":"https://a.example"}},
        {"name":"paid","await":{"type":"payment.processed"},"compensate":{"url":"https://a.example"}}]}"#;
    rejects(text, "steps[1].compensate", &["nothing to compensate"]);
    rejects(r#"{"steps":[{"name":"a","await":{"type":"Payment"}}]}"#, "steps[0].await.type", &["pattern"]);
    rejects(
        r#"{"steps":[{"name":"a","await":{"type":"a.b","match":{"x":{}}}}]}"#,
        "steps[0].await.match.x",
        &["object"],
    );
    rejects(
        r#"{"steps":[{"name":"a","await":{"type":"a.b","timeoutMs":0}}]}"#,
        "steps[0].await.timeoutMs",
        &["positive"],
    );
}

#[test]
fn headers_are_tokens_given_once_and_never_the_idempotency_key() {
    rejects(
        &step(r#"{"url":"https://a.example","headers":{"Bad Name":"x"}}"#),
        "steps[0].request.headers.Bad Name",
        &["header name"],
    );
    let key = step(r#"{"url":"https://a.example","headers":{"idempotency-key":"mine"}}"#);
    rejects(&key, "steps[0].request.headers.idempotency-key", &["set by edgesaga"]);
    rejects(
        &step(r#"{"url":"https://a.example","headers":{"A":"1","a":"2"}}"#),
        "steps[0].request.headers.a",
        &["twice"],
    );
    rejects(&step(r#"{"url":"https://a.example","headers":{"A":1}}"#), "steps[0].request.headers.A", &["a string"]);
    for bad in [r#"x\ny"#, "x\\u0000", "5 €"] {
        let text = step(&format!(r#"{{"url":"https://a.example","headers":{{"A":"{bad}"}}}}"#));
        rejects(&text, "steps[0].request.headers.A", &["line break", "U+00FF"]);
    }
}

#[test]
fn the_common_fields_go_through_the_one_validator() {
    let text = r#"{"steps":[{"name":"a","request":{"url":"https://a.example"}},
        {"name":"b","retry":{"maxAttempts":-1},"request":{"url":"https://a.example"}}]}"#;
    rejects(text, "steps[1].retry.maxAttempts", &["positive integer"]);
    let dup = r#"{"steps":[{"name":"a","request":{"url":"https://a.example"}},{"name":"a","request":{"url":"https://a.example"}}]}"#;
    rejects(dup, "steps[1].name", &["duplicate"]);
    rejects(r#"{"steps":[]}"#, "steps", &["at least one"]);
    rejects(r#"{"name":"x"}"#, "steps", &["required"]);
    rejects(&step(r#"{"url":"https://a.example"}"#).replace(r#""name":"a","#, ""), "steps[0].name", &["required"]);
    rejects("[1]", "definition", &["object"]);
    let err = rejects(r#"{"steps":[}"#, "definition", &["not valid JSON"]);
    assert!(err.to_string().contains("byte 10"), "{err}");
    let full = parse(
        r#"{"name":"order","timeoutMs":9000,"onCompensationFailure":"halt","retry":{"maxAttempts":3},
        "steps":[{"name":"a","timeoutMs":100,"compensateOnFailure":true,"requiresVersionCheck":true,"expectedVersion":"v7",
        "compensationRetry":{"maxAttempts":5,"backoff":"linear"},"request":{"url":"https://a.example"},
        "compensate":{"method":"DELETE","url":"https://a.example"}},
        {"name":"b","retry":null,"await":{"type":"order.*"}}]}"#,
    );
    let (a, b) = (&full.def.steps[0], &full.def.steps[1]);
    assert_eq!((&*full.def.name, full.def.timeout_ms), ("order", Some(9000)));
    assert_eq!((a.has_compensate, a.compensate_on_failure, a.timeout_ms), (true, true, Some(100)));
    assert_eq!(a.expected_version, Some(Version::Text("v7".into())));
    assert_eq!((a.retry.max_attempts, a.compensation_retry.max_attempts, b.retry.max_attempts), (3, 5, 3));
    assert!(!b.has_compensate);
}

#[test]
fn check_context_names_the_missing_path_before_anything_is_sent() {
    let tx = parse(
        r#"{"steps":[{"name":"a","request":{"method":"POST","url":"https://a.example/o/{{context.order.id}}",
        "body":{"items":"{{context.items}}"}}}]}"#,
    );
    let err = tx.check_context(&json(r#"{"order":{},"items":[]}"#)).unwrap_err();
    assert_eq!(err.field, "context.order.id");
    assert!(err.reason.contains("steps[0].request.url"), "{err}");
    let err = tx.check_context(&json(r#"{"order":{"id":{"x":1}},"items":[]}"#)).unwrap_err();
    assert_eq!(err.field, "context.order.id");
    assert!(err.reason.contains("an object"), "{err}");
    assert_eq!(tx.check_context(&json(r#"{"order":{"id":7}}"#)).unwrap_err().field, "context.items");
    // A whole-string body value may be of any type.
    tx.check_context(&json(r#"{"order":{"id":"o-1"},"items":{"any":"thing"}}"#)).unwrap();
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
