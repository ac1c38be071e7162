//! A tiny HTTP server for faults the real dashboard cannot be made to show on demand (a
//! truncated body). Each path answers a fixed status and body.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

pub struct Server {
    pub url: String,
}

pub fn serve(routes: HashMap<String, (u16, Vec<u8>)>) -> Server {
    serve_with_huge(routes, None)
}

/// Like `serve`, and `huge = (path, bytes)` answers that path (and any query after it, when the
/// path given has none) with a body of that many bytes,
/// generated as it is sent, with no Content-Length (the end is the connection's close).
pub fn serve_with_huge(routes: HashMap<String, (u16, Vec<u8>)>, huge: Option<(String, u64)>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let routes = Arc::new(routes);
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let routes = routes.clone();
            let huge = huge.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 2 {
                        line.clear();
                    }
                    let huge_path = |p: &String| *p == path || (!p.contains('?') && path.starts_with(&format!("{p}?")));
                    if let Some((_, len)) = huge.as_ref().filter(|(p, _)| huge_path(p)) {
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[";
                        let chunk = "{\"a\": 1}, ".repeat(6554);
                        let mut sent = 0u64;
                        let mut ok = conn.write_all(head.as_bytes()).is_ok();
                        while ok && sent < *len {
                            ok = conn.write_all(chunk.as_bytes()).is_ok();
                            sent += chunk.len() as u64;
                        }
                        return;
                    }
                    let (status, body) = routes.get(&path).cloned().unwrap_or((404, b"not found".to_vec()));
                    let head = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&body)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server { url }
}
