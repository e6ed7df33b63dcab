//! Transactions as sagas: ordered steps, each with an optional compensation.
//!
//! Pure Rust, no JS types: [`definition`] checks what the user wrote, [`executor`] runs it
//! against a [`StepRunner`], and the [`Report`] says exactly what happened. See
//! [`executor`] for a runnable example.

pub mod cancel;
pub mod definition;
pub mod error;
pub mod event;
pub mod executor;
mod guard;
pub mod http;
pub mod policy;
pub mod recovery;
pub mod report;
pub mod runner;

pub use cancel::{CancelToken, Subscription};
pub use definition::{DefinitionError, OnCompensationFailure, TransactionDef, Version};
pub use error::{FailureKind, StepError};
pub use event::{Checkpoint, CheckpointKind, EventKind, LifecycleEvent, Observer, Silent};
pub use executor::{execute, resume, Attempt, Host, StepRunner};
pub use policy::{Backoff, RetryPolicy};
pub use report::{CompensationReport, CompensationStatus, Report, StepReport, StepStatus, TransactionStatus};
