/* Shared by the unit tests that talk to a real HAProxy 2.6: start one on a
 * config in a temp dir, stop it and remove the dir. Include after cmocka.h. */
#ifndef SMARTDOCK_TEST_HAPROXY_FIXTURE_H
#define SMARTDOCK_TEST_HAPROXY_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

#define HAPROXY "/usr/sbin/haproxy"

/* Starts HAProxy in the foreground on cfg_path; returns its pid, or -1 when
 * sock (its stats socket) did not appear within 30 s (generous: a loaded
 * machine). */
static inline pid_t haproxy_fixture_start(const char *cfg_path, const char *sock)
{
    pid_t pid = fork();
    if (pid == 0) {
        loop_child_reset_signals();
        execl(HAPROXY, HAPROXY, "-db", "-q", "-f", cfg_path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 3000 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    return access(sock, F_OK) == 0 ? pid : -1;
}

/* Makes a temp dir from dir_template (".../sd-xx-XXXXXX", rewritten in
 * place), writes a config there with an admin stats socket (its path put in
 * sock, sock_len bytes) and the given backend sections, and starts HAProxy
 * on it. Returns the pid, or -1. */
static inline pid_t haproxy_fixture_start_with(char *dir_template, char *sock, size_t sock_len,
                                               const char *backends)
{
    if (!mkdtemp(dir_template)) return -1;
    snprintf(sock, sock_len, "%s/stats.sock", dir_template);
    char cfg_path[160];
    snprintf(cfg_path, sizeof cfg_path, "%s/h.cfg", dir_template);
    FILE *fp = fopen(cfg_path, "w");
    if (!fp) return -1;
    fprintf(fp,
            "global\n\tstats socket %s mode 600 level admin\n"
            "defaults\n\tmode http\n\ttimeout connect 1s\n\ttimeout client 1s\n"
            "\ttimeout server 1s\n%s",
            sock, backends);
    fclose(fp);
    return haproxy_fixture_start(cfg_path, sock);
}

/* Stops it and removes dir. 0, or -1 when the removal failed. */
static inline int haproxy_fixture_stop(pid_t pid, const char *dir)
{
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
