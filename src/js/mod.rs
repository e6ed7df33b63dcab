//! The JS API: the only module that touches `JsValue`.
