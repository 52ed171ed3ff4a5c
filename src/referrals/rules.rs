//! The referral state machine: `sent → accepted | declined(reason) → arrived → completed`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Sent,
    Accepted,
    Declined,
    Arrived,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Arrived => "arrived",
            Status::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Sent,
            Self::Accepted,
            Self::Declined,
            Self::Arrived,
            Self::Completed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether a referral in this state may move to `to`.
    pub fn can_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Sent, Status::Accepted)
                | (Status::Sent, Status::Declined)
                | (Status::Accepted, Status::Arrived)
                | (Status::Arrived, Status::Completed)
        )
    }

    /// Open: the receiving institution may see the record (and after arrival, for good).
    pub fn grants_access(self) -> bool {
        self != Status::Declined
    }
}

/// Median of a list of durations in hours (None when empty).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    let m = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((m * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn only_forward_transitions_are_legal() {
        assert!(
            Sent.can_become(Accepted)
                && Sent.can_become(Declined)
                && Accepted.can_become(Arrived)
                && Arrived.can_become(Completed)
        );
        for (from, to) in [
            (Sent, Arrived),
            (Sent, Completed),
            (Declined, Accepted),
            (Accepted, Declined),
            (Completed, Sent),
            (Arrived, Accepted),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
