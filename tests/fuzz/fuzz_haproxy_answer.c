/* Answers on HAProxy's admin socket ("show stat", "show info"): whatever
 * listens there may send anything. */
#include "fuzz_input.h"
#include "haproxy_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *answer = fuzz_cstring(data, size);
    long n = haproxy_answer_sessions(answer, "a");
    long m = haproxy_answer_sessions(answer, "");
    long pid = haproxy_answer_pid(answer);
    if (n < -1 || m < -1 || pid < 0) abort();
    free(answer);
    return 0;
}
