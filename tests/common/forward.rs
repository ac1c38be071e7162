//! A TCP forwarder the tests can cut and restore, to stop "the dashboard" mid-run without
//! stopping the real one behind it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub struct Forwarder {
    pub port: u16,
    target: SocketAddr,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<thread::JoinHandle<()>>,
}

impl Forwarder {
    pub fn start(target: SocketAddr, port: u16) -> Forwarder {
        let mut f =
            Forwarder { port, target, stop: Arc::new(AtomicBool::new(false)), conns: Arc::default(), accept: None };
        f.up();
        f
    }

    /// Listens on `port` (0 = any free port) and forwards each connection to the target.
    pub fn up(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind forwarder");
        listener.set_nonblocking(true).unwrap();
        self.port = listener.local_addr().unwrap().port();
        self.stop = Arc::new(AtomicBool::new(false));
        let (stop, conns, target) = (self.stop.clone(), self.conns.clone(), self.target);
        self.accept = Some(thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(target) else {
                            continue;
                        };
                        conns.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(20)),
                }
            }
            // Dropping the listener closes the port: new connections are refused.
        }));
    }

    /// Refuses new connections and cuts the open ones. Never panics: Drop calls it.
    pub fn down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take()
            && h.join().is_err()
        {
            eprintln!("forwarder to {}: its accept thread panicked", self.target);
        }
        for c in self.conns.lock().unwrap_or_else(std::sync::PoisonError::into_inner).drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.down();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
