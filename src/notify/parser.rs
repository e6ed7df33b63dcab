//! The SSE parser: the [`edgesaga-sse-parser`](edgesaga_sse_parser) crate
//! (`crates/sse-parser/`), re-exported. It is a crate of its own only so that its hot loop can
//! be built for speed while the rest of edgesaga is built for size (see `Cargo.toml`).
//!
//! ```
//! use edgesaga::notify::parser::{Item, SseParser};
//!
//! let mut parser = SseParser::default();
//! let mut items = Vec::new();
//! parser.feed(b"id: 1\ndata: hello\n\n", &mut items);
//! assert!(matches!(&items[..], [Item::Event(e)] if e.data == "hello" && &*e.last_event_id == "1"));
//! ```

pub use edgesaga_sse_parser::*;
