//! What sslprov's API emulators share, so that each keeps only what is its vendor's: its state,
//! its routes and its contract.
//!
//! [`Server::start`] binds a free loopback port and serves from a thread with its own Tokio
//! runtime, so that tests on any runtime (or none) and child processes can all call it. Every
//! request is read whole and handed, as a [`Request`], to the emulator's [`Serve`]
//! implementation under one lock, the same lock the test takes to look at or change the state.

mod exchange;
mod server;
mod window;

pub use exchange::{Answer, Request};
pub use server::{Serve, Server};
pub use window::max_in_window;
