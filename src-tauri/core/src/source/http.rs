//! A small HTTP/1.1 GET client for the REST calls sources need beside their
//! socket (Gotify's catch-up pages, ntfy's poll requests). It shares the
//! source's TLS config and headers, bounds the response size and the time
//! taken, and understands `Content-Length` and chunked bodies.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

use crate::i18n::text;

/// A response with its body fully read.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// GETs `url` (http, https, ws or wss; the latter two as their HTTP twins).
pub async fn get(
    url: &Url,
    headers: &[(String, String)],
    tls: &Arc<ClientConfig>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Response, String> {
    request("GET", url, headers, None, tls, timeout, max_bytes).await
}

/// Sends one request with an optional body and reads the whole response.
pub async fn request(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    tls: &Arc<ClientConfig>,
    timeout: Duration,
    max_bytes: usize,
) -> Result<Response, String> {
    if !method.bytes().all(|byte| byte.is_ascii_uppercase()) || method.is_empty() {
        return Err(text(
            "http.not_a_method",
            &[("method", &format!("{method:?}"))],
        ));
    }
    tokio::time::timeout(
        timeout,
        get_inner(method, url, headers, body, tls, max_bytes),
    )
    .await
    .map_err(|_| {
        text(
            "connection.no_answer",
            &[
                ("url", &redacted(url)),
                ("secs", &timeout.as_secs().to_string()),
            ],
        )
    })?
}

async fn get_inner(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    tls: &Arc<ClientConfig>,
    max_bytes: usize,
) -> Result<Response, String> {
    let secure = matches!(url.scheme(), "https" | "wss");
    let host = url
        .host_str()
        .ok_or_else(|| text("http.no_host", &[]))?
        .to_string();
    let port = url
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let connect_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tcp = TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(|error| {
            text(
                "http.cannot_connect",
                &[
                    ("address", &format!("{host}:{port}")),
                    ("error", &error.to_string()),
                ],
            )
        })?;
    let _ = tcp.set_nodelay(true);
    let mut target = url.path().to_string();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let host_header = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: herald/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut request = request.into_bytes();
    request.extend_from_slice(body.unwrap_or_default());
    if secure {
        let server_name = ServerName::try_from(connect_host)
            .map_err(|error| text("http.bad_server_name", &[("error", &error.to_string())]))?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|error| {
                text(
                    "http.tls_handshake",
                    &[("host", &host), ("error", &error.to_string())],
                )
            })?;
        exchange(stream, &request, max_bytes).await
    } else {
        exchange(tcp, &request, max_bytes).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    max_bytes: usize,
) -> Result<Response, String> {
    stream
        .write_all(request)
        .await
        .map_err(|error| text("http.send_failed", &[("error", &error.to_string())]))?;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = match stream.read(&mut buffer).await {
            Ok(read) => read,
            // Servers that close without TLS close_notify: keep what arrived.
            Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(error) => return Err(text("http.read_failed", &[("error", &error.to_string())])),
        };
        if read == 0 {
            break;
        }
        raw.extend_from_slice(&buffer[..read]);
        if raw.len() > max_bytes + 64 * 1024 {
            return Err(text("http.too_large", &[("max", &max_bytes.to_string())]));
        }
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| text("http.headers_unfinished", &[]))?;
    let head =
        std::str::from_utf8(&raw[..head_end]).map_err(|_| text("http.headers_not_text", &[]))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            text(
                "http.bad_status_line",
                &[("line", &format!("{status_line:?}"))],
            )
        })?;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            }
        }
    }
    let rest = &raw[head_end + 4..];
    let body = if chunked {
        decode_chunked(rest)?
    } else if let Some(length) = length {
        rest.get(..length)
            .ok_or_else(|| text("http.body_short", &[]))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response { status, body })
}

fn decode_chunked(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|window| window == b"\r\n")
            .ok_or_else(|| text("http.chunk_header_truncated", &[]))?;
        let size_text = std::str::from_utf8(&rest[..line_end])
            .map_err(|_| text("http.bad_chunk_header", &[]))?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| {
            text(
                "http.bad_chunk_size",
                &[("size", &format!("{size_text:?}"))],
            )
        })?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let truncated = || text("http.chunk_truncated", &[]);
        let chunk = rest.get(..size).ok_or_else(truncated)?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or_else(truncated)?;
    }
}

/// The URL without its query, which may carry a token.
pub fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_bodies() {
        let plain =
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA").expect("valid");
        assert_eq!((plain.status, plain.body.as_slice()), (200, &b"hi"[..]));
        let chunked = parse_response(b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n")
            .expect("valid");
        assert_eq!(
            (chunked.status, chunked.body.as_slice()),
            (401, &b"abcde"[..])
        );
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n").is_err()
        );
        assert!(parse_response(b"garbage").is_err());
    }

    #[test]
    fn redaction_drops_query_tokens() {
        let url = Url::parse("wss://user:pw@host/stream?token=abc").expect("url");
        assert_eq!(redacted(&url), "wss://user@host/stream");
    }
}
