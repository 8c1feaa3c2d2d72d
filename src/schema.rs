//! The database schema, kept by hand with portable types only, so one definition serves both
//! engines. It must match `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    installation (id) {
        id -> BigInt,
        organization_id -> BigInt,
        set_up_at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        organization_id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<BigInt>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        organization_id -> BigInt,
        actor_user_id -> Nullable<BigInt>,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<BigInt>,
        detail -> Text,
        client_addr -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(installation -> organizations (organization_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(audit_events -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    installation,
    setup_tokens,
    users,
    sessions,
    audit_events,
);
