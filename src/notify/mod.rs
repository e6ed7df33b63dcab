//! Notifications over Server-Sent Events: a spec-exact, sans-IO parser and the pure parts of
//! a notification stream (envelope validation, routing, dedupe, reconnect policy).
