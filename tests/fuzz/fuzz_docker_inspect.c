/* A reply of GET /containers/{id}/json, then what the registrator makes of
 * it (ports, labels, registrations) under a config with one service. */
#include "docker_model.h"
#include "fuzz_input.h"
#include "match.h"
#include "reg_config.h"

static struct reg_config *config(void)
{
    static struct reg_config *cfg;
    if (!cfg) {
        char err[256];
        const char *json =
            "{\"advertise_host\":\"127.0.0.2\",\"registry\":{\"type\":\"zookeeper\","
            "\"hosts\":[\"127.0.0.1:2181\"],\"path\":\"/smartdock\"},"
            "\"services\":{\"web\":{\"image_name\":\"nginx\",\"container_port\":80}}}";
        if (reg_config_parse(json, &cfg, NULL, err, sizeof err) < 0) abort();
    }
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = fuzz_exact(data, size);
    struct docker_container c;
    char err[256];
    if (docker_container_decode(json, size, &c, err, sizeof err) == 0) {
        (void)docker_container_host_port(&c, 80, "127.0.0.2");
        (void)docker_container_host_port(&c, 80, NULL);
        (void)docker_container_label(&c, "smartdock.service");
        struct registration_list regs = {0};
        struct strlist problems = {0};
        if (match_container(config(), &c, &regs, &problems) == 0) {
            for (size_t i = 0; i < regs.n; i++) {
                const struct backend *b = &regs.v[i].backend;
                if (b->haproxy_server_options &&
                    !backend_options_are_safe(b->haproxy_server_options))
                    abort();
            }
        }
        registration_list_clear(&regs);
        strlist_clear(&problems);
        docker_container_clear(&c);
    }
    free(json);
    return 0;
}
