//! Loading a county's regions from a spreadsheet (`mch-handbook admin import-regions file.csv`):
//! the ~300 village codes of a county, with their elevations (which adjust haemoglobin for
//! altitude). The file is checked as a whole before anything is written: one bad row and nothing
//! is imported, every bad row is listed with its line (issue #14).
//!
//! The file: UTF-8 (a BOM is fine), a header `code,name,parent,elevation`, one region a line.
//! `parent` may be empty (it follows from the code; when given it must agree); `elevation`
//! (metres) may be empty. Parents come from the database or from the same file, in any order.
//! A region already present with the same name and elevation is left as it is (a file can be
//! loaded again); one present with other values is an error — change it with
//! `PATCH /api/v1/regions/{code}`.

use std::collections::{BTreeMap, HashSet};

use diesel::prelude::*;

use super::{regions::NewRegion, rules::RegionCode};
use crate::{db::schema::regions, db::DbConn};

/// The rows of `text`, or every problem with its line number.
pub fn parse(text: &str) -> Result<Vec<NewRegion>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_ascii_lowercase).collect(),
        Err(e) => return Err(vec![format!("line 1: {e}")]),
    };
    if header != ["code", "name", "parent", "elevation"] {
        return Err(vec![format!(
            "line 1: the header must be code,name,parent,elevation (found {})",
            header.join(",")
        )]);
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or("").to_string();
        let (code, name, parent, elevation) = (field(0), field(1), field(2), field(3));
        let mut bad = |what: String| problems.push(format!("line {line}: {what}"));
        let elevation_m = match elevation.as_str() {
            "" => None,
            e => match e.parse::<i32>() {
                Ok(m) if (-500..=9000).contains(&m) => Some(m),
                _ => {
                    bad(format!(
                        "elevation {e:?} must be whole metres from -500 to 9000"
                    ));
                    None
                }
            },
        };
        match RegionCode::parse(&code) {
            Err(e) => bad(format!("code {code:?} {e}")),
            Ok(parsed) => {
                if !parent.is_empty() && parsed.parent().as_deref() != Some(parent.as_str()) {
                    bad(format!(
                        "parent {parent} is not the region enclosing {code} ({})",
                        parsed.parent().unwrap_or_else(|| "none: a province".into())
                    ));
                }
                if !seen.insert(code.clone()) {
                    bad(format!("code {code} appears twice"));
                }
            }
        }
        if name.is_empty() || name.chars().count() > 100 {
            bad("name must have 1 to 100 characters".into());
        }
        rows.push(NewRegion {
            code,
            name,
            elevation_m,
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// What an import did.
#[derive(Debug, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub unchanged: usize,
}

/// Checks `rows` against the database, then creates the new ones, parents first, in the caller's
/// transaction. Every conflict is listed; nothing is written when there is one.
pub fn import(conn: &mut DbConn, rows: &[NewRegion]) -> Result<Imported, Vec<String>> {
    let db_err = |e: diesel::result::Error| vec![format!("database: {e}")];
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    let present: BTreeMap<String, (String, Option<i32>)> = regions::table
        .filter(regions::code.eq_any(&codes))
        .select((regions::code, regions::name, regions::elevation_m))
        .load::<(String, String, Option<i32>)>(conn)
        .map_err(db_err)?
        .into_iter()
        .map(|(c, n, e)| (c, (n, e)))
        .collect();
    let in_file: HashSet<&str> = codes.iter().copied().collect();
    let mut problems = Vec::new();
    let mut new = Vec::new();
    let mut unchanged = 0;
    for row in rows {
        match present.get(&row.code) {
            Some((name, elevation)) if *name == row.name && *elevation == row.elevation_m => {
                unchanged += 1;
                continue;
            }
            Some((name, elevation)) => {
                problems.push(format!(
                    "{}: exists as {name} ({}); change it with PATCH /api/v1/regions/{}",
                    row.code,
                    elevation.map_or("no elevation".into(), |e| format!("{e} m")),
                    row.code
                ));
                continue;
            }
            None => {}
        }
        let code = RegionCode::parse(&row.code).map_err(|e| vec![e.to_string()])?;
        if let Some(parent) = code.parent() {
            let known = in_file.contains(parent.as_str())
                || regions::table
                    .find(&parent)
                    .count()
                    .get_result::<i64>(conn)
                    .map_err(db_err)?
                    > 0;
            if !known {
                problems.push(format!(
                    "{}: its parent {parent} is neither in the database nor in the file",
                    row.code
                ));
            }
        }
        new.push((code.level().digits(), row));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    new.sort_by_key(|(digits, row)| (*digits, row.code.clone()));
    for (_, row) in &new {
        super::regions::create(conn, row).map_err(|e| vec![format!("{}: {e}", row.code)])?;
    }
    Ok(Imported {
        created: new.len(),
        unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn every_bad_row_is_listed_with_its_line_and_nothing_passes() {
        let text = "\u{feff}code,name,parent,elevation\n\
                    990101003000,东风镇,990101000000,1200\n\
                    99010100300,短码,,\n\
                    990101003001,,990101003000,abc\n\
                    990101003002,西村,990101002000,\n\
                    990101003000,东风镇,,\n";
        let problems = parse(text).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("line 3: code"), "{problems:#?}");
        assert!(problems.iter().any(|p| p.starts_with("line 4: elevation")));
        assert!(problems.iter().any(|p| p.starts_with("line 4: name")));
        assert!(problems.iter().any(|p| p.starts_with("line 5: parent")));
        assert!(problems
            .iter()
            .any(|p| p.starts_with("line 6: code 990101003000 appears twice")));
        let good =
            parse("code,name,parent,elevation\n990101003000,\"东风镇, 新区\",,1200\n").unwrap();
        assert_eq!(good[0].name, "东风镇, 新区");
        assert_eq!(good[0].elevation_m, Some(1200));
    }
}
