//! The source as rustfmt sees it.

use crate::helpers::rust_files;

/// rustfmt gives up on a whole statement — a closure, a handler's transaction — when one line
/// of it cannot be brought under the width (a long string literal, a long macro call), and
/// `cargo fmt --check` still passes (issue #14). So no line of code, in the program or its
/// tests, is longer than the width; only attributes (the OpenAPI annotations), comments, JSON
/// examples and the code tables of `error/` may be.
#[test]
fn every_line_of_code_fits_the_width_rustfmt_formats_to() {
    const WIDTH: usize = 100;
    let mut long = Vec::new();
    for file in rust_files("src").into_iter().chain(rust_files("tests")) {
        let path = file.display().to_string();
        if path.ends_with("error/codes.rs") || path.ends_with("error/fields.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let mut in_attribute = 0i32;
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if t.starts_with("#[") {
                in_attribute = 1;
            }
            let exempt =
                in_attribute > 0 || t.starts_with("//") || t.starts_with('"') || t.starts_with('{');
            if in_attribute > 0 {
                in_attribute += line.matches(['(', '[']).count() as i32;
                in_attribute -= line.matches([')', ']']).count() as i32;
                if in_attribute <= 1 && (t.ends_with(")]") || t.ends_with(']')) {
                    in_attribute = 0;
                }
            }
            if line.chars().count() > WIDTH && !exempt {
                long.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "lines rustfmt cannot format:\n{}",
        long.join("\n")
    );
}
