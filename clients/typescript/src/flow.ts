// The README's main flow through the generated client: staff login, registration, pregnancy,
// checkup, labs, binding code; the mother's WeChat login and bind through the wx.request
// adapter (over a fake `wx` backed by fetch); her home page showing the lab result; a correction
// with If-Match; an error in Chinese. Every call is typed by src/api.d.ts, generated from
// openapi/openapi.json: a request body or an answer that drifts from the document fails tsc.
//
//   MCH_BASE=http://127.0.0.1:8080 DR_PW=… node dist/flow.js

import createClient from "openapi-fetch";
import type { paths } from "./api.js";
import { createWxClient, type Wx, type WxRequestOptions } from "./wx.js";

const base = process.env["MCH_BASE"] ?? "http://127.0.0.1:8080";
const drPassword = process.env["DR_PW"];
if (!drPassword) throw new Error("DR_PW (dr.wang's demo password) is required");

let step = 0;
function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  step += 1;
  if (!condition) {
    console.error(`FAIL ${step}. ${what}`, detail === undefined ? "" : JSON.stringify(detail));
    process.exit(1);
  }
  console.log(`ok   ${step}. ${what}`);
}

/** A day in China Standard Time, `days` from today, as YYYY-MM-DD. */
function chinaDate(days = 0): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86400_000).toISOString().slice(0, 10);
}

const millis = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// 1. Staff login.
const api = createClient<paths>({ baseUrl: base });
const login = await api.POST("/api/v1/auth/login", {
  body: { username: "dr.wang", password: drPassword },
});
check(login.data !== undefined, "dr.wang signs in", login.error);
const staffHeaders = { Authorization: `Bearer ${login.data.access_token}` };

// 2. Register a woman (建档).
const registered = await api.POST("/api/v1/handbooks", {
  headers: staffHeaders,
  body: {
    id_type: "resident_id",
    id_number: "99010119950315002X",
    full_name: "李娟",
    residence_region_code: "990101001001",
    phone: "13800000000",
    height_cm: 160,
    pre_pregnancy_weight_kg: 52,
  },
});
check(registered.data !== undefined, "the clinic registers 李娟", registered.error);
const handbook = registered.data;
check(millis.test(handbook.created_at), "timestamps carry milliseconds", handbook.created_at);

// 3. Open the pregnancy.
const opened = await api.POST("/api/v1/handbooks/{id}/pregnancies", {
  headers: staffHeaders,
  params: { path: { id: handbook.id } },
  body: { lmp: chinaDate(-140), gravidity: 1, parity: 0, fetal_count: 1 },
});
check(opened.data !== undefined, "a pregnancy is opened at 20 weeks", opened.error);
const pregnancy = opened.data;

// 4. Record the visit.
const visit = {
  visit_date: chinaDate(),
  weight_kg: 58.5,
  bp_systolic: 118,
  bp_diastolic: 76,
  fundal_height_cm: 20,
  fetal_heart_rates: [142],
};
const recorded = await api.POST("/api/v1/pregnancies/{id}/checkups", {
  headers: staffHeaders,
  params: { path: { id: pregnancy.id } },
  body: visit,
});
check(recorded.data !== undefined, "the checkup is recorded", recorded.error);
const checkup = recorded.data;
check(checkup.version === 1 && checkup.ga === "20+0", "it is version 1 at 20+0 weeks", checkup);

// 5. The laboratory reports.
const labs = await api.POST("/api/v1/checkups/{id}/labs", {
  headers: staffHeaders,
  params: { path: { id: checkup.id } },
  body: { results: [{ test: "hb", value: 102 }, { test: "hiv", result: "negative" }] },
});
check(labs.data !== undefined, "Hb and HIV results are added", labs.error);

// 6. A binding code for the mother.
const binding = await api.POST("/api/v1/handbooks/{id}/binding-codes", {
  headers: staffHeaders,
  params: { path: { id: handbook.id } },
});
check(binding.data !== undefined, "the clinic prints a binding code", binding.error);

// 7. The mother, in the mini-program: wx.request, faked here over fetch.
const fakeWx: Wx = {
  request(options: WxRequestOptions) {
    fetch(options.url, {
      method: options.method,
      headers: options.header,
      ...(options.data === undefined ? {} : { body: options.data }),
    })
      .then(async (response) => {
        const header: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          header[name] = value;
        });
        options.success({ statusCode: response.status, header, data: await response.text() });
      })
      .catch((error: unknown) => options.fail({ errMsg: String(error) }));
    return undefined;
  },
};
let motherToken: string | undefined;
const wx = createWxClient(fakeWx, { baseUrl: base, token: () => motherToken });
const wechat = await wx("post", "/api/v1/auth/wechat", { body: { code: "demo-mother-1" } });
check(wechat.data !== undefined, "the mother signs in with wx.login's code", wechat.problem);
motherToken = wechat.data.access_token;

const bound = await wx("post", "/api/v1/me/handbook/bind", { body: { code: binding.data.code } });
check(bound.data !== undefined, "she binds the handbook with the clinic's code", bound.problem);

// 8. Her home page shows the Hb the moment it was saved.
const home = await wx("get", "/api/v1/me/handbook");
check(home.data !== undefined, "her home page opens", home.problem);
const unreadTests = home.data.unread.map((item) => item.test);
check(unreadTests.includes("hb"), "the Hb result is unread on her home page", home.data.unread);
check(home.data.latest_checkup?.id === checkup.id, "the latest checkup is today's", home.data.latest_checkup);

// 9. A correction names the version it replaces; the old one is kept.
const current = await api.GET("/api/v1/checkups/{id}", {
  headers: staffHeaders,
  params: { path: { id: checkup.id } },
});
const etag = current.response.headers.get("ETag");
check(current.data !== undefined && etag === '"v1"', "the checkup reads as version v1", etag);
// Only what changes (a JSON merge patch) and why: everything else stays as recorded.
const corrected = await api.PATCH("/api/v1/checkups/{id}", {
  headers: staffHeaders,
  params: { path: { id: checkup.id }, header: { "If-Match": etag } },
  body: { bp_systolic: 128, bp_diastolic: 80, reason: "misread" },
});
check(corrected.data?.version === 2, "the correction is version 2", corrected.error);
check(corrected.data.weight_kg === 58.5, "the values not corrected are kept", corrected.data);
const stale = await api.PATCH("/api/v1/checkups/{id}", {
  headers: staffHeaders,
  params: { path: { id: checkup.id }, header: { "If-Match": etag } },
  body: { advice: "复查血压", reason: "again" },
});
check(stale.response.status === 412 && stale.error?.code === "version_mismatch", "a stale If-Match is refused", stale.error);
const versions = await api.GET("/api/v1/checkups/{id}/versions", {
  headers: staffHeaders,
  params: { path: { id: checkup.id } },
});
check(versions.data !== undefined && versions.data.items.length >= 1, "the old version is kept", versions.error);

// 10. Errors a Chinese screen can show.
const zh = createWxClient(fakeWx, { baseUrl: base, token: () => motherToken, language: "zh-CN" });
const wrong = await zh("post", "/api/v1/me/handbook/bind", { body: { code: "" } });
const problem = wrong.problem;
check(
  wrong.status === 422 && problem?.code === "validation_failed",
  "an empty code is refused with 422 validation_failed",
  wrong,
);
check(/[\u4e00-\u9fff]/.test(problem.title), "the title is Chinese", problem.title);
check(
  (problem.errors ?? []).every((e) => /[\u4e00-\u9fff]/.test(e.message) && e.field.length > 0),
  "each field's message is Chinese and names its field",
  problem.errors,
);
console.log(`client flow: ${step} checks passed`);
