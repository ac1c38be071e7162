//! An HTTP proxy in front of the real dashboard that injects faults on command: answers slowed,
//! 500s, bodies cut short, HTML instead of JSON. The real dashboard answers; only what reaches
//! raytop is changed. It also records every request's method and path (what raytop sent).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    /// The real answer, this much later.
    Slow(Duration),
    /// Writes (anything but GET) reach the dashboard and are applied; their answer comes this
    /// much later (a write whose answer is lost on the way).
    SlowWrites(Duration),
    /// A 500 with a JSON error body, as aiohttp sends one.
    Status500,
    /// The real answer's body cut in half (with a matching Content-Length).
    Truncated,
    /// An HTML page with 200, as a misrouted ingress or a login page answers.
    Html,
    /// Writes (anything but GET) are recorded and answered 200 here, never forwarded: a test can
    /// see that raytop sent one without changing the cluster behind the proxy.
    SwallowWrites,
}

pub struct FaultProxy {
    pub url: String,
    fault: Arc<Mutex<Fault>>,
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FaultProxy {
    pub fn start(target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fault = Arc::new(Mutex::new(Fault::None));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (f, r) = (fault.clone(), requests.clone());
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (f, r) = (f.clone(), r.clone());
                thread::spawn(move || {
                    let _ = serve(conn, target, &f, &r);
                });
            }
        });
        FaultProxy { url, fault, requests }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// (method, path) of every request seen so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.requests.lock().unwrap().clone()
    }
}

/// One request: read it, send it upstream as HTTP/1.0 (so the answer is plain bytes to EOF,
/// never chunked), change the answer as the fault says, reply and close.
fn serve(
    conn: TcpStream,
    target: SocketAddr,
    fault: &Mutex<Fault>,
    requests: &Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") && !lower.starts_with("host:") {
            headers.push(h);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    requests.lock().unwrap().push((method.clone(), path.clone()));
    let fault = *fault.lock().unwrap();
    let mut conn = conn;
    if fault == Fault::Status500 {
        return reply(
            &mut conn,
            "500 Internal Server Error",
            "application/json",
            br#"{"result": false, "msg": "injected"}"#,
        );
    }
    if fault == Fault::SwallowWrites && method != "GET" {
        return reply(&mut conn, "200 OK", "application/json", b"{}");
    }
    if fault == Fault::Html {
        let page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>";
        return reply(&mut conn, "200 OK", "text/html", page);
    }
    let mut up = TcpStream::connect(target)?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {target}\r\nConnection: close\r\n");
    headers.iter().for_each(|h| req.push_str(h));
    req.push_str("\r\n");
    up.write_all(req.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    match fault {
        Fault::Slow(d) => thread::sleep(d),
        Fault::SlowWrites(d) if method != "GET" => thread::sleep(d),
        _ => {}
    }
    if fault == Fault::Truncated
        && let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n")
    {
        let body = &answer[split + 4..];
        let status = String::from_utf8_lossy(&answer[..split]).lines().next().unwrap_or_default().to_string();
        let status = status.split_once(' ').map_or("200 OK".to_string(), |(_, s)| s.to_string());
        return reply(&mut conn, &status, "application/json", &body[..body.len() / 2]);
    }
    conn.write_all(&answer)
}

fn reply(conn: &mut TcpStream, status: &str, kind: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)
}
