//! Handler tests for the inventory: the fixture events of `events/<function>/`, the in-memory
//! store and a clock the tests move.

mod store;
