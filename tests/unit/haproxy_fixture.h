/* Shared by the unit tests that talk to a real HAProxy 2.6: start one on a
 * config in a temp dir, stop it and remove the dir. Include after cmocka.h. */
#ifndef SMARTDOCK_TEST_HAPROXY_FIXTURE_H
#define SMARTDOCK_TEST_HAPROXY_FIXTURE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

#define HAPROXY "/usr/sbin/haproxy"

/* Starts HAProxy in the foreground on cfg_path; returns its pid, or -1 when
 * sock (its stats socket) did not appear within 5 s. */
static inline pid_t haproxy_fixture_start(const char *cfg_path, const char *sock)
{
    pid_t pid = fork();
    if (pid == 0) {
        loop_child_reset_signals();
        execl(HAPROXY, HAPROXY, "-db", "-q", "-f", cfg_path, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
        usleep(10000);
    return access(sock, F_OK) == 0 ? pid : -1;
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
