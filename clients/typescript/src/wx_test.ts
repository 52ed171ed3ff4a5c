// The wx.request adapter over a fake `wx` (no server): what a problem of this server, a proxy's
// error page, a JSON error that is not a problem, empty answers and bodies of the wrong shape
// become. check.sh runs it after tsc:
//
//   node dist/wx_test.js

import { createWxClient, type Wx, type WxRequestOptions } from "./wx.js";

/** What the fake `wx.request` answers: a response (`success`) or a network failure (`fail`). */
type Reply =
  | { statusCode: number; header: Record<string, string>; data: string }
  | { errMsg: string };

let step = 0;
function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  step += 1;
  if (!condition) {
    const shown = detail === undefined ? "" : ` ${JSON.stringify(detail)}`;
    throw new Error(`FAIL ${step}. ${what}${shown}`);
  }
  console.log(`ok   ${step}. ${what}`);
}

let lastSent: WxRequestOptions | undefined;
/** What the last call gave wx.request. */
function sent(): WxRequestOptions | undefined {
  return lastSent;
}

/** A client whose `wx.request` answers `reply` (asynchronously, as WeChat does). */
function answering(reply: Reply, language?: string) {
  const wx: Wx = {
    request(options) {
      lastSent = options;
      setTimeout(() => ("errMsg" in reply ? options.fail(reply) : options.success(reply)), 0);
      return undefined;
    },
  };
  return createWxClient(wx, { baseUrl: "https://mch.example.cn", token: () => "tok", language });
}

/** The Error a call rejects with, or undefined if it settles. */
async function rejection(answer: Promise<unknown>): Promise<Error | undefined> {
  try {
    await answer;
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

const problemJson = { "Content-Type": "application/problem+json" };
const json = { "Content-Type": "application/json" };
const html = { "Content-Type": "text/html" };
const noConsent = {
  type: "urn:mch-handbook:problem:no_consent",
  title: "未签署知情同意",
  status: 409,
  code: "no_consent",
  detail: null,
};

// A problem of this server is given as it came; the request is what the types say.
const refused = await answering({
  statusCode: 409,
  header: problemJson,
  data: JSON.stringify(noConsent),
})("post", "/api/v1/me/handbook/bind", { body: { code: "A1B2C3" } });
const bind = sent();
check(
  bind?.method === "POST" &&
    bind.url === "https://mch.example.cn/api/v1/me/handbook/bind" &&
    bind.header["Authorization"] === "Bearer tok" &&
    bind.data === '{"code":"A1B2C3"}',
  "the request carries the method, URL, token and JSON body",
  bind,
);
check(
  refused.status === 409 &&
    refused.data === undefined &&
    refused.problem?.code === "no_consent" &&
    refused.problem.title === "未签署知情同意" &&
    refused.problem.detail === null,
  "a problem of this server (409 no_consent) is given as the problem",
  refused,
);

const invalid = await answering({
  statusCode: 422,
  header: { "content-type": "application/problem+json; charset=utf-8" },
  data: JSON.stringify({
    type: "urn:mch-handbook:problem:validation_failed",
    title: "填写的内容有误",
    status: 422,
    code: "validation_failed",
    errors: [{ field: "/code", code: "length", message: "长度不符合要求" }],
  }),
})("post", "/api/v1/me/handbook/bind", { body: { code: "" } });
check(
  invalid.problem?.code === "validation_failed" &&
    invalid.problem.errors?.length === 1 &&
    invalid.problem.errors[0]?.field === "/code" &&
    invalid.problem.errors[0].code === "length",
  "a 422 problem keeps its field errors (content-type with a charset)",
  invalid,
);

// A proxy's HTML error page is not JSON: the call rejects.
const gatewayPage = await rejection(
  answering({
    statusCode: 502,
    header: html,
    data: "<html><body><h1>502 Bad Gateway</h1></body></html>",
  })("get", "/api/v1/me/handbook"),
);
check(
  gatewayPage?.message === "HTTP 502: the answer is not JSON",
  "a proxy's HTML 502 rejects with an Error",
  gatewayPage?.message,
);

// JSON errors that are not this server's problems become an UnexpectedAnswer.
const gatewayJson = await answering({
  statusCode: 502,
  header: json,
  data: JSON.stringify({ message: "upstream timed out" }),
})("get", "/api/v1/me/handbook");
check(
  gatewayJson.status === 502 &&
    gatewayJson.problem?.code === "unexpected_answer" &&
    gatewayJson.problem.status === 502 &&
    gatewayJson.problem.detail ===
      "HTTP 502 with a body of type application/json, not a problem of this server",
  "a JSON 502 that is not a problem becomes unexpected_answer with status 502",
  gatewayJson,
);

const emptyGateway = await answering({ statusCode: 502, header: {}, data: "" })(
  "get",
  "/api/v1/me/handbook",
);
check(
  emptyGateway.problem?.code === "unexpected_answer" &&
    emptyGateway.problem.detail === "HTTP 502 with an empty body",
  "an empty 502 becomes unexpected_answer",
  emptyGateway,
);

const emptyGatewayZh = await answering({ statusCode: 502, header: {}, data: "" }, "zh-CN")(
  "get",
  "/api/v1/me/handbook",
);
check(
  emptyGatewayZh.problem?.code === "unexpected_answer" &&
    emptyGatewayZh.problem.title.startsWith("服务器返回了无法识别的结果") &&
    emptyGatewayZh.problem.detail === "HTTP 502 with an empty body",
  "a mother's phone shows the unexpected answer in Chinese, the log keeps what came",
  emptyGatewayZh,
);

const notProblemType = await answering({
  statusCode: 409,
  header: json,
  data: JSON.stringify(noConsent),
})("get", "/api/v1/me/handbook");
check(
  notProblemType.problem?.code === "unexpected_answer",
  "a problem's shape sent as application/json is not taken for a problem",
  notProblemType,
);

const otherStatus = await answering({
  statusCode: 503,
  header: problemJson,
  data: JSON.stringify({ ...noConsent, status: 500 }),
})("get", "/api/v1/me/handbook");
check(
  otherStatus.problem?.code === "unexpected_answer" && otherStatus.problem.status === 503,
  "a problem whose status is not the HTTP status is not taken for one",
  otherStatus,
);

const newerServer = await answering({
  statusCode: 409,
  header: problemJson,
  data: JSON.stringify({ ...noConsent, code: "some_new_code" }),
})("get", "/api/v1/me/handbook");
check(
  newerServer.problem?.code === "unexpected_answer" &&
    newerServer.problem.detail.includes("some_new_code"),
  "a problem code this build does not know becomes unexpected_answer naming it",
  newerServer,
);

const badFieldError = await answering({
  statusCode: 422,
  header: problemJson,
  data: JSON.stringify({
    type: "urn:mch-handbook:problem:validation_failed",
    title: "填写的内容有误",
    status: 422,
    code: "validation_failed",
    errors: [{ field: "/code", message: "missing its code" }],
  }),
})("get", "/api/v1/me/handbook");
check(
  badFieldError.problem?.code === "unexpected_answer",
  "a problem with a malformed field error is not taken for one",
  badFieldError,
);

// Success answers: no body only where the operation documents none; otherwise a JSON object.
const loggedOut = await answering({ statusCode: 204, header: {}, data: "" })(
  "post",
  "/api/v1/auth/logout",
);
check(
  loggedOut.status === 204 && loggedOut.problem === undefined && loggedOut.data === undefined,
  "an empty 204 where the operation has no body gives data undefined",
  loggedOut,
);

const sessionEnded = await answering({ statusCode: 204, header: {}, data: "" })(
  "delete",
  "/api/v1/me/sessions/{id}",
  { path: { id: "s 1" } },
);
const end = sent();
check(
  sessionEnded.problem === undefined &&
    end?.method === "DELETE" &&
    end.url === "https://mch.example.cn/api/v1/me/sessions/s%201",
  "an empty 204 of a templated path with no body is a success (path encoded)",
  { sessionEnded, url: end?.url },
);

const bodyOnLogout = await answering({ statusCode: 200, header: json, data: '{"ok":true}' })(
  "post",
  "/api/v1/auth/logout",
);
check(
  bodyOnLogout.problem?.code === "unexpected_answer",
  "a body where the operation documents none becomes unexpected_answer",
  bodyOnLogout,
);

const emptyHome = await answering({ statusCode: 204, header: {}, data: "" })(
  "get",
  "/api/v1/me/handbook",
);
check(
  emptyHome.problem?.code === "unexpected_answer" && emptyHome.data === undefined,
  "an empty 204 where the operation has a body becomes unexpected_answer",
  emptyHome,
);

const listHome = await answering({ statusCode: 200, header: json, data: "[1,2]" })(
  "get",
  "/api/v1/me/handbook",
);
check(
  listHome.problem?.code === "unexpected_answer" &&
    listHome.problem.detail === "HTTP 200 with a JSON body that is not an object",
  "a 200 with a JSON array becomes unexpected_answer",
  listHome,
);

const nullHome = await answering({ statusCode: 200, header: json, data: "null" })(
  "get",
  "/api/v1/me/handbook",
);
check(
  nullHome.problem?.code === "unexpected_answer",
  "a 200 with JSON null becomes unexpected_answer",
  nullHome,
);

const captivePortal = await rejection(
  answering({ statusCode: 200, header: html, data: "<html>登录 Wi-Fi</html>" })(
    "get",
    "/api/v1/me/handbook",
  ),
);
check(
  captivePortal?.message === "HTTP 200: the answer is not JSON",
  "a 200 with an HTML page rejects with an Error",
  captivePortal?.message,
);

const tokens = {
  access_token: "a.b.c",
  refresh_token: "r",
  token_type: "Bearer",
  expires_in: 900,
  refresh_expires_in: 2592000,
};
const signedIn = await answering({ statusCode: 200, header: json, data: JSON.stringify(tokens) })(
  "post",
  "/api/v1/auth/wechat",
  { body: { code: "wx-login-code" } },
);
check(
  signedIn.problem === undefined && signedIn.data.access_token === "a.b.c",
  "a 200 with a JSON object is the data",
  signedIn,
);

// A network failure rejects with wx's message.
const offline = await rejection(
  answering({ errMsg: "request:fail timeout" })("get", "/api/v1/me/handbook"),
);
check(
  offline?.message === "request:fail timeout",
  "a network failure rejects with errMsg",
  offline?.message,
);

console.log(`wx adapter: ${step} checks passed`);
