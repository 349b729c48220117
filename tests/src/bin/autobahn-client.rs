//! The Autobahn testsuite's client half, on Herald's WebSocket settings:
//! the same tokio-tungstenite stack and limits every source connects with
//! (`herald_core::source::websocket_config`). It runs every case the
//! fuzzing server offers, echoing each message back as the suite expects,
//! then asks the server to write its report. Run by `tests/scripts/autobahn`,
//! which judges the report: `tests/tests/conformance.rs`.

use futures_util::{SinkExt, StreamExt};
use herald_core::config::SourceConfig;
use herald_core::source::websocket_config;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let base = std::env::var("AUTOBAHN_URL")?;
    let agent = std::env::var("AUTOBAHN_AGENT").unwrap_or_else(|_| "herald".into());
    let count: u32 = {
        let (mut socket, _) = connect(&format!("{base}/getCaseCount")).await?;
        match socket.next().await {
            Some(Ok(Message::Text(text))) => text.parse()?,
            other => return Err(format!("no case count: {other:?}").into()),
        }
    };
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        // A case may refuse the handshake or break the connection on
        // purpose; the report says whether that was right.
        if let Ok((mut socket, _)) = connect(&url).await {
            while let Some(Ok(message)) = socket.next().await {
                let echo = match message {
                    Message::Text(_) | Message::Binary(_) => message,
                    _ => continue,
                };
                if socket.send(echo).await.is_err() {
                    break;
                }
            }
        }
    }
    let (mut socket, _) = connect(&format!("{base}/updateReports?agent={agent}")).await?;
    // The server closes once the report is written.
    while let Some(Ok(_)) = socket.next().await {}
    println!("autobahn-client: ran {count} cases");
    Ok(())
}

async fn connect(
    url: &str,
) -> Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tokio_tungstenite::tungstenite::handshake::client::Response,
    ),
    tokio_tungstenite::tungstenite::Error,
> {
    let config = websocket_config(SourceConfig::default().max_frame_bytes);
    tokio_tungstenite::connect_async_with_config(url, Some(config), true).await
}
