//! What the executor drives: a [`StepRunner`] performs each [`Attempt`], and the [`Host`] lends
//! time, randomness and an observer. `src/js` implements the runner with the user's JS functions;
//! native tests implement it with closures on a virtual clock (see [`super::executor`]).

use std::rc::Rc;

use futures::future::LocalBoxFuture;

use super::cancel::CancelToken;
use super::definition::Version;
use super::error::StepError;
use super::event::Observer;
use crate::platform::{Clock, Rng};

/// What a step's `execute` or `compensate` is told about the attempt.
#[derive(Clone)]
pub struct Attempt {
    /// The transaction's id.
    pub transaction_id: Rc<str>,
    /// The step's name.
    pub step: Rc<str>,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// `true` when this is a compensation attempt.
    pub compensating: bool,
    /// Aborted when the attempt times out or the transaction is cancelled.
    pub signal: CancelToken,
}

/// Performs the steps. In wasm these call the user's JS functions.
pub trait StepRunner {
    /// What `execute` returns.
    type Output;
    /// The host's raw error, kept as the `cause` of a [`StepError`].
    type Cause: Clone;
    /// Runs attempt `attempt` of step `step`'s forward action.
    fn execute(
        &self,
        step: usize,
        attempt: &Attempt,
    ) -> LocalBoxFuture<'static, Result<Self::Output, StepError<Self::Cause>>>;
    /// Runs attempt `attempt` of step `step`'s compensation.
    fn compensate(&self, step: usize, attempt: &Attempt)
        -> LocalBoxFuture<'static, Result<(), StepError<Self::Cause>>>;
    /// The `version` a result carries, for `requiresVersionCheck`.
    fn version_of(&self, _output: &Self::Output) -> Option<Version> {
        None
    }
    /// Keeps a step's result (`ctx.results[name]`), before any later step or compensation runs.
    fn commit(&self, _step: usize, _output: Self::Output) {}
}

/// The host's services, borrowed for one run.
pub struct Host<'a, C> {
    /// Time and timers.
    pub clock: &'a dyn Clock,
    /// Jitter.
    pub rng: &'a dyn Rng,
    /// Events and checkpoints.
    pub observer: &'a dyn Observer<C>,
}
