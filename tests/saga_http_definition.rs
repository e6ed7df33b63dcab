//! Declarative HTTP transactions, natively: validating a definition. Every rule names the
//! field it rejects (templates, URLs, steps, keys, success lists, methods, awaits, headers and
//! the common fields), and `check_context` names a missing context path before anything is sent.

#[path = "common/saga_http.rs"]
mod saga_http;

use edgesaga::saga::definition::DefinitionError;
use edgesaga::saga::http::{parse_definition, Method, StepAction};
use edgesaga::saga::Version;
use saga_http::{json, parse, step};

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
