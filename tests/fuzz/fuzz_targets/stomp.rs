//! One WebSocket message from a STOMP broker through Herald's frame codec,
//! and every MESSAGE frame through the broker mapping. A broken frame must
//! be an error, never a panic, a hang or an unbounded allocation.
#![no_main]

use herald_core::config::FieldMap;
use herald_core::source::broker::{to_message, Delivery};
use herald_core::source::stomp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(frames) = stomp::parse(data) else {
        return;
    };
    for frame in frames {
        // What parses must encode and parse back to the same frame. Not
        // CONNECT and CONNECTED, whose headers STOMP 1.2 leaves unescaped:
        // Herald only sends the one and only reads the other.
        if !matches!(frame.command.as_str(), "CONNECT" | "CONNECTED") {
            let again = stomp::parse(&frame.encode()).expect("an encoded frame parses");
            assert_eq!(again.len(), 1);
            assert_eq!(again[0].command, frame.command);
        }
        if frame.command == "MESSAGE" {
            let headers = frame
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
                .collect();
            let delivery = Delivery {
                body: &frame.body,
                headers,
                topic: frame.get("destination").map(stomp::destination_topic),
                id: frame.get("message-id").map(str::to_string),
                fallback_id: "fuzz".into(),
            };
            let _ = to_message(delivery, &FieldMap::default(), 1_700_000_000_000);
        }
    }
});
