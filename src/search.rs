//! Text search terms. Chinese has no spaces, so names, addresses and notes are segmented
//! with jieba (search mode also emits the shorter words inside longer ones: 压缩机 → 压缩,
//! 压缩机) and stored as space-separated lower-case words in the full-text index of each
//! database (SQLite FTS5, PostgreSQL tsvector 'simple').

use std::sync::OnceLock;

use jieba_rs::Jieba;

fn jieba() -> &'static Jieba {
    static J: OnceLock<Jieba> = OnceLock::new();
    J.get_or_init(Jieba::new)
}

fn keep(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

/// The words to index for a text.
pub fn index_terms(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for t in jieba().cut_for_search(part, true) {
            if keep(t.word) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&t.word.to_lowercase());
            }
        }
    }
    out
}

/// The words of a query; every one must match.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in jieba().cut(q, true) {
        let w = t.word.trim().to_lowercase();
        if keep(&w) && !out.contains(&w) {
            out.push(w);
        }
    }
    out.truncate(12);
    out
}

/// An FTS5 MATCH expression: each word quoted (so user input is never FTS syntax).
pub fn fts5_query(terms: &[String]) -> String {
    terms.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

/// Digits only, for phone lookups.
pub fn digits(q: &str) -> String {
    q.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_words_are_found_inside_longer_text() {
        let terms = index_terms(&["格力空调压缩机维修服务", "上海市浦东新区张江路88号"]);
        let words: Vec<&str> = terms.split(' ').collect();
        for w in ["空调", "压缩机", "维修", "上海", "浦东"] {
            assert!(words.contains(&w), "{w} missing in {terms}");
        }
        assert_eq!(query_terms("空调 维修"), vec!["空调", "维修"]);
        assert_eq!(query_terms("Gree AIR"), vec!["gree", "air"]);
    }

    #[test]
    fn fts_queries_are_quoted() {
        assert_eq!(fts5_query(&["a\"b".into(), "空调".into()]), "\"a\"\"b\" \"空调\"");
    }
}
