//! A small WebDriver client: the W3C protocol is JSON over HTTP, and the
//! remote end (tauri-driver in front of WebKitWebDriver) is on loopback, so
//! a plain HTTP/1.1 exchange over a tokio `TcpStream` (one connection per
//! command, `Connection: close`) is all it takes. Only what Herald's window
//! tests use is here: sessions, CSS lookups, clicks, typing, text and
//! attributes, synchronous scripts, screenshots.
//!
//! Every command has a deadline. Methods that a test expects to succeed
//! panic with the command and the driver's answer; the `try_` forms return
//! the [`WebDriverError`] for tests (and waits) that look at failures.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{try_wait_for, WAIT};

/// How long one command may take. Starting a session launches the app and
/// loads its page, the slowest command by far (about a second here).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The key under which W3C WebDriver serialises an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A script, run in the page just before a screenshot, that repaints a
/// nearly transparent 2×2 px square on every animation frame. WebKitGTK's
/// Take Screenshot waits for the page's next presentation update; with
/// `WEBKIT_DISABLE_DMABUF_RENDERER=1` under Xvfb an idle page never has one,
/// and the command hangs until it times out. Something painting makes
/// that update come at once.
const PAINT_TICKER_START: &str = r#"
    if (!document.getElementById("e2e-paint-ticker")) {
        const square = document.createElement("div");
        square.id = "e2e-paint-ticker";
        square.setAttribute("aria-hidden", "true");
        square.style.cssText = "position:fixed;left:0;bottom:0;width:2px;height:2px;pointer-events:none;z-index:2147483647";
        document.body.appendChild(square);
        let frame = 0;
        const tick = () => {
            if (!square.isConnected) return;
            frame += 1;
            square.style.background = frame % 2 ? "rgba(128,128,128,0.01)" : "rgba(128,128,128,0.02)";
            requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
    }
"#;
const PAINT_TICKER_STOP: &str = r#"document.getElementById("e2e-paint-ticker")?.remove();"#;

/// What the remote end answered when a command failed, or why there was no
/// answer.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    /// The HTTP status; 0 when the exchange itself failed.
    pub status: u16,
    /// The W3C error code (`no such element`, `javascript error`, …), or
    /// `transport` / `timeout` for failures on this side.
    pub error: String,
    pub message: String,
}

impl WebDriverError {
    fn transport(message: String) -> WebDriverError {
        WebDriverError {
            status: 0,
            error: "transport".into(),
            message,
        }
    }

    pub fn is_no_such_element(&self) -> bool {
        self.error == "no such element"
    }
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} (http {}): {}",
            self.error, self.status, self.message
        )
    }
}

impl std::error::Error for WebDriverError {}

/// A WebDriver remote end on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    port: u16,
}

impl Client {
    pub fn new(port: u16) -> Client {
        Client { port }
    }

    /// One command: `method path` with an optional JSON body; returns the
    /// answer's `value`.
    pub async fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, WebDriverError> {
        match tokio::time::timeout(timeout, self.exchange(method, path, body)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(WebDriverError {
                status: 0,
                error: "timeout".into(),
                message: format!("`{method} {path}` got no answer within {timeout:?}"),
            }),
        }
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WebDriverError> {
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .map_err(|error| {
                WebDriverError::transport(format!("cannot connect to port {}: {error}", self.port))
            })?;
        // tauri-driver forwards to the native driver at the host named in
        // `Host`, so it must be the loopback address, not a name. No
        // `Connection: close`: tauri-driver passes headers on to
        // WebKitWebDriver, whose closing connection then races tauri-driver's
        // pool of connections to it, and a lost race is an empty answer. The
        // answer is read up to its length instead, and this side closes.
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: application/json\r\n",
            self.port
        );
        if body.is_some() {
            request.push_str("Content-Type: application/json; charset=utf-8\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n", payload.len()));
        request.push_str(&payload);
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|error| WebDriverError::transport(format!("cannot send: {error}")))?;
        let mut raw = Vec::new();
        let mut buffer = vec![0_u8; 64 * 1024];
        let (status, body) = loop {
            let read = stream
                .read(&mut buffer)
                .await
                .map_err(|error| WebDriverError::transport(format!("cannot read: {error}")))?;
            raw.extend_from_slice(&buffer[..read]);
            if let Some(response) =
                parse_response(&raw, read == 0).map_err(WebDriverError::transport)?
            {
                break response;
            }
        };
        let answer: Value = serde_json::from_slice(&body).map_err(|error| {
            WebDriverError::transport(format!(
                "http {status} with a body that is not json ({error}): {}",
                String::from_utf8_lossy(&body[..body.len().min(500)])
            ))
        })?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(WebDriverError {
                status,
                error: value["error"].as_str().unwrap_or("unknown error").into(),
                message: value["message"].as_str().unwrap_or_default().into(),
            })
        }
    }

    /// `GET /status`: whether the remote end can start a session.
    pub async fn ready(&self) -> Result<bool, WebDriverError> {
        let status = self
            .command("GET", "/status", None, Duration::from_secs(5))
            .await?;
        Ok(status["ready"].as_bool().unwrap_or(false))
    }

    /// Starts a session with these capabilities (`alwaysMatch`).
    pub async fn new_session(&self, always_match: Value) -> Result<Session, WebDriverError> {
        let body = json!({ "capabilities": { "alwaysMatch": always_match } });
        let value = self
            .command("POST", "/session", Some(&body), COMMAND_TIMEOUT)
            .await?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| {
                WebDriverError::transport(format!("a new session without an id: {value}"))
            })?
            .to_string();
        Ok(Session {
            client: *self,
            id,
            capabilities: value["capabilities"].clone(),
        })
    }
}

/// Splits a raw HTTP/1.1 response into its status and (de-chunked) body:
/// `None` while more is to come, an error when `ended` (the peer closed)
/// and the response is still incomplete.
fn parse_response(raw: &[u8], ended: bool) -> Result<Option<(u16, Vec<u8>)>, String> {
    let incomplete = |what: String| if ended { Err(what) } else { Ok(None) };
    let Some(head_end) = raw.windows(4).position(|window| window == b"\r\n\r\n") else {
        return incomplete(format!(
            "no complete http head in {} bytes: {:?}",
            raw.len(),
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ));
    };
    let head =
        std::str::from_utf8(&raw[..head_end]).map_err(|_| "an http head that is not utf-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("a bad status line: {status_line:?}"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            chunked = true;
        }
    }
    let rest = &raw[head_end + 4..];
    if chunked {
        return match dechunk(rest)? {
            Some(body) => Ok(Some((status, body))),
            None => incomplete("the body ended inside a chunk".into()),
        };
    }
    match content_length {
        Some(length) if rest.len() >= length => Ok(Some((status, rest[..length].to_vec()))),
        Some(length) => incomplete(format!(
            "the body ended after {} of {length} bytes",
            rest.len()
        )),
        None if ended => Ok(Some((status, rest.to_vec()))),
        None => Ok(None),
    }
}

/// The body of a chunked response; `None` until its last chunk is there.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    // Bounded: every round consumes at least the size line.
    loop {
        let Some(line_end) = rest.windows(2).position(|window| window == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).map_err(|_| "a bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("a bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// One WebDriver session: one running app and its window.
#[derive(Debug)]
pub struct Session {
    client: Client,
    id: String,
    capabilities: Value,
}

/// An element of the page, valid until the page drops or replaces it.
#[derive(Debug, Clone)]
pub struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Session {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the remote end said it is (browser name and version…).
    pub fn capabilities(&self) -> &Value {
        &self.capabilities
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WebDriverError> {
        let path = format!("/session/{}{path}", self.id);
        self.client
            .command(method, &path, body, COMMAND_TIMEOUT)
            .await
    }

    fn element(&self, value: &Value) -> Option<Element<'_>> {
        value[ELEMENT_KEY].as_str().map(|id| Element {
            session: self,
            id: id.to_string(),
        })
    }

    /// The first element matching `css` now, if there is one.
    pub async fn try_find(&self, css: &str) -> Result<Option<Element<'_>>, WebDriverError> {
        let body = json!({ "using": "css selector", "value": css });
        match self.call("POST", "/element", Some(&body)).await {
            Ok(value) => Ok(self.element(&value)),
            Err(error) if error.is_no_such_element() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every element matching `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let body = json!({ "using": "css selector", "value": css });
        let value = self
            .call("POST", "/elements", Some(&body))
            .await
            .unwrap_or_else(|error| panic!("finding all of `{css}` failed: {error}"));
        value
            .as_array()
            .map(|items| items.iter().filter_map(|item| self.element(item)).collect())
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting (bounded) for it to appear.
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.wait_for(&format!("an element matching `{css}`"), WAIT, || async {
            match self.try_find(css).await {
                Ok(Some(element)) => Ok(element),
                Ok(None) => Err("not in the page".into()),
                Err(error) => Err(error.to_string()),
            }
        })
        .await
    }

    /// Clicks the first element matching `css` (waiting for it to appear).
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await;
    }

    /// Chooses the option whose value is `value` in the `<select>` matching
    /// `select_css`, by clicking the option as a user picking it from the
    /// list would (the select gets its `input` and `change` events).
    pub async fn select_option(&self, select_css: &str, value: &str) {
        let option = format!("{select_css} option[value=\"{value}\"]");
        self.click(&option).await;
        let chosen = self.find(select_css).await.property("value").await;
        assert_eq!(
            chosen.as_str(),
            Some(value),
            "clicking `{option}` chooses it"
        );
    }

    /// Runs `script` (a function body: use `return`) with `args`
    /// (`arguments[0]`…) synchronously in the page.
    pub async fn try_execute(&self, script: &str, args: &[Value]) -> Result<Value, WebDriverError> {
        let body = json!({ "script": script, "args": args });
        self.call("POST", "/execute/sync", Some(&body)).await
    }

    pub async fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.try_execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("the script failed: {error}\nscript: {script}"))
    }

    /// The element a script returns (`null` → `None`).
    pub async fn find_by_script(&self, script: &str, args: &[Value]) -> Option<Element<'_>> {
        let value = self.execute(script, args).await;
        self.element(&value)
    }

    /// Waits (bounded by `timeout`) until `script` returns something other
    /// than `null`, `undefined` or `false`, and returns that.
    pub async fn wait_script(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        args: &[Value],
    ) -> Value {
        self.wait_for(what, timeout, || async {
            match self.try_execute(script, args).await {
                Ok(Value::Null | Value::Bool(false)) => Err("the script returned nothing".into()),
                Ok(value) => Ok(value),
                Err(error) => Err(error.to_string()),
            }
        })
        .await
    }

    /// Polls `probe` until it yields `Ok`, at most for `timeout`; on a
    /// timeout fails with what was seen last and the page's text.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        match try_wait_for(timeout, probe).await {
            Ok(value) => value,
            Err(last) => {
                let page = self
                    .try_execute("return document.body ? document.body.innerText : ''", &[])
                    .await
                    .map(|text| {
                        text.as_str()
                            .unwrap_or_default()
                            .chars()
                            .take(2000)
                            .collect()
                    })
                    .unwrap_or_else(|error| format!("(cannot read the page: {error})"));
                panic!(
                    "timed out after {timeout:?} waiting for {what}; last seen: {last}\n\
                     the page's text:\n{page}"
                )
            }
        }
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        let value = self
            .call("GET", "/title", None)
            .await
            .unwrap_or_else(|error| panic!("reading the title failed: {error}"));
        value.as_str().unwrap_or_default().to_string()
    }

    /// Reloads the page (the app keeps running).
    pub async fn refresh(&self) {
        self.call("POST", "/refresh", Some(&json!({})))
            .await
            .unwrap_or_else(|error| panic!("reloading the page failed: {error}"));
    }

    /// Takes a screenshot of the window and writes it to `path` as PNG.
    pub async fn screenshot(&self, path: &Path) {
        self.execute(PAINT_TICKER_START, &[]).await;
        let taken = self.call("GET", "/screenshot", None).await;
        // Best effort: a failed screenshot is the error worth reporting.
        let _ = self.try_execute(PAINT_TICKER_STOP, &[]).await;
        let encoded = taken.unwrap_or_else(|error| panic!("the screenshot failed: {error}"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .unwrap_or_else(|error| panic!("the screenshot is not base64: {error}"));
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot is not a png ({} bytes)",
            png.len()
        );
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory)
                .unwrap_or_else(|error| panic!("cannot create {}: {error}", directory.display()));
        }
        std::fs::write(path, png)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }

    /// Ends the session; the remote end closes the window.
    pub async fn delete(self) -> Result<(), WebDriverError> {
        self.call("DELETE", "", None).await.map(|_| ())
    }
}

impl Element<'_> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WebDriverError> {
        self.session
            .call(method, &format!("/element/{}{path}", self.id), body)
            .await
    }

    /// This element as a script argument.
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    pub async fn try_click(&self) -> Result<(), WebDriverError> {
        self.call("POST", "/click", Some(&json!({})))
            .await
            .map(|_| ())
    }

    /// A real click (the driver scrolls the element into view and clicks its
    /// centre, so what covers it gets the click).
    pub async fn click(&self) {
        self.try_click()
            .await
            .unwrap_or_else(|error| panic!("clicking element {} failed: {error}", self.id));
    }

    /// Types `text` into the element, as key events.
    pub async fn send_keys(&self, text: &str) {
        self.call("POST", "/value", Some(&json!({ "text": text })))
            .await
            .unwrap_or_else(|error| panic!("typing {text:?} failed: {error}"));
    }

    /// Empties an input.
    pub async fn clear(&self) {
        self.call("POST", "/clear", Some(&json!({})))
            .await
            .unwrap_or_else(|error| panic!("clearing element {} failed: {error}", self.id));
    }

    pub async fn try_text(&self) -> Result<String, WebDriverError> {
        let value = self.call("GET", "/text", None).await?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// The rendered text, as a user reads it.
    pub async fn text(&self) -> String {
        self.try_text()
            .await
            .unwrap_or_else(|error| panic!("reading the text of {} failed: {error}", self.id))
    }

    /// An attribute's value, `None` when it is absent.
    pub async fn attribute(&self, name: &str) -> Option<String> {
        let value = self
            .call("GET", &format!("/attribute/{name}"), None)
            .await
            .unwrap_or_else(|error| panic!("reading attribute {name} failed: {error}"));
        value.as_str().map(str::to_string)
    }

    /// A DOM property (`value`, `checked`…).
    pub async fn property(&self, name: &str) -> Value {
        self.call("GET", &format!("/property/{name}"), None)
            .await
            .unwrap_or_else(|error| panic!("reading property {name} failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_with_a_length_chunks_or_neither_parse() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"value\":nul}extra";
        assert_eq!(
            parse_response(plain, false).expect("parses"),
            Some((200, b"{\"value\":nul}".to_vec()))
        );
        let chunked = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"va\r\n8;x=y\r\nlue\":1}\n\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked, false).expect("parses"),
            Some((404, b"{\"value\":1}\n".to_vec()))
        );
        let until_close = b"HTTP/1.1 500 Oops\r\n\r\n{}";
        assert_eq!(parse_response(until_close, false).expect("waits"), None);
        assert_eq!(
            parse_response(until_close, true).expect("parses"),
            Some((500, b"{}".to_vec()))
        );
    }

    #[test]
    fn incomplete_responses_wait_or_fail_at_the_end() {
        for partial in [
            &b"HTTP/1.1 200 OK\r\nContent-Len"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"va",
        ] {
            assert_eq!(
                parse_response(partial, false).expect("waits for more"),
                None,
                "{partial:?}"
            );
            assert!(
                parse_response(partial, true).is_err(),
                "a peer that closes early fails the command: {partial:?}"
            );
        }
    }
}
