//! Validation of account input. Messages are locale keys, resolved to both languages in
//! [`crate::i18n::field_error`].

use rules::FieldError;

use super::Role;
use crate::i18n::field_error;

pub const MIN_PASSWORD_LEN: usize = 8;

/// A login: 2–32 characters of lowercase letters, digits, `.`, `_`, `-`. Stored lowercase so
/// `Zhang.Wei` and `zhang.wei` are one account.
pub fn parse_login(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let login = raw.trim().to_lowercase();
    if login.is_empty() {
        errors.push(field_error("login", "error.required"));
    } else if login.chars().count() < 2 || login.chars().count() > 32 {
        errors.push(field_error("login", "error.login_length"));
    } else if !login.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        errors.push(field_error("login", "error.login_chars"));
    }
    login
}

pub fn check_password(field: &str, pw: &str, errors: &mut Vec<FieldError>) {
    if pw.chars().count() < MIN_PASSWORD_LEN {
        errors.push(field_error(field, "error.password_short"));
    } else if pw.len() > 256 {
        errors.push(field_error(field, "error.too_long"));
    }
}

pub fn parse_display_name(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let name = raw.trim().to_string();
    if name.is_empty() {
        errors.push(field_error("display_name", "error.required"));
    } else if name.chars().count() > 64 {
        errors.push(field_error("display_name", "error.too_long"));
    }
    name
}

/// An optional e-mail: empty means none; otherwise one `@` with text on both sides and a dot
/// in the domain. (Deliverability is proven by sending, not by a regex.)
pub fn parse_email(raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let email = raw.trim();
    if email.is_empty() {
        return None;
    }
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if !ok || email.len() > 254 {
        errors.push(field_error("email", "error.email"));
    }
    Some(email.to_lowercase())
}

/// An optional Chinese phone number: mobile (11 digits starting with 1) or landline with area
/// code (0 + 2–3 digits, then 7–8 digits, optional extension). Spaces and dashes are allowed
/// in input and removed, except the one before an extension.
pub fn parse_phone(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let digits: String =
        trimmed.trim_start_matches("+86").chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    let ok = digits.chars().all(|c| c.is_ascii_digit())
        && ((digits.len() == 11 && digits.starts_with('1'))
            || (digits.starts_with('0') && (10..=16).contains(&digits.len())));
    if !ok {
        errors.push(field_error(field, "error.phone"));
    }
    Some(digits)
}

pub fn parse_roles<'a>(raw: impl IntoIterator<Item = &'a str>, errors: &mut Vec<FieldError>) -> Vec<Role> {
    let mut roles = Vec::new();
    for r in raw {
        if r.trim().is_empty() {
            continue;
        }
        match Role::parse(r) {
            Some(role) if !roles.contains(&role) => roles.push(role),
            Some(_) => {}
            None => errors.push(field_error("roles", "error.unknown_role")),
        }
    }
    if roles.is_empty() {
        errors.push(field_error("roles", "error.role_required"));
    }
    roles.sort();
    roles
}

pub fn parse_locale(raw: &str, errors: &mut Vec<FieldError>) -> String {
    match raw.trim() {
        "en" => "en".into(),
        "zh-CN" | "zh" | "" => "zh-CN".into(),
        _ => {
            errors.push(field_error("locale", "error.locale"));
            "zh-CN".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_lowercased_and_checked() {
        let mut e = vec![];
        assert_eq!(parse_login(" Zhang.Wei ", &mut e), "zhang.wei");
        assert!(e.is_empty());
        parse_login("张伟", &mut e);
        parse_login("a", &mut e);
        parse_login("", &mut e);
        assert_eq!(e.len(), 3);
        assert!(e.iter().all(|f| f.field == "login"));
    }

    #[test]
    fn phones() {
        let mut e = vec![];
        assert_eq!(parse_phone("phone", "138 0013 8000", &mut e).as_deref(), Some("13800138000"));
        assert_eq!(parse_phone("phone", "+86 13800138000", &mut e).as_deref(), Some("13800138000"));
        assert_eq!(parse_phone("phone", "021-6234 5678", &mut e).as_deref(), Some("02162345678"));
        assert!(e.is_empty());
        parse_phone("phone", "12345", &mut e);
        parse_phone("phone", "1380013800a", &mut e);
        assert_eq!(e.len(), 2);
        assert_eq!(parse_phone("phone", "  ", &mut e), None);
    }

    #[test]
    fn emails() {
        let mut e = vec![];
        assert_eq!(parse_email("Li@Example.com", &mut e).as_deref(), Some("li@example.com"));
        assert_eq!(parse_email("", &mut e), None);
        assert!(e.is_empty());
        for bad in ["li", "li@", "@x.cn", "li@x", "a b@x.cn", "a@b@c.cn"] {
            let mut e = vec![];
            parse_email(bad, &mut e);
            assert_eq!(e.len(), 1, "{bad}");
        }
    }

    #[test]
    fn roles_need_one_known() {
        let mut e = vec![];
        assert_eq!(parse_roles(["engineer", "admin", "engineer"], &mut e), vec![Role::Engineer, Role::Admin]);
        assert!(e.is_empty());
        parse_roles(["boss"], &mut e);
        assert_eq!(e.len(), 2, "unknown role and none left");
    }

    #[test]
    fn passwords() {
        let mut e = vec![];
        check_password("password", "long enough", &mut e);
        assert!(e.is_empty());
        check_password("password", "short", &mut e);
        assert_eq!(e[0].field, "password");
    }
}
