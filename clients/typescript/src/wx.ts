// A typed client for a WeChat mini-program. Mini-programs have no fetch, Request or Headers, so
// openapi-fetch cannot run there; this adapter calls wx.request and takes its types from the
// same generated `paths` (src/api.d.ts) as the openapi-fetch client in flow.ts. Copy this file
// and the generated types into the mini-program; nothing else is needed. Its lists of problem
// codes and of operations without a body are checked by tsc against those types: when the
// document adds one, tsc names it here. What is checked at runtime: see `Answer` below.

import type { paths, components } from "./api.js";

/** What wx.request takes and gives, as far as this adapter uses it. */
export interface WxRequestOptions {
  url: string;
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  header: Record<string, string>;
  data?: string;
  dataType: "其他";
  responseType: "text";
  success: (result: { statusCode: number; header: Record<string, string>; data: string }) => void;
  fail: (error: { errMsg: string }) => void;
}

/** The `wx` global of the mini-program (or a fake of it in tests). */
export interface Wx {
  request(options: WxRequestOptions): unknown;
}

type Method = "get" | "post" | "put" | "patch" | "delete";
const VERBS: Record<Method, WxRequestOptions["method"]> = {
  get: "GET",
  post: "POST",
  put: "PUT",
  patch: "PATCH",
  delete: "DELETE",
};
type Problem = components["schemas"]["Problem"];
type FieldError = components["schemas"]["FieldError"];

/** The operation at a path and method. */
type Op<P extends keyof paths, M extends Method> = paths[P][M];

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : undefined;

/** The body of the operation's success answer (200, 201 or 204). */
export type Success<O> = O extends { responses: infer R }
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer A }
      ? JsonOf<A>
      : undefined
  : never;

type Body<O> = O extends { requestBody: { content: { "application/json": infer B } } }
  ? B
  : O extends { requestBody?: { content: { "application/json": infer B } } }
    ? B | undefined
    : undefined;

type PathParams<O> = O extends { parameters: { path: infer P } }
  ? P extends Record<string, string>
    ? P
    : undefined
  : undefined;

type Query<O> = O extends { parameters: { query?: infer Q } }
  ? Q extends Record<string, unknown>
    ? Q
    : undefined
  : undefined;

export interface CallInit<O> {
  path?: PathParams<O>;
  query?: Query<O>;
  body?: Body<O>;
  headers?: Record<string, string>;
}

/**
 * What the adapter gives as `problem` when an answer is not what this server documents: a
 * proxy's or gateway's JSON error, an empty error body, a problem of the wrong shape or with a
 * code this build does not know (a newer server), a success answer of the wrong shape. Its code
 * is not one of the server's. `title` is for the screen (Chinese when the client's `language`
 * is Chinese, like the server's own problems); `detail` says, in English, what came.
 */
export interface UnexpectedAnswer {
  type: "urn:mch-handbook:client:unexpected_answer";
  code: "unexpected_answer";
  title: string;
  /** What came, for the log (English). */
  detail: string;
  /** The HTTP status of the answer. */
  status: number;
}

interface Common {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
}

/**
 * An answer: `data` on success, `problem` otherwise (never both). `problem` is an RFC 9457
 * problem of this server, or an `UnexpectedAnswer`; `problem.code` tells them apart. An
 * operation without a success body (204) has `data: undefined`.
 */
export type Answer<T> =
  | (Common & { data: T; problem?: undefined })
  | (Common & { data?: undefined; problem: Problem | UnexpectedAnswer });

// What is checked at runtime, and what is not. The generated types describe what the server
// documents, and exist only at compile time. A mini-program has no schema validator, and bundling
// one (with the schemas it would read at runtime) adds a dependency to a package whose size
// WeChat caps, so bodies are not validated against the document. The adapter checks what
// decides which branch a caller takes, and what it hands out as the server's problem:
// - not 2xx: `problem` is the server's only if the content-type is application/problem+json and
//   the body is an object with string `type` and `title`, `status` equal to the HTTP status, a
//   `code` of the document (PROBLEM_CODES), `detail` a string or null if present, and `errors`
//   (if present) a list of {field, code of FIELD_ERROR_CODES, message}. Anything else, including
//   an empty body, is an `UnexpectedAnswer` with the HTTP status.
// - 2xx: an operation documented without a body (NO_CONTENT) must come with an empty body and
//   gives `data: undefined`; every other success body of this API is a JSON object (lists are
//   `{items, next_cursor}` pages), so the body must be one. Its fields are NOT checked: `data`
//   is typed from the document on trust. Anything else is an `UnexpectedAnswer`.
// - a body that is not JSON (a proxy's HTML page) and a network failure (wx.request's `fail`)
//   reject with an Error.

/** Fails to compile, naming what is missing, unless `T` is empty. */
type Complete<T extends never> = T;

/**
 * Every problem code of the document. tsc checks the list against the generated api.d.ts: a
 * code it lacks fails the build (`Complete` below names it), a code the document dropped too.
 */
const PROBLEM_CODES = [
  "validation_failed", "malformed_body", "bad_request", "unsupported_media_type",
  "payload_too_large", "method_not_allowed", "unauthenticated", "invalid_token",
  "invalid_credentials", "invalid_refresh_token", "wechat_code_invalid", "forbidden",
  "grading_needs_hospital", "not_found", "too_many_requests", "version_mismatch",
  "if_match_required", "idempotency_key_in_progress", "database_unavailable", "not_ready",
  "wechat_unavailable", "wechat_busy", "wechat_not_configured", "internal_error",
  "already_exists", "username_taken", "region_exists", "cannot_disable_self",
  "cannot_disable_own_institution", "handbook_exists", "identity_mismatch", "already_member",
  "pregnancy_ongoing", "pregnancy_not_ongoing", "already_dated_by_ultrasound", "grading_closed",
  "case_closed", "designation_required", "illegal_transition", "already_answered", "ended",
  "not_eligible", "too_young", "aged_out", "no_consent", "needs_medical_clearance",
  "already_issued_this_month", "legacy_reentry_not_allowed", "first_entry_over_30",
  "resume_over_30", "out_of_stock", "insufficient_stock", "already_withdrawn",
  "already_corrected", "already_submitted", "already_reviewed", "report_approved",
] as const satisfies readonly Problem["code"][];
type ProblemCodesComplete = Complete<
  Exclude<Problem["code"], (typeof PROBLEM_CODES)[number]>
>;

/** Every field error code of the document, checked by tsc as PROBLEM_CODES is. */
const FIELD_ERROR_CODES = [
  "required", "unknown_field", "invalid_type", "invalid_value", "choice", "unknown_code",
  "length", "range", "future", "before_birth", "month_not_over", "expired", "nul_character",
  "phone", "username", "region_code", "parent_missing", "level_mismatch", "id_number",
  "mismatch", "gestational_age", "month", "duplicate", "not_found", "disabled",
  "same_institution", "designation_level", "lot_mismatch", "requires_flag", "period_closed",
  "code_invalid", "idempotency_key_reused",
] as const satisfies readonly FieldError["code"][];
type FieldErrorCodesComplete = Complete<
  Exclude<FieldError["code"], (typeof FIELD_ERROR_CODES)[number]>
>;

/** `"post /api/v1/auth/logout"`: every operation whose success answer has no body. */
type NoContentOp = {
  [P in keyof paths & string]: {
    [M in Method]: Op<P, M> extends { responses: unknown }
      ? [Success<Op<P, M>>] extends [undefined]
        ? `${M} ${P}`
        : never
      : never;
  }[Method];
}[keyof paths & string];

/** The operations answered without a body, checked by tsc against the document both ways. */
const NO_CONTENT = [
  "post /api/v1/auth/logout",
  "delete /api/v1/me/handbook/members/{id}",
  "delete /api/v1/me/sessions/{id}",
] as const satisfies readonly NoContentOp[];
type NoContentComplete = Complete<Exclude<NoContentOp, (typeof NO_CONTENT)[number]>>;

export interface WxClientOptions {
  baseUrl: string;
  /** The access token, read before each call (it changes on refresh). */
  token?: () => string | undefined;
  /** `zh-CN` makes error titles, details and field messages Chinese. */
  language?: string;
}

/** Fills `{name}` segments of a path template. */
function fill(template: string, params: Record<string, string> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`path parameter ${name} is missing`);
    return encodeURIComponent(value);
  });
}

function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/** Header names lower-cased (wx.request gives them as the server sent them). */
function lower(header: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(header)) out[k.toLowerCase()] = v;
  return out;
}

/** A JSON object: not an array, not null. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unexpected(status: number, what: string): UnexpectedAnswer {
  return {
    type: "urn:mch-handbook:client:unexpected_answer",
    code: "unexpected_answer",
    title: `Unexpected answer from the server (HTTP ${status})`,
    detail: `HTTP ${status} with ${what}`,
    status,
  };
}

/** The title a person reads, in the client's language. */
function localized<T extends Problem | UnexpectedAnswer>(problem: T, language?: string): T {
  if (problem.code !== "unexpected_answer" || !language?.toLowerCase().startsWith("zh")) {
    return problem;
  }
  return { ...problem, title: `服务器返回了无法识别的结果，请稍后重试（HTTP ${problem.status}）` };
}

/** The media type of the answer, lower-cased, without parameters ("" if none was sent). */
function mediaType(headers: Record<string, string>): string {
  return (headers["content-type"]?.split(";")[0] ?? "").trim().toLowerCase();
}

function fieldErrorOf(value: unknown): FieldError | undefined {
  if (!isObject(value)) return undefined;
  const { field, code, message } = value;
  const known = FIELD_ERROR_CODES.find((c) => c === code);
  if (typeof field !== "string" || typeof message !== "string" || known === undefined) {
    return undefined;
  }
  return { field, code: known, message };
}

/** The problem of a non-2xx answer, built from what was checked (see above). */
function problemOf(
  status: number,
  headers: Record<string, string>,
  body: unknown,
): Problem | UnexpectedAnswer {
  if (body === undefined) return unexpected(status, "an empty body");
  const media = mediaType(headers);
  if (media !== "application/problem+json") {
    const kind = media ? `a body of type ${media}` : "a body without a content-type";
    return unexpected(status, `${kind}, not a problem of this server`);
  }
  if (!isObject(body)) return unexpected(status, "a problem body that is not a JSON object");
  const { type, title, code, detail, errors } = body;
  if (typeof type !== "string" || typeof title !== "string" || body["status"] !== status) {
    return unexpected(status, "a problem without its type, title or status");
  }
  const known = PROBLEM_CODES.find((c) => c === code);
  if (known === undefined) {
    const what = `a problem code this client does not know (${String(code)}): ${title}`;
    return unexpected(status, what);
  }
  const problem: Problem = { type, title, status, code: known };
  if (typeof detail === "string" || detail === null) problem.detail = detail;
  else if (detail !== undefined) return unexpected(status, "a problem whose detail is not text");
  if (errors !== undefined) {
    if (!Array.isArray(errors)) return unexpected(status, "a problem whose errors are not a list");
    const items: unknown[] = errors;
    problem.errors = [];
    for (const item of items) {
      const fieldError = fieldErrorOf(item);
      if (fieldError === undefined) {
        return unexpected(status, "a problem with a field error this client cannot read");
      }
      problem.errors.push(fieldError);
    }
  }
  return problem;
}

/** The body of a 2xx answer if it has the shape the operation documents (see above). */
function successOf(
  status: number,
  body: unknown,
  noContent: boolean,
): { body: object | undefined } | UnexpectedAnswer {
  if (noContent) {
    return body === undefined ? { body } : unexpected(status, "a body where none is documented");
  }
  if (body === undefined) return unexpected(status, "no body where a JSON object is documented");
  if (!isObject(body)) return unexpected(status, "a JSON body that is not an object");
  return { body };
}

export function createWxClient(wx: Wx, options: WxClientOptions) {
  return function call<P extends keyof paths & string, M extends Method>(
    method: M,
    path: P,
    init: CallInit<Op<P, M>> = {},
  ): Promise<Answer<Success<Op<P, M>>>> {
    const header: Record<string, string> = { Accept: "application/json", ...init.headers };
    const token = options.token?.();
    if (token) header["Authorization"] = `Bearer ${token}`;
    if (options.language) header["Accept-Language"] = options.language;
    let data: string | undefined;
    if (init.body !== undefined) {
      header["Content-Type"] = "application/json";
      data = JSON.stringify(init.body);
    }
    const url = options.baseUrl + fill(path, init.path) + queryString(init.query);
    const operation = `${method} ${path}`;
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method: VERBS[method],
        header,
        data,
        // Not "json": the adapter parses, so a problem+json body is read the same way.
        dataType: "其他",
        responseType: "text",
        success: ({ statusCode: status, header: responseHeader, data: text }) => {
          const headers = lower(responseHeader);
          // A body that is not JSON (a proxy's HTML error page) rejects instead of never settling.
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            reject(new Error(`HTTP ${status}: the answer is not JSON`));
            return;
          }
          if (status < 200 || status >= 300) {
            const problem = localized(problemOf(status, headers, parsed), options.language);
            resolve({ status, headers, problem });
            return;
          }
          const success = successOf(status, parsed, NO_CONTENT.some((op) => op === operation));
          if ("code" in success) {
            resolve({ status, headers, problem: localized(success, options.language) });
            return;
          }
          // The one place the document's types are taken on trust: the body is a JSON object (or
          // absent where the document says so), its fields are not checked (see above).
          resolve({ status, headers, data: success.body as Success<Op<P, M>> });
        },
        fail: (error) => reject(new Error(error.errMsg)),
      });
    });
  };
}
