// A typed client for a WeChat mini-program. Mini-programs have no fetch, Request or Headers, so
// openapi-fetch cannot run there; this adapter calls wx.request and takes its types from the
// same generated `paths` (src/api.d.ts) as the openapi-fetch client in flow.ts. Copy this file
// and the generated types into the mini-program; nothing else is needed.

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

/** An answer: `data` on success, `problem` (RFC 9457) otherwise. */
export interface Answer<T> {
  status: number;
  headers: Record<string, string>;
  data?: T;
  problem?: Problem;
}

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
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method: VERBS[method],
        header,
        data,
        // Not "json": the adapter parses, so a problem+json body is read the same way.
        dataType: "其他",
        responseType: "text",
        success: ({ statusCode, header: responseHeader, data: text }) => {
          const headers = lower(responseHeader);
          // JSON.parse gives `any`: the server's document is what types the answer. A body that
          // is not JSON (a proxy's HTML error page) rejects instead of never settling.
          let parsed;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            reject(new Error(`HTTP ${statusCode}: the answer is not JSON`));
            return;
          }
          if (statusCode >= 200 && statusCode < 300) {
            resolve({ status: statusCode, headers, data: parsed });
          } else {
            resolve({ status: statusCode, headers, problem: parsed });
          }
        },
        fail: (error) => reject(new Error(error.errMsg)),
      });
    });
  };
}
