//! Lenient deserialisation shared by the wire shapes.

use serde::{Deserialize, Deserializer};

/// Treat an explicit JSON `null` like a missing field: Ray sends `null` for many strings and
/// lists depending on state (an actor without a repr, a replica without a node yet).
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
