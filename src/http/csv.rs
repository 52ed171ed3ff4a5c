//! CSV downloads that a spreadsheet opens safely: UTF-8 with a byte-order mark (so Excel reads
//! the Chinese names), every cell quoted, and a cell that a spreadsheet would read as a formula
//! neutralised with a leading apostrophe — `=`, `+`, `-`, `@`, and TAB or CR, which some
//! spreadsheets skip before looking for one (OWASP "CSV injection"; issue #14).

use actix_web::{http::header, HttpResponse};

/// One cell, quoted and neutralised.
pub fn cell(value: &str) -> String {
    let starts_a_formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let value = if starts_a_formula {
        format!("'{value}")
    } else {
        value.to_string()
    };
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A CSV document of a header line and rows of already-made cells, as a download named
/// `filename`.
pub fn download(
    filename: &str,
    header_line: &str,
    rows: impl IntoIterator<Item = Vec<String>>,
) -> HttpResponse {
    let mut out = String::from("\u{feff}");
    out.push_str(header_line);
    out.push_str("\r\n");
    for row in rows {
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(out)
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn a_cell_never_starts_a_formula() {
        assert_eq!(cell("李娟"), "\"李娟\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for lead in ["+1", "-1", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(cell(lead).starts_with("\"'"), "{lead:?}");
        }
        assert_eq!(cell("a-b"), "\"a-b\"");
    }
}
