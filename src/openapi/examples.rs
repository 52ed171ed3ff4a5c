//! The larger examples of the OpenAPI document, kept as JSON files in `openapi/examples/` (one
//! per schema, named after it) instead of `json!` blocks in the code: they are data, read by
//! people and by Redocly (which checks each against its schema in CI). Embedded at build time;
//! a test parses every one.

use serde_json::Value;

fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("openapi/examples/{name}.json is not JSON: {e}"))
}

macro_rules! examples {
    ($($function:ident => $name:literal),* $(,)?) => {
        $(
            #[doc = concat!("The example of `", $name, "`.")]
            pub fn $function() -> Value {
                parse($name, include_str!(concat!("../../openapi/examples/", $name, ".json")))
            }
        )*

        /// Every example, by schema name (for the test).
        #[cfg(test)]
        pub(crate) fn all() -> Vec<(&'static str, Value)> {
            vec![$(($name, $function())),*]
        }
    };
}

examples! {
    case_view => "CaseView",
    charts => "Charts",
    check_view => "CheckView",
    checkup_view => "CheckupView",
    child_detail => "ChildDetail",
    county_kpis => "CountyKpis",
    draft => "Draft",
    followup_history => "FollowupHistory",
    followup_view => "FollowupView",
    grading_view => "GradingView",
    handbook_view => "HandbookView",
    my_handbook => "MyHandbook",
    my_profile => "MyProfile",
    problem => "Problem",
    referral_view => "ReferralView",
    registry => "Registry",
    report_detail => "ReportDetail",
    report_view => "ReportView",
    risk_state => "RiskState",
    version_view => "VersionView",
    work_item => "WorkItem",
    work_list => "WorkList",
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_example_file_is_a_json_object_and_is_used() {
        let mut files: Vec<String> = std::fs::read_dir("openapi/examples")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut named: Vec<String> = super::all()
            .into_iter()
            .map(|(name, value)| {
                assert!(value.is_object(), "{name}");
                format!("{name}.json")
            })
            .collect();
        named.sort();
        assert_eq!(
            files, named,
            "a file in openapi/examples/ without its function, or the reverse"
        );
    }
}
