//! The typed input of the risk engine: one optional field per `fields` entry of
//! `risk-rules.json` (generated from it; `the_input_has_every_field_of_the_rule_table` keeps them
//! in step). Absent means "not recorded", which never fires a rule.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Malignant tumour status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Malignancy {
    TreatedNoRecurrence,
    DiagnosedInPregnancy,
    RecurrentOrMetastatic,
}

impl Malignancy {
    pub fn as_str(self) -> &'static str {
        match self {
            Malignancy::TreatedNoRecurrence => "treated_no_recurrence",
            Malignancy::DiagnosedInPregnancy => "diagnosed_in_pregnancy",
            Malignancy::RecurrentOrMetastatic => "recurrent_or_metastatic",
        }
    }
}

/// The facts a grading is computed from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    /// Completed years of age (周岁) on the assessment date. (years)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_years: Option<i64>,
    /// Height. (cm)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_cm: Option<f64>,
    /// Pre-pregnancy BMI (or BMI at the first visit if before 14 weeks and no pre-pregnancy weight), rounded to 1 decimal before comparison. (kg/m2)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bmi: Option<f64>,
    /// RhD blood group negative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh_negative: Option<bool>,
    /// Clinician-confirmed Rh incompatibility (Rh血型不合), e.g. RhD-negative mother with anti-D antibodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rh_incompatibility: Option<bool>,
    /// Completed weeks of gestation on the date the value was taken (e.g. 24+3 -> 24). (weeks)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gestational_weeks: Option<i64>,
    /// Haemoglobin. (g/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hb_g_l: Option<f64>,
    /// Platelet count. (10^9/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plt_10e9_l: Option<f64>,
    /// Clinician-recorded bleeding tendency or progressive fall of platelets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bleeding_tendency: Option<bool>,
    /// Serum ferritin (a recommended, not mandatory, screening item). (ug/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ferritin_ug_l: Option<f64>,
    /// Systolic blood pressure. (mmHg)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbp_mmhg: Option<i64>,
    /// Diastolic blood pressure. (mmHg)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbp_mmhg: Option<i64>,
    /// Dipstick >= 1+, or 24 h urine protein >= 0.3 g, or protein/creatinine ratio >= 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proteinuria: Option<bool>,
    /// Clinician diagnosis: severe pre-eclampsia or chronic hypertension with superimposed pre-eclampsia.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severe_preeclampsia: Option<bool>,
    /// Fasting plasma glucose (not the OGTT fasting value). (mmol/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fasting_glucose_mmol_l: Option<f64>,
    /// 75 g OGTT fasting value. (mmol/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ogtt_fasting_mmol_l: Option<f64>,
    /// 75 g OGTT 1-hour value. (mmol/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ogtt_1h_mmol_l: Option<f64>,
    /// 75 g OGTT 2-hour value. (mmol/L)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ogtt_2h_mmol_l: Option<f64>,
    /// Diabetes (pre-existing or gestational) that needs insulin or oral drugs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diabetes_on_medication: Option<bool>,
    /// Number of fetuses in this pregnancy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetal_count: Option<i64>,
    /// Clinician-recorded reduced cardiopulmonary function (心肺功能减退).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardiopulmonary_decline: Option<bool>,
    /// Pregnancy after assisted reproduction (辅助生殖).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub art_pregnancy: Option<bool>,
    /// Number of previous miscarriages/abortions of all kinds (各类流产).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miscarriage_count: Option<i64>,
    /// History of caesarean section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_caesarean: Option<bool>,
    /// Completed months from the end of the previous pregnancy to the LMP of this one; absent for a first pregnancy. (months)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_interval_months: Option<i64>,
    /// Scarred uterus (caesarean, myomectomy, cornual pregnancy surgery, perforation repair, etc.).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uterine_scar: Option<bool>,
    /// Completed months from the last uterine operation to the LMP of this pregnancy. (months)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months_since_uterine_surgery: Option<i64>,
    /// Number of previous uterine operations of all kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uterine_surgery_count: Option<i64>,
    /// Largest uterine fibroid or ovarian cyst diameter. (cm)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fibroid_or_cyst_cm: Option<f64>,
    /// Scarred uterus with central placenta praevia or suspected placenta accreta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scar_with_central_praevia_or_accreta: Option<bool>,
    /// 凶险性前置胎盘 (previous caesarean with placenta praevia over the scar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pernicious_placenta_praevia: Option<bool>,
    /// 胎盘早剥.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placental_abruption: Option<bool>,
    /// Heart function class 1-4 (NYHA); absent when no heart disease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nyha_class: Option<i64>,
    /// Clinician-diagnosed pulmonary hypertension of any cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulmonary_hypertension: Option<bool>,
    /// Pulmonary artery systolic pressure (echo estimate). (mmHg)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pasp_mmhg: Option<f64>,
    /// One of: treated_no_recurrence, diagnosed_in_pregnancy, recurrent_or_metastatic; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub malignancy: Option<Malignancy>,
    /// HBsAg positive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbsag_positive: Option<bool>,
    /// Anti-HCV positive and confirmed infection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcv_positive: Option<bool>,
    /// Syphilis infection confirmed (treponemal and non-treponemal tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syphilis_positive: Option<bool>,
    /// HIV infection confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hiv_positive: Option<bool>,
    /// Tuberculosis (diagnosed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tb_active: Option<bool>,
    /// Severe infectious pneumonia.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severe_infectious_pneumonia: Option<bool>,
    /// Special viral infection named by the table (e.g. avian influenza, Zika).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special_viral_infection: Option<bool>,
}

/// A field of [`RiskInput`], as named in the rule table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    #[serde(rename = "age_years")]
    AgeYears,
    #[serde(rename = "height_cm")]
    HeightCm,
    #[serde(rename = "bmi")]
    Bmi,
    #[serde(rename = "rh_negative")]
    RhNegative,
    #[serde(rename = "rh_incompatibility")]
    RhIncompatibility,
    #[serde(rename = "gestational_weeks")]
    GestationalWeeks,
    #[serde(rename = "hb_g_l")]
    HbGL,
    #[serde(rename = "plt_10e9_l")]
    Plt10e9L,
    #[serde(rename = "bleeding_tendency")]
    BleedingTendency,
    #[serde(rename = "ferritin_ug_l")]
    FerritinUgL,
    #[serde(rename = "sbp_mmhg")]
    SbpMmhg,
    #[serde(rename = "dbp_mmhg")]
    DbpMmhg,
    #[serde(rename = "proteinuria")]
    Proteinuria,
    #[serde(rename = "severe_preeclampsia")]
    SeverePreeclampsia,
    #[serde(rename = "fasting_glucose_mmol_l")]
    FastingGlucoseMmolL,
    #[serde(rename = "ogtt_fasting_mmol_l")]
    OgttFastingMmolL,
    #[serde(rename = "ogtt_1h_mmol_l")]
    Ogtt1hMmolL,
    #[serde(rename = "ogtt_2h_mmol_l")]
    Ogtt2hMmolL,
    #[serde(rename = "diabetes_on_medication")]
    DiabetesOnMedication,
    #[serde(rename = "fetal_count")]
    FetalCount,
    #[serde(rename = "cardiopulmonary_decline")]
    CardiopulmonaryDecline,
    #[serde(rename = "art_pregnancy")]
    ArtPregnancy,
    #[serde(rename = "miscarriage_count")]
    MiscarriageCount,
    #[serde(rename = "previous_caesarean")]
    PreviousCaesarean,
    #[serde(rename = "birth_interval_months")]
    BirthIntervalMonths,
    #[serde(rename = "uterine_scar")]
    UterineScar,
    #[serde(rename = "months_since_uterine_surgery")]
    MonthsSinceUterineSurgery,
    #[serde(rename = "uterine_surgery_count")]
    UterineSurgeryCount,
    #[serde(rename = "fibroid_or_cyst_cm")]
    FibroidOrCystCm,
    #[serde(rename = "scar_with_central_praevia_or_accreta")]
    ScarWithCentralPraeviaOrAccreta,
    #[serde(rename = "pernicious_placenta_praevia")]
    PerniciousPlacentaPraevia,
    #[serde(rename = "placental_abruption")]
    PlacentalAbruption,
    #[serde(rename = "nyha_class")]
    NyhaClass,
    #[serde(rename = "pulmonary_hypertension")]
    PulmonaryHypertension,
    #[serde(rename = "pasp_mmhg")]
    PaspMmhg,
    #[serde(rename = "malignancy")]
    Malignancy,
    #[serde(rename = "hbsag_positive")]
    HbsagPositive,
    #[serde(rename = "hcv_positive")]
    HcvPositive,
    #[serde(rename = "syphilis_positive")]
    SyphilisPositive,
    #[serde(rename = "hiv_positive")]
    HivPositive,
    #[serde(rename = "tb_active")]
    TbActive,
    #[serde(rename = "severe_infectious_pneumonia")]
    SevereInfectiousPneumonia,
    #[serde(rename = "special_viral_infection")]
    SpecialViralInfection,
}

/// A recorded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Number(f64),
    Bool(bool),
    Text(&'static str),
}

impl RiskInput {
    /// The value of a field, `None` when not recorded. BMI is rounded to one decimal (half away
    /// from zero) before any comparison (risk-grading.md §3.3).
    pub fn get(&self, field: Field) -> Option<Value> {
        use Field::*;
        let n = |v: Option<f64>| v.map(Value::Number);
        let i = |v: Option<i64>| v.map(|x| Value::Number(x as f64));
        let b = |v: Option<bool>| v.map(Value::Bool);
        match field {
            AgeYears => i(self.age_years),
            HeightCm => n(self.height_cm),
            Bmi => n(self.bmi.map(|x| (x * 10.0).round() / 10.0)),
            RhNegative => b(self.rh_negative),
            RhIncompatibility => b(self.rh_incompatibility),
            GestationalWeeks => i(self.gestational_weeks),
            HbGL => n(self.hb_g_l),
            Plt10e9L => n(self.plt_10e9_l),
            BleedingTendency => b(self.bleeding_tendency),
            FerritinUgL => n(self.ferritin_ug_l),
            SbpMmhg => i(self.sbp_mmhg),
            DbpMmhg => i(self.dbp_mmhg),
            Proteinuria => b(self.proteinuria),
            SeverePreeclampsia => b(self.severe_preeclampsia),
            FastingGlucoseMmolL => n(self.fasting_glucose_mmol_l),
            OgttFastingMmolL => n(self.ogtt_fasting_mmol_l),
            Ogtt1hMmolL => n(self.ogtt_1h_mmol_l),
            Ogtt2hMmolL => n(self.ogtt_2h_mmol_l),
            DiabetesOnMedication => b(self.diabetes_on_medication),
            FetalCount => i(self.fetal_count),
            CardiopulmonaryDecline => b(self.cardiopulmonary_decline),
            ArtPregnancy => b(self.art_pregnancy),
            MiscarriageCount => i(self.miscarriage_count),
            PreviousCaesarean => b(self.previous_caesarean),
            BirthIntervalMonths => i(self.birth_interval_months),
            UterineScar => b(self.uterine_scar),
            MonthsSinceUterineSurgery => i(self.months_since_uterine_surgery),
            UterineSurgeryCount => i(self.uterine_surgery_count),
            FibroidOrCystCm => n(self.fibroid_or_cyst_cm),
            ScarWithCentralPraeviaOrAccreta => b(self.scar_with_central_praevia_or_accreta),
            PerniciousPlacentaPraevia => b(self.pernicious_placenta_praevia),
            PlacentalAbruption => b(self.placental_abruption),
            NyhaClass => i(self.nyha_class),
            PulmonaryHypertension => b(self.pulmonary_hypertension),
            PaspMmhg => n(self.pasp_mmhg),
            Malignancy => self.malignancy.map(|m| Value::Text(m.as_str())),
            HbsagPositive => b(self.hbsag_positive),
            HcvPositive => b(self.hcv_positive),
            SyphilisPositive => b(self.syphilis_positive),
            HivPositive => b(self.hiv_positive),
            TbActive => b(self.tb_active),
            SevereInfectiousPneumonia => b(self.severe_infectious_pneumonia),
            SpecialViralInfection => b(self.special_viral_infection),
        }
    }
}
