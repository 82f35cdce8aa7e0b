//! The three e-visa categories of the seed.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Tourist,
    Business,
    Medical,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::Tourist, Category::Business, Category::Medical];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Tourist => "tourist",
            Category::Business => "business",
            Category::Medical => "medical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
