//! The five-colour grading engine — `shared/domain/maternal/risk-grading.md` §2–3, its rule table
//! being `risk-rules.json` itself (embedded; see `the_embedded_table_is_the_shared_specification`).
//!
//! A code fires when any of its rows matches; a row matches when its condition and every condition
//! of its `and` list hold; a condition on a field not recorded is false. The highest colour wins,
//! purple is carried alongside.

use std::{collections::BTreeSet, sync::OnceLock};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{Field, RiskInput, Value};

pub const RULES_JSON: &str = include_str!("risk-rules.json");

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Green,
    Yellow,
    Orange,
    Red,
    Purple,
}

impl Colour {
    pub fn as_str(self) -> &'static str {
        match self {
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Red => "red",
            Colour::Purple => "purple",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Green,
            Self::Yellow,
            Self::Orange,
            Self::Red,
            Self::Purple,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    In,
    IsTrue,
    Between,
}

#[derive(Debug, Clone, Deserialize)]
struct Condition {
    field: Field,
    operator: Op,
    #[serde(default)]
    value: Option<serde_json::Value>,
    #[serde(default)]
    values: Vec<serde_json::Value>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    min_inclusive: bool,
    #[serde(default)]
    max_inclusive: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Rule {
    code: String,
    #[serde(default)]
    colour: Option<Colour>,
    #[serde(flatten)]
    condition: Condition,
    #[serde(default, rename = "and")]
    all_of: Vec<Condition>,
}

/// A criterion the clinician ticks.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    pub code: String,
    pub colour: Colour,
    pub description_zh: String,
    pub description_en: String,
}

#[derive(Debug, Deserialize)]
struct RuleBook {
    screening_rules: Vec<Rule>,
    assessment_rules: Vec<Rule>,
    clinician_criteria: Vec<Criterion>,
}

fn book() -> &'static RuleBook {
    static BOOK: OnceLock<RuleBook> = OnceLock::new();
    BOOK.get_or_init(|| {
        serde_json::from_str(RULES_JSON)
            .expect("risk-rules.json parses into typed rules (unit-tested)")
    })
}

fn number(v: &serde_json::Value) -> Option<f64> {
    v.as_f64()
}

impl Condition {
    fn holds(&self, input: &RiskInput) -> bool {
        let Some(x) = input.get(self.field) else {
            return false;
        };
        let num = |t: Option<&serde_json::Value>| t.and_then(number);
        match (self.operator, x) {
            (Op::IsTrue, Value::Bool(b)) => b,
            (Op::Gt, Value::Number(x)) => num(self.value.as_ref()).is_some_and(|v| x > v),
            (Op::Gte, Value::Number(x)) => num(self.value.as_ref()).is_some_and(|v| x >= v),
            (Op::Lt, Value::Number(x)) => num(self.value.as_ref()).is_some_and(|v| x < v),
            (Op::Lte, Value::Number(x)) => num(self.value.as_ref()).is_some_and(|v| x <= v),
            (Op::Eq, Value::Number(x)) => num(self.value.as_ref()).is_some_and(|v| x == v),
            (Op::Eq, Value::Text(t)) => self.value.as_ref().and_then(|v| v.as_str()) == Some(t),
            (Op::Eq, Value::Bool(b)) => self.value.as_ref().and_then(|v| v.as_bool()) == Some(b),
            (Op::In, Value::Text(t)) => self.values.iter().any(|v| v.as_str() == Some(t)),
            (Op::In, Value::Number(x)) => self.values.iter().any(|v| number(v) == Some(x)),
            (Op::Between, Value::Number(x)) => {
                let above = self
                    .min
                    .is_some_and(|m| if self.min_inclusive { x >= m } else { x > m });
                let below = self
                    .max
                    .is_some_and(|m| if self.max_inclusive { x <= m } else { x < m });
                above && below
            }
            _ => false,
        }
    }
}

impl Rule {
    fn matches(&self, input: &RiskInput) -> bool {
        self.condition.holds(input) && self.all_of.iter().all(|c| c.holds(input))
    }
}

/// The screening result (初筛): positive when any item applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Screening {
    pub positive: bool,
    pub codes: BTreeSet<String>,
}

/// The structured screening items that apply; the clinician's ticked items (`screen_*` codes) join them.
pub fn screen(input: &RiskInput, ticked: &[String]) -> Result<Screening, UnknownCode> {
    let known: BTreeSet<&str> = book()
        .screening_rules
        .iter()
        .map(|r| r.code.as_str())
        .chain(SCREEN_TICK_CODES.iter().copied())
        .collect();
    if let Some(bad) = ticked.iter().find(|c| !known.contains(c.as_str())) {
        return Err(UnknownCode(bad.clone()));
    }
    let mut codes: BTreeSet<String> = book()
        .screening_rules
        .iter()
        .filter(|r| r.matches(input))
        .map(|r| r.code.clone())
        .collect();
    codes.extend(ticked.iter().cloned());
    Ok(Screening {
        positive: !codes.is_empty(),
        codes,
    })
}

/// Screening items only a clinician can tick (risk-grading.md §2, items without (S)).
pub const SCREEN_TICK_CODES: &[&str] = &[
    "screen_disability",
    "screen_infertility",
    "screen_adverse_obstetric_history",
    "screen_current_pregnancy_abnormal",
    "screen_genital_malformation",
    "screen_cervical_surgery",
    "screen_endoscopic_surgery",
    "screen_gyn_malignancy_surgery",
    "screen_family_hypertension",
    "screen_family_diabetes",
    "screen_family_coagulopathy",
    "screen_family_hereditary",
    "screen_past_organ_disease",
    "screen_past_malignancy",
    "screen_past_major_surgery",
    "screen_urine_abnormal",
    "screen_symptom_cardiorespiratory",
    "screen_symptom_digestive",
    "screen_symptom_urinary",
    "screen_symptom_blood",
    "screen_symptom_endocrine_immune",
    "screen_symptom_std",
    "screen_symptom_neuro_psych",
    "screen_drug_use",
];

/// A criterion code that is in neither the rule table nor the clinician's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown criterion code {0}")]
pub struct UnknownCode(pub String);

/// A grading proposal (评估).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Grading {
    /// The highest of green < yellow < orange < red among the non-purple codes.
    pub base_colour: Colour,
    /// An infectious-disease (purple) code fired.
    pub purple: bool,
    /// `green`, `purple`, `purple+orange` …
    #[schema(pattern = r"^(green|yellow|orange|red|purple|purple\+(yellow|orange|red))$")]
    pub label: String,
    /// Every fired code, once each.
    pub codes: BTreeSet<String>,
    /// Core data not recorded (age, BMI, Hb, PLT, BP, HBsAg, syphilis, HIV): a green grading
    /// with missing core data is still green, but says so.
    pub missing_core: Vec<String>,
}

pub fn label(base: Colour, purple: bool) -> String {
    match (purple, base) {
        (false, b) => b.as_str().to_string(),
        (true, Colour::Green) => "purple".to_string(),
        (true, b) => format!("purple+{}", b.as_str()),
    }
}

/// The label in Chinese, as the mother reads it (`risk-grading.md` §3): "橙色（较高风险）",
/// "紫色（传染病）" alone, or "紫色（传染病）和橙色（较高风险）" when combined.
pub fn label_zh(base: Colour, purple: bool) -> String {
    let colour = match base {
        Colour::Green => "绿色（低风险）",
        Colour::Yellow => "黄色（一般风险）",
        Colour::Orange => "橙色（较高风险）",
        Colour::Red => "红色（高风险）",
        Colour::Purple => "紫色（传染病）",
    };
    match (purple, base) {
        (false, _) | (true, Colour::Purple) => colour.to_string(),
        (true, Colour::Green) => "紫色（传染病）".to_string(),
        (true, _) => format!("紫色（传染病）和{colour}"),
    }
}

/// The colour of one code (rule table or clinician catalogue).
pub fn colour_of(code: &str) -> Option<Colour> {
    let b = book();
    b.assessment_rules
        .iter()
        .find(|r| r.code == code)
        .and_then(|r| r.colour)
        .or_else(|| {
            b.clinician_criteria
                .iter()
                .find(|c| c.code == code)
                .map(|c| c.colour)
        })
}

/// The clinician's catalogue.
pub fn clinician_criteria() -> &'static [Criterion] {
    &book().clinician_criteria
}

/// Grades from structured data plus the codes the clinician ticked (which may also be structured
/// codes, e.g. a diagnosis made elsewhere). Unknown codes are refused.
pub fn grade(input: &RiskInput, ticked: &[String]) -> Result<Grading, UnknownCode> {
    if let Some(bad) = ticked.iter().find(|c| colour_of(c).is_none()) {
        return Err(UnknownCode(bad.clone()));
    }
    let mut codes: BTreeSet<String> = book()
        .assessment_rules
        .iter()
        .filter(|r| r.matches(input))
        .map(|r| r.code.clone())
        .collect();
    codes.extend(ticked.iter().cloned());
    let colours: Vec<Colour> = codes.iter().filter_map(|c| colour_of(c)).collect();
    let purple = colours.contains(&Colour::Purple);
    let base_colour = colours
        .iter()
        .copied()
        .filter(|c| *c != Colour::Purple)
        .max()
        .unwrap_or(Colour::Green);
    let missing_core = [
        ("age_years", input.age_years.is_none()),
        ("bmi", input.bmi.is_none()),
        ("hb_g_l", input.hb_g_l.is_none()),
        ("plt_10e9_l", input.plt_10e9_l.is_none()),
        (
            "sbp_mmhg",
            input.sbp_mmhg.is_none() || input.dbp_mmhg.is_none(),
        ),
        ("hbsag_positive", input.hbsag_positive.is_none()),
        ("syphilis_positive", input.syphilis_positive.is_none()),
        ("hiv_positive", input.hiv_positive.is_none()),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| name.to_string())
    .collect();
    Ok(Grading {
        label: label(base_colour, purple),
        base_colour,
        purple,
        codes,
        missing_core,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_into_typed_rules_with_known_fields() {
        let b = book();
        assert_eq!(b.assessment_rules.len(), 52);
        assert_eq!(b.screening_rules.len(), 24);
        assert_eq!(b.clinician_criteria.len(), 50);
        assert!(b.assessment_rules.iter().all(|r| r.colour.is_some()));
    }

    #[test]
    fn missing_data_never_raises_the_colour() {
        let g = grade(&RiskInput::default(), &[]).unwrap();
        assert_eq!(
            (g.base_colour, g.purple, g.label.as_str()),
            (Colour::Green, false, "green")
        );
        assert_eq!(g.missing_core.len(), 8);
    }

    #[test]
    fn unknown_codes_are_refused_and_clinician_codes_count() {
        assert_eq!(
            grade(&RiskInput::default(), &["made_up".into()]),
            Err(UnknownCode("made_up".into()))
        );
        let g = grade(
            &RiskInput::default(),
            &[
                "yellow_contracted_pelvis".into(),
                "purple_tuberculosis".into(),
            ],
        )
        .unwrap();
        assert_eq!(g.label, "purple+yellow");
    }

    #[test]
    fn bmi_is_rounded_before_comparison() {
        let input = RiskInput {
            bmi: Some(27.96),
            ..Default::default()
        };
        assert!(grade(&input, &[])
            .unwrap()
            .codes
            .contains("orange_bmi_ge28"));
        let input = RiskInput {
            bmi: Some(25.04),
            ..Default::default()
        };
        assert!(!grade(&input, &[])
            .unwrap()
            .codes
            .contains("yellow_bmi_gt25"));
    }
}
