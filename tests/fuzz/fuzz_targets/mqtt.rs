//! Bytes from an MQTT broker, split across WebSocket messages however the
//! input says, read packet by packet as the session reads them, and every
//! PUBLISH through the broker mapping.
#![no_main]

use bytes::BytesMut;
use herald_core::config::FieldMap;
use herald_core::source::broker::{to_message, Delivery};
use libfuzzer_sys::fuzz_target;
use rumqttc::mqttbytes::v4::Packet;
use rumqttc::mqttbytes::Error;

/// The session's own limit on one packet.
const MAX_PACKET: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut buffer = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buffer.extend_from_slice(piece);
        loop {
            match Packet::read(&mut buffer, MAX_PACKET) {
                Ok(Packet::Publish(publish)) => {
                    let delivery = Delivery {
                        body: &publish.payload,
                        headers: serde_json::Map::new(),
                        topic: Some(publish.topic.clone()),
                        id: None,
                        fallback_id: format!("fuzz-{}", publish.pkid),
                    };
                    let _ = to_message(delivery, &FieldMap::default(), 1_700_000_000_000);
                }
                Ok(_) => {}
                Err(Error::InsufficientBytes(_)) => break,
                // The session ends the connection here; so does the target.
                Err(_) => return,
            }
        }
    }
});
