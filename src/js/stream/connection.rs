//! One connection of a stream, over `fetch` or the browser's `EventSource`, until it ends.
//! What happens next (reconnect, stop, fail) is the driver's call, from [`Ended`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Array, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::sys;
use super::Inner;
use crate::notify::event_source::EventSourceIds;
use crate::notify::parser::Event;
use crate::platform::web::WebClock;
use crate::platform::Clock;

/// How a connection ended.
pub enum Ended {
    /// The body ended, the network failed or the watchdog fired: reconnect.
    Reconnect { opened: bool, opened_at: f64, error: Option<JsValue> },
    /// `204 No Content`: the server asked us to stop.
    NoContent,
    /// A status other than 200 or a type other than `text/event-stream`: fail, no reconnect.
    Fatal(JsValue),
    /// `close()` (or the caller's signal).
    Closed,
}

/// Why a [`race`] stopped waiting.
enum Interrupted {
    Closed,
    Timeout,
}

/// Waits for `fut` unless the stream closes or `timeout_ms` (0: none) passes first.
async fn race<T>(inner: &Inner, fut: impl Future<Output = T>, timeout_ms: u64) -> Result<T, Interrupted> {
    let mut fut = pin!(fut);
    let mut closed = pin!(inner.closed.aborted());
    let mut timer = (timeout_ms > 0).then(|| WebClock.sleep(timeout_ms));
    futures::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if closed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(Interrupted::Closed));
        }
        if let Some(t) = &mut timer {
            if t.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(Interrupted::Timeout));
            }
        }
        Poll::Pending
    })
    .await
}

/// Runs one fetch-stream connection: headers (the provider is called every time, so a token
/// can be refreshed), the spec's status/type checks, then chunks into the parser until the end.
pub async fn fetch(inner: &Rc<Inner>) -> Ended {
    let opts = &inner.options;
    let not_open = |error| Ended::Reconnect { opened: false, opened_at: 0.0, error: Some(error) };
    let headers = match race(inner, JsFuture::from(sys::resolve_headers(&opts.headers)), 0).await {
        Err(_) => return Ended::Closed,
        Ok(Err(e)) => return not_open(e),
        Ok(Ok(h)) => h,
    };
    let controller = web_sys::AbortController::new().ok();
    let Some(controller) = controller else { return Ended::Fatal(JsValue::from_str("AbortController is missing")) };
    *inner.current.borrow_mut() = Some(controller.clone());
    let last_event_id = inner.last_event_id();
    let request = sys::open_fetch(
        &opts.url,
        opts.method.clone(),
        &headers,
        opts.body.clone(),
        opts.credentials.clone(),
        &last_event_id,
        &controller.signal(),
        &opts.fetch,
    );
    let response: Array = match race(inner, JsFuture::from(request), opts.heartbeat_timeout_ms).await {
        Err(Interrupted::Closed) => return Ended::Closed,
        Err(Interrupted::Timeout) => {
            controller.abort();
            return not_open(inner.error("TimeoutError", "no response before the heartbeat timeout"));
        }
        Ok(Err(e)) => return not_open(e),
        Ok(Ok(r)) => r.unchecked_into(),
    };
    let status = response.get(0).as_f64().unwrap_or(0.0) as u16;
    let content_type = response.get(1).as_string().unwrap_or_default();
    let reader = response.get(2);
    if status == 204 {
        return Ended::NoContent;
    }
    if status != 200 || !is_event_stream(&content_type) {
        if !reader.is_null() {
            sys::cancel_reader(&reader);
        }
        let reason = if status != 200 {
            format!("the server answered {status} instead of 200")
        } else {
            format!("the server sent \"{content_type}\" instead of text/event-stream")
        };
        let error = inner.error("StreamResponseError", &reason);
        let _ = js_sys::Reflect::set(&error, &"status".into(), &status.into());
        return Ended::Fatal(error);
    }
    if reader.is_null() {
        return not_open(inner.error("StreamResponseError", "the response has no body"));
    }
    let opened_at = WebClock.now_ms();
    inner.opened();
    let reconnect = |error| Ended::Reconnect { opened: true, opened_at, error };
    loop {
        match race(inner, JsFuture::from(sys::read_chunk(&reader)), opts.heartbeat_timeout_ms).await {
            Err(Interrupted::Closed) => {
                sys::cancel_reader(&reader);
                return Ended::Closed;
            }
            Err(Interrupted::Timeout) => {
                // A silent connection may be dead without the socket knowing: start afresh.
                sys::cancel_reader(&reader);
                controller.abort();
                let silent = inner.error("TimeoutError", "no data or heartbeat within heartbeatTimeoutMs");
                return reconnect(Some(silent));
            }
            Ok(Err(e)) => return reconnect(Some(e)),
            Ok(Ok(chunk)) if chunk.is_null() || chunk.is_undefined() => return reconnect(None),
            Ok(Ok(chunk)) => inner.feed(&chunk.unchecked_into::<Uint8Array>().to_vec()).await,
        }
    }
}

/// `text/event-stream`, ignoring parameters and case (`text/event-stream; charset=utf-8`).
fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// What the `EventSource` callbacks hand the driver.
enum Signal {
    Event(Event),
    Open,
    Error { closed: bool },
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Signal>,
    waker: Option<Waker>,
}

/// Runs the browser's `EventSource`: it parses and reconnects by itself (with `Last-Event-ID`);
/// we still dedupe and route. It cannot report why it failed, only that it closed.
pub async fn event_source(inner: &Rc<Inner>) -> Ended {
    let queue: Rc<RefCell<Queue>> = Rc::default();
    let push = |queue: &Rc<RefCell<Queue>>, signal| {
        let mut q = queue.borrow_mut();
        q.items.push_back(signal);
        if let Some(w) = q.waker.take() {
            w.wake();
        }
    };
    let q = queue.clone();
    let mut ids = EventSourceIds::new(&inner.last_event_id());
    let on_event = Closure::<dyn FnMut(String, String, String)>::new(move |kind: String, data, id| {
        push(&q, Signal::Event(ids.event(&kind, data, id)));
    });
    let q = queue.clone();
    let on_open = Closure::<dyn FnMut()>::new(move || push(&q, Signal::Open));
    let q = queue.clone();
    let on_error = Closure::<dyn FnMut(u8)>::new(move |state: u8| push(&q, Signal::Error { closed: state == 2 }));
    let types: Array = inner.options.event_types.iter().map(|t| JsValue::from_str(t)).collect();
    let source = sys::open_event_source(
        &inner.options.url,
        inner.options.credentials.as_deref() == Some("include"),
        on_event.as_ref().unchecked_ref(),
        on_open.as_ref().unchecked_ref(),
        on_error.as_ref().unchecked_ref(),
        &types,
    );
    // Closes the EventSource before its closures are dropped, whichever way this returns.
    struct Guard(sys::EventSource);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.close();
        }
    }
    let _guard = Guard(source);
    loop {
        let next = futures::future::poll_fn(|cx| {
            let mut q = queue.borrow_mut();
            match q.items.pop_front() {
                Some(signal) => Poll::Ready(signal),
                None => {
                    q.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        });
        match race(inner, next, 0).await {
            Err(_) => return Ended::Closed,
            Ok(Signal::Open) => inner.opened(),
            Ok(Signal::Event(event)) => {
                inner.delivery.remember_last_event_id(&event.last_event_id);
                inner.deliver_event(event).await
            }
            Ok(Signal::Error { closed: true }) => {
                return Ended::Fatal(inner.error("StreamResponseError", "the EventSource failed and closed"))
            }
            Ok(Signal::Error { closed: false }) => inner.reconnecting(),
        }
    }
}
