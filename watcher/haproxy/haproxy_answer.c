#include "haproxy_answer.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A count from a CSV field: digits only, clamped, so the sum cannot overflow. */
static long count_of(const char *p)
{
    long v = strtol(p, NULL, 10);
    if (v < 0) return 0;
    return v > INT_MAX ? INT_MAX : v;
}

long haproxy_answer_sessions(const char *answer, const char *name)
{
    int col_sv = -1, col_scur = -1, col_qcur = -1, col = 0;
    if (strncmp(answer, "# ", 2) != 0) return -1;
    for (const char *p = answer + 2; *p && *p != '\n'; col++) {
        size_t n = strcspn(p, ",\n");
        if (n == 6 && !strncmp(p, "svname", 6)) col_sv = col;
        if (n == 4 && !strncmp(p, "scur", 4)) col_scur = col;
        if (n == 4 && !strncmp(p, "qcur", 4)) col_qcur = col;
        p += n + (p[n] == ',');
    }
    if (col_sv < 0 || col_scur < 0 || col_qcur < 0) return -1;
    for (const char *line = strchr(answer, '\n'); line && *++line; line = strchr(line, '\n')) {
        long scur = -1, qcur = -1;
        bool match = false;
        col = 0;
        for (const char *p = line; *p && *p != '\n'; col++) {
            size_t n = strcspn(p, ",\n");
            if (col == col_sv) match = strlen(name) == n && !strncmp(p, name, n);
            if (col == col_scur) scur = count_of(p);
            if (col == col_qcur) qcur = count_of(p);
            p += n + (p[n] == ',');
        }
        if (match) return scur < 0 || qcur < 0 ? -1 : scur + qcur;
    }
    return -1;
}

long haproxy_answer_backend_id(const char *answer)
{
    /* "1" (the format), "# be_id be_name ...", then one line per server */
    for (const char *line = answer; line && *line; line = strchr(line, '\n'), line += !!line) {
        if (*line == '#' || strcspn(line, " \n") == strcspn(line, "\n")) continue;
        char *end;
        long id = strtol(line, &end, 10);
        return end != line && *end == ' ' && id > 0 ? id : -1;
    }
    return -1;
}

long haproxy_answer_pid(const char *info)
{
    const char *p = strncmp(info, "Pid: ", 5) == 0 ? info : NULL;
    if (!p && (p = strstr(info, "\nPid: "))) p++;
    if (!p) return 0;
    long pid = strtol(p + 5, NULL, 10);
    return pid > 0 && pid <= INT_MAX ? pid : 0;
}
