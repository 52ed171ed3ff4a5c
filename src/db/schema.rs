//! The one portable schema for both backends (only `BigInt`/`Integer`, `Text`, `Bool`,
//! `Timestamp` in UTC). Kept by hand in step with `migrations/{sqlite,postgres}`; the
//! `schema_matches_migrations` test checks every column on both backends.

diesel::table! {
    regions (code) {
        code -> Text,
        name -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        county_code -> Text,
        elevation_m -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    institutions (id) {
        id -> Text,
        name -> Text,
        level -> Text,
        region_code -> Text,
        county_code -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_accounts (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        full_name -> Text,
        phone -> Nullable<Text>,
        institution_id -> Text,
        county_code -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staff_roles (staff_id, role) {
        staff_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    family_accounts (id) {
        id -> Text,
        wechat_openid -> Text,
        wechat_unionid -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Timestamp,
        last_login_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        created_at -> Timestamp,
        last_refreshed_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_label -> Nullable<Text>,
        actor_roles -> Nullable<Text>,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        county_code -> Nullable<Text>,
        detail -> Nullable<Text>,
    }
}

diesel::joinable!(institutions -> regions (region_code));
diesel::joinable!(staff_accounts -> institutions (institution_id));
diesel::joinable!(staff_roles -> staff_accounts (staff_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    institutions,
    staff_accounts,
    staff_roles,
    family_accounts,
    sessions,
    refresh_tokens,
    audit_events,
);
