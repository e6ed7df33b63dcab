//! Helpers shared by the notification hub tests: a minimal notification, and publishing one.

use edgesaga::notify::hub::Hub;

pub fn note(kind: &str, entity: &str) -> String {
    format!(r#"{{"type":"{kind}","entityId":"{entity}"}}"#)
}

/// Publishes and returns the id.
pub fn publish(hub: &mut Hub, tenant: &str, kind: &str, entity: &str) -> u64 {
    hub.publish(tenant, note(kind, entity)).unwrap().id
}
