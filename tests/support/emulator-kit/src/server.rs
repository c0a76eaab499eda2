//! The loopback server: one thread, one current-thread runtime, one axum fallback handler that
//! takes every request to the emulator's state.
//!
//! One runtime thread is enough: every request is served under the state's one lock, and a long
//! poll ([`Serve::hold`]) sleeps without holding the thread.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Router;
use axum::extract::State as Shared;
use axum::response::Response;
use tokio::sync::oneshot;

use crate::exchange::{Answer, Request};

/// What an emulator does with a request: its state, its routes, its contract.
pub trait Serve: Send + 'static {
    fn serve(&mut self, request: &Request) -> Answer;

    /// How long to hold `request` before serving it (a long poll), slept outside the lock so that
    /// other requests and the test go on meanwhile.
    fn hold(&mut self, _request: &Request) -> Option<Duration> {
        None
    }
}

/// A running server. Dropping it stops serving and joins the thread.
pub struct Server<S> {
    pub addr: SocketAddr,
    state: Arc<Mutex<S>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The state, and the vendor the handler's messages name.
type App<S> = (Arc<Mutex<S>>, &'static str);

impl<S: Serve> Server<S> {
    /// Bind a free loopback port, make the state (which may need the address), and serve it.
    /// `vendor` names the thread and every message (`cloudflare` emulator: …). Panics if it
    /// cannot: tests must fail, not skip.
    pub fn start(vendor: &'static str, state: impl FnOnce(SocketAddr) -> S) -> Server<S> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("{vendor} emulator: bind 127.0.0.1:0: {e}"));
        listener.set_nonblocking(true).unwrap_or_else(|e| panic!("{vendor} emulator: non-blocking listener: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{vendor} emulator: local address: {e}"));
        let state = Arc::new(Mutex::new(state(addr)));
        let (stop, stopped) = oneshot::channel::<()>();
        let app: App<S> = (Arc::clone(&state), vendor);
        let thread = std::thread::Builder::new()
            .name(format!("{vendor}-emulator-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("{vendor} emulator: runtime: {e}"));
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .unwrap_or_else(|e| panic!("{vendor} emulator: listener: {e}"));
                    let app = Router::new().fallback(handle::<S>).with_state(app);
                    tokio::select! {
                        served = axum::serve(listener, app) => {
                            if let Err(e) = served {
                                tracing::error!(error = %e, "{vendor} emulator stopped serving");
                            }
                        }
                        _ = stopped => {}
                    }
                });
            })
            .unwrap_or_else(|e| panic!("{vendor} emulator: spawn thread: {e}"));
        Server { addr, state, stop: Some(stop), thread: Some(thread) }
    }

    pub fn lock(&self) -> MutexGuard<'_, S> {
        lock(&self.state)
    }
}

impl<S> Drop for Server<S> {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<S>(state: &Mutex<S>) -> MutexGuard<'_, S> {
    // A panic in a test thread holding the lock must not hide the emulator's state.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn handle<S: Serve>(Shared((state, vendor)): Shared<App<S>>, request: axum::extract::Request) -> Response {
    let request = Request::read(request).await;
    let hold = lock(&state).hold(&request);
    if let Some(hold) = hold {
        tokio::time::sleep(hold).await;
    }
    let answer = lock(&state).serve(&request);
    answer.into_response(vendor)
}
