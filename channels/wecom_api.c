/*
 * wecom_api.c - WeCom's request bodies and the errcode table (see
 * wecom_api.h). The codes and their meanings come from WeCom's global
 * error code page (全局错误码, developer.work.weixin.qq.com/document/path/
 * 90313), the message/send page (发送应用消息), add_msg_template
 * (创建企业群发) and the group-robot page (群机器人配置说明).
 *
 * JSON is written with UTF-8 left as it is: WeCom refuses \uXXXX escapes
 * in a request (errcode 40033), and Jansson escapes only control
 * characters unless told otherwise.
 */
#include "channels/wecom_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mask.h"

/* --- the errcode table ---------------------------------------------------- */

#define OK_ CHAN_OK
#define TRANSIENT CHAN_TRANSIENT
#define PERMANENT CHAN_PERMANENT

static const struct wecom_code codes[] = {
    /* 请求成功: accepted */
    {0, OK_, 0, 0, "ok"},
    /* 系统繁忙: WeCom asks to try again later */
    {-1, TRANSIENT, 1, 0, "WeCom is busy"},
    /* 不合法的secret参数 (gettoken), or a token that is not valid (any
     * call): renew and retry once, then the account's problem */
    {40001, TRANSIENT, 1, 1, "invalid secret or access token"},
    /* 无效的UserID: the member does not exist */
    {40003, PERMANENT, 0, 0, "invalid userid"},
    /* 不合法的CorpID: corp_id is wrong */
    {40013, PERMANENT, 1, 0, "invalid corp_id"},
    /* 不合法的access_token: revoked or never issued; renew, retry once */
    {40014, TRANSIENT, 1, 1, "invalid access token"},
    /* 不合法的UserID列表: a recipient is not in the app's visible range */
    {40031, PERMANENT, 0, 0, "invalid userid list"},
    /* 不合法的agentid: agent_id is wrong */
    {40056, PERMANENT, 1, 0, "invalid agent_id"},
    /* 缺少access_token参数: renew, retry once */
    {41001, TRANSIENT, 1, 1, "missing access token"},
    /* 缺少agentid参数 */
    {41011, PERMANENT, 1, 0, "missing agent_id"},
    /* access_token已过期: renew, retry once */
    {42001, TRANSIENT, 1, 1, "access token expired"},
    /* 接口调用超过限制: the API's rate limit */
    {45009, TRANSIENT, 0, 0, "API rate limit"},
    /* 接口并发调用超过限制: too many calls at once */
    {45033, TRANSIENT, 0, 0, "API concurrency limit"},
    /* API接口无权限调用: the app may not call this API (e.g. the
     * customer-contact permission for add_msg_template) */
    {48002, PERMANENT, 1, 0, "API not permitted for this app"},
    /* 应用已禁用: the app (agent) is disabled */
    {50003, PERMANENT, 1, 0, "app disabled"},
    /* 访问ip不在白名单之中 / 不安全的访问IP: this server's address is not
     * in the app's trusted IPs (企业可信IP) */
    {60020, PERMANENT, 1, 0, "server IP not trusted"},
    /* UserID不存在 */
    {60111, PERMANENT, 0, 0, "userid not found"},
    /* UserID、部门ID、标签ID全部非法或无权限: every recipient is invalid */
    {81013, PERMANENT, 0, 0, "all recipients invalid"},
    /* 群机器人: the webhook key is wrong or the robot left the group */
    {93000, PERMANENT, 1, 0, "invalid robot webhook key"},
    /* (40082 is 不合法的suite_token, for third-party apps; a corp's own
     * app never gets it, so it falls to the default below.) */
};

const struct wecom_code *wecom_code_find(long code)
{
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (codes[i].code == code)
            return &codes[i];
    return NULL;
}

/* --- requests ------------------------------------------------------------- */

int wecom_api_of(const struct chan_msg *msg, enum wecom_api *api,
                 struct chan_result *res)
{
    static const struct {
        const char *name;
        enum wecom_api api;
    } kinds[] = {{"member", WECOM_MEMBER},
                 {"external", WECOM_EXTERNAL},
                 {"robot", WECOM_ROBOT}};

    if (!msg->to_kind) {
        *api = WECOM_MEMBER;
        return 0;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(msg->to_kind, kinds[i].name) == 0) {
            *api = kinds[i].api;
            return 0;
        }
    chan_result_fail(res, CHAN_PERMANENT, "to_kind",
                     "wecom: unknown recipient kind \"%.40s\": use member, "
                     "external or robot",
                     msg->to_kind);
    return -1;
}

static int empty(const char *s)
{
    return !s || !*s;
}

/* The first http:// or https:// link in text, copied (the caller frees),
 * up to a space or a non-ASCII byte (Chinese punctuation ends it). */
static char *first_url(const char *text)
{
    const char *p = strstr(text, "https://"), *q = strstr(text, "http://");
    size_t n = 0;

    if (!p || (q && q < p))
        p = q;
    if (!p)
        return NULL;
    while (p[n] && (unsigned char)p[n] > ' ' && (unsigned char)p[n] < 0x80 &&
           !strchr("\"<>", p[n]))
        n++;
    return strndup(p, n);
}

/* {"content": text} under the message type's name. */
static json_t *content_of(const char *text)
{
    return json_pack("{s:s}", "content", text);
}

/* message/send: markdown when the template says so; a textcard when the
 * message has a subject and its text a link (the card's title, text and
 * "details" button); plain text otherwise. */
static json_t *member_json(const struct chan_msg *m, const struct wecom_opts *o)
{
    const char *type = "text";
    json_t *part = NULL, *obj;
    char *url = NULL;

    if (m->format && strcmp(m->format, "markdown") == 0) {
        type = "markdown";
        part = content_of(m->body);
    } else if (!empty(m->subject) && (url = first_url(m->body))) {
        type = "textcard";
        part = json_pack("{s:s, s:s, s:s}", "title", m->subject, "description",
                         m->body, "url", url);
    } else {
        part = content_of(m->body);
    }
    free(url);
    if (!part)
        return NULL;
    obj = json_pack("{s:s, s:s, s:I, s:o, s:i, s:I}", "touser", m->to,
                    "msgtype", type, "agentid", (json_int_t)o->agent_id, type,
                    part, "enable_duplicate_check", 1,
                    "duplicate_check_interval", (json_int_t)o->dup_interval_s);
    return obj;
}

/* add_msg_template: a one-to-one task that the sender (the student's
 * owner) confirms in their WeCom; text only. */
static json_t *external_json(const struct chan_msg *m)
{
    return json_pack("{s:s, s:[s], s:s, s:{s:s}}", "chat_type", "single",
                     "external_userid", m->to, "sender", m->sender, "text",
                     "content", m->body);
}

static json_t *robot_json(const struct chan_msg *m)
{
    const char *type =
        m->format && strcmp(m->format, "markdown") == 0 ? "markdown" : "text";

    return json_pack("{s:s, s:o}", "msgtype", type, type, content_of(m->body));
}

/* Why msg cannot go on api, or NULL when it can. */
static const char *missing_part(enum wecom_api api, const struct chan_msg *m)
{
    if (empty(m->body))
        return "empty message";
    if (api != WECOM_ROBOT && empty(m->to))
        return "no recipient";
    if (api == WECOM_EXTERNAL && empty(m->sender))
        return "no sender";
    return NULL;
}

char *wecom_request_json(enum wecom_api api, const struct chan_msg *msg,
                         const struct wecom_opts *o, struct chan_result *res)
{
    const char *why = missing_part(api, msg);
    json_t *obj = NULL;
    char *text;

    if (why) {
        chan_result_fail(res, CHAN_PERMANENT, "invalid", "wecom: %s", why);
        return NULL;
    }
    switch (api) {
    case WECOM_MEMBER:
        obj = member_json(msg, o);
        break;
    case WECOM_EXTERNAL:
        obj = external_json(msg);
        break;
    case WECOM_ROBOT:
        obj = robot_json(msg);
        break;
    }
    text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!text)
        chan_result_fail(res, CHAN_TRANSIENT, "ENOMEM",
                         "wecom: out of memory (or the text is not UTF-8)");
    return text;
}

/* --- answers -------------------------------------------------------------- */

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

/* Recipients WeCom says it did not send to: message/send's invaliduser
 * and unlicenseduser ("a|b"), add_msg_template's fail_list ([..]). The
 * first one, masked, into out; 0 when there are none. */
static int refused_recipient(enum wecom_api api, json_t *ans, char *out,
                             size_t n)
{
    const char *who = "";
    json_t *list;

    if (api == WECOM_MEMBER) {
        who = str(ans, "invaliduser");
        if (!*who)
            who = str(ans, "unlicenseduser");
    } else if (api == WECOM_EXTERNAL) {
        list = json_object_get(ans, "fail_list");
        if (json_array_size(list) > 0)
            who = json_string_value(json_array_get(list, 0));
        who = who ? who : "?";
    }
    if (!*who)
        return 0;
    char first[128];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(who, "|"), who);
    mask_contact(first, out, n);
    return 1;
}

static void accepted(enum wecom_api api, json_t *ans, const char *idem_key,
                     struct chan_result *res)
{
    const char *id =
        api == WECOM_ROBOT ? (idem_key ? idem_key : "") : str(ans, "msgid");

    res->status = CHAN_OK;
    snprintf(res->provider_id, sizeof res->provider_id, "%s", id);
}

enum wecom_verdict wecom_classify(enum wecom_api api, const char *body,
                                  const char *idem_key, struct chan_result *res)
{
    json_t *ans = json_loads(body ? body : "", 0, NULL);
    json_t *jcode = json_object_get(ans, "errcode");
    const struct wecom_code *row;
    char msg[160], who[64];
    long code;

    if (!json_is_object(ans) || !json_is_integer(jcode)) {
        /* It left and WeCom's answer cannot be read: it may have it. */
        chan_result_fail(res, CHAN_UNKNOWN, "answer",
                         "wecom: unreadable answer");
        json_decref(ans);
        return WECOM_DONE;
    }
    code = (long)json_integer_value(jcode);
    mask_text(str(ans, "errmsg"), msg, sizeof msg);
    wecom_scrub(msg);
    row = wecom_code_find(code);
    if (code == 0 && refused_recipient(api, ans, who, sizeof who)) {
        chan_result_fail(res, CHAN_PERMANENT, "invaliduser",
                         "wecom: recipient %s refused (not found, not in "
                         "the app's range or not licensed)",
                         who);
    } else if (code == 0) {
        accepted(api, ans, idem_key, res);
    } else {
        chan_result_fail(res, row ? row->status : CHAN_PERMANENT, "",
                         "wecom: %s (%ld: %s)", row ? row->meaning : "refused",
                         code, msg);
        snprintf(res->code, sizeof res->code, "%ld", code);
        res->account = row ? row->account : 0;
    }
    json_decref(ans);
    /* A robot has no token to renew: its answer is final. */
    return row && row->renew && api != WECOM_ROBOT ? WECOM_RENEW : WECOM_DONE;
}

char *wecom_scrub(char *text)
{
    static const char *const names[] = {"access_token=", "corpsecret=", "key="};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len = strlen(names[i]);
        for (char *p = text; (p = strstr(p, names[i])); p += len) {
            char *v = p + len, *end = v + strcspn(v, "&# \"'\t\r\n");
            if (end == v)
                continue;
            /* "***" in place of the value: never longer than before */
            size_t vlen = (size_t)(end - v), put = vlen < 3 ? vlen : 3;
            memset(v, '*', put);
            memmove(v + put, end, strlen(end) + 1);
        }
    }
    return text;
}
