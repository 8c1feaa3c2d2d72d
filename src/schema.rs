//! The database schema, kept by hand with portable types only, so one definition serves both
//! engines. It must match `migrations/sqlite` and `migrations/postgres`.

diesel::table! {
    organizations (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        allow_force_checkin -> Bool,
        people -> BigInt,
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
        target_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    data_keys (id) {
        id -> BigInt,
        key_uid -> Text,
        wrapped_key -> Binary,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    targets (id) {
        id -> BigInt,
        organization_id -> BigInt,
        name -> Text,
        name_key -> Text,
        address -> Text,
        description -> Text,
        connector -> Text,
        connector_settings -> Text,
        connector_secret -> Nullable<Binary>,
        checkout_type -> Text,
        exclusive_minutes -> Integer,
        password_policy -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        search_text -> Text,
    }
}

diesel::table! {
    target_users (target_id, user_id) {
        target_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    target_policy_admins (target_id, user_id) {
        target_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    accounts (id) {
        id -> BigInt,
        organization_id -> BigInt,
        target_id -> BigInt,
        username -> Text,
        secret -> Binary,
        notes -> Text,
        auto_reset -> Bool,
        owner_user_id -> Nullable<BigInt>,
        admin_access -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        state -> Text,
        pending_secret -> Nullable<Binary>,
        reset_attempts -> Integer,
        reset_error -> Nullable<Text>,
        next_reset_at -> Nullable<Timestamp>,
        exclusive_checkout_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    checkouts (id) {
        id -> BigInt,
        organization_id -> BigInt,
        account_id -> BigInt,
        target_id -> BigInt,
        user_id -> BigInt,
        mode -> Text,
        started_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        end_reason -> Nullable<Text>,
        ended_by -> Nullable<BigInt>,
        reminded -> Bool,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        organization_id -> BigInt,
        user_id -> BigInt,
        message -> Text,
        link -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_requests (id) {
        id -> BigInt,
        organization_id -> BigInt,
        account_id -> BigInt,
        target_id -> BigInt,
        admin_user_id -> BigInt,
        owner_user_id -> BigInt,
        status -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        decided_at -> Nullable<Timestamp>,
        token_hash -> Nullable<Text>,
        token_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    outbound_emails (id) {
        id -> BigInt,
        organization_id -> BigInt,
        kind -> Text,
        recipient_user_id -> BigInt,
        request_id -> Nullable<BigInt>,
        account_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        dropped_reason -> Nullable<Text>,
    }
}

diesel::joinable!(users -> organizations (organization_id));
diesel::joinable!(installation -> organizations (organization_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(audit_events -> organizations (organization_id));
diesel::joinable!(targets -> organizations (organization_id));
diesel::joinable!(target_users -> targets (target_id));
diesel::joinable!(target_users -> users (user_id));
diesel::joinable!(accounts -> targets (target_id));
diesel::joinable!(target_policy_admins -> targets (target_id));
diesel::joinable!(target_policy_admins -> users (user_id));
diesel::joinable!(checkouts -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(accounts -> users (owner_user_id));
diesel::joinable!(access_requests -> accounts (account_id));
diesel::joinable!(access_requests -> targets (target_id));

diesel::table! {
    /// SQLite only: the FTS5 trigram index of `targets.search_text` (kept by triggers).
    targets_search (rowid) {
        rowid -> BigInt,
        search_text -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organizations,
    installation,
    setup_tokens,
    users,
    sessions,
    audit_events,
    data_keys,
    targets,
    target_users,
    target_policy_admins,
    accounts,
    checkouts,
    notifications,
    access_requests,
    outbound_emails,
    targets_search,
);
