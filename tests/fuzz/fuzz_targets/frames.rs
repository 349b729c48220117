//! One WebSocket text frame through the ntfy, Gotify or JSON adapter (the
//! first byte picks which, and for JSON whether a field map is set), then
//! every message it yields through what the window and notifications show.
//! Any panic, hang or unbounded allocation is a bug.
#![no_main]

use herald_core::config::{FieldMap, SourceConfig};
use herald_core::model::{DerivedColumns, Protocol};
use herald_core::render;
use herald_core::source::{parse_frame, Parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    // Frames arrive as text: tungstenite has already checked the UTF-8.
    let Ok(text) = std::str::from_utf8(frame) else {
        return;
    };
    let mut config = SourceConfig::default();
    let protocol = match selector % 4 {
        0 => Protocol::Ntfy,
        1 => Protocol::Gotify,
        2 => Protocol::Json,
        _ => {
            config.map = FieldMap {
                id: Some("/data/0/ref".into()),
                title: Some("/event/name".into()),
                body: Some("/event/detail".into()),
                priority: Some("/severity".into()),
                time: Some("/at".into()),
                tags: Some("/labels".into()),
                url: Some("/links/self".into()),
                group: Some("/~1group~0x".into()),
            };
            config.text_frames = selector & 0x80 != 0;
            Protocol::Json
        }
    };
    if let Ok(Parsed::Messages(messages)) = parse_frame(protocol, &config, text, 1_700_000_000_000)
    {
        for message in messages {
            let _ = DerivedColumns::new(&message);
            let _ = render::display_safe(&message.title);
            let _ = render::body_html(&message.body, message.format, selector & 0x40 != 0);
            let _ = render::plain_text(&message.body, message.format, 300);
        }
    }
});
