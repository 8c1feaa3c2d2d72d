//! Id newtypes: an organization id can never be passed where a user id belongs.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(OrganizationId);
id_type!(UserId);
id_type!(TargetId);
id_type!(AccountId);

macro_rules! from_i64 {
    ($($name:ident),*) => {
        $(impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        })*
    };
}

from_i64!(OrganizationId, UserId, TargetId, AccountId);
