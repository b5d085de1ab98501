//! Pure domain rules of the after-sales system. Nothing here does I/O or async work, so every
//! decision can be unit-, property- and fuzz-tested, and benchmarked on its own.
//!
//! Every decision names the rule it applied (regulation and article, or a company policy and
//! its version) so that users and auditors can see why.

/// An enum of stable codes with Chinese and English names (`code`, `parse`, `name`).
macro_rules! coded {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $code:literal, $zh:literal, $en:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];

            pub const fn code(self) -> &'static str {
                match self { $($name::$v => $code,)* }
            }

            pub const fn name_zh(self) -> &'static str {
                match self { $($name::$v => $zh,)* }
            }

            pub const fn name_en(self) -> &'static str {
                match self { $($name::$v => $en,)* }
            }

            pub fn name(self, locale: &str) -> &'static str {
                if locale.starts_with("en") { self.name_en() } else { self.name_zh() }
            }

            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.code() == s)
            }
        }
    };
}

pub mod analysis;
pub mod appraisal;
pub mod calendar;
pub mod care;
pub mod certification;
pub mod complaint;
pub mod entitlement;
pub mod error;
pub mod handbook;
pub mod metrics;
pub mod parts;
pub mod period;
pub mod sla;
pub mod work_order;

pub use error::FieldError;
