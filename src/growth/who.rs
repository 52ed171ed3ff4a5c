//! The WHO Child Growth Standards (2006) LMS tables, embedded (`who/README.md` gives their
//! source) and parsed once.

use std::sync::OnceLock;

/// Box-Cox power, median, coefficient of variation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lms {
    pub l: f64,
    pub m: f64,
    pub s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// A table indexed by whole days of age (0–1826) or by tenths of a centimetre.
pub struct Table {
    /// The first index (day 0, or 450 for 45.0 cm).
    first: i64,
    rows: Vec<Lms>,
}

impl Table {
    fn parse(csv: &str) -> Table {
        let mut first = None;
        let mut rows = Vec::new();
        for line in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let cols: Vec<&str> = line.split(',').collect();
            let key: f64 = cols[0].parse().expect("numeric index");
            let index = if cols[0].contains('.') {
                (key * 10.0).round() as i64
            } else {
                key as i64
            };
            first.get_or_insert(index);
            let num = |i: usize| cols[i].trim().parse::<f64>().expect("numeric L, M, S");
            rows.push(Lms {
                l: num(1),
                m: num(2),
                s: num(3),
            });
        }
        Table {
            first: first.unwrap_or(0),
            rows,
        }
    }

    /// The row for an index (days, or tenths of a centimetre).
    pub fn at(&self, index: i64) -> Option<Lms> {
        usize::try_from(index - self.first)
            .ok()
            .and_then(|i| self.rows.get(i).copied())
    }
}

pub struct Tables {
    pub lhfa: [Table; 2],
    pub wfa: [Table; 2],
    pub wfl: [Table; 2],
    pub wfh: [Table; 2],
    pub bfa: [Table; 2],
}

pub fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| Tables {
        lhfa: [
            Table::parse(include_str!("who/lhfa_boys.csv")),
            Table::parse(include_str!("who/lhfa_girls.csv")),
        ],
        wfa: [
            Table::parse(include_str!("who/wfa_boys.csv")),
            Table::parse(include_str!("who/wfa_girls.csv")),
        ],
        wfl: [
            Table::parse(include_str!("who/wfl_boys.csv")),
            Table::parse(include_str!("who/wfl_girls.csv")),
        ],
        wfh: [
            Table::parse(include_str!("who/wfh_boys.csv")),
            Table::parse(include_str!("who/wfh_girls.csv")),
        ],
        bfa: [
            Table::parse(include_str!("who/bfa_boys.csv")),
            Table::parse(include_str!("who/bfa_girls.csv")),
        ],
    })
}

pub fn pick(pair: &[Table; 2], sex: Sex) -> &Table {
    match sex {
        Sex::Male => &pair[0],
        Sex::Female => &pair[1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_cover_their_documented_ranges() {
        let t = tables();
        for pair in [&t.lhfa, &t.wfa, &t.bfa] {
            for table in pair {
                assert!(
                    table.at(0).is_some() && table.at(1826).is_some() && table.at(1827).is_none()
                );
            }
        }
        assert!(
            t.wfl[0].at(450).is_some() && t.wfl[0].at(1100).is_some() && t.wfl[0].at(449).is_none()
        );
        assert!(
            t.wfh[1].at(650).is_some()
                && t.wfh[1].at(1200).is_some()
                && t.wfh[1].at(1201).is_none()
        );
        assert_eq!(t.lhfa[0].at(0).unwrap().m, 49.8842);
    }
}

/// The embedded tables and fixtures are the shared specification's, when it is beside the repo.
#[cfg(test)]
mod spec {
    #[test]
    fn embedded_tables_are_the_shared_ones() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/domain/child/");
        let ours = concat!(env!("CARGO_MANIFEST_DIR"), "/src/growth/who/");
        for name in [
            "lhfa_boys",
            "lhfa_girls",
            "wfa_boys",
            "wfa_girls",
            "wfl_boys",
            "wfl_girls",
            "wfh_boys",
            "wfh_girls",
            "bfa_boys",
            "bfa_girls",
        ] {
            if let Ok(spec) = std::fs::read_to_string(format!("{dir}who-growth/{name}.csv")) {
                assert_eq!(
                    spec,
                    std::fs::read_to_string(format!("{ours}{name}.csv")).unwrap(),
                    "{name}"
                );
            }
        }
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/domain/child/");
        for name in ["zscore-examples.csv", "nutrition-examples.json"] {
            if let Ok(spec) = std::fs::read_to_string(format!("{dir}{name}")) {
                assert_eq!(
                    spec,
                    std::fs::read_to_string(format!("{fixtures}{name}")).unwrap(),
                    "{name}"
                );
            }
        }
    }
}
