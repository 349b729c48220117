//! Native text (notifications, the tray) in English and Simplified Chinese,
//! from `src-tauri/locales/*.json`, the same way the UI keeps its strings.
//! The language follows the OS locale (`LC_ALL`, `LC_MESSAGES`, `LANG`).

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    English,
    Chinese,
}

const EN: &str = include_str!("../locales/en.json");
const ZH_CN: &str = include_str!("../locales/zh-CN.json");

fn table(language: Language) -> &'static HashMap<String, String> {
    static TABLES: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        // The files are part of the binary and checked by a test below.
        let parse = |text: &str| serde_json::from_str(text).unwrap_or_default();
        [parse(EN), parse(ZH_CN)]
    });
    match language {
        Language::English => &tables[0],
        Language::Chinese => &tables[1],
    }
}

/// The language of the OS locale.
pub fn language() -> Language {
    static LANGUAGE: OnceLock<Language> = OnceLock::new();
    *LANGUAGE.get_or_init(|| {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .unwrap_or_default();
        language_for(&locale)
    })
}

pub fn language_for(locale: &str) -> Language {
    if locale.to_ascii_lowercase().starts_with("zh") {
        Language::Chinese
    } else {
        Language::English
    }
}

/// The text for `key` with `{name}` placeholders filled in; English when
/// the language lacks it, the key itself when both do.
pub fn text(key: &str, args: &[(&str, &str)]) -> String {
    text_in(language(), key, args)
}

pub fn text_in(language: Language, key: &str, args: &[(&str, &str)]) -> String {
    let template = table(language)
        .get(key)
        .or_else(|| table(Language::English).get(key))
        .map_or(key, String::as_str);
    let mut out = template.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_and_placeholders() {
        let en: HashMap<String, String> = serde_json::from_str(EN).expect("en.json parses");
        let zh: HashMap<String, String> = serde_json::from_str(ZH_CN).expect("zh-CN.json parses");
        let mut keys: Vec<&String> = en.keys().collect();
        keys.sort();
        let mut zh_keys: Vec<&String> = zh.keys().collect();
        zh_keys.sort();
        assert_eq!(
            keys, zh_keys,
            "en.json and zh-CN.json must have the same keys"
        );
        let placeholders = |text: &str| -> Vec<String> {
            let mut found: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
                .collect();
            found.sort();
            found
        };
        for key in keys {
            assert_eq!(placeholders(&en[key]), placeholders(&zh[key]), "{key}");
        }
    }

    #[test]
    fn placeholders_are_filled_and_chinese_is_chosen_by_locale() {
        assert_eq!(language_for("zh_CN.UTF-8"), Language::Chinese);
        assert_eq!(language_for("en_GB.UTF-8"), Language::English);
        assert_eq!(language_for(""), Language::English);
        assert_eq!(
            text_in(
                Language::English,
                "notify.burst",
                &[("count", "12"), ("source", "Orders")]
            ),
            "12 new messages from Orders"
        );
        assert_eq!(
            text_in(
                Language::Chinese,
                "notify.burst",
                &[("count", "12"), ("source", "订单")]
            ),
            "来自 订单 的 12 条新消息"
        );
        assert_eq!(
            text_in(Language::English, "no.such.key", &[]),
            "no.such.key"
        );
    }
}
