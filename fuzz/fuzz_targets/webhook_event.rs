//! Payment event parsing (functions/pay-webhook/src/event.rs) on arbitrary
//! bytes: a signed body that is not an event, or an event whose object is
//! not a session, must be an error the handler turns into 400, never a
//! panic; and what is acted on must name a checkout session.

#![no_main]

use libfuzzer_sys::fuzz_target;
use visa_pay_webhook::event::{self, Action, Event};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    match event::action(&event) {
        Ok(Action::Paid(_)) => assert!(
            event.kind == "checkout.session.completed"
                || event.kind == "checkout.session.async_payment_succeeded",
            "paid on {}",
            event.kind
        ),
        Ok(_) | Err(_) => {}
    }
});
