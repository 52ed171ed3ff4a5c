//! Laboratory tests a checkup can carry, with units and plausible ranges.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::schedule::ExpectedTest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabTest {
    /// Haemoglobin, g/L.
    Hb,
    /// Platelets, 10^9/L.
    Plt,
    /// White cells, 10^9/L.
    Wbc,
    /// Fasting plasma glucose, mmol/L.
    FastingGlucose,
    /// 75 g OGTT fasting value, mmol/L.
    #[serde(rename = "ogtt_0h")]
    Ogtt0h,
    /// 75 g OGTT 1-hour value, mmol/L.
    #[serde(rename = "ogtt_1h")]
    Ogtt1h,
    /// 75 g OGTT 2-hour value, mmol/L.
    #[serde(rename = "ogtt_2h")]
    Ogtt2h,
    /// ALT, U/L.
    Alt,
    /// Creatinine, µmol/L.
    Creatinine,
    /// Serum ferritin, µg/L.
    Ferritin,
    /// 24-hour urine protein, g.
    #[serde(rename = "urine_protein_24h")]
    UrineProtein24h,
    /// Urine protein/creatinine ratio.
    Upcr,
    /// TSH, mIU/L.
    Tsh,
    Hbsag,
    Syphilis,
    Hiv,
    Hcv,
    Thalassaemia,
    UrineCulture,
    Gbs,
    /// A, B, AB or O.
    BloodGroup,
    /// positive or negative.
    Rh,
    /// Non-stress test: reactive or non_reactive.
    Nst,
}

pub enum Kind {
    Numeric {
        unit: &'static str,
        min: f64,
        max: f64,
    },
    Choice(&'static [&'static str]),
}

const POS_NEG: &[&str] = &["positive", "negative"];

impl LabTest {
    pub fn kind(self) -> Kind {
        use LabTest::*;
        let n = |unit, min, max| Kind::Numeric { unit, min, max };
        match self {
            Hb => n("g/L", 20.0, 250.0),
            Plt => n("10^9/L", 1.0, 1500.0),
            Wbc => n("10^9/L", 0.5, 100.0),
            FastingGlucose | Ogtt0h | Ogtt1h | Ogtt2h => n("mmol/L", 1.0, 35.0),
            Alt => n("U/L", 1.0, 5000.0),
            Creatinine => n("µmol/L", 10.0, 2000.0),
            Ferritin => n("µg/L", 0.5, 5000.0),
            UrineProtein24h => n("g", 0.0, 30.0),
            Upcr => n("ratio", 0.0, 30.0),
            Tsh => n("mIU/L", 0.0, 200.0),
            Hbsag | Syphilis | Hiv | Hcv | Thalassaemia | UrineCulture | Gbs | Rh => {
                Kind::Choice(POS_NEG)
            }
            BloodGroup => Kind::Choice(&["A", "B", "AB", "O"]),
            Nst => Kind::Choice(&["reactive", "non_reactive"]),
        }
    }

    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// Which mandatory test of the visit plan this result stands for.
    pub fn expected(self) -> Option<ExpectedTest> {
        use LabTest::*;
        Some(match self {
            Hb | Plt | Wbc => ExpectedTest::BloodCount,
            FastingGlucose => ExpectedTest::FastingGlucose,
            Ogtt0h | Ogtt1h | Ogtt2h => ExpectedTest::Ogtt,
            Alt | Creatinine => ExpectedTest::LiverRenalFunction,
            Hbsag => ExpectedTest::Hbsag,
            Syphilis => ExpectedTest::Syphilis,
            Hiv => ExpectedTest::Hiv,
            BloodGroup | Rh => ExpectedTest::BloodGroup,
            Nst => ExpectedTest::Nst,
            _ => return None,
        })
    }
}
