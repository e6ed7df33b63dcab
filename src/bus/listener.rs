//! A Rust closure as a bus listener, compared by identity so `off` can remove it.

use std::rc::Rc;

/// A reference-counted callback; clones compare equal, separately created ones do not.
pub struct Listener<E: ?Sized>(Rc<dyn Fn(&E)>);

impl<E: ?Sized> Listener<E> {
    /// Wraps `f`.
    pub fn new(f: impl Fn(&E) + 'static) -> Self {
        Listener(Rc::new(f))
    }

    /// Calls the callback with `event`.
    pub fn call(&self, event: &E) {
        (self.0)(event)
    }
}

impl<E: ?Sized> Clone for Listener<E> {
    fn clone(&self) -> Self {
        Listener(self.0.clone())
    }
}

impl<E: ?Sized> PartialEq for Listener<E> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}
