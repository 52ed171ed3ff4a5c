//! The one portable schema for both backends (only `BigInt`/`Integer`, `Double`, `Text`,
//! `Bool`, `Date`, `Timestamp` in UTC). Kept by hand in step with `migrations/{sqlite,postgres}`; the
//! `schema_matches_the_migrations` test compares every table's columns on both backends.

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

diesel::table! {
    handbooks (id) {
        id -> Text,
        county_code -> Text,
        status -> Text,
        registered_institution_id -> Nullable<Text>,
        registered_at -> Nullable<Timestamp>,
        id_type -> Text,
        id_number_enc -> Text,
        id_blind_index -> Text,
        id_masked -> Text,
        full_name -> Text,
        birth_date -> Date,
        phone -> Nullable<Text>,
        residence_region_code -> Text,
        address -> Nullable<Text>,
        household_registered -> Nullable<Bool>,
        ethnicity -> Nullable<Text>,
        education -> Nullable<Text>,
        occupation -> Nullable<Text>,
        blood_group -> Nullable<Text>,
        rh -> Nullable<Text>,
        height_cm -> Nullable<Double>,
        pre_pregnancy_weight_kg -> Nullable<Double>,
        history -> Text,
        partner -> Text,
        version -> BigInt,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        revision -> BigInt,
        pending_identity_index -> Nullable<Text>,
    }
}

diesel::table! {
    force_majeure_periods (id) {
        id -> Text,
        county_code -> Text,
        region_code -> Text,
        starts_on -> Date,
        ends_on -> Date,
        reason -> Text,
        declared_by -> Text,
        declared_at -> Timestamp,
        withdrawn_by -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    throttle_attempts (id) {
        id -> Text,
        action -> Text,
        label -> Text,
        client_addr -> Nullable<Text>,
        started_at -> Timestamp,
        state -> Text,
    }
}

diesel::table! {
    throttle_locks (key) {
        key -> Text,
        touched_at -> Timestamp,
    }
}

diesel::table! {
    handbook_versions (handbook_id, version) {
        handbook_id -> Text,
        version -> BigInt,
        county_code -> Text,
        snapshot -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    handbook_members (handbook_id, family_account_id) {
        handbook_id -> Text,
        family_account_id -> Text,
        county_code -> Text,
        relation -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    handbook_access (handbook_id, institution_id, reason) {
        handbook_id -> Text,
        institution_id -> Text,
        county_code -> Text,
        reason -> Text,
        granted_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_codes (code_hash) {
        code_hash -> Text,
        purpose -> Text,
        handbook_id -> Text,
        county_code -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        used_by -> Nullable<Text>,
    }
}

diesel::table! {
    pregnancies (id) {
        id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        lmp -> Nullable<Date>,
        edd -> Date,
        dating_source -> Text,
        dating_reason -> Nullable<Text>,
        gravidity -> Integer,
        parity -> Integer,
        fetal_count -> Nullable<Integer>,
        registration_institution_id -> Text,
        registration_date -> Date,
        early_registration -> Bool,
        status -> Text,
        end_reason -> Nullable<Text>,
        ended_on -> Nullable<Date>,
        delivered_at -> Nullable<Timestamp>,
        delivery_ga_days -> Nullable<Integer>,
        delivery_mode -> Nullable<Text>,
        delivery_institution_id -> Nullable<Text>,
        blood_loss_ml -> Nullable<Integer>,
        maternal_outcome -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    pregnancy_versions (pregnancy_id, version) {
        pregnancy_id -> Text,
        version -> BigInt,
        county_code -> Text,
        snapshot -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    checkups (id) {
        id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        version -> BigInt,
        visit_date -> Date,
        ga_days -> Integer,
        weight_kg -> Nullable<Double>,
        bp_systolic -> Nullable<Integer>,
        bp_diastolic -> Nullable<Integer>,
        fundal_height_cm -> Nullable<Double>,
        abdominal_circumference_cm -> Nullable<Double>,
        fetal_heart_rates -> Nullable<Text>,
        fetal_presentation -> Nullable<Text>,
        oedema -> Nullable<Text>,
        urine_protein -> Nullable<Text>,
        urine_glucose -> Nullable<Text>,
        symptoms -> Nullable<Text>,
        complaints -> Nullable<Text>,
        advice -> Nullable<Text>,
        next_appointment -> Nullable<Date>,
        recorded_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        mother_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    checkup_versions (checkup_id, version) {
        checkup_id -> Text,
        version -> BigInt,
        county_code -> Text,
        snapshot -> Text,
        changed_by -> Text,
        changed_at -> Timestamp,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    lab_results (id) {
        id -> Text,
        checkup_id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        test -> Text,
        value_num -> Nullable<Double>,
        value_text -> Nullable<Text>,
        unit -> Nullable<Text>,
        ga_days -> Integer,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        mother_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ultrasounds (id) {
        id -> Text,
        checkup_id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        ga_days -> Integer,
        fetal_count -> Nullable<Integer>,
        crl_mm -> Nullable<Double>,
        bpd_mm -> Nullable<Double>,
        hc_mm -> Nullable<Double>,
        ac_mm -> Nullable<Double>,
        fl_mm -> Nullable<Double>,
        efw_g -> Nullable<Double>,
        afi_cm -> Nullable<Double>,
        placenta_position -> Nullable<Text>,
        findings -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        mother_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    children (id) {
        id -> Text,
        handbook_id -> Text,
        pregnancy_id -> Nullable<Text>,
        county_code -> Text,
        name -> Nullable<Text>,
        sex -> Text,
        born_at -> Timestamp,
        birth_weight_g -> Nullable<Integer>,
        birth_length_cm -> Nullable<Double>,
        ga_at_birth_days -> Nullable<Integer>,
        birth_institution_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    child_growth (id) {
        id -> Text,
        child_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        measured_on -> Date,
        weight_kg -> Nullable<Double>,
        length_cm -> Nullable<Double>,
        measured_lying -> Nullable<Bool>,
        head_circumference_cm -> Nullable<Double>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        mother_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    risk_screenings (id) {
        id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        positive -> Bool,
        codes -> Text,
        ticked -> Text,
        input -> Text,
        note -> Nullable<Text>,
        screened_by -> Text,
        screened_at -> Timestamp,
    }
}

diesel::table! {
    risk_gradings (id) {
        id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        input -> Text,
        facts -> Text,
        ticked -> Text,
        proposed_base -> Text,
        proposed_purple -> Bool,
        proposed_codes -> Text,
        decided_base -> Text,
        decided_purple -> Bool,
        override_reason -> Nullable<Text>,
        missing_core -> Text,
        graded_by -> Text,
        graded_at -> Timestamp,
    }
}

diesel::table! {
    pregnancy_risk (pregnancy_id) {
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        current_base -> Text,
        current_purple -> Bool,
        highest_base -> Text,
        last_grading_id -> Text,
        needs_regrading -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    risk_cases (id) {
        id -> Text,
        pregnancy_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        opened_by_grading_id -> Text,
        current_base -> Text,
        current_purple -> Bool,
        highest_base -> Text,
        stage -> Text,
        case_number -> Nullable<Text>,
        responsible_clinician_id -> Nullable<Text>,
        planned_delivery_institution_id -> Nullable<Text>,
        discovered_at -> Timestamp,
        report_due_at -> Timestamp,
        registered_at -> Nullable<Timestamp>,
        registered_by -> Nullable<Text>,
        reported_at -> Nullable<Timestamp>,
        reported_by -> Nullable<Text>,
        managed_at -> Nullable<Timestamp>,
        managed_by -> Nullable<Text>,
        treated_at -> Nullable<Timestamp>,
        treated_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
        close_reason -> Nullable<Text>,
        close_note -> Nullable<Text>,
        flagged_for_review -> Bool,
        version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    risk_notices (id) {
        id -> Text,
        case_id -> Text,
        handbook_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        colour_label -> Text,
        content -> Text,
        issued_by -> Text,
        issued_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        handbook_id -> Text,
        pregnancy_id -> Nullable<Text>,
        county_code -> Text,
        from_institution_id -> Text,
        to_institution_id -> Text,
        reason -> Text,
        urgency -> Text,
        direction -> Text,
        clinical_summary -> Text,
        status -> Text,
        decline_reason -> Nullable<Text>,
        sent_at -> Timestamp,
        sent_by -> Text,
        accepted_at -> Nullable<Timestamp>,
        accepted_by -> Nullable<Text>,
        declined_at -> Nullable<Timestamp>,
        declined_by -> Nullable<Text>,
        arrived_at -> Nullable<Timestamp>,
        arrived_by -> Nullable<Text>,
        completed_at -> Nullable<Timestamp>,
        completed_by -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    case_followups (id) {
        id -> Text,
        case_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        followed_on -> Date,
        findings -> Text,
        next_due -> Nullable<Date>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    consultations (id) {
        id -> Text,
        case_id -> Text,
        county_code -> Text,
        from_institution_id -> Text,
        to_institution_id -> Text,
        question -> Text,
        requested_by -> Text,
        requested_at -> Timestamp,
        answer -> Nullable<Text>,
        answered_by -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    county_settings (county_code) {
        county_code -> Text,
        report_hours_red -> Integer,
        report_hours_orange_purple -> Integer,
        updated_by -> Text,
        updated_at -> Timestamp,
        baseline_anaemia_pct -> Nullable<Double>,
        baseline_stunting_pct -> Nullable<Double>,
    }
}

diesel::table! {
    nutrition_events (id) {
        id -> Text,
        child_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        kind -> Text,
        event_date -> Date,
        issue_month -> Nullable<Text>,
        sachets -> Nullable<Integer>,
        suitable -> Nullable<Bool>,
        detail -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    nutrition_flags (child_id) {
        child_id -> Text,
        county_code -> Text,
        needs_medical_clearance -> Bool,
        condition -> Nullable<Text>,
        registered_poor -> Bool,
        relocation_site -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stock_lots (institution_id, lot) {
        institution_id -> Text,
        lot -> Text,
        county_code -> Text,
        expiry -> Date,
        balance -> Integer,
    }
}

diesel::table! {
    stock_movements (id) {
        id -> Text,
        institution_id -> Text,
        county_code -> Text,
        lot -> Text,
        direction -> Text,
        quantity -> Integer,
        reason -> Text,
        counterparty -> Nullable<Text>,
        ref_id -> Nullable<Text>,
        moved_on -> Date,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (caller_id, idem_key) {
        caller_id -> Text,
        idem_key -> Text,
        request_hash -> Text,
        status -> Integer,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    nutrition_followups (id) {
        id -> Text,
        child_id -> Text,
        county_code -> Text,
        institution_id -> Text,
        followed_on -> Date,
        age_days -> Integer,
        hb_g_l -> Nullable<Double>,
        altitude_m -> Nullable<Integer>,
        length_cm -> Nullable<Double>,
        measured_lying -> Nullable<Bool>,
        weight_kg -> Nullable<Double>,
        remaining_at_home -> Nullable<Integer>,
        counselled -> Bool,
        notes -> Nullable<Text>,
        advice -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        superseded_by -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
    }
}

diesel::table! {
    storage_checks (id) {
        id -> Text,
        institution_id -> Text,
        county_code -> Text,
        checked_at -> Timestamp,
        temperature_c -> Double,
        humidity_pct -> Double,
        out_of_range -> Bool,
        checklist -> Text,
        checklist_ok -> Bool,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(institutions -> regions (region_code));
diesel::joinable!(staff_accounts -> institutions (institution_id));
diesel::joinable!(staff_roles -> staff_accounts (staff_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(handbook_members -> handbooks (handbook_id));
diesel::joinable!(handbook_access -> handbooks (handbook_id));
diesel::joinable!(pregnancies -> handbooks (handbook_id));
diesel::joinable!(checkups -> pregnancies (pregnancy_id));
diesel::joinable!(lab_results -> checkups (checkup_id));
diesel::joinable!(ultrasounds -> checkups (checkup_id));
diesel::joinable!(child_growth -> children (child_id));

diesel::table! {
    nutrition_reports (id) {
        id -> Text,
        institution_id -> Text,
        county_code -> Text,
        region_code -> Text,
        level -> Text,
        month -> Text,
        version -> Integer,
        status -> Text,
        figures -> Text,
        sources -> Text,
        late -> Bool,
        reason -> Nullable<Text>,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        reviewed_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
        review_comment -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    regions,
    institutions,
    staff_accounts,
    staff_roles,
    family_accounts,
    sessions,
    refresh_tokens,
    audit_events,
    handbooks,
    handbook_versions,
    handbook_members,
    handbook_access,
    access_codes,
    pregnancies,
    pregnancy_versions,
    checkups,
    checkup_versions,
    lab_results,
    ultrasounds,
    children,
    child_growth,
    risk_screenings,
    risk_gradings,
    pregnancy_risk,
    risk_cases,
    risk_notices,
    referrals,
    case_followups,
    consultations,
    county_settings,
    nutrition_events,
    nutrition_flags,
    stock_lots,
    stock_movements,
    idempotency_keys,
    nutrition_followups,
    storage_checks,
    nutrition_reports,
);
