//! Normalisation: both wire forms give the same notification, and every way a notification can
//! be invalid gives its own `NotificationSchemaError`.

use edgesaga::json::JsonErrorKind;
use edgesaga::notify::notification::{
    Form, Notification, NotificationSchemaError, SchemaErrorReason as R, SchemaOptions,
};

fn parse(raw: &str) -> Result<Notification, NotificationSchemaError> {
    parse_with(raw, &SchemaOptions::default())
}

fn parse_with(raw: &str, options: &SchemaOptions) -> Result<Notification, NotificationSchemaError> {
    Notification::parse(raw.to_owned(), options).map_err(|rejected| {
        assert_eq!(rejected.raw, raw, "the raw text comes back unchanged");
        rejected.error
    })
}

/// What routing sees, to compare notifications across forms.
fn view(n: &Notification) -> (&str, &str, &str, Option<&str>, Option<&str>, Option<&str>) {
    (n.notification_type(), n.resource(), n.action(), n.entity_id(), n.timestamp(), n.tenant_id())
}

#[test]
fn both_forms_normalise_identically() {
    let light = r#"{"type":"order.status_changed","entityId":"o-42","timestamp":"2024-05-01T10:00:00Z",
                    "triggeredBy":"u-7","metadata":{"tenantId":"acme","source":"orders"}}"#;
    let envelope = r#"{"eventType":"order.status_changed","version":"1.4","timestamp":"2024-05-01T10:00:00Z",
                       "data":{"entityId":"o-42","status":"shipped"},
                       "metadata":{"tenantId":"acme","source":"orders","correlationId":"c-1","userId":"u-7","traceId":"t"}}"#;
    let (a, b) = (parse(light).unwrap(), parse(envelope).unwrap());
    assert_eq!(view(&a), view(&b));
    assert_eq!(
        view(&a),
        ("order.status_changed", "order", "status_changed", Some("o-42"), Some("2024-05-01T10:00:00Z"), Some("acme"))
    );
    assert_eq!((a.form(), b.form()), (Form::Lightweight, Form::Envelope));
    assert_eq!((a.version_major(), b.version_major()), (None, Some(1)));
    assert_eq!((a.raw(), b.raw()), (light, envelope));
    assert_eq!((a.id(), a.last_event_id()), (None, ""));
}

#[test]
fn envelope_entity_id_comes_from_data_entity_id_then_data_id() {
    let by_id = parse(r#"{"eventType":"user.created","version":1,"data":{"id":"u-1"}}"#).unwrap();
    assert_eq!(by_id.entity_id(), Some("u-1"));
    let both = parse(r#"{"eventType":"user.created","data":{"id":"u-1","entityId":"u-2"}}"#).unwrap();
    assert_eq!(both.entity_id(), Some("u-2"));
    let top = parse(r#"{"eventType":"user.created","entityId":"u-3","data":{"entityId":"u-2"}}"#).unwrap();
    assert_eq!(top.entity_id(), Some("u-3"));
    let numeric = parse(r#"{"eventType":"user.created","data":{"id":17}}"#).unwrap();
    assert_eq!(numeric.entity_id(), Some("17"));
    let nulls = parse(r#"{"eventType":"user.created","entityId":null,"data":{"entityId":null,"id":"u-4"}}"#).unwrap();
    assert_eq!(nulls.entity_id(), Some("u-4"));
    let none = parse(r#"{"eventType":"user.created","data":[{"id":1}]}"#).unwrap();
    assert_eq!(none.entity_id(), None);
    let nested_is_not_read = parse(r#"{"type":"user.created","data":{"inner":{"id":"x"}}}"#).unwrap();
    assert_eq!(nested_is_not_read.entity_id(), None);
}

#[test]
fn tenant_from_metadata_then_top_level() {
    assert_eq!(parse(r#"{"type":"a.b","tenantId":"t1"}"#).unwrap().tenant_id(), Some("t1"));
    assert_eq!(
        parse(r#"{"type":"a.b","tenantId":"t1","metadata":{"tenantId":"t2"}}"#).unwrap().tenant_id(),
        Some("t2")
    );
    assert_eq!(parse(r#"{"type":"a.b","metadata":null}"#).unwrap().tenant_id(), None);
}

#[test]
fn optional_fields_and_json_details() {
    let n = parse(r#"{"type":"a.b"}"#).unwrap();
    assert_eq!((n.entity_id(), n.timestamp(), n.tenant_id()), (None, None, None));
    let n = parse(r#"{"timestamp":1714557600000,"type":"a.b"}"#).unwrap();
    assert_eq!(n.timestamp(), Some("1714557600000"));
    // Escapes decode, in keys and values alike.
    let n = parse(r#"{"t\u0079pe":"order.p\u0061id","entityId":"caf\u00e9 \ud83d\ude00"}"#).unwrap();
    assert_eq!((n.notification_type(), n.entity_id()), ("order.paid", Some("café 😀")));
    // The last duplicate wins, as in JSON.parse, nested objects included.
    let n = parse(r#"{"type":"a.b","type":"c.d","data":{"id":"x"},"data":{"other":1}}"#).unwrap();
    assert_eq!((n.notification_type(), n.entity_id()), ("c.d", None));
    let n = parse(r#"{"type":"a.b","metadata":{"tenantId":"t"},"metadata":{}}"#).unwrap();
    assert_eq!(n.tenant_id(), None);
    // Unknown fields of any shape are validated and skipped; surrounding whitespace is fine.
    let n = parse(" {\"x\":[{\"y\":[1,2,{}]}],\"type\":\"a.b\",\"z\":null} \n").unwrap();
    assert_eq!(n.notification_type(), "a.b");
    // An envelope's `eventType` wins over `type`; a null one does not make an envelope.
    assert_eq!(parse(r#"{"type":"a.b","eventType":"c.d"}"#).unwrap().notification_type(), "c.d");
    let n = parse(r#"{"eventType":null,"type":"a.b"}"#).unwrap();
    assert_eq!((n.notification_type(), n.form()), ("a.b", Form::Lightweight));
}

#[test]
fn version_rules() {
    for ok in [r#""1""#, r#""1.2""#, r#""1.2.3""#, "1", "1.9", "1.0", "null"] {
        let raw = format!(r#"{{"eventType":"a.b","version":{ok}}}"#);
        assert!(parse(&raw).is_ok(), "{raw}");
    }
    // Checked in the lightweight form too.
    assert_eq!(parse(r#"{"type":"a.b","version":"2"}"#).unwrap_err().reason, R::IncompatibleVersion);
    // A different supported major.
    let v2 = SchemaOptions { supported_major: 2, ..SchemaOptions::default() };
    assert_eq!(parse_with(r#"{"eventType":"a.b","version":"2.1"}"#, &v2).unwrap().version_major(), Some(2));
    assert_eq!(parse_with(r#"{"eventType":"a.b","version":1}"#, &v2).unwrap_err().found_major, Some(1));
}

fn rejects(raw: &str, reason: R, field: Option<&str>) -> NotificationSchemaError {
    let err = parse(raw).expect_err(raw);
    assert_eq!((err.reason, err.field), (reason, field), "{raw}");
    err
}

#[test]
fn malformed_json() {
    for (raw, kind, offset) in [
        ("", JsonErrorKind::UnexpectedEnd, 0),
        ("{\"type\":\"a.b\"", JsonErrorKind::UnexpectedEnd, 13),
        ("{\"type\":\"a.b\",}", JsonErrorKind::ExpectedKey, 14),
        ("{\"type\":\"a.b\"} x", JsonErrorKind::TrailingCharacters, 15),
        ("not json", JsonErrorKind::ExpectedValue, 1),
        ("hello", JsonErrorKind::ExpectedValue, 0),
        ("{\"type\":\"a.b\",\"data\":{\"id\":01}}", JsonErrorKind::InvalidNumber, 28),
    ] {
        let err = rejects(raw, R::MalformedJson, None);
        let json = err.json.expect("the JSON error is kept");
        assert_eq!((json.kind, json.offset), (kind, offset), "{raw}");
    }
    // Too deep, even inside a field that is otherwise ignored.
    let deep = format!(r#"{{"type":"a.b","x":{}1{}}}"#, "[".repeat(64), "]".repeat(64));
    assert_eq!(rejects(&deep, R::MalformedJson, None).json.unwrap().kind, JsonErrorKind::TooDeep);
    let shallow = SchemaOptions { max_depth: 1, ..SchemaOptions::default() };
    assert!(parse_with(r#"{"type":"a.b","x":1}"#, &shallow).is_ok());
    assert_eq!(parse_with(r#"{"type":"a.b","x":[]}"#, &shallow).unwrap_err().reason, R::MalformedJson);
    // Malformed JSON is reported first, even when the type is also missing.
    rejects("[1,", R::MalformedJson, None);
}

#[test]
fn not_an_object() {
    for raw in ["[]", "[{\"type\":\"a.b\"}]", "\"a.b\"", "1", "null", "true"] {
        rejects(raw, R::NotAnObject, None);
    }
}

#[test]
fn missing_type() {
    for raw in ["{}", r#"{"entityId":"x"}"#, r#"{"type":null}"#, r#"{"type":null,"eventType":null}"#] {
        rejects(raw, R::MissingType, None);
    }
}

#[test]
fn invalid_type() {
    for (raw, field) in [
        (r#"{"type":1}"#, "type"),
        (r#"{"type":{"a":"b"}}"#, "type"),
        (r#"{"type":""}"#, "type"),
        (r#"{"type":"order"}"#, "type"),
        (r#"{"type":"order."}"#, "type"),
        (r#"{"type":".paid"}"#, "type"),
        (r#"{"type":"a.b.c"}"#, "type"),
        (r#"{"type":"Order.paid"}"#, "type"),
        (r#"{"type":"order.*"}"#, "type"),
        (r#"{"type":"ordér.paid"}"#, "type"),
        (r#"{"type":"order. paid"}"#, "type"),
        (r#"{"eventType":"bad","type":"a.b"}"#, "eventType"),
        (r#"{"eventType":true}"#, "eventType"),
    ] {
        rejects(raw, R::InvalidType, Some(field));
    }
    // The type is checked before the version.
    rejects(r#"{"eventType":"bad","version":"9"}"#, R::InvalidType, Some("eventType"));
}

#[test]
fn invalid_and_incompatible_versions() {
    for bad in
        [r#""""#, r#""v1""#, r#""1.""#, r#""1.x""#, r#""-1""#, r#""99999999999""#, "-1", "1e0", "true", "[1]", "{}"]
    {
        let raw = format!(r#"{{"eventType":"a.b","version":{bad}}}"#);
        rejects(&raw, R::InvalidVersion, Some("version"));
    }
    for (bad, major) in [(r#""2""#, 2), (r#""0.9""#, 0), (r#""10.0""#, 10), ("2", 2), ("3.5", 3)] {
        let raw = format!(r#"{{"eventType":"a.b","version":{bad}}}"#);
        let err = rejects(&raw, R::IncompatibleVersion, Some("version"));
        assert_eq!((err.found_major, err.supported_major), (Some(major), 1));
    }
    // The version is checked before the other fields.
    rejects(r#"{"eventType":"a.b","version":"2","entityId":{}}"#, R::IncompatibleVersion, Some("version"));
}

#[test]
fn invalid_fields() {
    for (raw, field) in [
        (r#"{"type":"a.b","entityId":{}}"#, "entityId"),
        (r#"{"type":"a.b","entityId":true}"#, "entityId"),
        (r#"{"eventType":"a.b","data":{"entityId":[1]}}"#, "data.entityId"),
        (r#"{"eventType":"a.b","data":{"id":false}}"#, "data.id"),
        (r#"{"type":"a.b","timestamp":{"s":1}}"#, "timestamp"),
        (r#"{"type":"a.b","metadata":"acme"}"#, "metadata"),
        (r#"{"type":"a.b","metadata":[]}"#, "metadata"),
        (r#"{"type":"a.b","metadata":{"tenantId":{}}}"#, "metadata.tenantId"),
        (r#"{"type":"a.b","tenantId":[]}"#, "tenantId"),
        // A valid field does not excuse an invalid one it would have shadowed.
        (r#"{"type":"a.b","entityId":"x","data":{"id":{}}}"#, "data.id"),
    ] {
        rejects(raw, R::InvalidField, Some(field));
    }
}

#[test]
fn errors_have_stable_names_codes_and_messages() {
    let cases = [
        ("{", "malformed_json", "malformed JSON: unexpected end of JSON at byte 1"),
        ("[]", "not_an_object", "a notification must be a JSON object"),
        ("{}", "missing_type", "missing notification type (`type`, or `eventType`)"),
        (
            r#"{"type":"x"}"#,
            "invalid_type",
            "`type` must be a string `resource.action` (lowercase letters, digits, '_' or '-'; one dot)",
        ),
        (
            r#"{"type":"a.b","version":"x"}"#,
            "invalid_version",
            "`version` must be a string like \"1\" or \"1.2\", or a non-negative number",
        ),
        (r#"{"type":"a.b","version":"2"}"#, "incompatible_version", "incompatible major version 2 (supported: 1)"),
        (r#"{"type":"a.b","metadata":1}"#, "invalid_field", "`metadata` must be an object"),
        (r#"{"type":"a.b","data":{"id":[]}}"#, "invalid_field", "`data.id` must be a string or a number"),
    ];
    for (raw, code, message) in cases {
        let err = parse(raw).unwrap_err();
        assert_eq!((err.reason.code(), err.to_string().as_str()), (code, message), "{raw}");
        assert_eq!(err.error_name(), "NotificationSchemaError");
    }
}
