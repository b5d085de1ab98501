//! Translations. Every user-facing string lives in `locales/zh-CN.toml` and `locales/en.toml`;
//! a unit test checks that both files have the same keys.

use rules::FieldError;

pub const LOCALES: [&str; 2] = ["zh-CN", "en"];
pub const DEFAULT_LOCALE: &str = "zh-CN";

/// The translation of `key` in `locale` (zh-CN when the locale is unknown).
pub fn tr(locale: &str, key: &str) -> String {
    rust_i18n::t!(key, locale = normalize(locale)).into_owned()
}

/// The translation with `%{name}` placeholders filled in.
pub fn tr_args(locale: &str, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = tr(locale, key);
    for (k, v) in args {
        s = s.replace(&format!("%{{{k}}}"), v);
    }
    s
}

/// Maps anything we may receive (a cookie, `Accept-Language`, a form) to a supported locale.
pub fn normalize(raw: &str) -> &'static str {
    let l = raw.trim().to_ascii_lowercase();
    if l.starts_with("en") { "en" } else { DEFAULT_LOCALE }
}

/// The first supported language in an `Accept-Language` header, if any.
pub fn from_accept_language(header: &str) -> Option<&'static str> {
    header.split(',').find_map(|part| {
        let tag = part.split(';').next()?.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(DEFAULT_LOCALE)
        } else if tag.starts_with("en") {
            Some("en")
        } else {
            None
        }
    })
}

/// A field error whose message is the locale key `key` in both languages.
pub fn field_error(field: &str, key: &str) -> FieldError {
    FieldError::new(field, tr("zh-CN", key), tr("en", key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(v: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
        for (k, val) in v {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match val {
                toml::Value::Table(t) => keys(t, &key, out),
                _ => {
                    out.insert(key);
                }
            }
        }
    }

    #[test]
    fn both_locales_have_the_same_keys() {
        let load = |f: &str| {
            let text = std::fs::read_to_string(format!("{}/locales/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let table: toml::Table = toml::from_str(&text).unwrap();
            let mut out = BTreeSet::new();
            keys(&table, "", &mut out);
            out
        };
        let zh = load("zh-CN.toml");
        let en = load("en.toml");
        let only_zh: Vec<_> = zh.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&zh).collect();
        assert!(only_zh.is_empty() && only_en.is_empty(), "only zh: {only_zh:?}; only en: {only_en:?}");
        assert_eq!(tr("en", "app.name"), "Aftersales");
        assert_eq!(tr("zh-CN", "app.name"), "售后服务管理系统");
    }

    #[test]
    fn accept_language() {
        assert_eq!(from_accept_language("en-US,en;q=0.9"), Some("en"));
        assert_eq!(from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some("zh-CN"));
        assert_eq!(from_accept_language("fr"), None);
        assert_eq!(tr_args("en", "audit.count", &[("n", "3")]), "3 entries");
    }
}
