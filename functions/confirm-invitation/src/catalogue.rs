//! What anyone may read before applying: eligible countries, the fee and the rules.

use crate::Deps;
use http::StatusCode;
use serde_json::json;
use visa_core::Category;
use visa_core::http::{Request, Response, json, query_param};
use visa_core::passport::is_alpha3;
use visa_core::problem::{FieldError, Problem};
use visa_core::rules;

pub fn health() -> Response {
    json(StatusCode::OK, &json!({"status": "ok"}))
}

pub fn countries(deps: &Deps) -> Response {
    let list = |c: Category| &deps.annexes.for_category(c).countries;
    json(
        StatusCode::OK,
        &json!({
            "tourist": list(Category::Tourist),
            "business": list(Category::Business),
            "medical": list(Category::Medical),
            "annexes": {
                "tourist": {"version": deps.annexes.tourist.version, "effective_date": deps.annexes.tourist.effective_date},
                "business_medical": {"version": deps.annexes.business_medical.version, "effective_date": deps.annexes.business_medical.effective_date},
            }
        }),
    )
}

pub fn requirements(deps: &Deps, req: &Request) -> Result<Response, Problem> {
    let nationality = query_param(req, "nationality").map(|n| n.trim().to_ascii_uppercase());
    let category = query_param(req, "category");
    let mut errors = Vec::new();
    let nationality = match nationality {
        Some(n) if is_alpha3(&n) => Some(n),
        _ => {
            errors.push(FieldError::new(
                "nationality",
                "an ISO 3166-1 alpha-3 code such as IND",
            ));
            None
        }
    };
    let category = match category.as_deref().and_then(Category::parse) {
        Some(c) => Some(c),
        None => {
            errors.push(FieldError::new(
                "category",
                "one of tourist, business, medical",
            ));
            None
        }
    };
    let (Some(nationality), Some(category)) = (nationality, category) else {
        return Err(Problem::invalid_fields(errors));
    };
    Ok(json(
        StatusCode::OK,
        &json!({
            "eligible": rules::eligible(deps.annexes, category, &nationality),
            "nationality": nationality,
            "category": category,
            "fee": deps.fees.for_category(category),
            "entries": "single",
            "max_stay_days": rules::MAX_STAY_DAYS,
            "entry_points": rules::ENTRY_POINTS,
            "rules": rules::RULES,
        }),
    ))
}
