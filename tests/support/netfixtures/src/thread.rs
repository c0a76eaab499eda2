//! A server on a thread and current-thread runtime of its own, stopped when its handle drops.

use std::future::Future;

use tokio::sync::oneshot;

pub(crate) struct Background {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Runs `serve` until the handle drops. `serve` is built on the thread, inside the runtime,
    /// so it may bind and spawn.
    pub(crate) fn spawn<F, Fut>(name: &str, serve: F) -> Background
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("fixture runtime");
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    tokio::select! {
                        () = serve() => {}
                        _ = stopped => {}
                    }
                });
            })
            .expect("start a fixture thread");
        Background { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds a std listener on a free loopback port, so the address is known before the thread runs.
pub(crate) fn tcp_listener() -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.set_nonblocking(true).expect("non-blocking listener");
    l
}
