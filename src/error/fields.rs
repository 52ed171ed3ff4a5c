//! Every `code` an invalid field can carry, with its meaning and the message a Chinese client
//! shows; the document lists them as the enum of `FieldError.code` ([`super::codes::document`]).

/// The codes an invalid field can carry: `(code, meaning, Chinese message)`. The Chinese message
/// is what a Chinese client shows beside the field (the English `message` may name limits).
pub const FIELD_CODES: &[(&str, &str, &str)] = &[
    ("required", "The field is missing", "此项必填"),
    (
        "unknown_field",
        "The field is not part of this request",
        "不能填写此项",
    ),
    (
        "invalid_type",
        "The value has the wrong JSON type (the message says which is wanted)",
        "填写的类型不正确",
    ),
    (
        "invalid_value",
        "The value is not one of the allowed values (the message lists them) or does not parse",
        "填写的值无效",
    ),
    (
        "choice",
        "Not one of the answers this item allows (the message lists them)",
        "请从给定选项中选择",
    ),
    (
        "unknown_code",
        "A criterion or item code that the catalogue does not know",
        "代码不在目录中",
    ),
    (
        "length",
        "Too short or too long (text) or too few or too many items (lists)",
        "长度不符合要求",
    ),
    (
        "range",
        "Outside the allowed or plausible range",
        "超出允许的范围",
    ),
    (
        "future",
        "A date that lies in the future",
        "日期不能晚于今天",
    ),
    (
        "before_birth",
        "A date before the child's birth",
        "日期不能早于出生日期",
    ),
    (
        "month_not_over",
        "A month that is not over yet (reports are made once it is)",
        "该月份尚未结束",
    ),
    ("expired", "An expired lot", "该批次已过期"),
    (
        "nul_character",
        "Text containing a NUL character",
        "内容包含无效字符",
    ),
    (
        "phone",
        "Not a mainland mobile or landline number",
        "电话号码格式不正确",
    ),
    (
        "username",
        "Usernames are 3 to 64 of a-z, 0-9, '.', '_' and '-'",
        "用户名格式不正确",
    ),
    (
        "region_code",
        "Not a 12-digit statistical division code of the right level, or unknown",
        "行政区划代码不正确",
    ),
    (
        "parent_missing",
        "The enclosing region does not exist yet",
        "上级行政区划不存在",
    ),
    (
        "level_mismatch",
        "The institution's kind does not fit the level of its region",
        "机构类型与所在行政区划级别不符",
    ),
    (
        "id_number",
        "Not a valid resident identity number (check digit, date of birth)",
        "身份证号码不正确",
    ),
    (
        "mismatch",
        "Contradicts another field (e.g. the birth date in the identity number)",
        "与其他信息不一致",
    ),
    (
        "gestational_age",
        "Not a gestational age written as weeks+days (e.g. 12+3)",
        "孕周格式不正确（如 12+3）",
    ),
    (
        "month",
        "Not a month written as YYYY-MM",
        "月份格式不正确（如 2026-11）",
    ),
    (
        "duplicate",
        "The same value is listed twice",
        "有重复的项目",
    ),
    (
        "not_found",
        "The record it names does not exist or is not in your scope",
        "所填记录不存在",
    ),
    (
        "disabled",
        "The institution or account it names is disabled",
        "所选机构或账号已停用",
    ),
    (
        "same_institution",
        "A referral or transfer to the caller's own institution",
        "不能选择本机构",
    ),
    (
        "designation_level",
        "The institution's level does not fit the case's colour",
        "所选机构级别不符合要求",
    ),
    (
        "lot_mismatch",
        "The lot is in stock with another expiry date",
        "批号与库存记录不符",
    ),
    (
        "requires_flag",
        "Given without the flag it belongs to",
        "缺少对应的标记",
    ),
    (
        "period_closed",
        "The date falls in a month whose report was already submitted",
        "该月报表已上报，不能补录",
    ),
    (
        "code_invalid",
        "The binding or share code is wrong, used or expired",
        "绑定码错误、已使用或已过期",
    ),
    (
        "idempotency_key_reused",
        "The Idempotency-Key was used with another request",
        "请求标识已被其他请求使用",
    ),
];

/// The message of a value parser's error that carries its field code (a listed one), for
/// `serde::de::Error::custom`: the request extractor answers 422 with that code and text.
pub fn coded(code: &'static str, text: &str) -> String {
    format!("{code}{CODE_MARK}{text}")
}

/// Splits a message made by [`coded`] into its listed code and its text.
pub fn split_coded(message: &str) -> Option<(&'static str, &str)> {
    let (code, text) = message.split_once(CODE_MARK)?;
    let listed = FIELD_CODES.iter().find(|(c, ..)| *c == code)?;
    Some((listed.0, text))
}

const CODE_MARK: &str = " \u{1f}";

/// The Chinese message of a field code (the code itself for one not listed, which a test forbids).
pub fn field_message_zh(code: &str) -> &'static str {
    FIELD_CODES
        .iter()
        .find(|(c, ..)| *c == code)
        .map_or("填写的内容有误", |(.., zh)| zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_codes_are_unique_with_a_chinese_message() {
        let mut seen = std::collections::HashSet::new();
        for (c, _, zh) in FIELD_CODES {
            assert!(seen.insert(c), "{c} twice");
            assert!(!zh.is_ascii());
        }
    }

    /// Closed world: every field code the source writes is listed (and so documented and
    /// translated). Finds `ValidationError::new("…")`, `invalid_field(…, "…"` and
    /// `FieldError::new(…, "…"`; a listed code nothing writes is refused as well.
    #[test]
    fn every_field_code_written_in_the_source_is_listed() {
        fn walk(dir: &std::path::Path, out: &mut String) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push_str(&std::fs::read_to_string(&p).unwrap());
                }
            }
        }
        let mut text = String::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut text,
        );
        let text = text.replace("FIELD_CODES", "");
        let mut written = std::collections::BTreeSet::new();
        for start in [
            "ValidationError::new(",
            "invalid_field(",
            "FieldError::new(",
        ] {
            for piece in text.split(start).skip(1) {
                // The code is the first string literal that is not a JSON pointer or field name
                // given first: for the two-argument forms skip the first argument.
                let args = if start == "ValidationError::new(" {
                    piece
                } else {
                    match piece.split_once(',') {
                        Some((_, rest)) => rest,
                        None => continue,
                    }
                };
                let args = args.trim_start();
                if let Some(rest) = args.strip_prefix('"') {
                    let code = rest.split('"').next().unwrap();
                    if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !code.is_empty()
                    {
                        written.insert(code.to_string());
                    }
                }
            }
        }
        // Codes written by the request plumbing and the validator crate, not by a literal.
        for generic in [
            "required",
            "unknown_field",
            "invalid_type",
            "invalid_value",
            "length",
        ] {
            written.insert(generic.to_string());
        }
        let listed: std::collections::BTreeSet<String> =
            FIELD_CODES.iter().map(|(c, ..)| c.to_string()).collect();
        let unlisted: Vec<_> = written.difference(&listed).collect();
        assert!(
            unlisted.is_empty(),
            "field codes not in FIELD_CODES: {unlisted:?}"
        );
        let unused: Vec<_> = listed.difference(&written).collect();
        assert!(
            unused.is_empty(),
            "listed field codes nothing writes: {unused:?}"
        );
    }
}
