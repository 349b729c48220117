//! STOMP and MQTT sources against a real RabbitMQ node (Web-STOMP and
//! Web-MQTT on loopback). Messages are published through the broker's own
//! STOMP and MQTT listeners, never through Herald, and checked in Herald's
//! inbox: every one, once — across a SIGKILL of Herald mid-stream, a broker
//! restart, and time Herald spends switched off (durable subscription,
//! persistent session). A wrong password parks the source without a retry
//! storm, and a 10,000-message burst prints its rate.
//!
//! One node serves every scenario in order: starting RabbitMQ takes seconds.

use std::time::{Duration, Instant};

use herald_tests::broker::{MqttPublisher, RabbitNode, StompPublisher, PASSWORD, USER};
use herald_tests::{by_remote_id, Herald, WAIT};
use serde_json::json;

const BURST: u64 = 10_000;
/// How long a source may take to reconnect after the broker restarts.
const RECONNECT: Duration = Duration::from_secs(60);

fn order(index: u64) -> String {
    json!({
        "title": format!("Order {index}"),
        "message": format!("Order {index} was paid: ¥{}.00", 100 + index),
        "priority": 3 + (index % 3),
    })
    .to_string()
}

/// Publishes `range` as orders on `topic`, each with its AMQP message id.
async fn publish_orders(port: u16, topic: &str, range: std::ops::Range<u64>) {
    let mut publisher = StompPublisher::connect(port).await;
    let destination = format!("/topic/{topic}");
    for index in range {
        let id = format!("order-{index}");
        publisher
            .send(&destination, &[("amqp-message-id", &id)], &order(index))
            .await;
    }
    publisher.flush().await;
}

/// Waits until the source's state (per `stats --json`) is one `wanted` accepts.
async fn wait_source_state(
    herald: &Herald,
    source: i64,
    what: &str,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
) {
    herald
        .wait_stats(&format!("source {source} to be {what}"), timeout, |stats| {
            let state = stats["sources"]
                .as_array()
                .and_then(|sources| sources.iter().find(|entry| entry["id"] == source))
                .and_then(|entry| entry["state"].as_str())
                .unwrap_or_default()
                .to_string();
            if wanted(&state) {
                Ok(())
            } else {
                Err(state)
            }
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stomp_and_mqtt_through_rabbitmq() {
    let started = Instant::now();
    let node = RabbitNode::start().await;
    eprintln!("rabbitmq started in {:?}", started.elapsed());
    let herald = Herald::new();

    // Refused before anything connects: no destination, a bad filter.
    let add = |protocol: &'static str, url: String, extra: &'static [&'static str]| {
        let herald = &herald;
        async move {
            let mut args = vec![
                "source",
                "add",
                "--name",
                "x",
                "--protocol",
                protocol,
                "--url",
            ];
            args.push(&url);
            args.extend_from_slice(extra);
            herald.exec(&args).await
        }
    };
    let refused = add("stomp", node.web_stomp_url(), &[]).await;
    assert!(!refused.status.success());
    assert!(refused.stderr.contains("--subscribe"), "{}", refused.stderr);
    let refused = add(
        "mqtt",
        node.web_mqtt_url(),
        &["--subscribe", "alerts/#/more"],
    )
    .await;
    assert!(
        refused.stderr.contains("'#' may only be the last level"),
        "{}",
        refused.stderr
    );

    let orders = herald
        .add_source(
            "Orders",
            "stomp",
            &node.web_stomp_url(),
            &[
                "--username",
                USER,
                "--password",
                PASSWORD,
                "--subscribe",
                "/topic/orders.#",
                "--durable",
                "--read-timeout",
                "10",
            ],
        )
        .await;
    let alarms = herald
        .add_source(
            "Alarms",
            "mqtt",
            &node.web_mqtt_url(),
            &[
                "--username",
                USER,
                "--password",
                PASSWORD,
                "--subscribe",
                "alarms/#",
                "--durable",
                "--client-id",
                "herald-e2e-alarms",
                "--read-timeout",
                "10",
            ],
        )
        .await;
    let wrong = herald
        .add_source(
            "Wrong password",
            "stomp",
            &node.web_stomp_url(),
            &[
                "--username",
                USER,
                "--password",
                "not-the-password",
                "--subscribe",
                "/topic/orders.#",
            ],
        )
        .await;
    // "Test connection" logs in for real.
    let probe = herald
        .json(&[
            "source",
            "test",
            &orders.to_string(),
            "--json",
            "--listen",
            "1",
        ])
        .await;
    assert_eq!(probe["connected"], true, "{probe}");
    let probe = herald
        .exec(&[
            "source",
            "test",
            &wrong.to_string(),
            "--json",
            "--listen",
            "1",
        ])
        .await;
    assert!(!probe.status.success(), "a refused login fails the test");
    let probe: serde_json::Value = serde_json::from_str(&probe.stdout).expect("json report");
    assert_eq!(probe["auth_failed"], true, "{probe}");

    let running = herald.start(&[]);
    herald.wait_state(orders, "connected").await;
    herald.wait_state(alarms, "connected").await;

    // A wrong password: parked, not retried.
    let parked = herald.wait_state(wrong, "auth_failed").await;
    assert!(
        parked["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("refused the login")),
        "{parked}"
    );

    // 1. Published through the broker, each stored once with its fields.
    publish_orders(node.stomp_port(), "orders.eu", 0..50).await;
    herald.wait_stored(orders, 50, WAIT).await;
    let stored = by_remote_id(&herald.messages_of(orders).await);
    let first = &stored["order-7"];
    assert_eq!(first["title"], "Order 7", "{first}");
    assert_eq!(first["topic"], "orders.eu", "{first}");
    assert_eq!(first["priority"], 4, "{first}");

    let mut mqtt = MqttPublisher::connect(node.mqtt_port(), "e2e-publisher").await;
    for index in 0..20 {
        let payload = json!({"id": format!("alarm-{index}"), "title": "Boiler", "message": format!("pressure {index} bar")});
        mqtt.publish("alarms/boiler", &payload.to_string()).await;
    }
    mqtt.publish("alarms/text", "plain text alarm").await;
    herald.wait_stored(alarms, 21, WAIT).await;
    let stored = by_remote_id(&herald.messages_of(alarms).await);
    assert_eq!(stored["alarm-3"]["body"], "pressure 3 bar");
    assert_eq!(stored["alarm-3"]["topic"], "alarms/boiler");
    assert!(
        stored
            .values()
            .any(|message| message["body"] == "plain text alarm"),
        "a text payload is kept as the body"
    );

    // An oversized message is refused, counted, and acknowledged, so it
    // neither blocks what follows nor comes back after a restart.
    let huge = "x".repeat(2 * 1024 * 1024);
    let mut publisher = StompPublisher::connect(node.stomp_port()).await;
    publisher
        .send("/topic/orders.eu", &[("amqp-message-id", "huge")], &huge)
        .await;
    publisher
        .send(
            "/topic/orders.eu",
            &[("amqp-message-id", "after-huge")],
            &order(999),
        )
        .await;
    publisher.flush().await;
    mqtt.publish("alarms/huge", &huge).await;
    mqtt.publish(
        "alarms/after",
        &json!({"id": "alarm-after-huge", "title": "After"}).to_string(),
    )
    .await;
    herald.wait_stored(orders, 51, WAIT).await;
    herald.wait_stored(alarms, 22, WAIT).await;
    for source in [orders, alarms] {
        let stats = herald.source_stats(source).await;
        assert_eq!(stats["frames_rejected"], 1, "{stats}");
        assert!(
            stats["last_error"]
                .as_str()
                .is_some_and(|error| error.contains("limit")),
            "{stats}"
        );
    }

    // Testing a running source leaves its session alone: a takeover of the
    // MQTT client id would end it, and it would reconnect with a new
    // `state_since`.
    let before = herald.source_stats(alarms).await;
    let probe = herald
        .json(&[
            "source",
            "test",
            &alarms.to_string(),
            "--json",
            "--listen",
            "1",
        ])
        .await;
    assert_eq!(probe["connected"], true, "{probe}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = herald.source_stats(alarms).await;
    assert_eq!(
        (&after["state"], &after["state_since"]),
        (&before["state"], &before["state_since"]),
        "the running source kept its connection: before {before}, after {after}"
    );

    // 2. SIGKILL mid-stream: nothing lost, nothing twice.
    let publisher = tokio::spawn(publish_orders(node.stomp_port(), "orders.us", 1000..3000));
    let mqtt_publisher = tokio::spawn(async move {
        for index in 100..600 {
            let payload = json!({"id": format!("alarm-{index}"), "title": "Line", "message": format!("alarm {index}")});
            mqtt.publish("alarms/line", &payload.to_string()).await;
        }
        mqtt
    });
    herald
        .wait_stats("some of the burst to be stored", WAIT, |stats| {
            let stored = stats["sources"]
                .as_array()
                .and_then(|sources| sources.iter().find(|source| source["id"] == orders))
                .and_then(|source| source["stored"].as_u64())
                .unwrap_or(0);
            if stored > 150 {
                Ok(())
            } else {
                Err(format!("{stored} stored"))
            }
        })
        .await;
    running.kill().await;
    publisher.await.expect("stomp publisher");
    let mut mqtt = mqtt_publisher.await.expect("mqtt publisher");
    let running = herald.start(&[]);
    herald
        .wait_stored(orders, 2051, Duration::from_secs(120))
        .await;
    herald
        .wait_stored(alarms, 522, Duration::from_secs(120))
        .await;
    by_remote_id(&herald.messages_of(orders).await);
    by_remote_id(&herald.messages_of(alarms).await);

    // 3. Herald switched off: the durable subscription and the persistent
    // session keep what was published meanwhile.
    running.terminate().await;
    publish_orders(node.stomp_port(), "orders.eu", 5000..5030).await;
    for index in 700..710 {
        let payload =
            json!({"id": format!("alarm-{index}"), "title": "Night", "message": "while away"});
        mqtt.publish("alarms/night", &payload.to_string()).await;
    }
    let running = herald.start(&[]);
    herald.wait_stored(orders, 2081, WAIT).await;
    herald.wait_stored(alarms, 532, WAIT).await;
    for source in [orders, alarms] {
        let stats = herald.source_stats(source).await;
        assert_eq!(
            stats["frames_rejected"], 1,
            "the refused message was acknowledged, not delivered again: {stats}"
        );
    }

    // 4. The broker restarts: Herald reconnects and resumes.
    node.stop().await;
    wait_source_state(&herald, orders, "not connected", WAIT, |state| {
        state != "connected"
    })
    .await;
    node.restart().await;
    // The broker was away for 10–20 s, so the backoff may have grown to a
    // 16 s pause (full jitter): allow for one more than that.
    for source in [orders, alarms] {
        wait_source_state(&herald, source, "connected", RECONNECT, |state| {
            state == "connected"
        })
        .await;
    }
    publish_orders(node.stomp_port(), "orders.eu", 6000..6020).await;
    let mut mqtt = MqttPublisher::connect(node.mqtt_port(), "e2e-publisher").await;
    mqtt.publish(
        "alarms/after",
        &json!({"id": "alarm-after", "title": "Back"}).to_string(),
    )
    .await;
    herald.wait_stored(orders, 2101, WAIT).await;
    herald.wait_stored(alarms, 533, WAIT).await;

    // The wrong password stayed parked the whole time: one attempt per start.
    let wrong_stats = herald.source_stats(wrong).await;
    assert_eq!(wrong_stats["state"], "auth_failed", "{wrong_stats}");

    // 5. A burst through the broker, timed from the first publish to the
    // last row committed.
    let burst_started = Instant::now();
    publish_orders(node.stomp_port(), "orders.burst", 100_000..100_000 + BURST).await;
    let published = burst_started.elapsed();
    herald
        .wait_stored(orders, 2101 + BURST, Duration::from_secs(180))
        .await;
    let elapsed = burst_started.elapsed();
    println!(
        "broker burst: {BURST} messages through RabbitMQ Web-STOMP in {:.2} s ({:.0} rows/s; publishing took {:.2} s)",
        elapsed.as_secs_f64(),
        BURST as f64 / elapsed.as_secs_f64(),
        published.as_secs_f64()
    );
    let all = herald.messages_of(orders).await;
    assert_eq!(all.len() as u64, 2101 + BURST);
    by_remote_id(&all);

    running.terminate().await;
    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
}
