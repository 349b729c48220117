//! TLS: a server whose certificate the system does not trust is refused
//! with the reason and nothing is received; trusting its CA with
//! `--ca-file` makes it work; a certificate for another name is refused
//! even from that CA. Certificate errors are never ignored.

use std::net::SocketAddr;

use herald_tests::ntfy::NtfyServer;
use herald_tests::tls::{TestCa, TlsProxy};
use herald_tests::{wait_for, Herald, WAIT};
use serde_json::json;

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Waits until the source reports an error containing `needle`.
async fn wait_error(herald: &Herald, id: i64, needle: &str) -> String {
    wait_for(
        &format!("source {id} to report {needle:?}"),
        WAIT,
        || async {
            let source = herald.source(id).await;
            let error = source["last_error"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if error.contains(needle) {
                Ok(error)
            } else {
                Err(source.to_string())
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificates_are_refused_and_a_custom_ca_works() {
    let server = NtfyServer::start("secure").await;
    let ca = TestCa::new();
    let good = TlsProxy::start(
        ca.issue(&["127.0.0.1", "localhost"]),
        loopback(server.port()),
    )
    .await;
    let misnamed = TlsProxy::start(ca.issue(&["ntfy.example.com"]), loopback(server.port())).await;
    let herald = Herald::new();
    let ca_file = herald.scratch("test-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("the CA file is written");
    let ca_path = ca_file.to_string_lossy().to_string();
    let url = |port: u16| format!("wss://127.0.0.1:{port}/secure/ws");

    let untrusted = herald
        .add_source("Untrusted", "ntfy", &url(good.port()), &[])
        .await;
    let trusted = herald
        .add_source(
            "Trusted",
            "ntfy",
            &url(good.port()),
            &["--ca-file", &ca_path],
        )
        .await;
    let wrong_name = herald
        .add_source(
            "Wrong name",
            "ntfy",
            &url(misnamed.port()),
            &["--ca-file", &ca_path],
        )
        .await;
    server.publish(json!({ "title": "over tls" }));
    let running = herald.start(&[]);
    herald.wait_stored(trusted, 1, WAIT).await;

    let refused = wait_error(&herald, untrusted, "certificate").await;
    println!("untrusted: {refused}");
    assert!(
        refused.contains("UnknownIssuer") && refused.contains("CA's file"),
        "the reason and what to do: {refused}"
    );
    let refused = wait_error(&herald, wrong_name, "certificate").await;
    println!("wrong name: {refused}");
    assert!(refused.contains("not valid for name"), "{refused}");
    for id in [untrusted, wrong_name] {
        assert_eq!(
            herald.source_stats(id).await["stored"],
            0,
            "nothing from a refused server"
        );
    }
    // `source test` says the same, for the form's Test connection.
    let test = herald
        .exec(&["source", "test", &untrusted.to_string()])
        .await;
    assert!(!test.status.success());
    assert!(
        format!("{}{}", test.stdout, test.stderr).contains("UnknownIssuer"),
        "{test:?}"
    );
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
}
