/*  gw_admin: the operator page (gw_admin.h). The page's HTML and script are
 *  the C strings below (a browser test: tests/browser/admin_page.mjs). */
#include "gw_admin.h"

#include <assert.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_json.h"
#include "pm_envelope.h"
#include "pm_mpjson.h"
#include "pm_err.h"
#include "pm_proto.h"

#define S_DEPTH_MAX 8 /* nesting of the overview reply converted to JSON */

static const char s_head[] =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<title>paymesh admin</title>\n"
    "<link rel=\"icon\" href=\"data:,\">\n"
    "<style>\n"
    "body{font-family:system-ui,sans-serif;margin:1em 2em;color:#222}\n"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.4em}\n"
    "table{border-collapse:collapse;margin:.4em 0}\n"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;font-size:.9em}\n"
    "th{background:#f2f2f2}.num{text-align:right}\n"
    "#status{color:#555}.bad{color:#b00}.warn{color:#a60}.good{color:#070}\n"
    "section{display:inline-block;vertical-align:top;margin-right:2em}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<h1>paymesh admin</h1>\n"
    "<form id=\"login\" hidden>\n"
    "<label>Service token <input id=\"token\" type=\"password\" autocomplete=\"off\" "
    "required></label>\n"
    "<button type=\"submit\">Show</button>\n"
    "<p id=\"login-msg\" class=\"bad\"></p>\n"
    "</form>\n"
    "<div id=\"main\" hidden>\n"
    "<p><span id=\"status\">loading</span> <button id=\"logout\" type=\"button\">Forget "
    "token</button></p>\n"
    "<div id=\"sections\"></div>\n"
    "<h2>Retry queue</h2>\n"
    "<p>backlog <b id=\"retry-backlog\">0</b>, parked <b id=\"retry-parked\">0</b>, oldest due: "
    "<span id=\"retry-oldest\">none</span></p>\n"
    "<table "
    "id=\"retry-items\"><thead><tr><th>id</th><th>kind</th><th>state</th><th>attempt</th><th>due</"
    "th><th>outcome</th><th>reason</th><th>ref</th></tr></thead><tbody></tbody></table>\n"
    "<h2>Jobs and providers</h2>\n"
    "<p>jobs queued <b id=\"jobs-queued\">0</b>, leased <b id=\"jobs-leased\">0</b>, retry <b "
    "id=\"jobs-retry\">0</b>, parked <b id=\"jobs-parked\">0</b></p>\n"
    "<table "
    "id=\"providers\"><thead><tr><th>provider</th><th>health</th><th>ok</th><th>rejected</"
    "th><th>unknown</th><th>error rate</th><th>errors since last refresh</th><th>mean "
    "latency</th></tr></thead><tbody></tbody></table>\n"
    "<p>Job outcomes count since payment-core started.</p>\n"
    "</div>\n";

static const char s_script[] =
    "\"use strict\";\n"
    "(function () {\n"
    "  var KEY = \"paymesh_admin_token\", EVERY_MS = 3000;\n"
    "  var SECTIONS = [\n"
    "    [\"payments\", \"Payments\", [\"id\", \"sender_id\", \"recipient_id\", \"currency\", "
    "\"amount_minor\", \"status\", \"created_ms\"]],\n"
    "    [\"purchases\", \"Store purchases\", [\"serial\", \"principal\", \"sku\", \"state\", "
    "\"created_ms\"]],\n"
    "    [\"checkouts\", \"BazaarPay checkouts\", [\"serial\", \"principal\", \"sku\", \"state\", "
    "\"amount_minor\", \"created_ms\"]],\n"
    "    [\"orders\", \"Bank orders\", [\"reg_no\", \"principal\", \"state\", \"payment_type\", "
    "\"total_minor\", \"created_ms\"]]\n"
    "  ];\n"
    "  var $ = function (id) { return document.getElementById(id); };\n"
    "  var timer = null, prev = {};\n"
    "  function el(tag, text, cls) {\n"
    "    var e = document.createElement(tag);\n"
    "    if (text !== undefined) e.textContent = String(text);\n"
    "    if (cls) e.className = cls;\n"
    "    return e;\n"
    "  }\n"
    "  function when(ms) { return typeof ms === \"number\" && ms > 0 ? new Date(ms).toISOString() "
    ": \"\"; }\n"
    "  function cell(k, v) {\n"
    "    if (v === null || v === undefined) return \"\";\n"
    "    return /_ms$/.test(k) ? when(v) : v;\n"
    "  }\n"
    "  function rows(tbody, list, keys) {\n"
    "    tbody.replaceChildren();\n"
    "    list.forEach(function (it) {\n"
    "      var tr = el(\"tr\");\n"
    "      keys.forEach(function (k) { tr.appendChild(el(\"td\", cell(k, it[k]))); });\n"
    "      tbody.appendChild(tr);\n"
    "    });\n"
    "  }\n"
    "  function build() {\n"
    "    var box = $(\"sections\");\n"
    "    SECTIONS.forEach(function (s) {\n"
    "      var sec = el(\"section\");\n"
    "      sec.id = \"sec-\" + s[0];\n"
    "      sec.appendChild(el(\"h2\", s[1]));\n"
    "      var counts = el(\"table\");\n"
    "      counts.id = s[0] + \"-counts\";\n"
    "      counts.appendChild(el(\"tbody\"));\n"
    "      sec.appendChild(counts);\n"
    "      sec.appendChild(el(\"p\", \"\", \"note\")).id = s[0] + \"-note\";\n"
    "      var t = el(\"table\");\n"
    "      t.id = s[0] + \"-latest\";\n"
    "      var hr = el(\"tr\");\n"
    "      s[2].forEach(function (k) { hr.appendChild(el(\"th\", k.replace(/_ms$/, \"\"))); });\n"
    "      t.appendChild(el(\"thead\")).appendChild(hr);\n"
    "      t.appendChild(el(\"tbody\"));\n"
    "      sec.appendChild(t);\n"
    "      box.appendChild(sec);\n"
    "    });\n"
    "  }\n"
    "  function show(d) {\n"
    "    SECTIONS.forEach(function (s) {\n"
    "      var v = d[s[0]] || { counts: {}, latest: [] };\n"
    "      var tb = $(s[0] + \"-counts\").tBodies[0];\n"
    "      tb.replaceChildren();\n"
    "      var total = 0;\n"
    "      Object.keys(v.counts).forEach(function (st) {\n"
    "        var tr = el(\"tr\");\n"
    "        tr.appendChild(el(\"th\", st));\n"
    "        var td = el(\"td\", v.counts[st], \"num\");\n"
    "        td.id = s[0] + \"-count-\" + st;\n"
    "        tr.appendChild(td);\n"
    "        tb.appendChild(tr);\n"
    "        total += v.counts[st];\n"
    "      });\n"
    "      $(s[0] + \"-note\").textContent = total + \" in all\" + (v.complete ? \"\" : \" (of the "
    "newest \" + v.scanned + \" read)\");\n"
    "      rows($(s[0] + \"-latest\").tBodies[0], v.latest, s[2]);\n"
    "    });\n"
    "    var r = d.retry || { items: [] };\n"
    "    $(\"retry-backlog\").textContent = r.backlog;\n"
    "    $(\"retry-parked\").textContent = r.parked;\n"
    "    $(\"retry-oldest\").textContent = r.oldest_due\n"
    "      ? r.oldest_due.kind + \" \" + r.oldest_due.id + \", due \" + when(r.oldest_due.due_ms) "
    "+ \" (\" + Math.round(r.oldest_due.age_ms / 1000) + \" s ago)\"\n"
    "      : \"none\";\n"
    "    rows($(\"retry-items\").tBodies[0], r.items, [\"id\", \"kind\", \"state\", \"attempt\", "
    "\"due_ms\", \"outcome\", \"reason\", \"ref\"]);\n"
    "    var j = d.jobs || {};\n"
    "    [\"queued\", \"leased\", \"retry\", \"parked\"].forEach(function (k) { $(\"jobs-\" + "
    "k).textContent = j[k]; });\n"
    "    var tb = $(\"providers\").tBodies[0];\n"
    "    tb.replaceChildren();\n"
    "    (d.providers || []).forEach(function (p) {\n"
    "      var n = p.ok + p.rejected + p.unknown, bad = p.rejected + p.unknown;\n"
    "      var last = prev[p.provider], recent = last ? bad - last.bad : 0, recentN = last ? n - "
    "last.n : 0;\n"
    "      prev[p.provider] = { bad: bad, n: n };\n"
    "      var rate = n ? bad / n : 0;\n"
    "      var health = n === 0 ? \"idle\" : recentN > 0 && recent === recentN ? \"failing\" : "
    "rate > 0.2 ? \"degraded\" : \"ok\";\n"
    "      var tr = el(\"tr\");\n"
    "      tr.id = \"provider-\" + p.provider;\n"
    "      tr.appendChild(el(\"td\", p.provider));\n"
    "      tr.appendChild(el(\"td\", health, health === \"ok\" ? \"good\" : health === \"idle\" ? "
    "\"\" : health === \"degraded\" ? \"warn\" : \"bad\"));\n"
    "      tr.appendChild(el(\"td\", p.ok, \"num\"));\n"
    "      tr.appendChild(el(\"td\", p.rejected, \"num\"));\n"
    "      tr.appendChild(el(\"td\", p.unknown, \"num\"));\n"
    "      tr.appendChild(el(\"td\", n ? (100 * rate).toFixed(1) + \" %\" : \"\", \"num\"));\n"
    "      tr.appendChild(el(\"td\", recentN ? recent + \" of \" + recentN : \"0\", \"num\"));\n"
    "      tr.appendChild(el(\"td\", p.latency_count ? Math.round(p.latency_ms_sum / "
    "p.latency_count) + \" ms\" : \"\", \"num\"));\n"
    "      tb.appendChild(tr);\n"
    "    });\n"
    "    $(\"status\").textContent = \"updated \" + when(d.now_ms);\n"
    "    $(\"status\").className = \"\";\n"
    "  }\n"
    "  function login(msg) {\n"
    "    if (timer) clearTimeout(timer);\n"
    "    timer = null;\n"
    "    $(\"main\").hidden = true;\n"
    "    $(\"login\").hidden = false;\n"
    "    $(\"login-msg\").textContent = msg || \"\";\n"
    "    $(\"token\").focus();\n"
    "  }\n"
    "  function poll() {\n"
    "    var tok = sessionStorage.getItem(KEY);\n"
    "    if (!tok) return login(\"\");\n"
    "    fetch(\"/admin/api/overview\", { headers: { \"x_auth_token\": tok }, cache: \"no-store\", "
    "credentials: \"omit\" })\n"
    "      .then(function (res) {\n"
    "        return res.json().then(function (body) { return [res.status, body]; });\n"
    "      })\n"
    "      .then(function (a) {\n"
    "        if (a[0] === 401 || a[0] === 403) {\n"
    "          sessionStorage.removeItem(KEY);\n"
    "          return login(a[0] === 401 ? \"That token is not valid.\" : \"That is not a service "
    "token.\");\n"
    "        }\n"
    "        $(\"login\").hidden = true;\n"
    "        $(\"main\").hidden = false;\n"
    "        if (a[0] !== 200) {\n"
    "          $(\"status\").textContent = \"error \" + a[0] + \": \" + (a[1].message || \"\");\n"
    "          $(\"status\").className = \"bad\";\n"
    "        } else {\n"
    "          show(a[1]);\n"
    "        }\n"
    "        timer = setTimeout(poll, EVERY_MS);\n"
    "      })\n"
    "      .catch(function (e) {\n"
    "        $(\"status\").textContent = \"cannot reach the gateway: \" + e;\n"
    "        $(\"status\").className = \"bad\";\n"
    "        timer = setTimeout(poll, EVERY_MS);\n"
    "      });\n"
    "  }\n"
    "  $(\"login\").addEventListener(\"submit\", function (ev) {\n"
    "    ev.preventDefault();\n"
    "    sessionStorage.setItem(KEY, $(\"token\").value.trim());\n"
    "    $(\"token\").value = \"\";\n"
    "    prev = {};\n"
    "    poll();\n"
    "  });\n"
    "  $(\"logout\").addEventListener(\"click\", function () {\n"
    "    sessionStorage.removeItem(KEY);\n"
    "    login(\"\");\n"
    "  });\n"
    "  build();\n"
    "  poll();\n"
    "})();\n";

static const char s_tail[] = "</body>\n</html>\n";

static bool s_on;
static char s_csp[512]; /* Content-Security-Policy, with the script's hash */
static const char *s_page_headers[] = {"Content-Security-Policy",
                                       s_csp,
                                       "Cache-Control",
                                       "no-store",
                                       "X-Frame-Options",
                                       "DENY",
                                       "X-Content-Type-Options",
                                       "nosniff",
                                       "Referrer-Policy",
                                       "no-referrer",
                                       NULL};
static const char *const s_api_headers[] = {"Cache-Control", "no-store", "X-Content-Type-Options",
                                            "nosniff", NULL};

void gw_admin_enable(bool on)
{
    s_on = on;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s_script, sizeof s_script - 1);
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
    snprintf(s_csp, sizeof s_csp,
             "default-src 'none'; script-src 'sha256-%s'; style-src 'unsafe-inline'; "
             "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'",
             b64);
}

static bool s_is_page(const gw_route_t *route)
{
    return route && route->render_req == gw_admin_page_render;
}

static bool s_is_admin(const gw_route_t *route)
{
    return route && (s_is_page(route) || route->build == gw_admin_overview_build);
}

bool gw_admin_hidden(const gw_route_t *route)
{
    return !s_on && s_is_admin(route);
}

const char *gw_admin_content_type(const gw_route_t *route)
{
    return s_is_page(route) ? GW_ADMIN_CONTENT_TYPE : NULL;
}

const char *const *gw_admin_headers(const gw_route_t *route)
{
    if (!s_is_admin(route))
        return NULL;
    return s_is_page(route) ? s_page_headers : s_api_headers;
}

int gw_admin_page_render(const gw_input_t *in, const msgpack_object *reply, gw_response_t *out)
{
    (void)in, (void)reply;
    assert(out);
    static const char open[] = "<script>", close[] = "</script>\n";
    size_t n = sizeof s_head - 1 + sizeof open - 1 + sizeof s_script - 1 + sizeof close - 1 +
               sizeof s_tail - 1;
    char *p = malloc(n + 1);
    if (!p)
        return -1;
    int w = snprintf(p, n + 1, "%s%s%s%s%s", s_head, open, s_script, close, s_tail);
    assert(w == (int)n);
    (void)w;
    out->status = 200;
    out->json = p;
    out->len = n;
    return 0;
}

int gw_admin_overview_build(const gw_input_t *in, gw_build_t *out)
{
    assert(in && out);
    int64_t latest = 10;
    const char *q = gw_input_query(in, "latest");
    if (q) {
        char *end = NULL;
        long v = strtol(q, &end, 10);
        if (!*q || *end || v < 1 || v > 20)
            return gw_build_fail(out, PM_ERR_VALIDATION, "latest must be an integer 1..20");
        latest = v;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out->body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str(&pk, 6);
    msgpack_pack_str_body(&pk, "latest", 6);
    msgpack_pack_int64(&pk, latest);
    out->type = PM_MSG_ADMIN_OVERVIEW;
    out->err = PM_OK;
    return 0;
}

int gw_admin_overview_render(const msgpack_object *reply, gw_response_t *out)
{
    assert(reply && out);
    if (reply->type != MSGPACK_OBJECT_MAP || !pm_mp_get(reply, "payments"))
        return -1;
    bool ok = true;
    json_object *o = pm_mp_to_json(reply, S_DEPTH_MAX, &ok);
    if (!ok || !o) {
        json_object_put(o);
        return -1;
    }
    json_object_object_del(o, "err");
    return gw_json_finish(o, 200, out);
}
