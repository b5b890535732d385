/* notify_listen PATH: bind a unix datagram socket at PATH, as systemd does
 * for $NOTIFY_SOCKET, and print every datagram received as one line (its
 * newlines shown as " | "), flushed at once. Runs until killed. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "usage: notify_listen PATH\n");
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, argv[1]);
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        perror(argv[1]);
        return 1;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) continue;
        buf[n] = '\0';
        for (char *p = buf; *p; p++) {
            if (*p == '\n')
                fputs(" | ", stdout);
            else
                fputc(*p, stdout);
        }
        fputc('\n', stdout);
        fflush(stdout);
    }
}
