//! Money in ISO 4217 minor units, and the consular fee table.

use crate::Category;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: &str) -> Self {
        Money {
            amount_minor,
            currency: currency.to_ascii_uppercase(),
        }
    }
}

/// The consular fee per category. Configuration, not code: Kazakhstan sets
/// it (60 USD for the single-entry tourist, business and medical e-visa).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fees {
    pub tourist: Money,
    pub business: Money,
    pub medical: Money,
}

impl Default for Fees {
    fn default() -> Self {
        let usd60 = Money::new(6000, "USD");
        Fees {
            tourist: usd60.clone(),
            business: usd60.clone(),
            medical: usd60,
        }
    }
}

impl Fees {
    /// The fees `VISA_FEES` sets (e.g. `tourist=6000 USD,medical=8000 EUR`),
    /// else the defaults.
    pub fn from_env() -> Result<Fees, String> {
        match std::env::var("VISA_FEES") {
            Ok(spec) => Fees::parse(&spec).map_err(|e| format!("VISA_FEES: {e}")),
            Err(_) => Ok(Fees::default()),
        }
    }

    pub fn for_category(&self, category: Category) -> &Money {
        match category {
            Category::Tourist => &self.tourist,
            Category::Business => &self.business,
            Category::Medical => &self.medical,
        }
    }

    /// Parses `tourist=6000 USD,business=6000 USD,medical=6000 USD`
    /// (any subset; the rest keep their default).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut fees = Fees::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (cat, money) = part
                .split_once('=')
                .ok_or_else(|| format!("bad fee entry {part:?}"))?;
            let cat =
                Category::parse(cat.trim()).ok_or_else(|| format!("unknown category {cat:?}"))?;
            let (amount, currency) = money
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("bad amount {money:?}"))?;
            let amount: i64 = amount
                .parse()
                .map_err(|_| format!("bad amount {amount:?}"))?;
            if amount <= 0
                || currency.len() != 3
                || !currency.chars().all(|c| c.is_ascii_alphabetic())
            {
                return Err(format!("bad fee {money:?}"));
            }
            let m = Money::new(amount, currency);
            match cat {
                Category::Tourist => fees.tourist = m,
                Category::Business => fees.business = m,
                Category::Medical => fees.medical = m,
            }
        }
        Ok(fees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fee_is_60_usd_for_every_category() {
        let fees = Fees::default();
        for c in Category::ALL {
            assert_eq!(fees.for_category(c), &Money::new(6000, "USD"));
        }
    }

    #[test]
    fn parses_overrides_and_rejects_nonsense() {
        let fees = Fees::parse("medical=8000 eur").unwrap();
        assert_eq!(fees.medical, Money::new(8000, "EUR"));
        assert_eq!(fees.tourist, Money::new(6000, "USD"));
        assert!(Fees::parse("space=1 USD").is_err());
        assert!(Fees::parse("tourist=-1 USD").is_err());
        assert!(Fees::parse("tourist=10").is_err());
    }
}
