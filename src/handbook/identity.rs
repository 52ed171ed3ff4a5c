//! Identity documents. The resident identity number follows GB 11643—1999: 6-digit address code,
//! 8-digit birth date, 3-digit sequence (odd for men), and a check character computed from the
//! first 17 digits (ISO 7064 MOD 11-2).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The kind of identity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdType {
    /// 居民身份证 (18 characters, GB 11643)
    ResidentId,
    /// 护照
    Passport,
    /// 港澳居民来往内地通行证
    HkMacauPermit,
    /// 台湾居民来往大陆通行证
    TaiwanPermit,
    /// 外国人永久居留身份证
    ForeignPermanentResident,
    Other,
}

impl IdType {
    pub fn as_str(self) -> &'static str {
        match self {
            IdType::ResidentId => "resident_id",
            IdType::Passport => "passport",
            IdType::HkMacauPermit => "hk_macau_permit",
            IdType::TaiwanPermit => "taiwan_permit",
            IdType::ForeignPermanentResident => "foreign_permanent_resident",
            IdType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::ResidentId,
            Self::Passport,
            Self::HkMacauPermit,
            Self::TaiwanPermit,
            Self::ForeignPermanentResident,
            Self::Other,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must be 18 characters: 17 digits and a check digit or X")]
    Format,
    #[error("the birth date inside the number is not a valid date")]
    BirthDate,
    #[error("the check digit does not match (typing error?)")]
    CheckDigit,
    #[error("must be 4 to 32 letters, digits or '-'")]
    Document,
}

/// The ISO 7064 MOD 11-2 check character for 17 digits.
fn check_char(first17: &[u8]) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

/// A valid resident identity number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentId {
    number: String,
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses and checks a number; a lowercase `x` is accepted and normalised.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let number = text.trim().to_ascii_uppercase();
        let bytes = number.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdError::Format);
        }
        let birth_date =
            NaiveDate::parse_from_str(&number[6..14], "%Y%m%d").map_err(|_| IdError::BirthDate)?;
        if check_char(&bytes[..17]) != bytes[17] as char {
            return Err(IdError::CheckDigit);
        }
        Ok(ResidentId { number, birth_date })
    }

    pub fn as_str(&self) -> &str {
        &self.number
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The sequence digit is odd for men, even for women.
    pub fn is_female(&self) -> bool {
        (self.number.as_bytes()[16] - b'0').is_multiple_of(2)
    }
}

/// The normalised form of any document number (what the blind index is computed over).
pub fn normalise(id_type: IdType, number: &str) -> Result<String, IdError> {
    match id_type {
        IdType::ResidentId => ResidentId::parse(number).map(|id| id.number),
        _ => {
            let n: String = number.trim().to_ascii_uppercase();
            if (4..=32).contains(&n.len())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                Ok(n)
            } else {
                Err(IdError::Document)
            }
        }
    }
}

/// Shown to those not entitled to the full number: first 4, eight `*`, last 4 (`3302********1234`).
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}********{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_are_verified() {
        // The standard's own example and numbers built with the algorithm.
        let id = ResidentId::parse("11010519491231002x").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert!(id.is_female());
        assert_eq!(
            ResidentId::parse("110105194912310021"),
            Err(IdError::CheckDigit)
        );
        assert_eq!(
            ResidentId::parse("330102199502300012"),
            Err(IdError::BirthDate)
        );
        assert_eq!(ResidentId::parse("3301021995"), Err(IdError::Format));
        assert_eq!(
            ResidentId::parse("33010219950101001Y"),
            Err(IdError::Format)
        );
    }

    #[test]
    fn masks_keep_four_and_four() {
        assert_eq!(mask("330102199001011234"), "3301********1234");
        assert_eq!(mask("E1234567"), "********");
    }

    #[test]
    fn other_documents_are_normalised() {
        assert_eq!(
            normalise(IdType::Passport, " e12345678 ").unwrap(),
            "E12345678"
        );
        assert_eq!(normalise(IdType::Passport, "ab"), Err(IdError::Document));
    }
}
