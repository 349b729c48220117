//! What the webview can reach, checked from the files that decide it: every
//! IPC command the app declares is one the UI calls, the window's capability
//! grants exactly those (plus listening to events) and nothing from any
//! plugin, and the content security policy lets no script in but the app's
//! own. A command added without use, or a permission widened, fails here.

use std::collections::BTreeSet;

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

/// The names in build.rs's `COMMANDS`.
fn declared_commands() -> BTreeSet<String> {
    let build = read("build.rs");
    let list = build
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("build.rs declares COMMANDS");
    list.split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn every_declared_command_is_called_by_the_ui_and_granted_once() {
    let commands = declared_commands();
    let ui = read("../ui/src/api/tauri.ts");
    let unused: Vec<&String> = commands
        .iter()
        .filter(|name| !ui.contains(&format!("(\"{name}\"")))
        .collect();
    assert!(
        unused.is_empty(),
        "declared but never called by the ui: {unused:?}"
    );

    let capability: serde_json::Value =
        serde_json::from_str(&read("capabilities/default.json")).expect("valid json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .expect("a permission list")
        .iter()
        .map(|permission| permission.as_str().expect("plain identifiers").to_string())
        .collect();
    let mut expected: BTreeSet<String> = commands
        .iter()
        .map(|name| format!("allow-{}", name.replace('_', "-")))
        .collect();
    expected.insert("core:event:allow-listen".into());
    expected.insert("core:event:allow-unlisten".into());
    assert_eq!(
        granted, expected,
        "the capability grants the app's commands and nothing else"
    );
}

#[test]
fn the_content_security_policy_admits_only_the_apps_own_code() {
    let config: serde_json::Value =
        serde_json::from_str(&read("tauri.conf.json")).expect("valid json");
    let security = &config["app"]["security"];
    let csp = &security["csp"];
    for (directive, value) in [
        ("default-src", "'self'"),
        ("script-src", "'self'"),
        ("style-src", "'self'"),
        ("object-src", "'none'"),
        ("base-uri", "'none'"),
        ("frame-src", "'none'"),
        ("worker-src", "'none'"),
        ("form-action", "'none'"),
        ("connect-src", "ipc: http://ipc.localhost"),
    ] {
        assert_eq!(csp[directive], value, "{directive}");
    }
    // No unsafe-*, no wildcard, no whole scheme but https: and data: for
    // images (remote images, only for sources that allow them).
    for (directive, value) in csp.as_object().expect("directives") {
        for source in value.as_str().expect("a string").split_whitespace() {
            assert!(
                !source.contains("unsafe-") && !source.contains('*'),
                "{directive} allows {source}"
            );
            if source.ends_with(':') && source != "ipc:" {
                assert!(
                    directive == "img-src" && (source == "https:" || source == "data:"),
                    "{directive} allows the whole {source} scheme"
                );
            }
        }
    }
    assert_eq!(security["freezePrototype"], true);
    assert!(
        security
            .get("dangerousDisableAssetCspModification")
            .is_none(),
        "tauri adds its hashes and nonces to the csp"
    );
    // Nothing loads from outside the app: no remote URL, no devtools in release.
    assert!(
        config["app"]["withGlobalTauri"] != true,
        "no global __TAURI__ object"
    );
}
