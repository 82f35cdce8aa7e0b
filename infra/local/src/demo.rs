//! Demo invitations so a newcomer can try the portal at once (VISA_DEMO=1).

use crate::gateway::Gateway;
use chrono::Duration;
use visa_core::Category;
use visa_core::invitation::{Invitation, InvitationStatus, Invitee, Inviter};
use visa_core::store::{Invitations, StoreError};

/// Creates the three demo invitations on an empty store; returns them.
pub async fn seed(gw: &Gateway) -> Result<Vec<Invitation>, StoreError> {
    if gw.store.count("invitations").await? > 0 {
        return Ok(Vec::new());
    }
    let today = visa_core::clock::Clock::today(gw.clock.as_ref());
    let now = gw.clock.now();
    let date = |s: &str| s.parse().expect("demo date");
    let make = |number: &str,
                category,
                inviter: (&str, &str),
                invitee: (&str, &str, &str, &str, &str)| Invitation {
        number: number.into(),
        category,
        inviter: Inviter {
            name: inviter.0.into(),
            bin: inviter.1.into(),
        },
        invitee: Invitee {
            surname: invitee.0.into(),
            given_names: invitee.1.into(),
            nationality: invitee.2.into(),
            date_of_birth: date(invitee.3),
            passport_number: invitee.4.into(),
        },
        valid_from: today + Duration::days(14),
        valid_until: today + Duration::days(14 + 29),
        status: InvitationStatus::Approved,
        created_at: now,
        created_by: None,
        revoked_by: None,
        request_id: None,
    };
    let demo = vec![
        make(
            "250000000001",
            Category::Tourist,
            ("Kazakh Tourism JSC", "123456789012"),
            ("SHARMA", "PRIYA ANIL", "IND", "1990-04-12", "Z1234567"),
        ),
        make(
            "250000000002",
            Category::Business,
            ("Astana Hub LLP", "210240012345"),
            ("JOVANOVIĆ", "MARKO", "SRB", "1985-09-30", "012345678"),
        ),
        make(
            "250000000003",
            Category::Medical,
            ("Almaty Cardiology Center", "990140001234"),
            ("NGUYỄN", "THỊ LAN", "VNM", "1972-02-05", "C1234567"),
        ),
    ];
    for invitation in &demo {
        // Seeded by the process itself, not by an officer: no audit event.
        gw.store.create_invitation(invitation, None).await?;
    }
    Ok(demo)
}
