//! Rules on region codes and institution levels: plain functions, no database.
//!
//! Region codes are the 12-digit statistical division codes (统计用区划代码): province = 2 digits,
//! city = 4, county = 6, township = 9, village = 12, the rest zero-padded. The county code (first six
//! digits) is the key that patient data is sharded by.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    County,
    Township,
    Village,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
            RegionLevel::Township => "township",
            RegionLevel::Village => "village",
        }
    }

    /// How many leading digits carry meaning at this level.
    pub fn digits(self) -> usize {
        match self {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        }
    }

    fn parent(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::Province => None,
            RegionLevel::City => Some(RegionLevel::Province),
            RegionLevel::County => Some(RegionLevel::City),
            RegionLevel::Township => Some(RegionLevel::County),
            RegionLevel::Village => Some(RegionLevel::Township),
        }
    }
}

/// A valid 12-digit region code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCode {
    code: String,
    level: RegionLevel,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("must be exactly 12 digits")]
    Format,
    #[error("province part 00 is not a province")]
    ZeroProvince,
    #[error("a zero segment is followed by non-zero digits")]
    Gap,
}

impl RegionCode {
    pub fn parse(code: &str) -> Result<Self, RegionCodeError> {
        if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::Format);
        }
        if &code[..2] == "00" {
            return Err(RegionCodeError::ZeroProvince);
        }
        // The level is the deepest segment that is not all zeros; every segment above it must be set.
        let segments = [(2, 4), (4, 6), (6, 9), (9, 12)];
        let levels = [
            RegionLevel::City,
            RegionLevel::County,
            RegionLevel::Township,
            RegionLevel::Village,
        ];
        let mut level = RegionLevel::Province;
        let mut seen_zero = false;
        for ((start, end), l) in segments.iter().zip(levels) {
            let zero = code[*start..*end].bytes().all(|b| b == b'0');
            if zero {
                seen_zero = true;
            } else if seen_zero {
                return Err(RegionCodeError::Gap);
            } else {
                level = l;
            }
        }
        Ok(RegionCode {
            code: code.to_string(),
            level,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    pub fn level(&self) -> RegionLevel {
        self.level
    }

    /// The county part: the first six digits (for a province or city, its own code's prefix).
    pub fn county_code(&self) -> &str {
        &self.code[..6]
    }

    /// The code of the enclosing region, `None` for a province.
    pub fn parent(&self) -> Option<String> {
        let parent = self.level.parent()?;
        let keep = parent.digits();
        Some(format!("{}{}", &self.code[..keep], "0".repeat(12 - keep)))
    }

    /// The digits every code within this region starts with: 2 for a province, 4 a city, 6 a
    /// county, 9 a township, 12 a village. Not the code with its zeros trimmed: township
    /// 500101010000 is `500101010`, and Chongqing 500000000000 is `50` (issue #14: trimming
    /// made them `50010101` and `5`, matching townships 011–019 and provinces 51–59).
    pub fn prefix(&self) -> &str {
        &self.code[..self.level.digits()]
    }

    /// A SQL `LIKE` pattern matching this region's codes (digits only: nothing to escape).
    pub fn like_pattern(&self) -> String {
        format!("{}%", self.prefix())
    }

    /// True when `other` lies within this region (or is it).
    pub fn contains(&self, other: &str) -> bool {
        other.starts_with(self.prefix())
    }
}

/// Institution levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionLevel {
    /// 村卫生室
    VillageClinic,
    /// 乡镇卫生院 / 社区卫生服务中心
    TownshipCentre,
    /// County hospital (secondary, 二级)
    CountyHospital,
    /// City hospital (tertiary, 三级)
    CityHospital,
    /// County or city maternal and child health centre (妇幼保健院/所)
    MchCentre,
    /// Designated maternal critical-care centre (危重孕产妇救治中心)
    CriticalCareCentre,
}

impl InstitutionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            InstitutionLevel::VillageClinic => "village_clinic",
            InstitutionLevel::TownshipCentre => "township_centre",
            InstitutionLevel::CountyHospital => "county_hospital",
            InstitutionLevel::CityHospital => "city_hospital",
            InstitutionLevel::MchCentre => "mch_centre",
            InstitutionLevel::CriticalCareCentre => "critical_care_centre",
        }
    }

    /// The region levels an institution of this level may be registered at: a village clinic in
    /// a village, a township centre in a township, a county hospital in a county; city hospitals,
    /// MCH centres and critical-care centres serve a county or a city.
    pub fn allowed_region_levels(self) -> &'static [RegionLevel] {
        match self {
            InstitutionLevel::VillageClinic => &[RegionLevel::Village],
            InstitutionLevel::TownshipCentre => &[RegionLevel::Township],
            InstitutionLevel::CountyHospital => &[RegionLevel::County],
            InstitutionLevel::CityHospital
            | InstitutionLevel::MchCentre
            | InstitutionLevel::CriticalCareCentre => &[RegionLevel::County, RegionLevel::City],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_contains_only_its_own_codes_even_when_it_ends_in_zero() {
        let chongqing = RegionCode::parse("500000000000").unwrap();
        assert_eq!(chongqing.like_pattern(), "50%");
        assert!(chongqing.contains("500101010001"));
        assert!(
            !chongqing.contains("510101001001"),
            "Sichuan is not in Chongqing"
        );
        let township = RegionCode::parse("500101010000").unwrap();
        assert_eq!(township.prefix(), "500101010");
        assert!(township.contains("500101010003"));
        assert!(
            !township.contains("500101011001"),
            "township 011 is not 010"
        );
        let village = RegionCode::parse("500101010010").unwrap();
        assert_eq!(village.prefix(), "500101010010");
        assert!(!village.contains("500101010011"));
    }

    #[test]
    fn levels_parents_and_counties_follow_the_digit_segments() {
        let cases = [
            ("330000000000", RegionLevel::Province, None),
            ("330100000000", RegionLevel::City, Some("330000000000")),
            ("330102000000", RegionLevel::County, Some("330100000000")),
            ("330102001000", RegionLevel::Township, Some("330102000000")),
            ("330102001002", RegionLevel::Village, Some("330102001000")),
        ];
        for (code, level, parent) in cases {
            let c = RegionCode::parse(code).unwrap();
            assert_eq!(c.level(), level, "{code}");
            assert_eq!(c.parent().as_deref(), parent, "{code}");
            assert_eq!(c.county_code(), &code[..6]);
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        assert_eq!(RegionCode::parse("3301"), Err(RegionCodeError::Format));
        assert_eq!(
            RegionCode::parse("33010200100a"),
            Err(RegionCodeError::Format)
        );
        assert_eq!(
            RegionCode::parse("000000000000"),
            Err(RegionCodeError::ZeroProvince)
        );
        assert_eq!(RegionCode::parse("330002000000"), Err(RegionCodeError::Gap));
        assert_eq!(RegionCode::parse("330102000001"), Err(RegionCodeError::Gap));
    }

    #[test]
    fn containment_is_by_prefix_of_the_level() {
        let county = RegionCode::parse("330102000000").unwrap();
        assert!(county.contains("330102001002"));
        assert!(!county.contains("330103001002"));
    }

    #[test]
    fn institutions_sit_at_their_level() {
        assert_eq!(
            InstitutionLevel::VillageClinic.allowed_region_levels(),
            &[RegionLevel::Village]
        );
        assert!(InstitutionLevel::MchCentre
            .allowed_region_levels()
            .contains(&RegionLevel::City));
        assert!(!InstitutionLevel::TownshipCentre
            .allowed_region_levels()
            .contains(&RegionLevel::County));
    }
}
