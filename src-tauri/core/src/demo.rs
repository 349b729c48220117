//! The demo feed: a small ntfy-compatible WebSocket server on loopback that
//! publishes realistic messages (e-commerce orders, IoT alarms, finance risk
//! checks, CI) in English and Chinese, so a new user sees Herald work without
//! a server of their own. It supports `since=` like ntfy, so a restarted
//! Herald resumes from where it stopped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as Frame;

/// The name of the source the demo creates and reuses.
pub const SOURCE_NAME: &str = "Demo feed";

/// Points the "Demo feed" source at `url` (creating it the first time) and
/// enables it. Returns its id.
pub async fn ensure_source(
    store: &crate::store::Store,
    url: String,
) -> Result<crate::model::SourceId, crate::store::StoreError> {
    use crate::store;
    store
        .write_async(move |transaction| {
            let now = crate::model::now_ms();
            match store::find_source_by_name(transaction, SOURCE_NAME)? {
                Some(existing) => {
                    store::update_source(transaction, existing.id, &url, &existing.config, now)?;
                    store::set_source_enabled(transaction, existing.id, true, now)?;
                    Ok(existing.id)
                }
                None => {
                    let source = store::NewSource {
                        name: SOURCE_NAME.into(),
                        protocol: crate::model::Protocol::Ntfy,
                        url,
                        enabled: true,
                        config: crate::config::SourceConfig::default(),
                    };
                    store::insert_source(transaction, &source, now)
                }
            }
        })
        .await
}

/// The topic the demo feed publishes on.
pub const TOPIC: &str = "demo";

struct Sample {
    title: &'static str,
    body: &'static str,
    priority: u8,
    tags: &'static [&'static str],
    click: Option<&'static str>,
    markdown: bool,
}

const SAMPLES: &[Sample] = &[
    Sample { title: "Order #10482 paid", body: "**$249.00** by card · 3 items · ships from *Warehouse East*.", priority: 3, tags: &["moneybag", "orders"], click: Some("https://shop.example.com/admin/orders/10482"), markdown: true },
    Sample { title: "订单 #10483 已支付", body: "金额 **¥1,299.00**,微信支付,2 件商品,预计明天发货。", priority: 3, tags: &["moneybag", "订单"], click: Some("https://shop.example.com/admin/orders/10483"), markdown: true },
    Sample { title: "Freezer 3 temperature high", body: "Cold room **F3** reads **-9.8 °C** (limit -18 °C) for 6 minutes.\n\n- Door sensor: closed\n- Compressor: running", priority: 5, tags: &["rotating_light", "iot", "cold-chain"], click: Some("https://iot.example.com/devices/f3"), markdown: true },
    Sample { title: "仓库 A3 库存告警", body: "SKU-1142「保温杯 500ml」库存 **12** 件,低于安全库存 50 件,请尽快补货。", priority: 4, tags: &["warning", "库存"], click: Some("https://erp.example.com/stock/SKU-1142"), markdown: true },
    Sample { title: "Risk check: unusual transfer", body: "Account ****4821 sent **$48,000** to a new payee in 3 transfers within 10 minutes. Score 87/100.", priority: 5, tags: &["warning", "risk", "finance"], click: Some("https://risk.example.com/cases/7731"), markdown: true },
    Sample { title: "风控提醒:异地登录", body: "用户 138****2207 在 **乌鲁木齐** 登录,上次登录地为 **上海**,间隔 40 分钟。已要求二次验证。", priority: 4, tags: &["lock", "风控"], click: Some("https://risk.example.com/cases/7732"), markdown: true },
    Sample { title: "Build #812 passed", body: "main @ 4f2c1ab — 1,204 tests in 6m 12s.", priority: 2, tags: &["white_check_mark", "ci"], click: Some("https://ci.example.com/builds/812"), markdown: false },
    Sample { title: "Build #813 failed", body: "`store::tests::prune_keeps_starred` failed on **linux-arm64**.\n\n```\nassertion failed: kept == 3\n```", priority: 4, tags: &["x", "ci"], click: Some("https://ci.example.com/builds/813"), markdown: true },
    Sample { title: "Order #10484 refunded", body: "Refund of **$59.90** approved for order #10484 (reason: damaged in transit).", priority: 3, tags: &["leftwards_arrow_with_hook", "orders"], click: Some("https://shop.example.com/admin/orders/10484"), markdown: true },
    Sample { title: "设备离线:网关 GW-07", body: "杭州二号仓网关 **GW-07** 已离线 5 分钟,影响 14 个温湿度传感器。", priority: 4, tags: &["electric_plug", "iot"], click: Some("https://iot.example.com/gateways/gw-07"), markdown: true },
    Sample { title: "Daily settlement complete", body: "Settled 3,482 transactions, net **$182,440.17**. No discrepancies.", priority: 2, tags: &["bank", "finance"], click: None, markdown: true },
    Sample { title: "订单 #10485 待发货超时", body: "订单 #10485 已付款 **26 小时** 仍未发货,超过 24 小时承诺时效。", priority: 4, tags: &["hourglass", "订单"], click: Some("https://shop.example.com/admin/orders/10485"), markdown: true },
    Sample { title: "Humidity back to normal", body: "Greenhouse B humidity is 61 % again (alarm cleared after 18 minutes).", priority: 2, tags: &["droplet", "iot"], click: None, markdown: false },
    Sample { title: "交易对账差异", body: "渠道「银联」今日对账差异 **3 笔**,合计 ¥ 2,180.00,请财务复核。", priority: 4, tags: &["warning", "finance", "对账"], click: Some("https://finance.example.com/recon/2026-11-28"), markdown: true },
    Sample { title: "Low stock: USB-C cable 2 m", body: "SKU-2210 has **7** left (reorder point 40). Supplier lead time 5 days.", priority: 3, tags: &["package", "inventory"], click: Some("https://erp.example.com/stock/SKU-2210"), markdown: true },
    Sample { title: "Deploy to production started", body: "release v2.31.0 by @lin — canary 5 % → 100 % over 30 minutes.", priority: 3, tags: &["rocket", "ci"], click: Some("https://ci.example.com/deploys/v2.31.0"), markdown: false },
    Sample { title: "Card payment declined spike", body: "Declines rose to **7.2 %** (baseline 1.9 %) in the last 15 minutes, mostly issuer `05 do not honor`.", priority: 5, tags: &["chart_with_upwards_trend", "risk"], click: Some("https://risk.example.com/dashboards/declines"), markdown: true },
    Sample { title: "烟感报警:三号楼 4 层", body: "三号楼 4 层 **烟雾传感器 S-4-12** 触发报警,已通知值班人员现场确认。", priority: 5, tags: &["fire", "iot", "安全"], click: Some("https://iot.example.com/alarms/s-4-12"), markdown: true },
];

/// An ntfy JSON `message` event for sample `index`, sent at `time` (Unix s).
fn event(id: &str, index: usize, time: i64) -> Value {
    let sample = &SAMPLES[index % SAMPLES.len()];
    let mut event = json!({
        "id": id,
        "time": time,
        "event": "message",
        "topic": TOPIC,
        "title": sample.title,
        "message": sample.body,
        "priority": sample.priority,
        "tags": sample.tags,
    });
    if let Some(click) = sample.click {
        event["click"] = json!(click);
        event["actions"] = json!([{ "action": "view", "label": "Open", "url": click }]);
    }
    if sample.markdown {
        event["content_type"] = json!("text/markdown");
    }
    event
}

#[derive(Default)]
struct Log {
    /// (id, time, frame text), oldest first.
    entries: Vec<(String, i64, String)>,
}

impl Log {
    /// Frames after `since`: an id, a Unix time, or "all". An unknown id
    /// returns everything, as ntfy does.
    fn after(&self, since: &str) -> Vec<String> {
        if let Ok(time) = since.parse::<i64>() {
            return self
                .entries
                .iter()
                .filter(|(_, at, _)| *at >= time)
                .map(|(_, _, frame)| frame.clone())
                .collect();
        }
        let start = self
            .entries
            .iter()
            .position(|(id, _, _)| id == since)
            .map_or(0, |position| position + 1);
        self.entries[start..]
            .iter()
            .map(|(_, _, frame)| frame.clone())
            .collect()
    }
}

/// A running demo feed.
pub struct DemoFeed {
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DemoFeed {
    /// Starts the feed on a free loopback port with a backlog of sample
    /// messages from the last hour, then one new message every `interval`.
    /// `now` is Unix seconds; backlog ids are fixed so restarts dedup.
    pub async fn start(interval: Duration, now: i64) -> std::io::Result<DemoFeed> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Log::default()));
        let (live, _) = broadcast::channel::<String>(256);
        {
            let mut log = log
                .lock()
                .map_err(|_| std::io::Error::other("demo log poisoned"))?;
            let backlog = SAMPLES.len();
            for index in 0..backlog {
                let id = format!("demo-backlog-{index:02}");
                let time = now - 3600 + (index as i64) * 3600 / backlog as i64;
                log.entries
                    .push((id.clone(), time, event(&id, index, time).to_string()));
            }
        }
        let (stop, stopped) = watch::channel(false);
        let publisher = tokio::spawn(publish(
            log.clone(),
            live.clone(),
            interval,
            stopped.clone(),
        ));
        let acceptor = tokio::spawn(accept(listener, log, live, stopped));
        Ok(DemoFeed {
            addr,
            stop,
            tasks: vec![publisher, acceptor],
        })
    }

    /// The ntfy URL of the demo topic.
    pub fn url(&self) -> String {
        format!("ws://{}/{TOPIC}/ws", self.addr)
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn publish(
    log: Arc<Mutex<Log>>,
    live: broadcast::Sender<String>,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    let mut index = 0usize;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = crate::source::stopped(&mut stopped) => return,
        }
        let now = crate::model::now_ms();
        let id = format!("demo-{now}");
        let frame = event(&id, index, now / 1000).to_string();
        index += 7; // step through the samples in a mixed order
        if let Ok(mut log) = log.lock() {
            log.entries.push((id, now / 1000, frame.clone()));
            let excess = log.entries.len().saturating_sub(1000);
            log.entries.drain(..excess);
        }
        let _ = live.send(frame);
    }
}

async fn accept(
    listener: TcpListener,
    log: Arc<Mutex<Log>>,
    live: broadcast::Sender<String>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = crate::source::stopped(&mut stopped) => return,
        };
        tokio::spawn(serve(
            stream,
            log.clone(),
            live.subscribe(),
            stopped.clone(),
        ));
    }
}

async fn serve(
    stream: TcpStream,
    log: Arc<Mutex<Log>>,
    mut live: broadcast::Receiver<String>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut since = String::from("none");
    // The handshake callback's error type is tungstenite's, large or not.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        if let Some(query) = request.uri().query() {
            for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
                if key == "since" {
                    since = value.into_owned();
                }
            }
        }
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let open = json!({ "id": "open", "time": crate::model::now_ms() / 1000, "event": "open", "topic": TOPIC });
    if socket.send(Frame::text(open.to_string())).await.is_err() {
        return;
    }
    let backlog = log
        .lock()
        .map(|log| {
            if since == "none" {
                Vec::new()
            } else {
                log.after(&since)
            }
        })
        .unwrap_or_default();
    for frame in backlog {
        if socket.send(Frame::text(frame)).await.is_err() {
            return;
        }
    }
    let mut keepalive = tokio::time::interval(Duration::from_secs(30));
    loop {
        tokio::select! {
            frame = live.recv() => match frame {
                Ok(frame) => if socket.send(Frame::text(frame)).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = keepalive.tick() => {
                let keepalive = json!({ "id": "keepalive", "time": crate::model::now_ms() / 1000, "event": "keepalive", "topic": TOPIC });
                if socket.send(Frame::text(keepalive.to_string())).await.is_err() { return }
            }
            _ = crate::source::stopped(&mut stopped) => {
                let _ = socket.close(None).await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_a_valid_ntfy_message() {
        for index in 0..SAMPLES.len() {
            let frame = event(&format!("id{index}"), index, 1_700_000_000).to_string();
            let parsed = crate::source::ntfy::parse(&frame).expect("sample parses as ntfy");
            assert!(
                matches!(parsed, crate::source::Parsed::Messages(ref messages) if messages.len() == 1)
            );
        }
    }

    #[test]
    fn since_resumes_after_an_id_or_replays_all() {
        let mut log = Log::default();
        for (index, id) in ["a", "b", "c"].iter().enumerate() {
            log.entries
                .push((id.to_string(), 100 + index as i64, id.to_string()));
        }
        assert_eq!(log.after("b"), ["c"]);
        assert_eq!(log.after("all"), ["a", "b", "c"]);
        assert_eq!(
            log.after("gone"),
            ["a", "b", "c"],
            "an unknown id replays everything"
        );
        assert_eq!(log.after("101"), ["b", "c"], "since=<time> is inclusive");
    }
}
