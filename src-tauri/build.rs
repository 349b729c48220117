//! Declares the app's own IPC commands, so each needs a permission in a
//! capability: a command not listed in `capabilities/` is unreachable.

const COMMANDS: &[&str] = &[
    "list_messages",
    "get_message",
    "list_sources",
    "set_read",
    "mark_all_read",
    "set_starred",
    "set_archived",
    "snooze",
    "delete_messages",
    "open_link",
    "run_http_action",
    "start_demo",
    "window_ready",
    "get_source",
    "save_source",
    "test_source",
    "set_source_enabled",
    "remove_source",
    "get_settings",
    "get_publish_api",
    "set_publish_api",
    "regenerate_publish_token",
    "set_retention",
    "set_autostart",
    "export_messages",
    "import_messages",
    "list_rules",
    "save_rule",
    "remove_rule",
    "set_rule_enabled",
    "move_rule",
    "preview_rules",
    "list_delivery_failures",
    "get_policy",
    "set_policy",
    "get_quiet",
    "pause_notifications",
    "mute_source",
    "set_sources_paused",
    "get_storage",
    "get_language",
    "set_language",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {error:#}");
    }
}
