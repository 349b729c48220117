//! The binary's own text (notifications, the tray, the command line) in
//! English and Simplified Chinese, from `src-tauri/locales/*.json`. The
//! language is the one process-wide choice in [`herald_core::i18n`].

use herald_core::i18n::Catalog;
pub use herald_core::i18n::{choice, choose, language, Choice, Language};

static CATALOG: Catalog = Catalog::new(
    include_str!("../locales/en.json"),
    include_str!("../locales/zh-CN.json"),
);

/// Makes the language chosen in the window (stored in the database) the
/// process's; without a choice, or if it cannot be read, the OS locale's.
pub fn apply_stored(store: &herald_core::store::Store) {
    match store.read(herald_core::store::rules::language) {
        Ok(chosen) => choose(chosen),
        Err(error) => tracing::warn!(%error, "cannot read the language setting; following the OS"),
    }
}

/// The text for `key` in the current language, `{name}` placeholders filled.
pub fn text(key: &str, args: &[(&str, &str)]) -> String {
    CATALOG.text(key, args)
}

pub fn text_in(language: Language, key: &str, args: &[(&str, &str)]) -> String {
    CATALOG.text_in(language, key, args)
}

/// A sentence about `count` things: `{count}` filled in, singular where the
/// language has one.
pub fn count(key: &str, count: u64, args: &[(&str, &str)]) -> String {
    CATALOG.count(key, count, args)
}

pub fn count_in(language: Language, key: &str, count: u64, args: &[(&str, &str)]) -> String {
    CATALOG.count_in(language, key, count, args)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use herald_core::i18n::audit;

    use super::*;

    #[test]
    fn every_text_is_in_both_locale_files_and_only_there() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(audit::crate_problems(&CATALOG, &src), Vec::<String>::new());
    }

    #[test]
    fn notification_summaries_read_naturally_in_both_languages() {
        let orders = [("source", "Orders")];
        assert_eq!(
            count_in(Language::English, "notify.burst", 12, &orders),
            "12 new messages from Orders"
        );
        assert_eq!(
            count_in(Language::English, "notify.burst", 1, &orders),
            "1 new message from Orders"
        );
        assert_eq!(
            count_in(Language::Chinese, "notify.burst", 12, &[("source", "订单")]),
            "来自 订单 的 12 条新消息"
        );
    }
}
