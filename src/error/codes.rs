//! Every `code` a problem can carry (and, in [`super::fields`], every `code` of an invalid
//! field): the one list clients switch on. Each problem code has its status, its English and
//! Chinese text and its meaning; the OpenAPI document lists both as enums with their meanings
//! (see [`document`]).
//!
//! A code is a variant, so a handler cannot answer a code that is not listed here.

use utoipa::openapi::{schema::ObjectBuilder, schema::Type, RefOr, Schema};

use super::fields::FIELD_CODES;

/// Declares [`Code`] with its table. One row per code:
/// `Variant = "snake_code", status, "English title", "中文标题", "中文说明";`
/// The English title is also what a client that asks for no language reads; the Chinese
/// explanation is the `detail` a Chinese client reads where the English detail is free text.
macro_rules! problem_codes {
    ($($variant:ident = $code:literal, $status:literal, $en:literal, $zh:literal, $zh_detail:literal;)+) => {
        /// A problem's stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)+ }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            fn row(self) -> (&'static str, u16, &'static str, &'static str, &'static str) {
                match self { $(Code::$variant => ($code, $status, $en, $zh, $zh_detail),)+ }
            }
        }
    };
}

problem_codes! {
    // The request itself.
    ValidationFailed = "validation_failed", 422, "The request has invalid fields", "填写的内容有误", "请按提示修改标出的项目";
    MalformedBody = "malformed_body", 400, "The request body is not valid JSON", "请求内容格式不正确", "请求内容不是有效的 JSON";
    BadRequest = "bad_request", 400, "The request is malformed", "请求格式不正确", "请求的参数或请求头格式不正确";
    UnsupportedMediaType = "unsupported_media_type", 415, "The request body must be application/json", "请求内容类型不支持", "请求内容必须是 application/json";
    PayloadTooLarge = "payload_too_large", 413, "The request body is too large", "请求内容过大", "请求内容超过了服务器允许的大小";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed", "不支持此操作", "该地址不支持此请求方法";
    // Who is asking.
    Unauthenticated = "unauthenticated", 401, "Authentication is required", "请先登录", "此操作需要登录";
    InvalidToken = "invalid_token", 401, "The access token is invalid or expired", "登录已失效", "登录已过期或已退出，请重新登录";
    InvalidCredentials = "invalid_credentials", 401, "Invalid username or password", "用户名或密码错误", "用户名或密码错误，或账号已停用";
    InvalidRefreshToken = "invalid_refresh_token", 401, "The refresh token is invalid, expired or already used", "登录已过期", "请重新登录";
    WechatCodeInvalid = "wechat_code_invalid", 401, "WeChat rejected the login code", "微信登录失败", "微信登录凭证无效或已使用，请重新登录";
    Forbidden = "forbidden", 403, "Your role may not do this", "无权进行此操作", "您的账号角色不能进行此操作";
    GradingNeedsHospital = "grading_needs_hospital", 403, "Grading needs a secondary or higher institution", "需二级及以上机构评估", "妊娠风险评估分级由二级及以上医疗机构进行；基层机构负责初筛，请转诊评估";
    NotFound = "not_found", 404, "Not found", "未找到", "记录不存在，或不在您的权限范围内";
    TooManyRequests = "too_many_requests", 429, "Too many attempts; try again later", "尝试次数过多", "尝试次数过多，请稍后再试";
    // Versions and retries.
    VersionMismatch = "version_mismatch", 412, "The record was changed by someone else", "记录已被他人修改", "记录已被他人修改，请刷新后重新修改";
    IfMatchRequired = "if_match_required", 428, "Name the version you are replacing in If-Match", "缺少版本号", "修改前请先读取记录，并在 If-Match 中写明所修改的版本";
    IdempotencyKeyInProgress = "idempotency_key_in_progress", 409, "Conflict with the current state", "请求正在处理", "相同的请求尚未处理完，请稍后重试";
    // The server.
    DatabaseUnavailable = "database_unavailable", 503, "The database is busy or unreachable; try again", "系统繁忙", "系统繁忙，请稍后重试";
    NotReady = "not_ready", 503, "A service this request needs is unavailable", "服务尚未就绪", "服务正在启动或数据库不可用";
    WechatUnavailable = "wechat_unavailable", 503, "A service this request needs is unavailable", "微信服务暂不可用", "暂时无法连接微信，请稍后重试";
    WechatBusy = "wechat_busy", 503, "A service this request needs is unavailable", "微信服务繁忙", "微信服务繁忙，请稍后重试";
    WechatNotConfigured = "wechat_not_configured", 503, "A service this request needs is unavailable", "未开通微信登录", "本服务器未配置微信登录";
    InternalError = "internal_error", 500, "Internal server error", "系统内部错误", "系统出现错误，请稍后重试或联系管理员";
    // Records that exist already.
    AlreadyExists = "already_exists", 409, "Conflict with the current state", "记录已存在", "相同的记录已存在";
    UsernameTaken = "username_taken", 409, "Conflict with the current state", "用户名已被使用", "该用户名已被使用，请换一个";
    RegionExists = "region_exists", 409, "Conflict with the current state", "行政区划已存在", "该行政区划代码已存在";
    CannotDisableSelf = "cannot_disable_self", 409, "Conflict with the current state", "不能停用本人账号", "不能停用自己的账号";
    CannotDisableOwnInstitution = "cannot_disable_own_institution", 409, "Conflict with the current state", "不能停用本机构", "不能停用自己所在的机构";
    // The handbook.
    HandbookExists = "handbook_exists", 409, "Conflict with the current state", "已有手册", "此账号已有手册，或已绑定其他手册";
    IdentityMismatch = "identity_mismatch", 409, "Conflict with the current state", "证件与姓名不符", "该证件已以其他姓名建册，请核对证件和姓名";
    AlreadyMember = "already_member", 409, "Conflict with the current state", "已关联此手册", "此账号已关联该手册";
    // Pregnancies, risk and cases.
    PregnancyOngoing = "pregnancy_ongoing", 409, "Conflict with the current state", "当前孕期未结束", "该手册有正在进行的孕期，请先登记分娩或结束孕期";
    PregnancyNotOngoing = "pregnancy_not_ongoing", 409, "Conflict with the current state", "孕期已结束", "该孕期已结束，不能再记录";
    AlreadyDatedByUltrasound = "already_dated_by_ultrasound", 409, "Conflict with the current state", "预产期已由超声确定", "预产期已由早期超声确定，如需修改请由医生填写理由";
    GradingClosed = "grading_closed", 409, "Conflict with the current state", "评估期已结束", "妊娠风险评估在孕期结束或产后42天后截止";
    CaseClosed = "case_closed", 409, "Conflict with the current state", "专案已结案", "该专案已结案";
    DesignationRequired = "designation_required", 409, "Conflict with the current state", "未指定分娩机构", "请先指定分娩机构再进行专案管理";
    IllegalTransition = "illegal_transition", 409, "Conflict with the current state", "当前状态不允许此操作", "记录的当前状态不允许此操作，请刷新后查看";
    AlreadyAnswered = "already_answered", 409, "Conflict with the current state", "会诊已答复", "该会诊已答复";
    // The nutrition-pack programme.
    Ended = "ended", 409, "Conflict with the current state", "已结束营养包项目", "该儿童已结束营养包项目";
    NotEligible = "not_eligible", 409, "Conflict with the current state", "不符合发放条件", "该儿童不符合营养包发放条件";
    TooYoung = "too_young", 409, "Conflict with the current state", "月龄未满6个月", "儿童满6月龄后才能领取营养包";
    AgedOut = "aged_out", 409, "Conflict with the current state", "已超过36月龄", "儿童已满36月龄，不再发放营养包";
    NoConsent = "no_consent", 409, "Conflict with the current state", "未签署知情同意", "请先签署知情同意书";
    NeedsMedicalClearance = "needs_medical_clearance", 409, "Conflict with the current state", "需要医生评估", "请先经医生评估后再发放";
    AlreadyIssuedThisMonth = "already_issued_this_month", 409, "Conflict with the current state", "本月已发放", "本月已发放过营养包";
    LegacyReentryNotAllowed = "legacy_reentry_not_allowed", 409, "Conflict with the current state", "不能重新纳入", "曾中止领取的儿童不能重新纳入";
    FirstEntryOver30 = "first_entry_over_30", 409, "Conflict with the current state", "首次领取超过30月龄", "超过30月龄不能首次纳入营养包项目";
    ResumeOver30 = "resume_over_30", 409, "Conflict with the current state", "恢复领取超过30月龄", "超过30月龄不能恢复领取营养包";
    OutOfStock = "out_of_stock", 409, "Conflict with the current state", "库存不足", "有效期内的营养包库存不足";
    InsufficientStock = "insufficient_stock", 409, "Conflict with the current state", "批次库存不足", "该批次库存不足";
    AlreadyWithdrawn = "already_withdrawn", 409, "Conflict with the current state", "已撤销", "该记录已撤销";
    AlreadyCorrected = "already_corrected", 409, "Conflict with the current state", "记录已被更正", "该记录已被更正，请更正最新版本";
    // Reports.
    AlreadySubmitted = "already_submitted", 409, "Conflict with the current state", "报表已提交", "本月报表已提交，待审核";
    AlreadyReviewed = "already_reviewed", 409, "Conflict with the current state", "报表已审核", "只有已提交、待审核的报表可以审核";
    ReportApproved = "report_approved", 409, "Conflict with the current state", "报表已审核通过", "本月报表已审核通过，之后的更正将作为差异显示";
}

impl Code {
    pub fn as_str(self) -> &'static str {
        self.row().0
    }
    pub fn status(self) -> u16 {
        self.row().1
    }
    pub fn title(self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.row().2,
            Lang::Zh => self.row().3,
        }
    }
    /// The Chinese explanation, the `detail` of a Chinese answer where the English one is free text.
    pub fn zh_detail(self) -> &'static str {
        self.row().4
    }
}

/// The language of an answer, from `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// The language the client prefers among those we write: Chinese when a `zh` tag has the
    /// highest weight, English otherwise (RFC 9110 §12.5.4 weights; `*` counts as English).
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::En;
        };
        let mut best = (0.0_f32, Lang::En);
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else {
                Lang::En
            };
            if q > best.0 {
                best = (q, lang);
            }
        }
        best.1
    }
}

/// A string schema whose `enum` is `codes` and whose description lists each code's meaning.
pub fn enum_schema(intro: &str, codes: &[(&str, String)]) -> RefOr<Schema> {
    let mut description = String::from(intro);
    for (code, meaning) in codes {
        description.push_str(&format!("\n- `{code}`: {meaning}"));
    }
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(codes.iter().map(|(c, _)| *c)))
        .description(Some(description))
        .into()
}

/// The `code` schemas of [`super::Problem`] and [`super::FieldError`], as the document lists them.
pub fn document() -> (RefOr<Schema>, RefOr<Schema>) {
    let problem: Vec<(&str, String)> = Code::ALL
        .iter()
        .map(|c| {
            (
                c.as_str(),
                format!("{} ({}); {}", c.row().2, c.status(), c.row().3),
            )
        })
        .collect();
    let field: Vec<(&str, String)> = FIELD_CODES
        .iter()
        .map(|(c, meaning, zh)| (*c, format!("{meaning}; {zh}")))
        .collect();
    (
        enum_schema(
            "Stable snake_case error code; clients branch on it.",
            &problem,
        ),
        enum_schema("Stable machine-readable reason.", &field),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_a_status_of_their_kind() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
            assert!(c
                .as_str()
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'));
            assert!((400..600).contains(&c.status()));
            assert!(
                !c.title(Lang::Zh).is_ascii(),
                "{} has no Chinese title",
                c.as_str()
            );
            assert!(!c.zh_detail().is_ascii());
        }
    }

    #[test]
    fn accept_language_picks_the_weightiest_of_chinese_and_english() {
        let cases = [
            (None, Lang::En),
            (Some("zh"), Lang::Zh),
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh),
            (Some("en-US,en;q=0.9,zh-CN;q=0.8"), Lang::En),
            (Some("en;q=0.5, zh-Hans;q=0.7"), Lang::Zh),
            (Some("fr"), Lang::En),
            (Some("ZH-TW"), Lang::Zh),
            (Some("zh;q=0"), Lang::En),
            (Some("garbage;;q=x"), Lang::En),
        ];
        for (header, lang) in cases {
            assert_eq!(Lang::from_accept_language(header), lang, "{header:?}");
        }
    }
}
