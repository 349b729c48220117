//! The test servers themselves, checked with a plain WebSocket client, so a
//! failing Herald test points at Herald and not at a fixture.

use std::time::Duration;

use base64::Engine as _;
use futures_util::StreamExt;
use herald_tests::gotify::GotifyServer;
use herald_tests::ntfy::{NtfyAuth, NtfyServer};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame};

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const READ_TIMEOUT: Duration = Duration::from_secs(10);

async fn connect(url: &str, authorization: Option<&str>) -> Result<Client, WsError> {
    let mut request = url.into_client_request()?;
    if let Some(value) = authorization {
        request.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(value).expect("a valid header value"),
        );
    }
    let (client, _) = tokio_tungstenite::connect_async(request).await?;
    Ok(client)
}

async fn next_event(client: &mut Client) -> Value {
    loop {
        let frame = tokio::time::timeout(READ_TIMEOUT, client.next())
            .await
            .expect("a frame within the timeout")
            .expect("the connection is open")
            .expect("a valid frame");
        if let Frame::Text(text) = frame {
            return serde_json::from_str(text.as_str()).expect("json");
        }
    }
}

/// Event ids up to (not including) the message with id `sentinel`.
async fn ids_until(client: &mut Client, sentinel: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..1000 {
        let event = next_event(client).await;
        let id = event["id"].as_str().unwrap_or_default().to_string();
        if id == sentinel {
            return ids;
        }
        ids.push(id);
    }
    panic!("no sentinel {sentinel} in 1000 frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_fixture_replays_like_ntfy() {
    let server = NtfyServer::start("t").await;
    let a = server.publish(json!({"time": 100, "message": "a"}));
    let other = server.publish(json!({"time": 150, "topic": "u", "message": "other topic"}));
    let b = server.publish(json!({"time": 200, "message": "b"}));
    let c = server.publish(json!({"time": 300, "message": "c"}));
    server.send_raw_text("{garbage"); // live only, never replayed

    let cases: Vec<(String, Vec<&String>)> = vec![
        ("?since=all".into(), vec![&a.id, &b.id, &c.id]),
        (format!("?since={}", a.id), vec![&b.id, &c.id]),
        ("?since=unknownid123".into(), vec![&a.id, &b.id, &c.id]),
        ("?since=200".into(), vec![&b.id, &c.id]),
        ("?since=301".into(), vec![]),
        (String::new(), vec![]),
    ];
    // Sentinels are cached too: every later replay includes them.
    let mut sentinels: Vec<String> = Vec::new();
    for (query, expected) in cases {
        let mut client = connect(&format!("{}{query}", server.url("t")), None)
            .await
            .expect("an open server upgrades");
        let open = next_event(&mut client).await;
        assert_eq!(open["event"], "open");
        assert_eq!(open["topic"], "t");
        let sentinel = server.publish(json!({"message": "sentinel"}));
        let got = ids_until(&mut client, &sentinel.id).await;
        let mut expected: Vec<String> = expected.into_iter().cloned().collect();
        if !query.is_empty() {
            expected.extend(sentinels.iter().cloned());
        }
        assert_eq!(got, expected, "since {query:?}");
        sentinels.push(sentinel.id);
    }
    let mut both = connect(&format!("{}?since=all", server.url("t,u")), None)
        .await
        .expect("two topics");
    next_event(&mut both).await;
    let sentinel = server.publish(json!({"message": "sentinel 2"}));
    let got = ids_until(&mut both, &sentinel.id).await;
    let sentinel_two = sentinel.id;
    assert!(got.contains(&other.id), "{got:?}");
    assert_eq!(server.requests().len(), 7);
    assert!(matches!(
        connect(&format!("ws://127.0.0.1:{}/nope", server.port()), None).await,
        Err(WsError::Http(response)) if response.status() == 404
    ));

    // Killed: clients are cut off and nobody can connect; restarted: same port.
    server.kill().await;
    let cut = tokio::time::timeout(READ_TIMEOUT, both.next())
        .await
        .expect("the kill is noticed");
    assert!(
        !matches!(cut, Some(Ok(Frame::Text(_)))),
        "no more messages after a kill: {cut:?}"
    );
    assert!(connect(&server.url("t"), None).await.is_err());
    server.restart().await;
    let mut again = connect(&format!("{}?since={}", server.url("t"), c.id), None)
        .await
        .expect("the restarted server upgrades");
    next_event(&mut again).await;
    let sentinel = server.publish(json!({"message": "sentinel 3"}));
    let got = ids_until(&mut again, &sentinel.id).await;
    sentinels.push(sentinel_two);
    assert_eq!(got, sentinels, "after c: the earlier sentinels only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_fixture_checks_credentials() {
    let basic = NtfyAuth::Basic {
        username: "phil".into(),
        password: "mypass".into(),
    };
    let server = NtfyServer::start_with_auth("t", basic).await;
    let header = "Basic cGhpbDpteXBhc3M=";
    assert!(connect(&server.url("t"), Some(header)).await.is_ok());
    let query = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
    assert!(connect(&format!("{}?auth={query}", server.url("t")), None)
        .await
        .is_ok());
    for wrong in [None, Some("Basic cGhpbDp3cm9uZw=="), Some("Bearer tk_x")] {
        assert!(matches!(
            connect(&server.url("t"), wrong).await,
            Err(WsError::Http(response)) if response.status() == 401
        ));
    }
    assert_eq!(server.connection_attempts(), 5);
    assert_eq!(server.accepted(), 2);

    let bearer = NtfyServer::start_with_auth("t", NtfyAuth::Bearer("tk_1".into())).await;
    assert!(connect(&bearer.url("t"), Some("Bearer tk_1")).await.is_ok());
    assert!(connect(&bearer.url("t"), Some("Bearer tk_2"))
        .await
        .is_err());
}

async fn http_get(port: u16, target: &str, key: Option<&str>) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connects");
    let key = key.map_or(String::new(), |key| format!("X-Gotify-Key: {key}\r\n"));
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{key}\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut answer = Vec::new();
    tokio::time::timeout(READ_TIMEOUT, stream.read_to_end(&mut answer))
        .await
        .expect("an answer in time")
        .expect("an answer");
    let answer = String::from_utf8(answer).expect("utf-8");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status");
    (status, serde_json::from_str(body).expect("a json body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gotify_fixture_pages_backward_and_streams() {
    let server = GotifyServer::start("tok").await;
    let port: u16 = server
        .url()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port");
    server.publish_many((0..450).map(|index| json!({"message": format!("m{index}")})));
    let ids = |page: &Value| -> Vec<u64> {
        page["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|message| message["id"].as_u64().expect("id"))
            .collect()
    };
    let (status, page) = http_get(port, "/message?limit=200", Some("tok")).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&page), (251..=450).rev().collect::<Vec<u64>>());
    assert_eq!(page["paging"]["since"], 251);
    let (_, page) = http_get(port, "/message?limit=200&since=251&token=tok", None).await;
    assert_eq!(ids(&page), (51..=250).rev().collect::<Vec<u64>>());
    let (_, page) = http_get(port, "/message?limit=200&since=51", Some("tok")).await;
    assert_eq!(ids(&page), (1..=50).rev().collect::<Vec<u64>>());
    assert!(page["paging"]["next"].is_null());
    assert_eq!(http_get(port, "/message", None).await.0, 401);
    assert_eq!(
        http_get(port, "/message?limit=500", Some("tok")).await.0,
        400
    );

    let mut client = connect(&format!("ws://127.0.0.1:{port}/stream?token=tok"), None)
        .await
        .expect("the stream upgrades");
    assert!(connect(&format!("ws://127.0.0.1:{port}/stream"), None)
        .await
        .is_err());
    let live = server.publish(json!({"title": "live", "message": "now", "priority": 8}));
    let message = next_event(&mut client).await;
    assert_eq!(message["id"], live, "the stream sends new messages only");
    assert_eq!(message["priority"], 8);
    assert!(message["date"]
        .as_str()
        .is_some_and(|date| date.ends_with("+08:00")));
}
