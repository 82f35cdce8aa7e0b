//! Annex 1 (tourist) and Annex 2 (business, medical) of the seed, kept as
//! data files beside this crate: Kazakhstan changes these lists over time,
//! so a new list is a data change, never a code change.

use crate::Category;
use serde::Serialize;
use std::sync::LazyLock;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Country {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Annex {
    pub version: String,
    pub effective_date: String,
    pub countries: Vec<Country>,
}

impl Annex {
    /// Parses the TSV format of `data/`: `#` header lines (with `# version:`
    /// and `# effective_date:`), a column line, then `number name iso3`.
    pub fn parse(text: &str) -> Result<Annex, String> {
        let mut version = None;
        let mut effective_date = None;
        let mut countries = Vec::new();
        let mut seen_columns = false;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(v) = comment.strip_prefix("version:") {
                    version = Some(v.trim().to_owned());
                } else if let Some(d) = comment.strip_prefix("effective_date:") {
                    effective_date = Some(d.trim().to_owned());
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            if !seen_columns {
                seen_columns = true;
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [_, name, code] = cols[..] else {
                return Err(format!("line {}: expected 3 columns", i + 1));
            };
            if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(format!(
                    "line {}: bad ISO 3166-1 alpha-3 code {code:?}",
                    i + 1
                ));
            }
            countries.push(Country {
                code: code.to_owned(),
                name: name.to_owned(),
            });
        }
        countries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Annex {
            version: version.ok_or("missing '# version:' header")?,
            effective_date: effective_date.ok_or("missing '# effective_date:' header")?,
            countries,
        })
    }

    pub fn contains(&self, code: &str) -> bool {
        self.countries.iter().any(|c| c.code == code)
    }
}

pub struct Annexes {
    pub tourist: Annex,
    pub business_medical: Annex,
}

static BUILTIN: LazyLock<Annexes> = LazyLock::new(|| Annexes {
    tourist: Annex::parse(include_str!("../data/annex1-tourist.tsv")).expect("annex 1 data"),
    business_medical: Annex::parse(include_str!("../data/annex2-business-medical.tsv"))
        .expect("annex 2 data"),
});

impl Annexes {
    pub fn builtin() -> &'static Annexes {
        &BUILTIN
    }

    pub fn for_category(&self, category: Category) -> &Annex {
        match category {
            Category::Tourist => &self.tourist,
            Category::Business | Category::Medical => &self.business_medical,
        }
    }

    /// Whether nationals of `nationality` (alpha-3) may get this e-visa.
    pub fn eligible(&self, category: Category, nationality: &str) -> bool {
        self.for_category(category).contains(nationality)
    }

    /// English short name of a country on either annex.
    pub fn country_name(&self, code: &str) -> Option<&str> {
        [&self.tourist, &self.business_medical]
            .into_iter()
            .flat_map(|a| a.countries.iter())
            .find(|c| c.code == code)
            .map(|c| c.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_annexes_hold_what_the_seed_names() {
        let a = Annexes::builtin();
        // Annex 1 starts with these nine (the press copy of the seed).
        for code in [
            "DZA", "AND", "AGO", "ATG", "ABW", "BHS", "BHR", "BGD", "BRB",
        ] {
            assert!(a.eligible(Category::Tourist, code), "{code}");
        }
        assert!(a.eligible(Category::Tourist, "IND"));
        assert!(a.eligible(Category::Tourist, "CHN"));
        assert!(a.eligible(Category::Tourist, "VNM"));
        assert!(a.eligible(Category::Business, "SRB"));
        assert!(a.eligible(Category::Medical, "VNM"));
        assert!(!a.eligible(Category::Business, "IND"));
        assert!(!a.eligible(Category::Tourist, "USA"));
        assert_eq!(a.tourist.countries.len(), 102);
        assert_eq!(a.business_medical.countries.len(), 14);
        assert_eq!(a.country_name("SRB"), Some("Serbia"));
        assert_eq!(a.tourist.effective_date, "2019-01-01");
    }

    #[test]
    fn rejects_malformed_data() {
        assert!(Annex::parse("number\tname\tiso3\n1\tX\tind\n").is_err());
        assert!(Annex::parse("# version: 1\nnumber\tname\tiso3\n1\tX\tIND\n").is_err());
        let ok = Annex::parse(
            "# version: 2\n# effective_date: 2030-01-01\nn\tname\tiso3\n1\tIndia\tIND\n",
        );
        assert_eq!(
            ok.unwrap().countries,
            vec![Country {
                code: "IND".into(),
                name: "India".into()
            }]
        );
    }
}
