//! (f) Broker ingest: messages published through a private RabbitMQ node
//! (its own STOMP and MQTT listeners) into the release `herald`, running
//! headless with a Web-STOMP and a Web-MQTT source, timed from the first
//! publish to the last row committed. Each message is acknowledged to the
//! broker only after its commit, so this is the rate of the whole
//! deliver–commit–acknowledge loop, not of the socket.

use std::time::{Duration, Instant};

use herald_tests::broker::{MqttPublisher, RabbitNode, StompPublisher, PASSWORD, USER};
use herald_tests::Herald;
use serde::Serialize;
use serde_json::json;

use crate::herald_bench::error::Result;

/// One protocol's figure.
#[derive(Debug, Clone, Serialize)]
pub struct BrokerRun {
    pub protocol: &'static str,
    pub messages: usize,
    pub publish_secs: f64,
    pub total_secs: f64,
    pub rows_per_sec: f64,
}

fn payload(index: usize) -> String {
    json!({
        "id": format!("m-{index}"),
        "title": format!("Order {index}"),
        "message": format!("Order {index} was paid: ¥{}.00 — 订单已支付", 100 + index % 900),
        "priority": 3,
    })
    .to_string()
}

/// Waits until the source has `count` messages stored; polls every 50 ms.
async fn wait_stored(herald: &Herald, source: i64, count: u64, limit: Duration) -> Result<()> {
    let started = Instant::now();
    loop {
        let stats = herald.source_stats(source).await;
        if stats["stored"].as_u64() == Some(count) {
            return Ok(());
        }
        if started.elapsed() > limit {
            bail!("source {source} did not store {count} messages within {limit:?}: {stats}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes `messages` over STOMP and over MQTT and times each into the inbox.
pub async fn measure(messages: usize) -> Result<Vec<BrokerRun>> {
    let node = RabbitNode::start().await;
    let herald = Herald::new();
    let common = ["--username", USER, "--password", PASSWORD, "--durable"];
    let mut stomp_args = common.to_vec();
    stomp_args.extend(["--subscribe", "/topic/bench.#"]);
    let stomp = herald
        .add_source("Bench STOMP", "stomp", &node.web_stomp_url(), &stomp_args)
        .await;
    let mut mqtt_args = common.to_vec();
    mqtt_args.extend(["--subscribe", "bench/#", "--client-id", "herald-bench"]);
    let mqtt = herald
        .add_source("Bench MQTT", "mqtt", &node.web_mqtt_url(), &mqtt_args)
        .await;
    let running = herald.start(&["--quiet"]);
    herald.wait_state(stomp, "connected").await;
    herald.wait_state(mqtt, "connected").await;
    let payloads: Vec<String> = (0..messages).map(payload).collect();
    let limit = Duration::from_secs(600);
    let mut runs = Vec::new();

    let started = Instant::now();
    let mut publisher = StompPublisher::connect(node.stomp_port()).await;
    for (index, body) in payloads.iter().enumerate() {
        let id = format!("m-{index}");
        publisher
            .send("/topic/bench.orders", &[("amqp-message-id", &id)], body)
            .await;
    }
    publisher.flush().await;
    let published = started.elapsed();
    wait_stored(&herald, stomp, messages as u64, limit).await?;
    runs.push(figure("stomp", messages, published, started.elapsed()));

    let started = Instant::now();
    let mut publisher = MqttPublisher::connect(node.mqtt_port(), "bench-publisher").await;
    publisher.publish_all("bench/orders", &payloads, 256).await;
    let published = started.elapsed();
    wait_stored(&herald, mqtt, messages as u64, limit).await?;
    runs.push(figure("mqtt", messages, published, started.elapsed()));

    running.terminate().await;
    Ok(runs)
}

fn figure(
    protocol: &'static str,
    messages: usize,
    published: Duration,
    total: Duration,
) -> BrokerRun {
    BrokerRun {
        protocol,
        messages,
        publish_secs: published.as_secs_f64(),
        total_secs: total.as_secs_f64(),
        rows_per_sec: messages as f64 / total.as_secs_f64(),
    }
}
