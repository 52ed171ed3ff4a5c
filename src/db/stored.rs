//! How values cross the database boundary as text: the one convention for stored enums and JSON
//! columns. An enum is kept under its serde name (snake_case, the same name the API uses); a
//! JSON column holds the serde form of a typed value. Reading back what does not parse is a
//! diesel deserialization error naming the column (so `?` works in queries and handlers alike,
//! and the answer is a logged 500), never a silent default: a colour that fails to parse must
//! not become green.

use diesel::result::Error;
use serde::{de::DeserializeOwned, Serialize};

fn corrupt(message: String) -> Error {
    Error::DeserializationError(message.into())
}

/// The stored name of an enum value (its serde name).
pub fn to_text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        // Only unit variants are stored as text; anything else would be stored as its JSON text
        // (and refused by `from_text` when read back), never a panic.
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// An enum read back from `column`.
pub fn from_text<T: DeserializeOwned>(column: &str, s: &str) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| corrupt(format!("unknown value {s:?} stored in {column}")))
}

/// An optional enum read back from `column` (`NULL` is `None`; an unknown value is an error).
pub fn from_text_opt<T: DeserializeOwned>(
    column: &str,
    s: Option<&str>,
) -> Result<Option<T>, Error> {
    s.map(|s| from_text(column, s)).transpose()
}

/// The text of a JSON column.
pub fn json_to_db<T: Serialize>(v: &T) -> Result<String, Error> {
    serde_json::to_string(v).map_err(|e| Error::SerializationError(e.into()))
}

/// A JSON column read back from `column` into its type.
pub fn json_from_db<T: DeserializeOwned>(column: &str, s: &str) -> Result<T, Error> {
    serde_json::from_str(s).map_err(|e| corrupt(format!("corrupt JSON stored in {column}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::risk::engine::Colour;

    #[test]
    fn enums_round_trip_and_an_unknown_stored_value_is_an_error_not_a_default() {
        assert_eq!(to_text(&Colour::Orange), "orange");
        assert_eq!(from_text::<Colour>("c", "orange").unwrap(), Colour::Orange);
        let e = from_text::<Colour>("risk_cases.current_base", "ornage").unwrap_err();
        assert!(e.to_string().contains("risk_cases.current_base"), "{e}");
        let answer = crate::error::AppError::from(e);
        assert_eq!(answer.code(), crate::error::Code::InternalError);
        assert_eq!(from_text_opt::<Colour>("c", None).unwrap(), None);
        assert!(from_text_opt::<Colour>("c", Some("")).is_err());
    }

    /// Where an enum also has a hand-written `as_str` (used in query filters), it writes the same
    /// name as the stored convention, so a filter finds what `to_text` wrote.
    #[test]
    fn hand_written_names_agree_with_the_stored_names() {
        use crate::checkups::flags::Dipstick;
        use crate::handbook::identity::IdType;
        use crate::pregnancy::dating::DatingSource;
        use crate::referrals::rules::Status;
        use crate::risk::cases::Stage;
        fn same<T: Serialize + serde::de::DeserializeOwned + Copy + std::fmt::Debug>(
            values: &[T],
            name: impl Fn(T) -> &'static str,
        ) {
            for v in values {
                assert_eq!(to_text(v), name(*v), "{v:?}");
                assert_eq!(to_text(&from_text::<T>("c", name(*v)).unwrap()), name(*v));
            }
        }
        same(
            &[
                Colour::Green,
                Colour::Yellow,
                Colour::Orange,
                Colour::Red,
                Colour::Purple,
            ],
            Colour::as_str,
        );
        same(
            &[
                Status::Sent,
                Status::Accepted,
                Status::Declined,
                Status::Arrived,
                Status::Completed,
            ],
            Status::as_str,
        );
        same(
            &[
                Stage::Discovered,
                Stage::Registered,
                Stage::Reported,
                Stage::Managed,
                Stage::Treated,
                Stage::Closed,
            ],
            Stage::as_str,
        );
        same(
            &[
                DatingSource::Lmp,
                DatingSource::Ultrasound,
                DatingSource::IvfTransfer,
                DatingSource::Clinician,
            ],
            DatingSource::as_str,
        );
        same(
            &[
                IdType::ResidentId,
                IdType::Passport,
                IdType::HkMacauPermit,
                IdType::TaiwanPermit,
                IdType::ForeignPermanentResident,
                IdType::Other,
            ],
            IdType::as_str,
        );
        same(
            &[
                Dipstick::Negative,
                Dipstick::Trace,
                Dipstick::Plus1,
                Dipstick::Plus2,
                Dipstick::Plus3,
                Dipstick::Plus4,
            ],
            Dipstick::as_str,
        );
    }

    #[test]
    fn json_columns_round_trip_and_corrupt_json_is_an_error() {
        let v: Vec<String> = vec!["a".into()];
        let text = json_to_db(&v).unwrap();
        assert_eq!(json_from_db::<Vec<String>>("t.c", &text).unwrap(), v);
        assert!(json_from_db::<Vec<String>>("t.c", "{").is_err());
        assert!(json_from_db::<Vec<String>>("t.c", "{}").is_err());
    }
}
