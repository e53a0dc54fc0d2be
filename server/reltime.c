/* Parsing of relative durations and RFC 3339 timestamps for certificate
 * dates. Strict: anything but the documented forms is an error with a reason. */
#include "reltime.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static int64_t unit_seconds(char unit)
{
    switch (unit) {
    case 's':
        return 1;
    case 'm':
        return 60;
    case 'h':
        return 3600;
    case 'd':
        return 86400;
    }
    return 0;
}

/* Seconds from now, "-30d" style: a signed count and a unit s, m, h or d. */
static int duration_parse(const char *text, int64_t *out, char *err, size_t len)
{
    const char *p = text;
    char *end;
    long long count;
    int64_t unit;

    if (*p == '+' || *p == '-') {
        p++;
    }
    if (!isdigit((unsigned char)*p)) {
        snprintf(err, len, "bad duration '%s' (expected e.g. -30d, 12h, +90m)", text);
        return ZOO_EINVAL;
    }
    errno = 0;
    count = strtoll(text, &end, 10);
    unit = unit_seconds(*end);
    if (errno != 0 || unit == 0 || end[1] != '\0') {
        snprintf(err, len, "bad duration '%s' (expected a number and a unit s, m, h or d)", text);
        return ZOO_EINVAL;
    }
    /* 100 years either way is plenty and keeps the product in range. */
    if (count > 36500 * 86400LL / unit || count < -36500 * 86400LL / unit) {
        snprintf(err, len, "duration '%s' is out of range (at most 100 years)", text);
        return ZOO_EINVAL;
    }
    *out = count * unit;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_rfc3339(const char *text, int64_t *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, s, n = 0, offh = 0, offm = 0;
    char sign;
    struct tm tm = {0};

    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || n != 19) {
        return ZOO_EINVAL;
    }
    if (y < 1950 || y > 9999 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
        d > mdays[mo - 1] + (mo == 2 && leap(y))) {
        return ZOO_EINVAL;
    }
    sign = text[n];
    if (sign == 'Z' && text[n + 1] == '\0') {
        sign = '+';
    } else if ((sign == '+' || sign == '-') && strlen(text + n) == 6 &&
               sscanf(text + n + 1, "%2d:%2d", &offh, &offm) == 2 && offh < 24 && offm < 60) {
        /* offset parsed */
    } else {
        return ZOO_EINVAL;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    *out = (int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) * (offh * 3600 + offm * 60);
    return 0;
}

int zoo_when_parse(const char *text, struct zoo_when *out, char *err, size_t len)
{
    if (isdigit((unsigned char)text[0]) && strchr(text, 'T') != NULL) {
        out->relative = false;
        if (parse_rfc3339(text, &out->value) != 0) {
            snprintf(err, len, "bad date '%s' (expected RFC 3339, e.g. 2030-01-31T12:00:00Z)",
                     text);
            return ZOO_EINVAL;
        }
        return 0;
    }
    out->relative = true;
    return duration_parse(text, &out->value, err, len);
}

time_t zoo_when_resolve(const struct zoo_when *when, time_t now)
{
    return when->relative ? now + (time_t)when->value : (time_t)when->value;
}
